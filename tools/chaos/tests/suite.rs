//! The chaos suite in the test command: the `chaos` binary on each backend,
//! against the `web` and `worker` release binaries of the same build (cargo
//! builds them beside this test for their own crates' tests). Each run lasts
//! about a minute and prints its figures (`.config/nextest.toml` shows them).

use std::path::PathBuf;

/// Where this build's binaries are: the folder above this test's own `deps/`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("this test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .expect("the test runs from target/<profile>/deps")
}

fn run(backend: &str) {
    let bin_dir = bin_dir();
    for binary in ["web", "worker"] {
        assert!(
            bin_dir.join(binary).exists(),
            "{} is missing: build the workspace (scripts/test does)",
            bin_dir.join(binary).display()
        );
    }
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["--backend", backend, "--seconds", "30", "--bin-dir"])
        .arg(&bin_dir)
        .status()
        .expect("run the chaos binary");
    assert!(
        status.success(),
        "the chaos suite on {backend} found problems (above)"
    );
}

#[test]
fn chaos_on_the_embedded_backend_loses_flips_and_misreports_nothing() {
    run("embedded");
}

#[test]
fn chaos_on_sqs_and_dynamodb_loses_flips_and_misreports_nothing() {
    run("moto");
}
