//! The table's layout as DynamoDB describes it (`DescribeTable`): the key of
//! the table and of each secondary index, and what each index copies. The
//! model learns it from the table itself, never from the application's code,
//! so it follows any change of layout.

use serde_json::Value;

use super::size::Item;

/// A key: a partition key attribute and, maybe, a sort key attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The partition (HASH) key attribute.
    pub partition: String,
    /// The sort (RANGE) key attribute, if any.
    pub sort: Option<String>,
}

impl Key {
    fn from_schema(schema: &Value, what: &str) -> anyhow::Result<Self> {
        let elements = schema
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("{what} has no KeySchema list"))?;
        let named = |kind: &str| {
            elements
                .iter()
                .find(|element| element["KeyType"] == kind)
                .and_then(|element| element["AttributeName"].as_str())
                .map(str::to_owned)
        };
        Ok(Self {
            partition: named("HASH")
                .ok_or_else(|| anyhow::anyhow!("{what}'s KeySchema has no HASH key"))?,
            sort: named("RANGE"),
        })
    }

    /// The key's attribute names.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition.as_str()).chain(self.sort.as_deref())
    }

    /// The key's attributes of `item`, or none if it lacks one of them.
    pub fn of(&self, item: &Item) -> Option<Item> {
        self.attributes()
            .map(|name| Some((name.to_owned(), item.get(name)?.clone())))
            .collect()
    }
}

/// Which attributes an index copies besides the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute.
    All,
    /// None.
    KeysOnly,
    /// These.
    Include(Vec<String>),
}

/// One secondary index.
#[derive(Debug, Clone)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Its key.
    pub key: Key,
    /// What it copies.
    pub projection: Projection,
}

impl Index {
    /// The index's entry for `item`, as DynamoDB stores it: the table's key,
    /// the index's key and the projected attributes. None when `item` lacks
    /// a key attribute of the index: a sparse index holds no entry for it.
    pub fn entry(&self, table: &Key, item: &Item) -> Option<Item> {
        self.key.of(item)?;
        let keys: Vec<&str> = table.attributes().chain(self.key.attributes()).collect();
        Some(
            item.iter()
                .filter(|(name, _)| {
                    keys.contains(&name.as_str())
                        || match &self.projection {
                            Projection::All => true,
                            Projection::KeysOnly => false,
                            Projection::Include(names) => names.contains(name),
                        }
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    }
}

/// The table's layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The table's name.
    pub table: String,
    /// The table's key.
    pub key: Key,
    /// Its global and local secondary indexes (an LSI's writes follow the
    /// same rules as a GSI's).
    pub indexes: Vec<Index>,
}

impl Layout {
    /// Reads the layout from a `DescribeTable` answer.
    pub fn from_description(description: &Value) -> anyhow::Result<Self> {
        let table = &description["Table"];
        let name = table["TableName"].as_str().ok_or_else(|| {
            anyhow::anyhow!("DescribeTable's answer names no table: {description}")
        })?;
        let mut indexes = Vec::new();
        for kind in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
            // A table without indexes of a kind lists none.
            for index in table[kind].as_array().into_iter().flatten() {
                let index_name = index["IndexName"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("an index of table {name} has no name"))?;
                let what = format!("index {index_name}");
                let projection = &index["Projection"];
                let projection = match projection["ProjectionType"].as_str() {
                    Some("ALL") => Projection::All,
                    Some("KEYS_ONLY") => Projection::KeysOnly,
                    Some("INCLUDE") => Projection::Include(
                        projection["NonKeyAttributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    ),
                    other => anyhow::bail!("{what} has an unknown projection type {other:?}"),
                };
                indexes.push(Index {
                    key: Key::from_schema(&index["KeySchema"], &what)?,
                    name: index_name.to_owned(),
                    projection,
                });
            }
        }
        Ok(Self {
            key: Key::from_schema(&table["KeySchema"], &format!("table {name}"))?,
            table: name.to_owned(),
            indexes,
        })
    }

    /// One line per index, for the report: its key and what it copies.
    pub fn describe(&self) -> Vec<String> {
        let key = |key: &Key| match &key.sort {
            Some(sort) => format!("`{}` + `{sort}`", key.partition),
            None => format!("`{}`", key.partition),
        };
        std::iter::once(format!("table: key {}", key(&self.key)))
            .chain(self.indexes.iter().map(|index| {
                let projection = match &index.projection {
                    Projection::All => "ALL".to_owned(),
                    Projection::KeysOnly => "KEYS_ONLY".to_owned(),
                    Projection::Include(names) => format!("INCLUDE {}", names.join(", ")),
                };
                format!(
                    "index `{}`: key {}, projection {projection}",
                    index.name,
                    key(&index.key)
                )
            }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout() -> Layout {
        Layout::from_description(&json!({"Table": {
            "TableName": "t",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {"IndexName": "keys", "KeySchema": [
                    {"AttributeName": "shard", "KeyType": "HASH"},
                    {"AttributeName": "id", "KeyType": "RANGE"}],
                 "Projection": {"ProjectionType": "KEYS_ONLY"}},
                {"IndexName": "some", "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["at"]}}
            ]
        }}))
        .expect("a valid description")
    }

    #[test]
    fn an_entry_holds_the_keys_and_the_projected_attributes_only() {
        let layout = layout();
        let item = json!({"id": {"S": "1"}, "shard": {"S": "07"}, "status": {"S": "pending"},
                          "at": {"S": "now"}, "body": {"S": "hello"}});
        let item = item.as_object().expect("an object");
        let keys = layout.indexes[0]
            .entry(&layout.key, item)
            .expect("in the index");
        assert_eq!(keys.len(), 2);
        let some = layout.indexes[1]
            .entry(&layout.key, item)
            .expect("in the index");
        assert_eq!(some.len(), 3);
        assert!(some.contains_key("at") && !some.contains_key("body"));
    }

    #[test]
    fn an_item_without_an_index_key_is_not_in_the_index() {
        let layout = layout();
        let item = json!({"id": {"S": "periodic-task#sweep"}, "n": {"N": "1"}});
        let item = item.as_object().expect("an object");
        assert!(
            layout
                .indexes
                .iter()
                .all(|index| index.entry(&layout.key, item).is_none())
        );
    }
}
