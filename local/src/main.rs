//! Placeholder until the local launcher lands.
fn main() {}
