//! Conversion of OTLP attribute values into JSON values.

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Number, Value};

/// Maximum nesting of arrays and key-value lists that is converted; deeper levels are kept
/// as the string `"<nested too deep>"` so one odd attribute never rejects a span.
pub const MAX_DEPTH: usize = 64;

/// Converts OTLP attributes into a JSON object, keeping every key.
///
/// When a key repeats, the last value wins, as the OTLP specification allows.
pub fn attributes_to_map(attributes: &[KeyValue]) -> Map<String, Value> {
    let mut map = Map::new();
    for attribute in attributes {
        let value = attribute
            .value
            .as_ref()
            .map_or(Value::Null, |value| any_value_to_json(value, 0));
        map.insert(attribute.key.clone(), value);
    }
    map
}

/// Converts one OTLP `AnyValue` into JSON.
///
/// Integers stay integers, bytes become base64 text as in OTLP/JSON, and an empty value
/// becomes null.
pub fn any_value_to_json(value: &AnyValue, depth: usize) -> Value {
    let Some(inner) = &value.value else {
        return Value::Null;
    };
    if depth >= MAX_DEPTH {
        return Value::String("<nested too deep>".to_owned());
    }
    match inner {
        any_value::Value::StringValue(text) => Value::String(text.clone()),
        any_value::Value::BoolValue(flag) => Value::Bool(*flag),
        any_value::Value::IntValue(number) => Value::Number((*number).into()),
        any_value::Value::DoubleValue(number) => Number::from_f64(*number)
            .map_or_else(|| Value::String(number.to_string()), Value::Number),
        any_value::Value::ArrayValue(array) => Value::Array(
            array
                .values
                .iter()
                .map(|item| any_value_to_json(item, depth + 1))
                .collect(),
        ),
        any_value::Value::KvlistValue(list) => {
            let mut map = Map::new();
            for pair in &list.values {
                let item = pair
                    .value
                    .as_ref()
                    .map_or(Value::Null, |item| any_value_to_json(item, depth + 1));
                map.insert(pair.key.clone(), item);
            }
            Value::Object(map)
        }
        any_value::Value::BytesValue(bytes) => Value::String(BASE64_STANDARD.encode(bytes)),
        // Indexes into a profile's string table; spans and logs never carry them.
        any_value::Value::StringValueStrindex(index) => {
            Value::String(format!("<string index {index}>"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_cut_not_rejected() {
        let mut value = AnyValue {
            value: Some(any_value::Value::StringValue("leaf".into())),
        };
        for _ in 0..200 {
            value = AnyValue {
                value: Some(any_value::Value::ArrayValue(
                    opentelemetry_proto::tonic::common::v1::ArrayValue {
                        values: vec![value],
                    },
                )),
            };
        }
        let json = any_value_to_json(&value, 0);
        assert!(json.to_string().contains("<nested too deep>"));
    }
}
