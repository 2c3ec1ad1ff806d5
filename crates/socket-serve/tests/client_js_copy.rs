//! The `client.js` the server serves is `crates/socket-serve/assets/client.js`, a copy of
//! the JavaScript client developed in `clients/js`. This fails when the copy is stale.

use std::path::Path;

#[test]
fn the_served_client_js_is_the_js_client() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = crate_dir.join("../../clients/js/src/index.js");
    if !source.exists() {
        // Outside the repository (a packaged crate): there is nothing to compare with.
        eprintln!("{} not found: skipped", source.display());
        return;
    }
    let original = std::fs::read(&source).expect("read clients/js/src/index.js");
    let copy = std::fs::read(crate_dir.join("assets/client.js")).expect("read assets/client.js");
    assert!(
        original == copy,
        "crates/socket-serve/assets/client.js differs from clients/js/src/index.js: \
         run `bash scripts/sync-client-js.sh` (or `cp clients/js/src/index.js \
         crates/socket-serve/assets/client.js`)"
    );
}
