//! The Vercel Function `api/namespaces` (binary `namespaces-vercel`): the same app as
//! `cargo run -p namespaces`; `vercel.json` rewrites every path here. Locally: `cargo run
//! -p namespaces --bin namespaces-vercel` (`PORT`, `REDIS_URL`). See `docs/DEPLOY.md`.

fn main() -> std::process::ExitCode {
    entry_points::vercel::main("namespaces", namespaces::build)
}
