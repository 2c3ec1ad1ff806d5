//! The README's quick start is this crate: its `Cargo.toml` and `src/main.rs` blocks must be
//! these files byte for byte, so the quick start compiles as written (this crate is built
//! with the workspace).

use std::path::Path;

/// The contents of the first fenced block of `lang` in the README's quick-start section.
fn block(readme: &str, lang: &str) -> String {
    let start = readme
        .find("## Quick start (axum)\n")
        .expect("README.md has a \"## Quick start (axum)\" section");
    let section = &readme[start..];
    let section = match section[1..].find("\n## ") {
        Some(end) => &section[..end + 1],
        None => section,
    };
    let fence = format!("```{lang}\n");
    let open = section
        .find(&fence)
        .unwrap_or_else(|| panic!("no ```{lang} block in the quick start"));
    let body = &section[open + fence.len()..];
    let close = body
        .find("```\n")
        .unwrap_or_else(|| panic!("the ```{lang} block is not closed"));
    body[..close].to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_quick_start_is_this_crate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = read(&dir.join("../../README.md"));
    assert_eq!(
        block(&readme, "toml"),
        read(&dir.join("Cargo.toml")),
        "README.md's quick-start Cargo.toml differs from examples/quickstart/Cargo.toml"
    );
    assert_eq!(
        block(&readme, "rust"),
        read(&dir.join("src/main.rs")),
        "README.md's quick-start main.rs differs from examples/quickstart/src/main.rs"
    );
}
