//! DynamoDB's JSON protocol as the model needs it: which operations write,
//! and, from each request and its answer, which items were written or read.

use serde_json::Value;

use super::model::Model;
use super::size::Item;

/// What an operation does to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It may write an item.
    Write,
    /// It reads items.
    Read,
    /// Neither (`DescribeTable`, `ListTables`, ...).
    Other,
}

/// What `operation` (the part of `X-Amz-Target` after the dot) does.
pub fn kind(operation: &str) -> Kind {
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
        // PartiQL may write: it runs alone like a write, and is reported unmodelled.
        | "ExecuteStatement" | "BatchExecuteStatement" | "ExecuteTransaction" => Kind::Write,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems" => Kind::Read,
        _ => Kind::Other,
    }
}

/// DynamoDB's answer to one request.
#[derive(Debug, Clone, Copy)]
pub struct Answered<'a> {
    /// Whether the HTTP status was a success.
    pub success: bool,
    /// The body, parsed (`Null` if it was not JSON).
    pub body: &'a Value,
}

impl Answered<'_> {
    /// The error's type without its namespace, such as `ConditionalCheckFailedException`.
    fn error(&self) -> Option<&str> {
        self.body["__type"]
            .as_str()
            .and_then(|kind| kind.rsplit('#').next())
    }
}

fn object(value: &Value) -> Option<Item> {
    value.as_object().cloned()
}

fn objects(value: &Value) -> Vec<Item> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(object)
        .collect()
}

/// For an `UpdateItem` that succeeded without returning the whole new item
/// (`ReturnValues` other than `ALL_NEW`), the key of the item to read back.
pub fn item_to_read_after(operation: &str, request: &Value, answer: Answered) -> Option<Item> {
    let returned = request["ReturnValues"] == "ALL_NEW" && answer.body["Attributes"].is_object();
    (operation == "UpdateItem" && answer.success && !returned)
        .then(|| object(&request["Key"]))
        .flatten()
}

/// Feeds the model a write and its answer. `read_after` is the item as a
/// consistent read found it just after an `UpdateItem` (see
/// [`item_to_read_after`]).
pub fn write(
    model: &mut Model,
    operation: &str,
    request: &Value,
    answer: Answered,
    read_after: Option<Item>,
) {
    let table = model.layout().table.clone();
    if let Some(name) = request["TableName"].as_str().filter(|name| *name != table) {
        model.problem(format!("{operation} on table {name}, not {table}"));
        return;
    }
    let key = match operation {
        "PutItem" => object(&request["Item"]),
        _ => object(&request["Key"]),
    };
    if !answer.success {
        match (answer.error(), &key) {
            (Some("ConditionalCheckFailedException"), Some(key)) => {
                model.failed_condition(operation, key);
            }
            _ => model.rejected(),
        }
        return;
    }
    match (operation, key) {
        ("PutItem", Some(item)) => model.write(operation, &item, Some(item.clone())),
        ("UpdateItem", Some(key)) => {
            let after = object(&answer.body["Attributes"])
                .filter(|_| request["ReturnValues"] == "ALL_NEW")
                .or(read_after);
            match after {
                Some(after) => model.write(operation, &key, Some(after)),
                None => model.problem(format!(
                    "UpdateItem of {key:?} succeeded, but the item could not be read after it"
                )),
            }
        }
        ("DeleteItem", Some(key)) => model.write(operation, &key, None),
        ("BatchWriteItem", _) => batch_write(model, request, answer, &table),
        _ => model.problem(format!("{operation} is not modelled: {request}")),
    }
}

/// Each put or delete of a batch that DynamoDB processed.
fn batch_write(model: &mut Model, request: &Value, answer: Answered, table: &str) {
    let Some(tables) = request["RequestItems"].as_object() else {
        model.problem(format!("BatchWriteItem without RequestItems: {request}"));
        return;
    };
    for (name, requests) in tables {
        if name != table {
            model.problem(format!("BatchWriteItem on table {name}, not {table}"));
            continue;
        }
        // What DynamoDB left unprocessed was not written (the caller retries it).
        let unprocessed = answer.body["UnprocessedItems"][name.as_str()]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for one in requests.as_array().into_iter().flatten() {
            if unprocessed.contains(one) {
                continue;
            }
            if let Some(item) = object(&one["PutRequest"]["Item"]) {
                model.write("BatchWriteItem", &item, Some(item.clone()));
            } else if let Some(key) = object(&one["DeleteRequest"]["Key"]) {
                model.write("BatchWriteItem", &key, None);
            } else {
                model.problem(format!(
                    "a BatchWriteItem request of an unknown kind: {one}"
                ));
            }
        }
    }
}

