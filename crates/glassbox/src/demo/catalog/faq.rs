//! The `demo-faq` dataset: help center and support questions, each with the expected answer
//! and the answer that the search API recorded for it. Most recorded answers match the
//! expected one, some only in substance, and a few are wrong.

use crate::demo::catalog::help_center::QUESTIONS;

/// One dataset item.
#[derive(Debug)]
pub struct FaqEntry {
    /// The question.
    pub question: &'static str,
    /// The answer that is right.
    pub expected: &'static str,
    /// The answer that the search API gave, scored by the replay experiments.
    pub recorded: &'static str,
    /// The help center section.
    pub topic: &'static str,
}

/// Returns an item whose recorded answer is the expected one.
const fn matching(index: usize, topic: &'static str) -> FaqEntry {
    FaqEntry {
        question: QUESTIONS[index].text,
        expected: QUESTIONS[index].answer,
        recorded: QUESTIONS[index].answer,
        topic,
    }
}

/// Returns an item whose recorded answer differs from the expected one.
const fn differing(index: usize, recorded: &'static str, topic: &'static str) -> FaqEntry {
    FaqEntry {
        question: QUESTIONS[index].text,
        expected: QUESTIONS[index].answer,
        recorded,
        topic,
    }
}

/// Every item, in dataset order.
pub const FAQ: &[FaqEntry] = &[
    matching(0, "shipping"),
    differing(
        1,
        "Sale items cannot be refunded. You can still exchange them for free for another size \
         or colour within 30 days of delivery.",
        "returns",
    ),
    matching(2, "shipping"),
    matching(3, "care"),
    differing(
        4,
        "Tents have a 2-year warranty against defects in materials and workmanship. To claim, \
         send photos of the defect and your order number through the contact form.",
        "warranty",
    ),
    matching(5, "sizing"),
    matching(6, "account"),
    differing(
        7,
        "Yes, you can combine up to two discount codes per order, except on gift cards.",
        "account",
    ),
    matching(8, "returns"),
    differing(
        9,
        "Use a down-specific detergent, then tumble dry it with three clean tennis balls to \
         restore the loft.",
        "care",
    ),
    matching(10, "stores"),
    matching(11, "shipping"),
    FaqEntry {
        question: "do you ship to PO boxes",
        expected: "Yes, standard delivery can go to a PO box. Express delivery needs a street \
                   address.",
        recorded: "Yes, standard delivery can go to a PO box. Express delivery needs a street \
                   address.",
        topic: "shipping",
    },
    FaqEntry {
        question: "how long is the return window",
        expected: "Unworn items can be returned within 30 days of delivery for a full refund.",
        recorded: "You can return unworn items within 30 days of delivery for a full refund.",
        topic: "returns",
    },
    FaqEntry {
        question: "are return labels free",
        expected: "Yes, every order comes with a free prepaid return label.",
        recorded: "Yes, every order comes with a free prepaid return label.",
        topic: "returns",
    },
    FaqEntry {
        question: "can I repair a broken zip",
        expected: "A zip that breaks within the warranty period is repaired or replaced for \
                   free; after that we repair it at cost.",
        recorded: "Broken zips are not covered by the warranty, but our partner shops can \
                   replace them.",
        topic: "warranty",
    },
    FaqEntry {
        question: "how do I delete my saved card",
        expected: "Open Account settings, choose Payment methods and remove the card.",
        recorded: "Open Account settings, choose Payment methods and remove the card.",
        topic: "account",
    },
    FaqEntry {
        question: "do gift cards expire",
        expected: "No, Brightwater gift cards never expire.",
        recorded: "No, our gift cards do not expire.",
        topic: "account",
    },
    FaqEntry {
        question: "is click and collect free",
        expected: "Yes, click and collect is free in all 14 stores.",
        recorded: "Yes, click and collect is free in all 14 stores.",
        topic: "stores",
    },
    FaqEntry {
        question: "what are the store opening hours",
        expected: "Stores open from 9 am to 7 pm Monday to Saturday and from 10 am to 5 pm on \
                   Sunday.",
        recorded: "Stores open from 9 am to 7 pm Monday to Saturday and from 10 am to 5 pm on \
                   Sunday.",
        topic: "stores",
    },
];
