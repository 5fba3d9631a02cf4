//! `POST /v1/completions`, the legacy text completions: a `text_completion` object, or a stream
//! of them that ends with `data: [DONE]`, with the same usage rule as chat streams.

use serde_json::{Value, json};

use super::{CREATED, completion_usage, finish_reason, includes_usage, with_null_usage};
use crate::error::MockError;
use crate::reply::{Prompt, Reply, split_pieces};
use crate::server::{Call, Payload};
use crate::sse::Frame;

pub(crate) fn handle(call: &Call<'_>) -> Result<Payload, MockError> {
    let prompt = read_prompt(call.body.get("prompt"))?;
    let reply = Reply::new(&prompt, call.behavior);
    let pieces = split_pieces(reply.streamed_text(), call.options.chunks);

    if call.is_stream() {
        Ok(call.stream(stream_frames(call, &reply, &pieces), None))
    } else {
        let choice = choice(reply.streamed_text(), Some(finish_reason(reply.finish)));
        let mut body = completion(call, json!([choice]));
        body["usage"] = completion_usage(&reply.usage);
        Ok(call.generated(body, pieces.len()))
    }
}

/// Reads `prompt`: a string, a list of strings, a list of token ids or a list of such lists.
fn read_prompt(prompt: Option<&Value>) -> Result<Prompt, MockError> {
    let mut read = Prompt::default();
    match prompt {
        Some(Value::String(text)) => read.add_message(true, text),
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            read.tally.add_token_ids(items.len());
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(text) => read.add_message(true, text),
                    Value::Array(ids) => read.tally.add_token_ids(ids.len()),
                    _ => return Err(invalid_prompt()),
                }
            }
        }
        _ => return Err(invalid_prompt()),
    }
    Ok(read)
}

fn invalid_prompt() -> MockError {
    MockError::invalid(
        "invalid parameter: prompt must be a string, a list of strings or a list of token ids",
    )
}

fn stream_frames(call: &Call<'_>, reply: &Reply, pieces: &[&str]) -> Vec<Frame> {
    let include_usage = includes_usage(call.body);
    let chunk = |choices: Value| with_null_usage(completion(call, choices), include_usage);

    let mut frames: Vec<Frame> = pieces
        .iter()
        .map(|piece| Frame::data(&chunk(json!([choice(piece, None)])), true))
        .collect();
    let finish = finish_reason(reply.finish);
    frames.push(Frame::data(
        &chunk(json!([choice("", Some(finish))])),
        false,
    ));

    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = completion_usage(&reply.usage);
        frames.push(Frame::data(&last, false));
    }
    frames.push(Frame::done());
    frames
}

fn completion(call: &Call<'_>, choices: Value) -> Value {
    json!({
        "id": format!("cmpl-{}", call.id),
        "object": "text_completion",
        "created": CREATED,
        "model": call.model(),
        "choices": choices,
    })
}

fn choice(text: &str, finish: Option<&str>) -> Value {
    json!({"text": text, "index": 0, "logprobs": null, "finish_reason": finish})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::Behavior;
    use crate::reply::Output;

    #[test]
    fn read_prompt_forms() {
        let reply = |prompt: Value| {
            let prompt = read_prompt(Some(&prompt)).unwrap();
            Reply::new(&prompt, &Behavior::default())
        };

        let text = reply(json!("Say hi"));
        assert_eq!(
            text.output,
            Output::Text("Mock reply to: Say hi".to_owned())
        );
        assert_eq!(text.usage.uncached_input, 2);
        assert_eq!(reply(json!(["a b", "c"])).usage.uncached_input, 3);
        assert_eq!(reply(json!([1, 2, 3, 4])).usage.uncached_input, 4);
        assert_eq!(reply(json!([[1, 2], [3]])).usage.uncached_input, 3);
    }

    #[test]
    fn read_prompt_rejects_other_types() {
        assert!(read_prompt(None).is_err());
        assert!(read_prompt(Some(&json!({"text": "x"}))).is_err());
        assert!(read_prompt(Some(&json!([true]))).is_err());
    }
}
