//! OTLP/JSON decoding of the messages shared by every signal: values, attributes, resource
//! and instrumentation scope.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

use super::reader::{Object, decode_base64, json_error, parse_i64};
use crate::error::DecodeError;

/// Maximum nesting of `arrayValue` and `kvlistValue` accepted in one attribute value.
pub const MAX_VALUE_DEPTH: usize = 32;

/// Decodes the `attributes` list of an object.
pub(crate) fn attributes(object: &Object<'_>) -> Result<Vec<KeyValue>, DecodeError> {
    attribute_list(object, "attributes")
}

/// Decodes a list of `{key, value}` pairs under `key`.
pub(crate) fn attribute_list(object: &Object<'_>, key: &str) -> Result<Vec<KeyValue>, DecodeError> {
    object
        .objects(key)?
        .iter()
        .map(|pair| key_value(pair, 0))
        .collect()
}

fn key_value(pair: &Object<'_>, depth: usize) -> Result<KeyValue, DecodeError> {
    let key = pair.string("key")?;
    let value = match pair.object("value")? {
        Some(value) => Some(any_value(&value, depth)?),
        None => None,
    };
    Ok(KeyValue {
        key,
        value,
        ..Default::default()
    })
}

/// Decodes one `AnyValue` object.
pub(crate) fn any_value(object: &Object<'_>, depth: usize) -> Result<AnyValue, DecodeError> {
    if depth >= MAX_VALUE_DEPTH {
        return Err(json_error(
            object.path(),
            &format!("attribute value nested deeper than {MAX_VALUE_DEPTH} levels"),
        ));
    }
    let map = object.map();
    let value = if map.contains_key("stringValue") {
        Some(any_value::Value::StringValue(object.string("stringValue")?))
    } else if map.contains_key("boolValue") {
        Some(any_value::Value::BoolValue(object.bool("boolValue")?))
    } else if let Some((raw, path)) = object.raw("intValue") {
        let number = parse_i64(raw).ok_or_else(|| json_error(&path, "must be a 64-bit integer"))?;
        Some(any_value::Value::IntValue(number))
    } else if map.contains_key("doubleValue") {
        Some(any_value::Value::DoubleValue(object.f64("doubleValue")?))
    } else if let Some(array) = object.object("arrayValue")? {
        let values = array
            .objects("values")?
            .iter()
            .map(|item| any_value(item, depth + 1))
            .collect::<Result<_, _>>()?;
        Some(any_value::Value::ArrayValue(ArrayValue { values }))
    } else if let Some(list) = object.object("kvlistValue")? {
        let values = list
            .objects("values")?
            .iter()
            .map(|pair| key_value(pair, depth + 1))
            .collect::<Result<_, _>>()?;
        Some(any_value::Value::KvlistValue(KeyValueList { values }))
    } else if let Some((raw, path)) = object.raw("bytesValue") {
        let Value::String(text) = raw else {
            return Err(json_error(&path, "must be base64 text"));
        };
        Some(any_value::Value::BytesValue(decode_base64(text, &path)?))
    } else {
        None
    };
    Ok(AnyValue { value })
}

/// Decodes the optional `resource` of a resource envelope.
pub(crate) fn resource(envelope: &Object<'_>) -> Result<Option<Resource>, DecodeError> {
    let Some(object) = envelope.object("resource")? else {
        return Ok(None);
    };
    Ok(Some(Resource {
        attributes: attributes(&object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
        ..Default::default()
    }))
}

/// Decodes the optional `scope` of a scope envelope.
pub(crate) fn scope(envelope: &Object<'_>) -> Result<Option<InstrumentationScope>, DecodeError> {
    let Some(object) = envelope.object("scope")? else {
        return Ok(None);
    };
    Ok(Some(InstrumentationScope {
        name: object.string("name")?,
        version: object.string("version")?,
        attributes: attributes(&object)?,
        dropped_attributes_count: object.u32("droppedAttributesCount")?,
    }))
}
