//! The one merge rule for content patches, shared by the store and the tests.
//!
//! Patches apply in order of record time, then sequence. A replacing patch (from a record
//! that carries a whole call) replaces each message list it carries. An appending patch (one
//! message per record) appends to the list. A patch never clears a list it does not carry,
//! so content the span already had from its own attributes stays unless a replacing patch
//! carries that list.
//!
//! Finish reasons of the patches are united in order without duplicates, and when the
//! patches carry any, they take the place of the span's own. The records hold one reason per
//! choice as the provider returned it, while some libraries rewrite the span attribute
//! (OpenLLMetry writes `tool_call` on the span and `tool_calls` in the `gen_ai.choice`
//! record); a union would give one choice two reasons.
//!
//! The rule assumes `span` holds only its own content: apply every patch of the span to the
//! span as normalized, not to a span that already had some of them applied, or appended
//! messages would repeat.

use glassbox_model::{Message, Span, SpanContentPatch};

/// Applies content patches to a span.
pub fn apply_patches(span: &mut Span, patches: &[SpanContentPatch]) {
    let mut ordered: Vec<&SpanContentPatch> = patches.iter().collect();
    ordered.sort_by_key(|patch| (patch.time_unix_nano, patch.sequence));

    let mut finish_reasons: Vec<String> = Vec::new();
    for patch in ordered {
        merge_list(
            &mut span.input_messages,
            &patch.input_messages,
            patch.replaces,
        );
        merge_list(
            &mut span.output_messages,
            &patch.output_messages,
            patch.replaces,
        );
        for reason in &patch.finish_reasons {
            if !finish_reasons.contains(reason) {
                finish_reasons.push(reason.clone());
            }
        }
    }

    if !finish_reasons.is_empty() {
        span.finish_reasons = finish_reasons;
    }
}

fn merge_list(list: &mut Option<Vec<Message>>, messages: &[Message], replaces: bool) {
    if messages.is_empty() {
        return;
    }
    if replaces {
        *list = Some(messages.to_vec());
    } else {
        list.get_or_insert_with(Vec::new)
            .extend_from_slice(messages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{ContentTarget, SpanId, TraceId};

    fn patch(time: u64, sequence: u64, input: &[&str], replaces: bool) -> SpanContentPatch {
        SpanContentPatch {
            target: ContentTarget::ResponseId("resp_1".into()),
            time_unix_nano: time,
            sequence,
            event_name: "gen_ai.user.message".into(),
            input_messages: input
                .iter()
                .map(|text| Message::text("user", *text))
                .collect(),
            output_messages: Vec::new(),
            finish_reasons: Vec::new(),
            replaces,
        }
    }

    fn texts(span: &Span) -> Vec<String> {
        span.input_messages
            .iter()
            .flatten()
            .filter_map(|message| message.content.clone())
            .collect()
    }

    fn span() -> Span {
        Span::new(TraceId([1; 16]), SpanId([2; 8]), "chat")
    }

    #[test]
    fn appending_patches_follow_time_then_sequence() {
        let mut target = span();
        let patches = [
            patch(5, 1, &["b"], false),
            patch(5, 0, &["a"], false),
            patch(1, 9, &["first"], false),
        ];
        apply_patches(&mut target, &patches);
        assert_eq!(texts(&target), ["first", "a", "b"]);
    }

    #[test]
    fn replacing_patch_replaces_carried_lists_only() {
        let mut target = span();
        target.input_messages = Some(vec![Message::text("user", "own")]);
        target.output_messages = Some(vec![Message::text("assistant", "kept")]);
        apply_patches(&mut target, &[patch(1, 0, &["whole"], true)]);
        assert_eq!(texts(&target), ["whole"]);
        assert!(target.output_messages.is_some());
    }

    #[test]
    fn finish_reasons_unite_without_duplicates() {
        let mut target = span();
        let mut first = patch(1, 0, &[], false);
        first.finish_reasons = vec!["stop".into(), "length".into()];
        let mut second = patch(2, 0, &[], false);
        second.finish_reasons = vec!["length".into(), "content_filter".into()];
        apply_patches(&mut target, &[second, first]);
        assert_eq!(target.finish_reasons, ["stop", "length", "content_filter"]);
    }

    #[test]
    fn record_finish_reasons_replace_span_ones() {
        let mut target = span();
        target.finish_reasons = vec!["tool_call".into()];
        let mut choice = patch(1, 0, &[], false);
        choice.finish_reasons = vec!["tool_calls".into()];
        apply_patches(&mut target, &[choice]);
        assert_eq!(target.finish_reasons, ["tool_calls"]);
    }

    #[test]
    fn patches_without_finish_reasons_keep_the_span_ones() {
        let mut target = span();
        target.finish_reasons = vec!["stop".into()];
        apply_patches(&mut target, &[patch(1, 0, &["hi"], false)]);
        assert_eq!(target.finish_reasons, ["stop"]);
    }
}
