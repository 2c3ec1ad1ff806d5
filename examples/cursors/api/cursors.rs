//! The Vercel Function `api/cursors` (binary `cursors-vercel`): the same app as `cargo run
//! -p cursors`; `vercel.json` rewrites every path here. Locally: `cargo run -p cursors
//! --bin cursors-vercel` (`PORT`, `REDIS_URL`). See `docs/DEPLOY.md`.

fn main() -> std::process::ExitCode {
    entry_points::vercel::main("cursors", cursors::build)
}
