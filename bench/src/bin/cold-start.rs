//! Cold starts only (see `socket_serve_bench::cold_start`): `bash scripts/bench-cold-start.sh`
//! builds the release binaries and runs this. Prints one JSON line per case, then a table.

use socket_serve_bench::{cold_start, report};

#[tokio::main]
async fn main() {
    let rows = cold_start::run().await;
    for row in &rows {
        report::json_line("cold_start", row);
    }
    println!("\n{}", report::cold_start_table(&rows));
}
