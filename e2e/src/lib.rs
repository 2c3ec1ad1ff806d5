//! # socket-serve end-to-end suites
//!
//! Several instances of the chat example (real processes, each with its own listener and
//! its own Redis connections) on one private `redis-server`, driven by a load of raw
//! protocol clients that send every request to an instance picked at random, the way a
//! serverless platform spreads requests. The suites then cut streams, kill and restart
//! instances, restart Redis, and check that every client received exactly what it should:
//! nothing lost, nothing twice, nothing out of order.
//!
//! - [`Cluster`]: the Redis and the instances, with kill / terminate / start / restart.
//! - [`load::run`]: the workload and its [`Report`].
//! - [`FaultProxy`]: latency and stalled connections between instances and Redis.
//! - [`Balancer`]: one base URL over the live instances, each request to one at random,
//!   for the Rust and JavaScript clients.
//!
//! The instances are `target/debug/chat`: run `cargo build -p chat` first (the README's
//! test command does).

mod balancer;
mod cluster;
mod fault_proxy;
pub mod load;
mod redis_proxy;

pub use balancer::Balancer;
pub use cluster::{Cluster, Urls};
pub use fault_proxy::FaultProxy;
pub use load::{LoadOptions, Report};
pub use redis_proxy::RedisProxy;
