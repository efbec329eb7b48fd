//! What the model counted over one stretch of a run: every write, with the
//! partition key value it lands on and its write units; the read units by
//! operation; SQS's billed requests; and what the model could not account
//! for. Sums for the report are computed from the writes themselves.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Problems kept word for word; later ones are only counted.
const PROBLEMS_KEPT: usize = 20;

/// What one write did to one table or index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new item or index entry.
    Put,
    /// An item or index entry removed.
    Delete,
    /// An item or index entry rewritten under the same key.
    Update,
    /// A conditional write whose condition failed: DynamoDB still charges it
    /// on the table, and writes no index.
    FailedCondition,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::Delete => "delete",
            Self::Update => "update",
            Self::FailedCondition => "failed condition",
        }
    }
}

/// One write to the table or to one index.
#[derive(Debug, Clone)]
pub struct Write {
    /// The request that made it, such as `UpdateItem`.
    pub operation: String,
    /// `table`, or `index <name>`.
    pub target: String,
    /// The partition key value it lands on, as `attribute=value`.
    pub partition: String,
    /// The item's primary key, as `attribute=value`.
    pub item: String,
    /// What it did.
    pub change: Change,
    /// Its write units.
    pub units: u64,
}

/// The writes that landed on one partition key value.
#[derive(Debug, Clone)]
pub struct KeyLoad {
    /// `table`, or `index <name>`.
    pub target: String,
    /// `attribute=value`.
    pub partition: String,
    /// Write units on it.
    pub units: u64,
    /// Distinct items whose writes landed on it.
    pub items: usize,
}

/// Everything counted since the last reset.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Every write, in order.
    pub writes: Vec<Write>,
    /// Read units, by operation (`Query on index <name>` apart from `Query`).
    pub read_units: BTreeMap<String, f64>,
    /// SQS requests as billed: one per 64 KB chunk of each request's payload.
    pub sqs_billed_requests: u64,
    /// DynamoDB Streams `GetRecords` calls: each is billed as one streams
    /// read request unit (its other calls are not billed).
    pub stream_reads: u64,
    /// DynamoDB writes refused for another reason than a failed condition
    /// (a throttle, a bad request): not charged, and counted in case.
    pub rejected_writes: u64,
    /// What the model could not account for; the run fails if any.
    pub problems: Vec<String>,
    /// How many problems there were, kept or not.
    pub problem_count: usize,
}

impl Usage {
    /// Notes something the model could not account for.
    pub fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(text);
        }
    }

    /// All write units, the table's and every index's.
    pub fn write_units(&self) -> u64 {
        self.writes.iter().map(|write| write.units).sum()
    }

    /// Write units by `table` and `index <name>`.
    pub fn write_units_by_target(&self) -> BTreeMap<String, u64> {
        let mut sums = BTreeMap::new();
        for write in &self.writes {
            *sums.entry(write.target.clone()).or_default() += write.units;
        }
        sums
    }

    /// Conditional writes whose condition failed.
    pub fn failed_conditions(&self) -> usize {
        self.writes
            .iter()
            .filter(|write| write.change == Change::FailedCondition)
            .count()
    }

    /// All read units.
    pub fn read_units(&self) -> f64 {
        self.read_units.values().sum()
    }

    /// Adds read units under `operation`.
    pub fn add_read(&mut self, operation: String, units: f64) {
        *self.read_units.entry(operation).or_default() += units;
    }

    /// Every partition key value written, the one with the most write units first.
    pub fn busiest_keys(&self) -> Vec<KeyLoad> {
        let mut loads: HashMap<(&str, &str), (u64, HashSet<&str>)> = HashMap::new();
        for write in &self.writes {
            let load = loads
                .entry((write.target.as_str(), write.partition.as_str()))
                .or_default();
            load.0 += write.units;
            load.1.insert(write.item.as_str());
        }
        let mut loads: Vec<KeyLoad> = loads
            .into_iter()
            .map(|((target, partition), (units, items))| KeyLoad {
                target: target.to_owned(),
                partition: partition.to_owned(),
                units,
                items: items.len(),
            })
            .collect();
        // Ties in a fixed order, so two runs print the same key.
        loads.sort_by(|a, b| {
            b.units
                .cmp(&a.units)
                .then_with(|| a.target.cmp(&b.target))
                .then_with(|| a.partition.cmp(&b.partition))
        });
        loads
    }

    /// The writes as CSV lines, each starting with `phase`.
    pub fn csv_lines(&self, phase: &str) -> String {
        let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        self.writes
            .iter()
            .map(|write| {
                format!(
                    "{},{},{},{},{},{},{}\n",
                    quote(phase),
                    write.operation,
                    quote(&write.target),
                    quote(&write.partition),
                    quote(&write.item),
                    write.change.as_str(),
                    write.units
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(partition: &str, item: &str, units: u64) -> Write {
        Write {
            operation: "PutItem".to_owned(),
            target: "index i".to_owned(),
            partition: partition.to_owned(),
            item: item.to_owned(),
            change: Change::Put,
            units,
        }
    }

    #[test]
    fn the_busiest_key_has_the_most_units_and_counts_its_items_once() {
        let usage = Usage {
            writes: vec![
                write("k=a", "1", 1),
                write("k=a", "1", 1),
                write("k=b", "2", 1),
            ],
            ..Usage::default()
        };
        let keys = usage.busiest_keys();
        assert_eq!(keys[0].partition, "k=a");
        assert_eq!((keys[0].units, keys[0].items), (2, 1));
        assert_eq!(usage.write_units(), 3);
    }
}
