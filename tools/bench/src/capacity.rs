//! The capacity scenario (`bench --scenario capacity`): what the requests the
//! real `web` and `worker` make would cost on DynamoDB and SQS, and whether
//! any partition key value would pass DynamoDB's per-partition write limit at
//! a given rate. A model of DynamoDB's write and read units sees every
//! DynamoDB request and answer on the counting proxies' path, and keeps a
//! shadow copy of the table to know each item before and after each write.
//!
//! - `size.rs`: item sizes and units, by AWS's documented rules;
//! - `schema.rs`: the table's keys and indexes, from `DescribeTable`;
//! - `usage.rs`: what was counted, write by write;
//! - `model.rs`: the shadow copy and the charging rules;
//! - `wire.rs`: DynamoDB's JSON requests and answers, read for the model;
//! - `observer.rs`: the model on the proxies' path;
//! - `moto.rs`: the bench's own requests to moto;
//! - `scenario.rs`: the run; `cost.rs`: prices and dollars; `report.rs`: its
//!   Markdown; `goals.rs`: the goals it is judged by (a missed one fails the
//!   run).

pub mod cost;
pub mod goals;
pub mod model;
pub mod moto;
pub mod observer;
pub mod report;
pub mod scenario;
pub mod schema;
pub mod size;
pub mod usage;
pub mod wire;
