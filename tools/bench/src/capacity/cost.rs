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

/// The busiest partition key value of a phase and its write units a second
/// at [`JUDGED_RATE`] messages a second.
pub fn busiest_at_rate(phase: &Phase) -> Option<(String, f64)> {
    phase.usage.busiest_keys().first().map(|key| {
        (
            key.partition.clone(),
            key.units as f64 / phase.messages as f64 * JUDGED_RATE,
        )
    })
}
