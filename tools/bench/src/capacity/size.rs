//! The size of a DynamoDB item, and what writing or reading it costs in
//! capacity units, by the rules of the AWS DynamoDB Developer Guide ("Item
//! sizes and formats", "Read consumption", "Write consumption"). Items are in
//! DynamoDB's JSON form, as on the wire: `{"name": {"S": "text"}, ...}`.

use serde_json::{Map, Value};

/// One item, as DynamoDB's JSON protocol writes it.
pub type Item = Map<String, Value>;

/// A write unit covers up to 1 KB of the item written.
const WRITE_UNIT_BYTES: u64 = 1024;
/// A read unit covers up to 4 KB of the items read.
const READ_UNIT_BYTES: u64 = 4096;
/// "Provisioned throughput considerations for Global Secondary Indexes": an
/// index entry's size is its key attributes, its projected attributes and
/// 100 bytes of overhead.
pub const INDEX_ENTRY_OVERHEAD: u64 = 100;

/// The size of `item`: the sum over its attributes of the UTF-8 length of the
/// name plus the size of the value.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// The size of one typed value, as "Item sizes and formats" counts it:
///
/// - a string: its UTF-8 bytes; a binary: its raw bytes (the wire carries base64);
/// - a number: about one byte per two significant digits, plus one (see
///   [`number_size`]: an approximation, as AWS's own wording is);
/// - a Boolean or a null: one byte;
/// - a list or a map: 3 bytes, plus each element's size and one byte per
///   element (and, in a map, each element's name);
/// - a set: the sum of its elements' sizes.
///
/// A value of a shape DynamoDB does not send counts as nothing: the model
/// only ever sees what DynamoDB accepted.
pub fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|typed| typed.iter().next()) else {
        return 0;
    };
    let texts = || {
        inner
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, |text| text.len() as u64),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, base64_size),
        "BOOL" | "NULL" => 1,
        "SS" => texts().map(|text| text.len() as u64).sum(),
        "NS" => texts().map(number_size).sum(),
        "BS" => texts().map(base64_size).sum(),
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|element| 1 + value_size(element))
                .sum::<u64>()
        }
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, element)| 1 + name.len() as u64 + value_size(element))
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A number's size: AWS documents it only "approximately", as one byte per
/// two significant digits (leading and trailing zeroes trimmed) plus one
/// byte. That is what this counts; DynamoDB's exact encoding may differ by a
/// byte (for a negative number, say), which moves a write unit only for an
/// item within a byte of a 1 KB boundary.
pub fn number_size(text: &str) -> u64 {
    // The mantissa alone: an exponent (`1.5E+3`) scales, it adds no digit.
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

/// The raw length of base64 text.
fn base64_size(text: &str) -> u64 {
    let padding = text.bytes().rev().take_while(|byte| *byte == b'=').count() as u64;
    (text.len() as u64 / 4 * 3).saturating_sub(padding)
}

/// Write units for writing `bytes`: one per 1 KB or part of it, at least one
/// (a write of an item that is not there, or a failed conditional write,
/// still costs one).
pub fn write_units(bytes: u64) -> u64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1)
}

/// Read units for reading `bytes` in one request: one per 4 KB or part of it
/// for a strongly consistent read, half that for an eventually consistent
/// one; at least that much even for nothing found.
pub fn read_units(bytes: u64, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Item {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn strings_count_utf8_bytes_of_name_and_value() {
        assert_eq!(item_size(&item(json!({"id": {"S": "abc"}}))), 5);
        assert_eq!(item_size(&item(json!({"é": {"S": "ü"}}))), 4);
    }

    #[test]
    fn numbers_count_about_one_byte_per_two_significant_digits() {
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("7"), 2);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("12345"), 4);
        assert_eq!(number_size("-0.00125"), 3);
        assert_eq!(number_size("1.5E+3"), 2);
    }

    #[test]
    fn lists_and_maps_add_three_bytes_and_one_per_element() {
        let list = json!({"L": [{"S": "ab"}, {"BOOL": true}]});
        assert_eq!(value_size(&list), 3 + (1 + 2) + (1 + 1));
        let map = json!({"M": {"k": {"N": "12"}}});
        assert_eq!(value_size(&map), 3 + (1 + 1 + 2));
        assert_eq!(value_size(&json!({"B": "AAEC"})), 3);
        assert_eq!(value_size(&json!({"B": "AA=="})), 1);
    }

    #[test]
    fn units_round_up_and_never_fall_to_zero() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(10, false), 0.5);
    }
}
