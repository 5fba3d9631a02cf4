//! Conversations of the support chatbot of Brightwater Outfitters, a made-up outdoor
//! equipment shop. Templates name the facts of a conversation in braces (`{order}`,
//! `{product}`, ...), which [`Facts::fill`] replaces.

use serde_json::{Value, json};

use crate::demo::rng::Rng;

/// The tool the support agent calls to answer the first message of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportTool {
    /// Reads an order from the order database.
    LookupOrder,
    /// Searches the help center through the search API.
    SearchHelpCenter,
    /// Creates a prepaid return label with the carrier.
    CreateReturnLabel,
    /// Reads the stock of a product.
    CheckStock,
}

impl SupportTool {
    /// Returns the tool name the model calls.
    pub fn name(self) -> &'static str {
        match self {
            SupportTool::LookupOrder => "lookup_order",
            SupportTool::SearchHelpCenter => "search_help_center",
            SupportTool::CreateReturnLabel => "create_return_label",
            SupportTool::CheckStock => "check_stock",
        }
    }

    /// Returns the tool description given to the model.
    pub fn description(self) -> &'static str {
        match self {
            SupportTool::LookupOrder => "Look up an order by its number.",
            SupportTool::SearchHelpCenter => "Search the help center articles.",
            SupportTool::CreateReturnLabel => "Create a prepaid return label for an order.",
            SupportTool::CheckStock => "Check the stock of a product by size.",
        }
    }
}

/// The subject of a conversation, with its messages.
#[derive(Debug)]
pub struct SupportTopic {
    /// The intent the classifier finds.
    pub intent: &'static str,
    /// The tool of the first answer.
    pub tool: SupportTool,
    /// The help center query, for [`SupportTool::SearchHelpCenter`] and follow-up searches.
    pub query: &'static str,
    /// First user messages, one of which opens the conversation.
    pub openers: &'static [&'static str],
    /// First answers, after the tool result.
    pub answers: &'static [&'static str],
    /// Later user messages, in conversation order.
    pub follow_ups: &'static [&'static str],
    /// The answer to each later message.
    pub follow_up_answers: &'static [&'static str],
}

