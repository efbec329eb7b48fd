//! The web's integration tests, in one binary (one link of the AWS SDK).
//!
//! - `attacker`: the real `web` binary with its public limits on, tried as an
//!   attacker would: bursts, reads, made-up addresses, guesses, stolen cookies,
//!   plain HTTP, slow headers.
//! - `deployed`: the real `web` binary started as a deployment runs it, and
//!   requests to it as nginx and the load balancer forward them.
//! - `failure_log`: the real `web` binary logs a wrong operator credential at
//!   `WARN` with the client's address, never the credential's value.
//! - `two_webs`: two real `web` processes on one backend share the operator's
//!   sessions: begun on one, used and ended on the other.
//! - `short_token`: the real `web` binary refuses to start with an
//!   `OPERATOR_TOKEN` shorter than 32 characters.
//! - `activity`: the last hour's throughput and latency, and their charts.
//! - `api`: the JSON API and the page over HTTP, on SQS and DynamoDB (moto).
//! - `counts`: one snapshot of the counts per web instance, shared by every page.
//! - `router`: the router with `oneshot`, on backends that are down.
//! - `fuzz`: property-based tests of every parser of outside input.
//! - `sign_in_fuzz`: property-based tests of the sign-in form and the
//!   forwarded headers read with it: any bytes change nothing, and only a
//!   trusted proxy's `https` is HTTPS under `REQUIRE_HTTPS`.
//! - `idempotent`: sends under an `Idempotency-Key`, on both backends.
//! - `limits`: the rate limit per client and the cap on requests in flight.
//! - `page`: the messages page's status tabs and every page's failures badge.
//! - `operator`: retry, delete and redrive, and that nothing changes without the credential.
//! - `sessions`: each sign-in a session of its own in the backend, on two
//!   instances; expiry and sign-out; `REQUIRE_HTTPS`; guessing slow, cheap and no oracle.
//! - `sigterm`: the real `web` binary stopped by SIGTERM mid-burst.
//! - `disk`: the real `web` binary on an embedded backend whose disk fills up.
//! - `read_only`: the real `web` binary on a read-only embedded database.
//! - `truthful`: what a send answers when a backend fails partway.

mod activity;
mod api;
mod attacker;
mod counts;
mod deployed;
mod disk;
mod failure_log;
mod fuzz;
mod helpers;
mod idempotent;
mod limits;
mod operator;
mod page;
mod read_only;
mod router;
mod sessions;
mod short_token;
mod sign_in_fuzz;
mod sigterm;
mod truthful;
mod two_webs;
