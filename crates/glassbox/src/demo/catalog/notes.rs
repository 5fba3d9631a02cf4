//! Support tickets and incident notes that the batch summarizer digests.

/// A document to summarize.
#[derive(Debug)]
pub struct Note {
    /// Kind of document.
    pub kind: &'static str,
    /// Id in the ticket system.
    pub id: &'static str,
    /// The document text.
    pub text: &'static str,
    /// Category the small model assigns.
    pub category: &'static str,
    /// The summary the large model writes.
    pub summary: &'static str,
}

/// Every document the summarizer may pick up.
pub const NOTES: &[Note] = &[
    Note {
        kind: "ticket",
        id: "T-20931",
        text: "Customer ordered two Summit 45 backpacks, received one. Packing slip lists both. \
               Warehouse photo shows a single parcel. Customer asks for the missing pack or a \
               refund, prefers the pack before a trip on Saturday.",
        category: "missing_item",
        summary: "One of two ordered backpacks is missing from the parcel; the customer wants \
                  the second pack before Saturday.",
    },
    Note {
        kind: "ticket",
        id: "T-20977",
        text: "Zip of a Ridgeline rain jacket broke after 14 months. Photos attached. Customer \
               asks whether this is covered and how long a repair takes.",
        category: "warranty",
        summary: "Rain jacket zip broke after 14 months, within warranty; the customer asks \
                  about repair time.",
    },
    Note {
        kind: "ticket",
        id: "T-21002",
        text: "Discount code SPRING15 rejected at checkout for a cart with one sale item and \
               one full-price item. Customer expected the code to apply to the full-price \
               item at least.",
        category: "checkout",
        summary: "A discount code was rejected for a mixed cart; the customer expected it on \
                  the full-price item.",
    },
    Note {
        kind: "ticket",
        id: "T-21015",
        text: "Parcel marked delivered by NorthPost but not received. Neighbours checked. \
               Customer is upset, third late delivery this year, threatens to close account.",
        category: "delivery",
        summary: "A parcel marked delivered never arrived; the customer is upset after a third \
                  delivery problem this year.",
    },
    Note {
        kind: "incident",
        id: "INC-418",
        text: "From 14:05 to 14:40 checkout returned errors for 12% of card payments. Cause: \
               expired TLS certificate on the payment gateway's fallback host. Mitigation: \
               traffic moved to primary host at 14:38. Follow-up: alert on certificate \
               expiry.",
        category: "outage",
        summary: "Card payments failed for 12% of checkouts for 35 minutes because a fallback \
                  certificate expired; an expiry alert is planned.",
    },
    Note {
        kind: "incident",
        id: "INC-421",
        text: "Search results were stale for 3 hours after the catalog import job silently \
               skipped 1,200 products with a new size format. Fixed the parser, re-ran the \
               import. Follow-up: fail the job on parse errors.",
        category: "data_quality",
        summary: "The catalog import skipped 1,200 products for 3 hours; the parser is fixed and \
                  the job will fail loudly next time.",
    },
    Note {
        kind: "call",
        id: "C-7731",
        text: "Store manager in Denver reports click and collect orders arriving without the \
               pickup email. Customers come in before the order is ready. Happens mostly on \
               Saturdays.",
        category: "store_operations",
        summary: "Denver click and collect customers miss the pickup email, mostly on \
                  Saturdays, and arrive too early.",
    },
    Note {
        kind: "ticket",
        id: "T-21040",
        text: "Customer asks whether the Drift sleeping bag can be washed at home, label is \
               unreadable. Also asks for the temperature rating.",
        category: "product_question",
        summary: "A customer asks how to wash the Drift sleeping bag and for its temperature \
                  rating.",
    },
];

/// The prompt of the classifier run on every document.
pub const CLASSIFY_PROMPT: &str = "Give the category of this support document as one word \
     from: missing_item, warranty, checkout, delivery, outage, data_quality, store_operations, \
     product_question.";

/// The prompt of the per-document summary.
pub const SUMMARY_PROMPT: &str = "Summarize this support document in one sentence for the \
     daily support digest. Keep numbers and product names.";

/// The prompt of the digest over all summaries.
pub const DIGEST_PROMPT: &str = "Write the daily support digest from these one-line \
     summaries: group them by theme, put outages first, and end with the follow-ups that \
     need an owner.";

/// The queue the summarizer consumes.
pub const QUEUE: &str = "support-digest-jobs";
