//! Test support shared by every crate's integration tests.
//!
//! # Layout
//! - [`backends`]: one test on both backends, embedded and moto.
//! - [`moto`]: the AWS emulator the test command starts (`MOTO_ENDPOINT`), and
//!   fresh, uniquely named queues and tables on it.
//! - [`spawn`]: the web and the worker on free ports of 127.0.0.1.
//! - [`sqsd`]: requests shaped exactly as Elastic Beanstalk's sqsd sends them.
//! - [`browser`]: headless Chromium through chromedriver.
//! - [`failing`]: backends that fail every call, for error-path tests.

pub mod backends;
pub mod browser;
pub mod failing;
pub mod moto;
pub mod spawn;
pub mod sqsd;
