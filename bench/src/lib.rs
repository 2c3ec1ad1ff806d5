//! socket-serve's benchmark harness: the chat example beside its peers under one load, in one
//! run, on one machine. Not tests: nothing here asserts a target; `bench` prints what it
//! measured (one JSON line per run, markdown tables, SVG plots).
//!
//! - [`fanout`]: N subscribers over K instances on one Redis, one publisher, paced or flat out;
//! - [`idle`]: server (and Redis) memory per open SSE stream with its session;
//! - [`redis_cost`]: Redis commands and reads per connect, emit and broadcast;
//! - [`cold_start`]: process start to first `/connect` answered, axum and Lambda;
//! - the `floor` binary: bare 150-byte loopback writes, the cost no server can go under.
//!
//! The publisher and every subscriber live in this process, so a message's send and receive
//! times come from one clock. Socket.IO's subscribers need its client: `peers/sio-driver.js`
//! holds that peer's publisher and subscribers in one Node process, on its own single clock.

pub mod cold_start;
pub mod fanout;
pub mod idle;
pub mod peers;
pub mod plot;
pub mod procfs;
pub mod redis_cost;
pub mod report;
pub mod sse;
pub mod stats;
