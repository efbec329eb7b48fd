//! The model of DynamoDB's write and read units: a shadow copy of every item
//! of the table, by primary key, so that each write is seen with the item
//! before and after it, and the rules by which DynamoDB charges the table and
//! each secondary index for it (AWS DynamoDB Developer Guide, "Item sizes and
//! formats", "Write consumption", and "Provisioned throughput considerations
//! for Global Secondary Indexes").
//!
//! The shadow is right only if every write of the table passes through the
//! model: the capacity scenario sends the web's and the worker's requests
//! through its proxies, and nothing else writes (the bench's own reader only
//! reads).

use std::collections::HashMap;

use serde_json::Value;

use super::schema::{Index, Layout};
use super::size::{INDEX_ENTRY_OVERHEAD, Item, item_size, read_units, write_units};
use super::usage::{Change, Usage, Write};

/// Items of an index sampled to guess the size of entries a Query read but
/// did not return (see [`Model::query`]).
const SAMPLED_ENTRIES: usize = 1000;

/// The table as the model knows it, and what was counted since the last reset.
#[derive(Debug)]
pub struct Model {
    layout: Layout,
    /// Each item as JSON text, by its table key: a parsed item takes about
    /// ten times the memory, which 100,000 items make a gigabyte.
    items: HashMap<String, Box<str>>,
    usage: Usage,
}

/// An item stored as JSON text, read back.
fn parsed(text: &str) -> Option<Item> {
    serde_json::from_str(text).ok()
}

/// A value as `attribute=value`: the text of a string or a number, the JSON of
/// anything else.
fn label(attribute: &str, item: &Item) -> String {
    let value = match item.get(attribute) {
        Some(Value::Object(typed)) => match typed.iter().next() {
            Some((kind, Value::String(text))) if kind == "S" || kind == "N" => text.clone(),
            _ => Value::Object(typed.clone()).to_string(),
        },
        Some(other) => other.to_string(),
        None => "(none)".to_owned(),
    };
    format!("{attribute}={value}")
}

/// An index entry's size for writing: its attributes and 100 bytes.
fn entry_size(entry: &Item) -> u64 {
    item_size(entry) + INDEX_ENTRY_OVERHEAD
}

