//! `GET B/openapi.json` over real HTTP: the served document parses, is OpenAPI 3, and lists
//! every endpoint the server answers with its method and the shared error body; and the
//! crate's copy is `docs/openapi.json`.

use std::path::Path;

use serde_json::Value;
use socket_serve_test_support::{Mount, TestServer};

/// Every endpoint under the base path, and its method (docs/PROTOCOL.md section 2).
const ENDPOINTS: [(&str, &str); 8] = [
    ("/connect", "post"),
    ("/message", "post"),
    ("/disconnect", "post"),
    ("/ack", "post"),
    ("/sse", "get"),
    ("/", "get"),
    ("/client.js", "get"),
    ("/openapi.json", "get"),
];

/// `base` is the path the server answers under; the served paths are full paths.
fn assert_describes_the_protocol(doc: &Value, base: &str) {
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3."), "not OpenAPI 3: {version:?}");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in ENDPOINTS {
        let path = &if path == "/" {
            base.to_owned()
        } else {
            format!("{base}{path}")
        };
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"]["200"].is_object(),
            "{method} {path}: no 200"
        );
    }
    assert_eq!(
        paths.len(),
        ENDPOINTS.len(),
        "paths the server does not have"
    );
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error", "code"]));
    let posts = ["/connect", "/message", "/disconnect", "/ack"];
    for path in posts {
        let refs = doc["paths"][format!("{base}{path}")]["post"]["responses"]["400"]["content"]
            ["application/json"]["schema"]["$ref"]
            .as_str();
        assert_eq!(refs, Some("#/components/schemas/Error"), "{path}: 400 body");
    }
}

#[tokio::test]
async fn the_served_document_lists_every_endpoint() {
    let server = TestServer::chat().await;
    let answer = server.client().get("openapi.json").await;
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_describes_the_protocol(answer.ok(), "/socket");

    // Also where a catch-all function routes by the last path segment.
    let catch_all = TestServer::builder()
        .mount(Mount::Service("/api/socket".into()))
        .start()
        .await;
    let doc = catch_all.client().get("openapi.json").await;
    assert_describes_the_protocol(doc.ok(), "/api/socket");
}

#[test]
fn the_served_copy_is_docs_openapi_json() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = crate_dir.join("../../docs/openapi.json");
    if !source.exists() {
        eprintln!("{} not found (a packaged crate): skipped", source.display());
        return;
    }
    let original = std::fs::read(&source).expect("read docs/openapi.json");
    let copy = std::fs::read(crate_dir.join("assets/openapi.json")).expect("read the copy");
    assert!(
        original == copy,
        "crates/socket-serve/assets/openapi.json differs from docs/openapi.json: \
         cp docs/openapi.json crates/socket-serve/assets/openapi.json"
    );
}
