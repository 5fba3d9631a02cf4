//! `POST /v1/embeddings`: one deterministic unit vector per input, as JSON floats or as base64
//! of little-endian `f32` values (`encoding_format: "base64"`, the Python SDK's default).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::error::MockError;
use crate::server::{Call, Payload};
use crate::tokens::InputTally;

/// Vector length when the request sets no `dimensions`.
const DEFAULT_DIMENSIONS: usize = 8;

/// Largest `dimensions` accepted, the length of OpenAI's largest embedding model.
const MAX_DIMENSIONS: usize = 3072;

/// One input: a seed for its vector and its token count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Input {
    seed: u64,
    tokens: usize,
}

pub(crate) fn handle(call: &Call<'_>) -> Result<Payload, MockError> {
    let inputs = read_inputs(call.body.get("input"))?;
    let dimensions = read_dimensions(call.body.get("dimensions"))?;
    let base64 = read_base64(call.body.get("encoding_format"))?;

    let mut tally = InputTally::default();
    let mut data = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        tally.add_token_ids(input.tokens);
        let vector = unit_vector(input.seed, dimensions);
        data.push(json!({
            "object": "embedding",
            "index": index,
            "embedding": encode(&vector, base64),
        }));
    }

    let tokens = tally.uncached_tokens();
    Ok(Payload::json(json!({
        "object": "list",
        "data": data,
        "model": call.model(),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}

/// Reads `input`: a string, a list of strings, a list of token ids or a list of such lists.
fn read_inputs(input: Option<&Value>) -> Result<Vec<Input>, MockError> {
    let inputs = match input {
        Some(text @ Value::String(_)) => vec![read_one(text)?],
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_number) => {
            vec![read_one(&Value::Array(items.clone()))?]
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(read_one).collect::<Result<_, _>>()?
        }
        _ => return Err(invalid_input()),
    };
    Ok(inputs)
}

fn read_one(item: &Value) -> Result<Input, MockError> {
    let tokens = match item {
        Value::String(text) if !text.is_empty() => text.split_whitespace().count(),
        Value::Array(ids) if !ids.is_empty() && ids.iter().all(Value::is_number) => ids.len(),
        _ => return Err(invalid_input()),
    };
    Ok(Input {
        seed: fnv1a(item.to_string().as_bytes()),
        tokens,
    })
}

fn invalid_input() -> MockError {
    MockError::invalid(
        "invalid parameter: input must be a non-empty string or list of strings or token ids",
    )
}

fn read_dimensions(dimensions: Option<&Value>) -> Result<usize, MockError> {
    let Some(value) = dimensions else {
        return Ok(DEFAULT_DIMENSIONS);
    };
    match value.as_u64() {
        Some(n @ 1..) if n <= MAX_DIMENSIONS as u64 => Ok(n as usize),
        _ => Err(MockError::invalid(format!(
            "invalid parameter: dimensions must be an integer from 1 to {MAX_DIMENSIONS}, got {value}"
        ))),
    }
}

fn read_base64(format: Option<&Value>) -> Result<bool, MockError> {
    let Some(format) = format else {
        return Ok(false);
    };
    match format.as_str() {
        Some("float") => Ok(false),
        Some("base64") => Ok(true),
        _ => Err(MockError::invalid(
            "invalid parameter: encoding_format must be \"float\" or \"base64\"",
        )),
    }
}

fn encode(vector: &[f32], base64: bool) -> Value {
    if !base64 {
        return json!(vector);
    }
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    json!(STANDARD.encode(bytes))
}

/// Builds a vector of unit length from a xorshift sequence, so equal inputs get equal vectors.
fn unit_vector(seed: u64, dimensions: usize) -> Vec<f32> {
    // Xorshift never leaves zero, so the seed must not be zero.
    let mut state = seed | 1;
    let mut vector: Vec<f64> = (0..dimensions)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect();

    let norm = vector.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector.into_iter().map(|x| x as f32).collect()
}

/// 64-bit FNV-1a hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_inputs_forms() {
        let tokens = |input: Value| -> Vec<usize> {
            read_inputs(Some(&input))
                .unwrap()
                .iter()
                .map(|i| i.tokens)
                .collect()
        };

        assert_eq!(tokens(json!("two words")), [2]);
        assert_eq!(tokens(json!(["a", "b c"])), [1, 2]);
        assert_eq!(tokens(json!([5, 6, 7])), [3]);
        assert_eq!(tokens(json!([[5, 6], [7]])), [2, 1]);
    }

    #[test]
    fn read_inputs_rejects_empty() {
        for input in [json!(""), json!([]), json!([""]), json!([[]]), json!(3)] {
            assert!(read_inputs(Some(&input)).is_err(), "input {input}");
        }
        assert!(read_inputs(None).is_err());
    }

    #[test]
    fn unit_vector_is_deterministic_unit() {
        let a = unit_vector(fnv1a(b"hello"), 16);
        let b = unit_vector(fnv1a(b"hello"), 16);
        let c = unit_vector(fnv1a(b"world"), 16);

        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }

    #[test]
    fn encode_base64_little_endian() {
        let encoded = encode(&[1.0, -2.0], true);

        let bytes = STANDARD.decode(encoded.as_str().unwrap()).unwrap();
        assert_eq!(bytes, [0, 0, 128, 63, 0, 0, 0, 192]);
    }

    #[test]
    fn read_options() {
        assert_eq!(read_dimensions(None).unwrap(), DEFAULT_DIMENSIONS);
        assert_eq!(read_dimensions(Some(&json!(256))).unwrap(), 256);
        assert!(read_dimensions(Some(&json!(0))).is_err());
        assert!(read_dimensions(Some(&json!(5000))).is_err());
        assert!(!read_base64(None).unwrap());
        assert!(!read_base64(Some(&json!("float"))).unwrap());
        assert!(read_base64(Some(&json!("base64"))).unwrap());
        assert!(read_base64(Some(&json!("binary"))).is_err());
        assert!(read_base64(Some(&json!(1))).is_err());
    }
}
