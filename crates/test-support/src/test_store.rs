//! Which store a test runs on, so the store-independent tests run against every store.

use std::sync::atomic::{AtomicU64, Ordering};

use socket_serve::{Config, StoreConfig};

use crate::RedisServer;

/// The store of one test: the in-memory store, or a private [`RedisServer`] that lives as
/// long as this value.
///
/// ```no_run
/// use socket_serve_test_support::TestStore;
///
/// let store = TestStore::from_env(); // SOCKET_SERVE_TEST_STORE=memory (default) | redis
/// let config = store.config();       // Config on that store, with a key prefix of its own
/// # let _ = config;
/// ```
#[derive(Debug)]
pub enum TestStore {
    /// The embedded in-memory store.
    Memory,
    /// A `redis-server` started for this test.
    Redis(RedisServer),
    /// A Redis that runs already, shared by the tests of a run (each on a key prefix of
    /// its own): `SOCKET_SERVE_TEST_REDIS_URL`.
    External(String),
}

impl TestStore {
    /// The in-memory store.
    pub fn memory() -> TestStore {
        TestStore::Memory
    }

    /// A new `redis-server` (see [`RedisServer::start`]).
    pub fn redis() -> TestStore {
        TestStore::Redis(RedisServer::start())
    }

    /// A new `redis-server` in cluster mode serving every slot (see
    /// [`RedisOptions::cluster`](crate::RedisOptions::cluster)).
    pub fn redis_cluster() -> TestStore {
        TestStore::Redis(RedisServer::start_with(crate::RedisOptions {
            cluster: true,
            ..crate::RedisOptions::default()
        }))
    }

    /// The store `SOCKET_SERVE_TEST_STORE` names: `memory` (or unset), `redis`, or
    /// `redis-cluster` (a cluster of one node: the one at `SOCKET_SERVE_TEST_REDIS_URL`
    /// when set, else one started for the test). Panics on any other value, so a typo does
    /// not silently test the wrong store.
    pub fn from_env() -> TestStore {
        match std::env::var("SOCKET_SERVE_TEST_STORE").as_deref() {
            Err(_) | Ok("") | Ok("memory") => TestStore::memory(),
            Ok("redis") => TestStore::redis(),
            // A cluster node takes 2 s to accept writes: a run shares one when given.
            Ok("redis-cluster") => match std::env::var("SOCKET_SERVE_TEST_REDIS_URL") {
                Ok(url) if !url.is_empty() => TestStore::External(url),
                _ => TestStore::redis_cluster(),
            },
            Ok(other) => {
                panic!("SOCKET_SERVE_TEST_STORE={other:?}: expected memory, redis or redis-cluster")
            }
        }
    }

    /// Whether `SOCKET_SERVE_TEST_STORE` names the memory store (or nothing), without
    /// starting a store: a test that runs its own server process skips the Redis runs of
    /// the suite with it.
    ///
    /// ```
    /// # use socket_serve_test_support::TestStore;
    /// if std::env::var_os("SOCKET_SERVE_TEST_STORE").is_none() {
    ///     assert!(TestStore::env_is_memory());
    /// }
    /// ```
    pub fn env_is_memory() -> bool {
        matches!(
            std::env::var("SOCKET_SERVE_TEST_STORE").as_deref(),
            Err(_) | Ok("") | Ok("memory")
        )
    }

    /// A name for messages: `memory` or `redis`.
    pub fn name(&self) -> &'static str {
        match self {
            TestStore::Memory => "memory",
            TestStore::Redis(_) | TestStore::External(_) => "redis",
        }
    }

    /// The default [`Config`] on this store. Each call gets a `key_prefix` of its own, so
    /// servers made from separate calls share nothing even on one Redis; clone one config
    /// for several instances of one deployment.
    pub fn config(&self) -> Config {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let store = match self {
            TestStore::Memory => StoreConfig::Memory,
            TestStore::Redis(redis) => StoreConfig::Redis(redis.url()),
            TestStore::External(url) => StoreConfig::Redis(url.clone()),
        };
        Config {
            store,
            key_prefix: format!("sst{}x{n}", std::process::id()),
            ..Config::default()
        }
    }
}
