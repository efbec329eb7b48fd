//! The worker's integration tests, in one binary (one link of the AWS SDK).
//!
//! - `attacker`: the real `worker` binary, fed by sqsd, tried by someone who
//!   reaches its port: forged deliveries, tasks without sqsd's header, slow headers.
//! - `poller`: the poller that stands in for sqsd, on both backends.
//! - `sweep`: the pending sweeper, on both backends.
//! - `periodic`: `cron.yaml`'s tasks through the queue, as sqsd runs them.
//! - `router`: `/process` on a store that is down.
//! - `job_input`: a job's own input, parsed from the stored body.
//! - `traces`: a delivery from sqsd continues the trace of its send.
//! - `running`: what a delivery notes for the pages: a slow job running, a retry's time.
//! - `fuzz`: property-based tests of `/process`'s parsers of outside input.
//! - `two_processes`: the real `worker` binary beside this test process, on
//!   one embedded `DATA_DIR`.
//! - `sigterm`: the real `worker` binary stopped by SIGTERM mid-backlog.

mod attacker;
mod fuzz;
mod helpers;
mod job_input;
mod periodic;
mod poller;
mod router;
mod running;
mod sigterm;
mod sweep;
mod traces;
mod two_processes;