/// Every topic of the support chatbot.
pub const TOPICS: &[SupportTopic] = &[
    SupportTopic {
        intent: "order_status",
        tool: SupportTool::LookupOrder,
        query: "late delivery carrier investigation",
        openers: &[
            "Hi, where is my order {order}? It was supposed to arrive yesterday.",
            "Can you check the status of order {order}? I ordered the {product} last week.",
            "My {product} still hasn't shown up. The order number is {order}.",
        ],
        answers: &[
            "I checked order {order}: the {product} left our warehouse and is with {carrier}. \
             Tracking shows it in transit, with delivery expected on {day}. I'm sorry it's \
             running late.",
            "Your order {order} is on its way with {carrier} and should arrive by {day}. You'll \
             get an email with the tracking link as soon as it's out for delivery.",
        ],
        follow_ups: &[
            "Can I change the delivery address to my office in {city}?",
            "What happens if it doesn't arrive by {day}?",
            "Ok. Can you send me the tracking link again?",
            "Thanks, that's all for now.",
            "One more thing: will I need to sign for it?",
        ],
        follow_up_answers: &[
            "I can't change the address once a parcel is with {carrier}, but you can redirect \
             it from their tracking page to a pickup point in {city} at no extra cost.",
            "If it hasn't arrived by the end of {day}, reply here and I'll open an \
             investigation with {carrier} and ship a replacement right away.",
            "Sure, I've sent the tracking link again to the email address on your account. It \
             can take a minute or two to arrive.",
            "You're welcome! Enjoy your {product}, and have a great day.",
            "No signature is needed for orders under $250; {carrier} will leave it in a safe \
             place or with a neighbour.",
        ],
    },
    SupportTopic {
        intent: "return_request",
        tool: SupportTool::CreateReturnLabel,
        query: "return policy refund timing",
        openers: &[
            "I'd like to return the {product} from order {order}, it's too small.",
            "The {product} I received is damaged. How do I send it back? Order {order}.",
            "How do I return something? Order {order}, the {product} isn't what I expected.",
        ],
        answers: &[
            "I've created a prepaid return label for the {product} from order {order}. Print \
             it, pack the item and drop it at any {carrier} point within 30 days. The refund of \
             {amount} goes back to your original payment method within 5 business days of the \
             return reaching us.",
            "Done: a free return label for order {order} is in your inbox. Once {carrier} scans \
             the parcel, we'll refund {amount} to your card within 5 business days.",
        ],
        follow_ups: &[
            "Can I exchange it for a larger size instead of a refund?",
            "Do I need the original packaging?",
            "When exactly will I get my money back?",
            "Great, thank you.",
        ],
        follow_up_answers: &[
            "Yes, exchanges are free. Start one from your order page and we'll ship the new \
             size as soon as {carrier} scans your return.",
            "No, any sturdy box or bag works. Please include the packing slip or write {order} \
             on a note inside.",
            "The refund of {amount} is issued when the return reaches our warehouse, usually 2 \
             to 4 days after drop-off. Your bank may take 3 more days to show it.",
            "You're welcome! Let me know if there's anything else I can help with.",
        ],
    },
    SupportTopic {
        intent: "product_question",
        tool: SupportTool::SearchHelpCenter,
        query: "waterproof jacket care and warranty",
        openers: &[
            "Is the {product} waterproof? I'm planning a hiking trip near {city} next month.",
            "How do I wash the {product} without ruining the waterproofing?",
            "Does the {product} come with a warranty?",
        ],
        answers: &[
            "Yes. The {product} has a waterproof membrane and taped seams. To keep the outer \
             fabric beading water, wash it at 30 °C with a technical cleaner and tumble dry on \
             low for 20 minutes to reactivate the finish.",
            "The {product} is covered by our 2-year warranty against defects in materials and \
             workmanship. Wear and tear and accidental damage aren't covered, but we offer \
             repairs at cost.",
        ],
        follow_ups: &[
            "And can I use normal detergent?",
            "What if the zip breaks after a year?",
            "Would you recommend it for winter as well?",
            "Perfect, thanks!",
        ],
        follow_up_answers: &[
            "Please avoid normal detergent and fabric softener: they clog the membrane. A \
             technical cleaner costs about $12 and lasts for many washes.",
            "A broken zip within two years is a defect, so it's covered: send us a photo and \
             your order number through the contact form and we'll repair or replace it.",
            "It works well in winter as a shell over a fleece or a light down jacket. On its \
             own it isn't insulated.",
            "Happy to help. Enjoy the trip!",
        ],
    },
    SupportTopic {
        intent: "stock_question",
        tool: SupportTool::CheckStock,
        query: "click and collect store pickup",
        openers: &[
            "Do you have the {product} in size M?",
            "Is the {product} back in stock? It was sold out last time I checked.",
            "Can I pick up the {product} in your {city} store today?",
        ],
        answers: &[
            "Good news: the {product} is in stock in size M, with 7 left online and 2 in the \
             {city} store. Online orders placed before 2 pm ship the same day.",
            "The {product} is back in stock online. The {city} store has it too; with click \
             and collect it's usually ready within 2 hours.",
        ],
        follow_ups: &[
            "Can you reserve one for me?",
            "What about size L?",
            "How long does click and collect take?",
            "Ok, I'll order it online now.",
        ],
        follow_up_answers: &[
            "I can't reserve items, but click and collect holds it for you for 7 days once \
             it's ready.",
            "Size L is available online but not in the {city} store right now.",
            "Usually within 2 hours during opening times. We'll email you when it's ready.",
            "Great choice. Your order will ship today if you place it before 2 pm.",
        ],
    },
    SupportTopic {
        intent: "account_help",
        tool: SupportTool::SearchHelpCenter,
        query: "password reset email not received",
        openers: &[
            "I can't log in, the password reset email never arrives.",
            "My discount code didn't apply at checkout. What am I doing wrong?",
            "How do I delete the saved card from my account?",
        ],
        answers: &[
            "Reset emails come from no-reply@brightwater.example and can take up to 10 \
             minutes. Please check your spam folder, and make sure you typed the address you \
             signed up with.",
            "Only one discount code can be used per order, and codes don't apply to items \
             already on sale or to gift cards. That's likely why it was declined.",
        ],
        follow_ups: &[
            "I checked spam, nothing there. Can you send it again?",
            "Can I change the email address on my account?",
            "Thanks, it worked.",
        ],
        follow_up_answers: &[
            "I've sent a new reset link. If it still doesn't arrive within 10 minutes, reply \
             here and I'll pass your case to the accounts team.",
            "Yes: under Account settings, choose Change email. We'll send a confirmation link \
             to the new address.",
            "Glad to hear it! Anything else I can do for you?",
        ],
    },
];

