//! No code: this crate's dependencies name every feature any member's tests,
//! binaries or tools turn on, and every member depends on it, so a build of
//! one binary (`cargo run --release`, `scripts/bundle`, `scripts/bench`)
//! resolves the same features as the test command's build of the workspace
//! and reuses it (ARCHITECTURE.md, "One build"). `cargo hakari generate`
//! rewrites its `Cargo.toml`; `scripts/test` checks it is current.