/// Feeds the model a read and its answer. A refused read costs nothing.
pub fn read(model: &mut Model, operation: &str, request: &Value, answer: Answered) {
    if !answer.success {
        return;
    }
    let table = model.layout().table.clone();
    if let Some(name) = request["TableName"].as_str().filter(|name| *name != table) {
        model.problem(format!("{operation} on table {name}, not {table}"));
        return;
    }
    let consistent = |spec: &Value| spec["ConsistentRead"] == true;
    match operation {
        "GetItem" => match object(&request["Key"]) {
            Some(key) => model.get(
                operation,
                &key,
                answer.body["Item"].as_object(),
                consistent(request),
            ),
            None => model.problem(format!("GetItem without a Key: {request}")),
        },
        "BatchGetItem" => {
            let Some(tables) = request["RequestItems"].as_object() else {
                model.problem(format!("BatchGetItem without RequestItems: {request}"));
                return;
            };
            for (name, spec) in tables {
                if *name != table {
                    model.problem(format!("BatchGetItem on table {name}, not {table}"));
                    continue;
                }
                let asked = spec["Keys"].as_array().map_or(0, Vec::len);
                let found = objects(&answer.body["Responses"][name.as_str()]);
                let unprocessed = answer.body["UnprocessedKeys"][name.as_str()]["Keys"]
                    .as_array()
                    .map_or(0, Vec::len);
                for item in &found {
                    model.get(operation, item, Some(item), consistent(spec));
                }
                // A key asked for and not found still costs the minimum read.
                for _ in 0..asked.saturating_sub(found.len() + unprocessed) {
                    model.get(operation, &Item::new(), None, consistent(spec));
                }
            }
        }
        "Query" | "Scan" => {
            let returned = objects(&answer.body["Items"]);
            let scanned = answer.body["ScannedCount"]
                .as_u64()
                .unwrap_or(returned.len() as u64);
            model.query(
                operation,
                request["IndexName"].as_str(),
                &returned,
                scanned,
                consistent(request),
            );
        }
        _ => model.problem(format!("{operation} is not modelled: {request}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::schema::Layout;
    use serde_json::json;

    fn model() -> Model {
        Model::new(
            Layout::from_description(&json!({"Table": {
                "TableName": "t",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [
                    {"IndexName": "by_status", "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"}],
                     "Projection": {"ProjectionType": "ALL"}}
                ]
            }}))
            .expect("a valid description"),
        )
    }

    #[test]
    fn a_batch_writes_what_was_processed_only() {
        let mut model = model();
        let put = |id: &str| json!({"PutRequest": {"Item": {"id": {"S": id}, "status": {"S": "pending"}}}});
        let request = json!({"RequestItems": {"t": [put("a"), put("b")]}});
        let body = json!({"UnprocessedItems": {"t": [put("b")]}});
        write(
            &mut model,
            "BatchWriteItem",
            &request,
            Answered {
                success: true,
                body: &body,
            },
            None,
        );
        let usage = model.take_usage();
        assert_eq!(usage.writes.len(), 2, "the table and the index, for a only");
        assert!(usage.problems.is_empty());
    }

    #[test]
    fn a_failed_condition_is_charged_and_another_error_is_not() {
        let mut model = model();
        let request =
            json!({"TableName": "t", "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET x = :x"});
        let failed =
            json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"});
        write(
            &mut model,
            "UpdateItem",
            &request,
            Answered {
                success: false,
                body: &failed,
            },
            None,
        );
        let throttled = json!({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"});
        write(
            &mut model,
            "UpdateItem",
            &request,
            Answered {
                success: false,
                body: &throttled,
            },
            None,
        );
        let usage = model.take_usage();
        assert_eq!(usage.failed_conditions(), 1);
        assert_eq!(usage.rejected_writes, 1);
    }

    #[test]
    fn an_update_without_all_new_asks_for_the_item_after_it() {
        let request = json!({"TableName": "t", "Key": {"id": {"S": "a"}}});
        let body = json!({});
        let answer = Answered {
            success: true,
            body: &body,
        };
        assert!(item_to_read_after("UpdateItem", &request, answer).is_some());
        let request =
            json!({"TableName": "t", "Key": {"id": {"S": "a"}}, "ReturnValues": "ALL_NEW"});
        let body = json!({"Attributes": {"id": {"S": "a"}}});
        let answer = Answered {
            success: true,
            body: &body,
        };
        assert!(item_to_read_after("UpdateItem", &request, answer).is_none());
    }
}
