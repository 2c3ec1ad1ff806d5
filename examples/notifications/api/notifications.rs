//! The Vercel Function `api/notifications` (binary `notifications-vercel`): the same app
//! as `cargo run -p notifications`; `vercel.json` rewrites every path here (the page, the
//! `/notify` webhook, the API). Locally: `cargo run -p notifications --bin
//! notifications-vercel` (`PORT`, `REDIS_URL`). See `docs/DEPLOY.md`.

fn main() -> std::process::ExitCode {
    entry_points::vercel::main("notifications", notifications::build)
}
