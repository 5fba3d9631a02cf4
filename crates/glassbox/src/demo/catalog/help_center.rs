//! The help center of Brightwater Outfitters: the articles that the search API retrieves and
//! the questions that customers type into the search box of the shop's website.

/// One indexed passage of a help center article.
#[derive(Debug)]
pub struct Article {
    /// Document id in the vector index.
    pub id: &'static str,
    /// Article title.
    pub title: &'static str,
    /// The passage text.
    pub text: &'static str,
}

/// A question from the website's search box and the answer the API writes.
#[derive(Debug)]
pub struct Question {
    /// The question as typed.
    pub text: &'static str,
    /// Indexes in [`ARTICLES`] of the passages that answer it, best first.
    pub articles: &'static [usize],
    /// The generated answer.
    pub answer: &'static str,
}

/// Every indexed passage.
pub const ARTICLES: &[Article] = &[
    Article {
        id: "hc-shipping-standard#1",
        title: "Standard delivery",
        text: "Standard delivery takes 3 to 5 business days and is free on orders over $75. \
               Orders placed before 2 pm ship the same day.",
    },
    Article {
        id: "hc-shipping-international#1",
        title: "Shipping abroad",
        text: "We ship to 28 countries. International delivery takes 6 to 12 business days; \
               duties and taxes are shown at checkout and collected by the carrier.",
    },
    Article {
        id: "hc-shipping-address#1",
        title: "Changing the delivery address",
        text: "You can change the delivery address until the order is packed. Once a parcel is \
               with the carrier, redirect it from the carrier's tracking page.",
    },
    Article {
        id: "hc-returns-policy#1",
        title: "Return policy",
        text: "Unworn items can be returned within 30 days of delivery for a full refund. Sale \
               items can be exchanged but not refunded.",
    },
    Article {
        id: "hc-returns-refunds#1",
        title: "When refunds arrive",
        text: "Refunds go back to the original payment method within 5 business days after the \
               return reaches our warehouse. Banks may take 3 more days to show it.",
    },
    Article {
        id: "hc-returns-exchanges#1",
        title: "Exchanges",
        text: "Exchanges for another size or colour are free. Start the exchange from your \
               order page; the new item ships as soon as the carrier scans your return.",
    },
    Article {
        id: "hc-care-shell-jackets#1",
        title: "Caring for waterproof jackets",
        text: "Wash shell jackets at 30 °C with a technical cleaner and no softener. Tumble dry \
               on low for 20 minutes to reactivate the water-repellent finish.",
    },
    Article {
        id: "hc-care-down#1",
        title: "Caring for down",
        text: "Wash down jackets and sleeping bags with a down-specific detergent and dry them \
               with three clean tennis balls to restore the loft.",
    },
    Article {
        id: "hc-care-tents#1",
        title: "Caring for tents",
        text: "Never pack a tent away wet. Pitch it to dry within 24 hours, and clean the \
               zips with fresh water after trips to the beach.",
    },
    Article {
        id: "hc-warranty-coverage#1",
        title: "Warranty coverage",
        text: "All Brightwater gear has a 2-year warranty against defects in materials and \
               workmanship; tents and packs have 5 years. Wear and tear and accidental damage \
               are not covered.",
    },
    Article {
        id: "hc-warranty-claims#1",
        title: "Making a warranty claim",
        text: "Send photos of the defect and your order number through the contact form. \
               Approved claims get a repair, a replacement or store credit.",
    },
    Article {
        id: "hc-sizing-jackets#1",
        title: "Jacket sizes",
        text: "Our jackets have a regular fit. If you plan to wear a fleece underneath, choose \
               one size up. The size chart lists chest and sleeve length in cm and inches.",
    },
    Article {
        id: "hc-sizing-boots#1",
        title: "Boot sizes",
        text: "Hiking boots run half a size small. Measure your feet in the evening and add 1 \
               cm for thick hiking socks.",
    },
    Article {
        id: "hc-account-password#1",
        title: "Resetting your password",
        text: "Password reset emails come from no-reply@brightwater.example and can take up to \
               10 minutes. Check the spam folder and make sure the address matches your \
               account.",
    },
    Article {
        id: "hc-account-discounts#1",
        title: "Discount codes",
        text: "Only one discount code can be used per order. Codes do not apply to gift cards \
               or to items already on sale.",
    },
    Article {
        id: "hc-stores-pickup#1",
        title: "Click and collect",
        text: "Click and collect is free in all 14 stores. We email you when the order is \
               ready, usually within 2 hours during opening times, and hold it for 7 days.",
    },
];

