//! The Vercel Function `api/chat` (binary `chat-vercel`): the chat example served by
//! `vercel_runtime` (see the `chat_vercel` library for what it does and why).
//!
//! `vercel.json` rewrites `/` and `/socket/*` here. Locally: `cargo run -p chat-vercel`
//! (`PORT`, `VERCEL_DEV_PORT`, `REDIS_URL`, `SOCKET_SERVE_*`).

fn main() -> std::process::ExitCode {
    entry_points::vercel::main("chat", chat_vercel::app)
}
