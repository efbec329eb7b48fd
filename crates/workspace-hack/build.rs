//! Empty: cargo reads a package's `[build-dependencies]` only when it has a
//! build script, and those pin the features of the proc-macro crates.

fn main() {}
