//! Test support shared by the integration tests of every crate.
//!
//! It depends only on the crates below the apps (the domain, the backends and
//! the sqsd protocol), never on `web`, `worker` or `local`: each app keeps its
//! own `tests/` folder and its own helpers for starting itself.
//!
//! # Layout
//! - [`backends`]: one test on both backends, embedded and moto.
//! - [`moto`]: the AWS emulator the test command starts (`MOTO_ENDPOINT`), and
//!   fresh, uniquely named queues and tables on it.
//! - [`seed`]: messages recorded and enqueued as the web does it, or failed.
//! - [`sqsd`]: requests shaped exactly as Elastic Beanstalk's sqsd sends them.
//! - [`browser`]: headless Chromium through chromedriver; [`accessibility`]:
//!   axe-core in it, as an assertion.
//! - [`failing`]: backends that fail every call, for error-path tests.
//! - [`spans`]: an in-memory span exporter, for tests of traces.
//! - [`faults`]: real backends with chosen calls refused, or applied with
//!   their answer lost.

pub mod accessibility;
pub mod attacks;
pub mod backends;
pub mod browser;
pub mod failing;
pub mod faults;
pub mod moto;
pub mod seed;
pub mod spans;
pub mod sqsd;
