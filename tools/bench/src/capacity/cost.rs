//! What the capacity scenario's figures cost: AWS's list prices, a phase's
//! dollars per million messages, and its busiest partition key value at a
//! judged rate. The report prints them; the goals judge them.

use super::scenario::Phase;

// Prices: on-demand list prices in us-east-1 (DynamoDB's since its price cut
// of 2024-11-01), in dollars per million.
/// DynamoDB on-demand: per million write request units.
pub const DOLLARS_PER_MILLION_WRITE_UNITS: f64 = 0.625;
/// DynamoDB on-demand: per million read request units.
pub const DOLLARS_PER_MILLION_READ_UNITS: f64 = 0.125;
/// SQS standard queue: per million requests, each 64 KB chunk of a payload
/// one request (the free first million a month left out).
pub const DOLLARS_PER_MILLION_SQS_REQUESTS: f64 = 0.40;
/// DynamoDB Streams: per million streams read request units (one per
/// `GetRecords` call; $0.02 per 100,000).
pub const DOLLARS_PER_MILLION_STREAM_READS: f64 = 0.20;
/// The sustained rate at which the busiest key is judged, in messages a
/// second. The report's text says "10,000" with it.
pub const JUDGED_RATE: f64 = 10_000.0;
/// DynamoDB's documented limit for one partition: 1,000 write units a second
/// (a partition key value cannot be split further when its sort key only
/// grows, as UUIDv7 ids do). The report's text says "1,000" with it.
pub const PARTITION_WRITE_LIMIT: f64 = 1_000.0;
/// Dollars per million messages of a phase, by what is billed.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// DynamoDB's write units.
    pub writes: f64,
    /// DynamoDB's read units.
    pub reads: f64,
    /// SQS requests as billed.
    pub sqs: f64,
    /// DynamoDB Streams' `GetRecords` calls (the status counts' folds).
    pub streams: f64,
}

impl Cost {
    /// What a phase's messages cost, per million.
    pub fn of(phase: &Phase) -> Self {
        let messages = phase.messages as f64;
        Self {
            writes: phase.usage.write_units() as f64 / messages * DOLLARS_PER_MILLION_WRITE_UNITS,
            reads: phase.usage.read_units() / messages * DOLLARS_PER_MILLION_READ_UNITS,
            sqs: phase.usage.sqs_billed_requests as f64 / messages
                * DOLLARS_PER_MILLION_SQS_REQUESTS,
            streams: phase.usage.stream_reads as f64 / messages * DOLLARS_PER_MILLION_STREAM_READS,
        }
    }

    /// All of it.
    pub fn total(self) -> f64 {
        self.writes + self.reads + self.sqs + self.streams
    }
}

/// The partition of the item the status counts are folded into
/// (`stream_counts.rs`). Its writes follow the folds' clock, not the sends:
/// each process folds every 5 s and before a count, and a pass writes once
/// whatever the number of changes it read. At 10,000 messages a second it
/// is written about as often as in a phase of the bench.
pub const COUNTS_PARTITION: &str = "shard=status-counts";

/// The busiest partition key value of a phase and its write units a second
/// at [`JUDGED_RATE`] messages a second: a key written per message scales
/// with the rate; [`COUNTS_PARTITION`] is judged at the units a second it
/// took in the phase.
pub fn busiest_at_rate(phase: &Phase) -> Option<(String, f64)> {
    let per_second = |units: u64, partition: &str| {
        if partition == COUNTS_PARTITION {
            units as f64 / phase.elapsed.as_secs_f64().max(1.0)
        } else {
            units as f64 / phase.messages as f64 * JUDGED_RATE
        }
    };
    // The keys come busiest first: on a tie the first stays.
    phase
        .usage
        .busiest_keys()
        .into_iter()
        .map(|key| {
            let rate = per_second(key.units, &key.partition);
            (key.partition, rate)
        })
        .fold(None, |busiest: Option<(String, f64)>, key| match busiest {
            Some(found) if found.1 >= key.1 => Some(found),
            _ => Some(key),
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::scenario::Sending;
    use super::super::usage::{Change, Usage, Write};
    use super::*;

    fn write(partition: &str, units: u64) -> Write {
        Write {
            operation: "PutItem".to_owned(),
            target: "table".to_owned(),
            partition: partition.to_owned(),
            item: partition.to_owned(),
            change: Change::Put,
            units,
        }
    }

    #[test]
    fn the_counts_item_is_judged_by_its_clock_and_a_message_key_by_the_rate() {
        let phase = |writes| Phase {
            sending: Sending::Bursts,
            messages: 300,
            requests: Default::default(),
            usage: Usage {
                writes,
                ..Usage::default()
            },
            elapsed: Duration::from_secs(60),
        };
        // 30 units of folds in a minute: half a unit a second, at any rate
        // of sends; 9 of 300 messages on one shard, 2 units each: 600.
        let mut writes = vec![write(COUNTS_PARTITION, 30)];
        writes.extend((0..9).map(|_| write("shard=05", 2)));
        let (key, rate) = busiest_at_rate(&phase(writes)).expect("a key");
        assert_eq!((key.as_str(), rate.round()), ("shard=05", 600.0));
        let (key, rate) =
            busiest_at_rate(&phase(vec![write(COUNTS_PARTITION, 30)])).expect("a key");
        assert_eq!((key.as_str(), rate), (COUNTS_PARTITION, 0.5));
    }
}