impl Model {
    /// A model of an empty table laid out as `layout`.
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            items: HashMap::new(),
            usage: Usage::default(),
        }
    }

    /// The table's layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// What was counted since the last call; counting starts again from
    /// nothing (the shadow items stay).
    pub fn take_usage(&mut self) -> Usage {
        std::mem::take(&mut self.usage)
    }

    /// Notes something the model could not account for.
    pub fn problem(&mut self, text: String) {
        self.usage.problem(text);
    }

    /// Counts a write DynamoDB refused without charging it.
    pub fn rejected(&mut self) {
        self.usage.rejected_writes += 1;
    }

    /// Counts an SQS request, billed by 64 KB chunk of its payload (taken as
    /// the larger of the request's and the answer's bodies: a receive's
    /// payload is in its answer).
    pub fn sqs_request(&mut self, request_bytes: usize, answer_bytes: usize) {
        const CHUNK: u64 = 64 * 1024;
        let payload = request_bytes.max(answer_bytes) as u64;
        self.usage.sqs_billed_requests += payload.div_ceil(CHUNK).max(1);
    }

    /// Counts a DynamoDB Streams request: `GetRecords` is billed.
    pub fn stream_request(&mut self, operation: &str) {
        if operation == "GetRecords" {
            self.usage.stream_reads += 1;
        }
    }

    /// The shadow's key for the item whose table key is in `key`, or none if
    /// `key` lacks a key attribute.
    fn shadow_key(&self, key: &Item) -> Option<String> {
        self.layout
            .key
            .of(key)
            .map(|key| Value::Object(key).to_string())
    }

    /// The item with the table key in `key`, as the model last saw it.
    pub fn item(&self, key: &Item) -> Option<Item> {
        parsed(self.items.get(&self.shadow_key(key)?)?)
    }

    /// A successful write of the item keyed by `key`: it is `after` now, or
    /// gone if `after` is none. Charges the table by the larger of the item
    /// before and after, and each index by what its entry became.
    pub fn write(&mut self, operation: &str, key: &Item, after: Option<Item>) {
        let Some(shadow_key) = self.shadow_key(key) else {
            self.problem(format!("{operation} names no full table key: {key:?}"));
            return;
        };
        let before = match &after {
            Some(item) => self
                .items
                .insert(shadow_key, Value::Object(item.clone()).to_string().into()),
            None => self.items.remove(&shadow_key),
        }
        .and_then(|text| parsed(&text));
        let size = |item: &Option<Item>| item.as_ref().map_or(0, item_size);
        let table_partition = &self.layout.key.partition;
        let item_label = self.item_label(key);
        let mut writes = vec![Write {
            operation: operation.to_owned(),
            target: "table".to_owned(),
            partition: label(table_partition, key),
            item: item_label.clone(),
            change: match (&before, &after) {
                (_, None) => Change::Delete,
                (None, Some(_)) => Change::Put,
                (Some(_), Some(_)) => Change::Update,
            },
            units: write_units(size(&before).max(size(&after))),
        }];
        for index in &self.layout.indexes {
            let entry = |item: &Option<Item>| {
                item.as_ref()
                    .and_then(|item| index.entry(&self.layout.key, item))
            };
            let one = |change: Change, entry: &Item, units: u64| Write {
                operation: operation.to_owned(),
                target: format!("index {}", index.name),
                partition: label(&index.key.partition, entry),
                item: item_label.clone(),
                change,
                units,
            };
            match (entry(&before), entry(&after)) {
                // Not in the index before or after (a sparse index): no write.
                (None, None) => {}
                // Newly has the index's key: one put.
                (None, Some(new)) => {
                    writes.push(one(Change::Put, &new, write_units(entry_size(&new))))
                }
                // Lost an index key attribute (or the item went): one delete.
                (Some(old), None) => {
                    writes.push(one(Change::Delete, &old, write_units(entry_size(&old))));
                }
                // The index's key changed: the old entry is deleted and the
                // new one put, each on its own partition key value.
                (Some(old), Some(new)) if index.key.of(&old) != index.key.of(&new) => {
                    writes.push(one(Change::Delete, &old, write_units(entry_size(&old))));
                    writes.push(one(Change::Put, &new, write_units(entry_size(&new))));
                }
                // Same key, but a projected attribute changed: the entry is
                // rewritten. Unchanged: the index is not written at all.
                (Some(old), Some(new)) => {
                    if old != new {
                        let units = write_units(entry_size(&old).max(entry_size(&new)));
                        writes.push(one(Change::Update, &new, units));
                    }
                }
            }
        }
        self.usage.writes.extend(writes);
    }

    /// The item keyed by `key` as `attribute=value`, each attribute of the
    /// table's key: with a sort key, one partition holds many items.
    fn item_label(&self, key: &Item) -> String {
        self.layout
            .key
            .attributes()
            .map(|attribute| label(attribute, key))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A conditional write whose condition failed: DynamoDB charges the table
    /// by the size of the item as it is (at least one unit), and no index.
    pub fn failed_condition(&mut self, operation: &str, key: &Item) {
        let units = write_units(self.item(key).map_or(0, |item| item_size(&item)));
        self.usage.writes.push(Write {
            operation: operation.to_owned(),
            target: "table".to_owned(),
            partition: label(&self.layout.key.partition, key),
            item: self.item_label(key),
            change: Change::FailedCondition,
            units,
        });
    }

    /// The size DynamoDB reads for the item keyed by `key`: the whole item
    /// (a projection expression does not make a read cheaper), from the
    /// shadow, or from what was returned if the shadow lacks it.
    fn read_size(&self, key: &Item, returned: Option<&Item>) -> u64 {
        match self.item(key) {
            Some(item) => item_size(&item),
            None => returned.map_or(0, item_size),
        }
    }

    /// A `GetItem`, or one item of a `BatchGetItem` (each rounded up on its
    /// own): `returned` is none when nothing was found, which still costs the
    /// minimum.
    pub fn get(&mut self, operation: &str, key: &Item, returned: Option<&Item>, consistent: bool) {
        let bytes = match returned {
            Some(item) => self.read_size(key, Some(item)),
            None => 0,
        };
        self.usage
            .add_read(operation.to_owned(), read_units(bytes, consistent));
    }

    /// A `Query` or `Scan` page: the sizes of all the items it read, rounded
    /// up once. On an index, each item counts as its index entry (the sum of
    /// its projected attributes, "Provisioned throughput considerations for
    /// Global Secondary Indexes", with no 100 bytes: those are for writes and
    /// storage). A filter does not make a read cheaper: items read but not
    /// returned (`ScannedCount` over `Count`) count at the mean size of those
    /// returned, or, when none was (a `COUNT` query), at the mean size of the
    /// index's entries in the shadow. That estimate is this model's, not AWS's.
    pub fn query(
        &mut self,
        operation: &str,
        index: Option<&str>,
        returned: &[Item],
        scanned: u64,
        consistent: bool,
    ) {
        let index: Option<Index> = match index {
            None => None,
            Some(name) => match self.layout.indexes.iter().find(|index| index.name == name) {
                Some(index) => Some(index.clone()),
                None => {
                    self.problem(format!(
                        "{operation} on index {name}, which DescribeTable did not list"
                    ));
                    return;
                }
            },
        };
        let size = |item: &Item| -> u64 {
            let stored = self.item(item);
            let full = stored.as_ref().unwrap_or(item);
            match &index {
                None => item_size(full),
                Some(index) => index
                    .entry(&self.layout.key, full)
                    .map_or_else(|| item_size(item), |entry| item_size(&entry)),
            }
        };
        let returned_bytes: u64 = returned.iter().map(size).sum();
        let unreturned = scanned.saturating_sub(returned.len() as u64);
        let mean = if returned.is_empty() {
            let sizes: Vec<u64> = self
                .items
                .values()
                .take(SAMPLED_ENTRIES)
                .filter_map(|text| parsed(text))
                .filter_map(|item| match &index {
                    None => Some(item_size(&item)),
                    Some(index) => index
                        .entry(&self.layout.key, &item)
                        .map(|entry| item_size(&entry)),
                })
                .collect();
            sizes.iter().sum::<u64>() / (sizes.len().max(1) as u64)
        } else {
            returned_bytes / returned.len() as u64
        };
        let label = match &index {
            Some(index) => format!("{operation} on index {}", index.name),
            None => operation.to_owned(),
        };
        self.usage.add_read(
            label,
            read_units(returned_bytes + unreturned * mean, consistent),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Item {
        value.as_object().cloned().expect("an object")
    }

    fn model() -> Model {
        Model::new(
            Layout::from_description(&json!({"Table": {
                "TableName": "t",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [
                    {"IndexName": "newest", "KeySchema": [
                        {"AttributeName": "shard", "KeyType": "HASH"},
                        {"AttributeName": "id", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "KEYS_ONLY"}},
                    {"IndexName": "by_status", "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "id", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["at"]}}
                ]
            }}))
            .expect("a valid description"),
        )
    }

    fn message(status: &str, at: &str, body: &str) -> Item {
        item(
            json!({"id": {"S": "m1"}, "shard": {"S": "07"}, "status": {"S": status},
                    "at": {"S": at}, "body": {"S": body}}),
        )
    }

    /// Each write of `usage` as (target, partition key value, change).
    fn writes_of(usage: &Usage) -> Vec<(&str, &str, Change)> {
        usage
            .writes
            .iter()
            .map(|write| {
                (
                    write.target.as_str(),
                    write.partition.as_str(),
                    write.change,
                )
            })
            .collect()
    }

    fn key() -> Item {
        item(json!({"id": {"S": "m1"}}))
    }

    #[test]
    fn a_new_item_puts_the_table_and_each_index_it_has_keys_for() {
        let mut model = model();
        model.write("PutItem", &key(), Some(message("pending", "1", "hi")));
        let usage = model.take_usage();
        assert_eq!(
            writes_of(&usage),
            [
                ("table", "id=m1", Change::Put),
                ("index newest", "shard=07", Change::Put),
                ("index by_status", "status=pending", Change::Put),
            ]
        );
    }

    #[test]
    fn a_changed_index_key_deletes_on_the_old_value_and_puts_on_the_new() {
        let mut model = model();
        model.write("PutItem", &key(), Some(message("pending", "1", "hi")));
        model.take_usage();
        model.write("UpdateItem", &key(), Some(message("complete", "2", "hi")));
        let usage = model.take_usage();
        // KEYS_ONLY `newest` is untouched: none of its keys changed.
        assert_eq!(
            writes_of(&usage),
            [
                ("table", "id=m1", Change::Update),
                ("index by_status", "status=pending", Change::Delete),
                ("index by_status", "status=complete", Change::Put),
            ]
        );
    }

    #[test]
    fn only_a_projected_attribute_rewrites_an_entry_under_the_same_key() {
        let mut model = model();
        model.write("PutItem", &key(), Some(message("pending", "1", "hi")));
        model.take_usage();
        model.write(
            "UpdateItem",
            &key(),
            Some(message("pending", "1", "changed")),
        );
        assert_eq!(
            model.take_usage().writes.len(),
            1,
            "the table only: body is in no index"
        );
        model.write(
            "UpdateItem",
            &key(),
            Some(message("pending", "2", "changed")),
        );
        let usage = model.take_usage();
        assert_eq!(usage.writes.len(), 2);
        assert_eq!(usage.writes[1].target, "index by_status");
        assert_eq!(usage.writes[1].change, Change::Update);
    }

    #[test]
    fn a_failed_condition_charges_the_table_by_the_item_and_no_index() {
        let mut model = model();
        let big = "x".repeat(1500);
        model.write("PutItem", &key(), Some(message("pending", "1", &big)));
        model.take_usage();
        model.failed_condition("UpdateItem", &key());
        let usage = model.take_usage();
        assert_eq!(usage.writes.len(), 1);
        assert_eq!(usage.writes[0].units, 2);
        assert_eq!(usage.failed_conditions(), 1);
    }

    #[test]
    fn an_index_query_reads_the_projected_entries_rounded_up_once() {
        let mut model = model();
        let big = "x".repeat(5000);
        model.write("PutItem", &key(), Some(message("pending", "1", &big)));
        let returned = [item(json!({"id": {"S": "m1"}, "shard": {"S": "07"}}))];
        model.query("Query", Some("newest"), &returned, 1, false);
        model.get("GetItem", &key(), Some(&returned[0]), true);
        let usage = model.take_usage();
        assert_eq!(usage.read_units["Query on index newest"], 0.5);
        assert_eq!(usage.read_units["GetItem"], 2.0, "the whole 5 KB item");
    }
}