/// Questions typed into the website's search box.
pub const QUESTIONS: &[Question] = &[
    Question {
        text: "how long does delivery take",
        articles: &[0, 1],
        answer: "Standard delivery takes 3 to 5 business days, and it's free on orders over \
                 $75. Orders placed before 2 pm ship the same day.",
    },
    Question {
        text: "can I return sale items",
        articles: &[3, 5],
        answer: "Sale items can't be refunded, but you can exchange them for another size or \
                 colour for free within 30 days of delivery.",
    },
    Question {
        text: "shipping to canada duties",
        articles: &[1, 0],
        answer: "We ship to Canada in 6 to 12 business days. Duties and taxes are shown at \
                 checkout and collected by the carrier on delivery.",
    },
    Question {
        text: "how to wash rain jacket",
        articles: &[6, 9],
        answer: "Wash it at 30 °C with a technical cleaner and no fabric softener, then tumble \
                 dry on low for 20 minutes to reactivate the water-repellent finish.",
    },
    Question {
        text: "warranty on tents",
        articles: &[9, 10, 8],
        answer: "Tents have a 5-year warranty against defects in materials and workmanship. To \
                 claim, send photos of the defect and your order number through the contact \
                 form.",
    },
    Question {
        text: "what size hiking boots should I get",
        articles: &[12, 11],
        answer: "Our hiking boots run half a size small: measure your feet in the evening and \
                 add about 1 cm for thick hiking socks.",
    },
    Question {
        text: "password reset email not received",
        articles: &[13],
        answer: "Reset emails can take up to 10 minutes and come from \
                 no-reply@brightwater.example. Check your spam folder and make sure you used \
                 the address of your account.",
    },
    Question {
        text: "can I use two discount codes",
        articles: &[14],
        answer: "Only one discount code can be used per order, and codes don't apply to gift \
                 cards or sale items.",
    },
    Question {
        text: "when do I get my refund",
        articles: &[4, 3],
        answer: "Refunds go back to your original payment method within 5 business days after \
                 your return reaches our warehouse; your bank may take up to 3 more days.",
    },
    Question {
        text: "how to wash down jacket",
        articles: &[7],
        answer: "Use a down-specific detergent and dry it with three clean tennis balls to \
                 restore the loft.",
    },
    Question {
        text: "click and collect how long",
        articles: &[15, 0],
        answer: "Click and collect is free and usually ready within 2 hours during opening \
                 times. We hold your order for 7 days.",
    },
    Question {
        text: "change delivery address after ordering",
        articles: &[2],
        answer: "You can change the address until your order is packed. After that, redirect \
                 the parcel from the carrier's tracking page.",
    },
];

/// The system prompt of the answer model.
pub const ANSWER_SYSTEM_PROMPT: &str = "You answer questions from customers of Brightwater \
     Outfitters using only the help center passages given. Answer in at most three sentences. \
     If the passages do not answer the question, say so and suggest contacting support.";

/// The vector index of the help center.
pub const INDEX: &str = "help-center-v3";

/// The reranker model, served next to the search API without a provider.
pub const RERANKER: &str = "bge-reranker-v2-m3";

/// Returns the passages of the given indexes, joined for a prompt.
pub fn context(indexes: &[usize]) -> String {
    indexes
        .iter()
        .filter_map(|index| ARTICLES.get(*index))
        .map(|article| format!("[{}] {}\n{}", article.id, article.title, article.text))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Returns the passages that best match a support chatbot query.
pub fn articles_for_query(query: &str) -> &'static [usize] {
    match query {
        "late delivery carrier investigation" => &[0, 2],
        "return policy refund timing" => &[3, 4, 5],
        "waterproof jacket care and warranty" => &[6, 9, 10],
        "click and collect store pickup" => &[15],
        _ => &[13, 14],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_point_to_articles() {
        for question in QUESTIONS {
            for index in question.articles {
                assert!(*index < ARTICLES.len(), "{}", question.text);
            }
        }
    }
}
