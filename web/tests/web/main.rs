//! The web's integration tests, in one binary (one link of the AWS SDK).
//!
//! - `api`: the JSON API and the page over HTTP, on SQS and DynamoDB (moto).
//! - `router`: the router with `oneshot`, on backends that are down.

mod api;
mod helpers;
mod router;