/// The system prompt of the support agent.
pub const AGENT_SYSTEM_PROMPT: &str = "You are Bea, the support assistant of Brightwater \
     Outfitters. Answer in two to four friendly sentences. Use the tools to look up orders, \
     stock and help center articles instead of guessing. Never promise refunds beyond the \
     return policy. If a customer is upset, apologise once and focus on the next step.";

/// The system prompt of the intent classifier.
pub const CLASSIFIER_SYSTEM_PROMPT: &str = "Classify the customer's message into one of: \
     order_status, return_request, product_question, stock_question, account_help, other. \
     Answer with JSON: {\"intent\": ..., \"sentiment\": \"positive\" | \"neutral\" | \
     \"negative\"}.";

/// The refusal the chatbot shows when the provider's content filter stops an answer.
pub const FILTERED_REPLY: &str = "I'm sorry, I can't help with that request. Is there \
     anything about your order or our products I can help with?";

/// A customer message that the content filter stops.
pub const FILTERED_MESSAGE: &str = "Tell me how to get into the neighbour's garage to take \
     back the tent he borrowed, he's not answering.";

const PRODUCTS: &[&str] = &[
    "Ridgeline rain jacket",
    "Summit 45 backpack",
    "Trailhead hiking boots",
    "Nimbus down jacket",
    "Cascade 2-person tent",
    "Alpine fleece hoodie",
    "Drift sleeping bag",
    "Canyon trekking poles",
];

const CARRIERS: &[&str] = &["Parcelway", "NorthPost", "SwiftShip"];
const DAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const CITIES: &[&str] = &[
    "Portland",
    "Denver",
    "Boulder",
    "Seattle",
    "Madison",
    "Burlington",
];

/// The facts that stay the same during one conversation.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Order number.
    pub order: String,
    /// Product name.
    pub product: &'static str,
    /// Carrier name.
    pub carrier: &'static str,
    /// Expected delivery day.
    pub day: &'static str,
    /// City of the customer.
    pub city: &'static str,
    /// Order amount, with its currency sign.
    pub amount: String,
}

impl Facts {
    /// Draws the facts of a conversation.
    pub fn draw(rng: &mut Rng) -> Facts {
        Facts {
            order: format!("BW-{}", rng.range(100_000, 999_999)),
            product: rng.choose(PRODUCTS),
            carrier: rng.choose(CARRIERS),
            day: rng.choose(DAYS),
            city: rng.choose(CITIES),
            amount: format!("${}.{:02}", rng.range(39, 389), rng.range(0, 99)),
        }
    }

    /// Replaces the braced names of a template with these facts.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{order}", &self.order)
            .replace("{product}", self.product)
            .replace("{carrier}", self.carrier)
            .replace("{day}", self.day)
            .replace("{city}", self.city)
            .replace("{amount}", &self.amount)
    }

    /// Returns the arguments the model passes to a tool.
    pub fn tool_arguments(&self, tool: SupportTool, query: &str) -> Value {
        match tool {
            SupportTool::LookupOrder => json!({"order_id": self.order}),
            SupportTool::SearchHelpCenter => json!({"query": query, "max_results": 3}),
            SupportTool::CreateReturnLabel => {
                json!({"order_id": self.order, "reason": "size_or_fit", "carrier": self.carrier})
            }
            SupportTool::CheckStock => json!({"product": self.product, "size": "M"}),
        }
    }

    /// Returns what a tool returns, as JSON.
    pub fn tool_result(&self, tool: SupportTool) -> Value {
        match tool {
            SupportTool::LookupOrder => json!({
                "order_id": self.order, "status": "in_transit", "carrier": self.carrier,
                "items": [{"name": self.product, "quantity": 1}],
                "estimated_delivery": self.day, "total": self.amount,
            }),
            SupportTool::SearchHelpCenter => json!({"status": "ok"}),
            SupportTool::CreateReturnLabel => json!({
                "order_id": self.order, "label_id": format!("RL-{}", self.order.trim_start_matches("BW-")),
                "carrier": self.carrier, "drop_off_within_days": 30, "refund_amount": self.amount,
            }),
            SupportTool::CheckStock => json!({
                "product": self.product, "size": "M", "online": 7,
                "stores": [{"city": self.city, "available": 2}],
            }),
        }
    }
}
