//! Sending: the send use case (record `pending`, then enqueue) and sends
//! made once per `Idempotency-Key`. The heart of the Elastic Beanstalk
//! pattern on the web's side.

pub(crate) mod idempotent;
pub(crate) mod plan;
pub mod send;
pub(crate) mod sent;
