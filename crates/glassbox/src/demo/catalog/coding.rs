//! Tasks that Brightwater's engineers give their coding agent, in a made-up Python
//! repository, `storefront-api`.

/// A task and everything the agent reads, writes and replies while doing it.
#[derive(Debug)]
pub struct CodingTask {
    /// The developer's request.
    pub request: &'static str,
    /// The planner's plan.
    pub plan: &'static str,
    /// The code search query.
    pub search: &'static str,
    /// Files the search finds; the agent reads the first.
    pub files: &'static [&'static str],
    /// An excerpt of the first file.
    pub excerpt: &'static str,
    /// The patch the agent applies.
    pub patch: &'static str,
    /// The tests the agent runs.
    pub tests: &'static str,
    /// Test output when the first patch fails.
    pub failure: &'static str,
    /// The agent's closing message.
    pub summary: &'static str,
    /// Later requests in the same session, each with the agent's closing message.
    pub follow_ups: &'static [(&'static str, &'static str)],
}

/// Every task of the coding agent.
pub const TASKS: &[CodingTask] = &[
    CodingTask {
        request: "The refund endpoint returns 500 when an order has no payment yet. Make it \
                  return 409 with a clear message instead.",
        plan: "1. Find the refund handler and where it reads the payment.\n2. Guard against a \
               missing payment and raise a conflict error.\n3. Add a test for an unpaid order \
               and run the refund tests.",
        search: "def create_refund",
        files: &[
            "storefront/refunds/views.py",
            "storefront/refunds/service.py",
        ],
        excerpt: "def create_refund(order_id: str, amount: Decimal) -> Refund:\n    order = \
                  Order.objects.get(id=order_id)\n    payment = order.payments.latest()\n    \
                  return gateway.refund(payment.reference, amount)",
        patch: "@@ -12,6 +12,9 @@ def create_refund(order_id: str, amount: Decimal) -> \
                Refund:\n     order = Order.objects.get(id=order_id)\n-    payment = \
                order.payments.latest()\n+    payment = order.payments.order_by(\"-created\").\
                first()\n+    if payment is None:\n+        raise Conflict(\"order has no \
                payment to refund\")",
        tests: "tests/refunds/test_service.py",
        failure: "FAILED tests/refunds/test_service.py::test_unpaid_order_conflict - \
                  AssertionError: assert 500 == 409\n1 failed, 14 passed in 3.21s",
        summary: "Refunds of unpaid orders now return 409 with \"order has no payment to \
                  refund\" instead of failing with 500. I added `test_unpaid_order_conflict`; \
                  all 15 refund tests pass.",
        follow_ups: &[
            (
                "Also log the order id when that happens.",
                "Added a warning log with the order id in the conflict branch and checked it \
                 in the test with `caplog`. Tests pass.",
            ),
            (
                "Can you make the message translatable?",
                "The message now goes through `gettext_lazy`, and I added the string to the \
                 German and French catalogs. Tests pass.",
            ),
        ],
    },
    CodingTask {
        request: "Add cursor pagination to GET /v1/products; it currently returns everything.",
        plan: "1. Read the products list view and its serializer.\n2. Add a cursor paginator \
               ordered by (created, id).\n3. Update the API tests and the OpenAPI schema.",
        search: "class ProductListView",
        files: &[
            "storefront/catalog/views.py",
            "storefront/api/pagination.py",
        ],
        excerpt: "class ProductListView(ListAPIView):\n    queryset = \
                  Product.objects.filter(active=True)\n    serializer_class = \
                  ProductSerializer",
        patch: "@@ -8,3 +8,5 @@ class ProductListView(ListAPIView):\n     queryset = \
                Product.objects.filter(active=True)\n     serializer_class = \
                ProductSerializer\n+    pagination_class = CreatedCursorPagination\n+    \
                ordering = (\"-created\", \"-id\")",
        tests: "tests/catalog/test_products_api.py",
        failure: "FAILED tests/catalog/test_products_api.py::test_list_products - KeyError: \
                  'results'\n1 failed, 22 passed in 5.87s",
        summary: "GET /v1/products now returns pages of 50 with a `next` cursor, ordered by \
                  creation time then id so pages stay stable. I updated the list test for the \
                  new response shape; all 23 tests pass.",
        follow_ups: &[
            (
                "Let clients choose the page size, up to 200.",
                "Added a `page_size` query parameter, capped at 200, with a test for the cap.",
            ),
            (
                "Update the API changelog too.",
                "Added an entry to `docs/api/CHANGELOG.md` describing the new cursor \
                 pagination and the response shape change.",
            ),
        ],
    },
    CodingTask {
        request: "test_reserve_stock is flaky in CI. Find out why and fix it.",
        plan: "1. Read the test and the reservation code.\n2. Look for a race or a time \
               dependency.\n3. Fix the cause, not the test, and run it 50 times.",
        search: "def test_reserve_stock",
        files: &[
            "tests/inventory/test_reservations.py",
            "storefront/inventory/reserve.py",
        ],
        excerpt: "def test_reserve_stock(product):\n    reserve(product, quantity=2)\n    \
                  assert product.reservations.last().expires_at > timezone.now()",
        patch: "@@ -31,7 +31,7 @@ def reserve(product: Product, quantity: int) -> \
                Reservation:\n-    expires_at = timezone.now() + timedelta(seconds=1)\n+    \
                expires_at = timezone.now() + settings.RESERVATION_TTL",
        tests: "tests/inventory/test_reservations.py",
        failure: "FAILED tests/inventory/test_reservations.py::test_expired_reservations - \
                  AssertionError: 0 != 1\n1 failed, 9 passed in 1.44s",
        summary: "The reservation lifetime was hard-coded to one second, so the test failed \
                  whenever CI was slow. It now uses `RESERVATION_TTL` (15 minutes), and the \
                  expiry test sets it explicitly. 50 runs in a row pass.",
        follow_ups: &[(
            "Are there other hard-coded timeouts like that?",
            "Two more: the cart lock (5 s) and the payment webhook retry (2 s). I moved both \
             to settings with the same defaults.",
        )],
    },
    CodingTask {
        request: "Rename fetch_rows to load_rows everywhere in the reporting package.",
        plan: "1. Search every use of fetch_rows.\n2. Rename the function and its callers.\n3. \
               Keep a deprecated alias for the scripts outside the package.",
        search: "fetch_rows(",
        files: &[
            "storefront/reporting/queries.py",
            "storefront/reporting/exports.py",
        ],
        excerpt: "def fetch_rows(query: str, params: Mapping[str, Any]) -> list[Row]:\n    \
                  with connection.cursor() as cursor:\n        cursor.execute(query, params)",
        patch: "@@ -40,7 +40,11 @@\n-def fetch_rows(query: str, params: Mapping[str, Any]) \
                -> list[Row]:\n+def load_rows(query: str, params: Mapping[str, Any]) -> \
                list[Row]:\n+\n+\n+fetch_rows = deprecated(\"use load_rows\")(load_rows)",
        tests: "tests/reporting",
        failure: "FAILED tests/reporting/test_exports.py::test_weekly_export - NameError: \
                  name 'fetch_rows' is not defined\n1 failed, 31 passed in 4.02s",
        summary: "Renamed `fetch_rows` to `load_rows` in 9 places across 4 files and kept \
                  `fetch_rows` as a deprecated alias. All 32 reporting tests pass.",
        follow_ups: &[(
            "Remove the alias, nothing outside uses it.",
            "Removed the alias and its import; a search finds no other use. Tests pass.",
        )],
    },
    CodingTask {
        request: "Orders over $75 should get free shipping, but the checkout still charges \
                  it for orders of exactly $75.",
        plan: "1. Find the shipping fee rule.\n2. Fix the comparison and use Decimal.\n3. Add \
               boundary tests at 74.99, 75.00 and 75.01.",
        search: "FREE_SHIPPING_THRESHOLD",
        files: &["storefront/checkout/shipping.py"],
        excerpt: "FREE_SHIPPING_THRESHOLD = 75\n\ndef shipping_fee(total: float) -> float:\n    \
                  return 0 if total > FREE_SHIPPING_THRESHOLD else 6.95",
        patch: "@@ -1,4 +1,4 @@\n-FREE_SHIPPING_THRESHOLD = 75\n+FREE_SHIPPING_THRESHOLD = \
                Decimal(\"75.00\")\n-def shipping_fee(total: float) -> float:\n-    return 0 if \
                total > FREE_SHIPPING_THRESHOLD else 6.95\n+def shipping_fee(total: Decimal) -> \
                Decimal:\n+    return Decimal(0) if total >= FREE_SHIPPING_THRESHOLD else \
                Decimal(\"6.95\")",
        tests: "tests/checkout/test_shipping.py",
        failure: "FAILED tests/checkout/test_shipping.py::test_fee_type - TypeError: \
                  unsupported operand type(s) for +: 'float' and 'decimal.Decimal'\n1 failed, \
                  6 passed in 0.91s",
        summary: "Orders of exactly $75.00 now ship free: the rule used `>` instead of `>=`. I \
                  also switched the fee to `Decimal` to avoid rounding errors and added three \
                  boundary tests. All checkout tests pass.",
        follow_ups: &[(
            "Make the threshold configurable per country.",
            "The threshold now comes from `SHIPPING_RULES[country]`, defaulting to $75, with \
             tests for the US and Canada.",
        )],
    },
];

/// The system prompt of the coding agent.
pub const SYSTEM_PROMPT: &str = "You are a careful senior Python engineer working in the \
     storefront-api repository. Use the tools to search, read and patch code and to run \
     tests. Make the smallest change that fixes the cause, add a test for it, and finish with \
     a short summary of what changed and why.";

/// The system prompt of the planner.
pub const PLANNER_PROMPT: &str = "Break the developer's request into at most four concrete \
     steps for a coding agent. Name the files or symbols to look at first.";

/// The index the code search reads.
pub const CODE_INDEX: &str = "storefront-api-main";
