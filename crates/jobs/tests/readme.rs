//! The README's "Write your own job" is tested as written: its code is the
//! code that compiles and runs. The walkthrough shows `greet.rs` whole and
//! the one line that registers it; this fails when either drifts from the
//! crate.

use std::path::Path;

/// The README's section `heading`, up to the next section.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("the README has no {heading:?}"));
    let rest = &readme[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The ```rust blocks of `text`, with the list item's indentation taken off.
fn rust_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match (&mut current, line.trim()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n") + "\n");
                current = None;
            }
            (Some(lines), _) => lines.push(line.strip_prefix("   ").unwrap_or(line)),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_walkthrough_is_the_code_that_runs() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    };
    let readme = read(&crate_dir.join("../../README.md"));
    let walkthrough = section(&readme, "## Write your own job");
    let blocks = rust_blocks(walkthrough);
    assert_eq!(blocks.len(), 2, "the job's file and its line: {blocks:#?}");

    assert!(walkthrough.contains("`crates/jobs/src/greet.rs`"));
    assert_eq!(
        blocks[0],
        read(&crate_dir.join("src/greet.rs")),
        "the README shows greet.rs as it is"
    );

    let line = blocks[1].trim();
    assert_eq!(line, "greet::Greet,");
    let lib = read(&crate_dir.join("src/lib.rs"));
    let list = &lib[lib.find("registry::register! {").expect("the list")..];
    let list = &list[..list.find('}').expect("the list's end")];
    assert!(
        list.lines().any(|listed| listed.trim() == line),
        "the list in lib.rs registers {line}: {list}"
    );
}
