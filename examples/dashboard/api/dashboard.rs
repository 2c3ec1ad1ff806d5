//! The Vercel Function `api/dashboard` (binary `dashboard-vercel`): the same app as `cargo
//! run -p dashboard`, ticker included (it runs while the instance serves a request; see
//! `dashboard::ticker`); `vercel.json` rewrites every path here. Locally: `cargo run -p
//! dashboard --bin dashboard-vercel` (`PORT`, `REDIS_URL`). See `docs/DEPLOY.md`.

fn main() -> std::process::ExitCode {
    entry_points::vercel::main("dashboard", dashboard::build)
}
