//! A deployment under test: one Redis, N chat instances, and the list of live instance
//! URLs that plays the load balancer.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use socket_serve_test_support::{ChatProcess, RedisOptions, RedisServer};

/// How long an instance may take to exit after SIGTERM.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(15);

/// The live instances' API base URLs (`http://127.0.0.1:<port>/socket`): what a load
/// balancer would route to. Cheap to clone; every clone sees changes.
#[derive(Clone, Default)]
pub struct Urls(Arc<RwLock<Vec<String>>>);

impl Urls {
    /// A fixed list (a serverless front that spreads requests over instances by itself).
    pub fn fixed(urls: Vec<String>) -> Urls {
        Urls(Arc::new(RwLock::new(urls)))
    }

    /// A live instance at random (`None` while there is none).
    pub fn pick(&self) -> Option<String> {
        let urls = self.0.read().unwrap_or_else(|e| e.into_inner());
        urls.choose(&mut rand::rng()).cloned()
    }

    /// Every live instance, in start order.
    pub fn all(&self) -> Vec<String> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn add(&self, url: String) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).push(url);
    }

    fn remove(&self, url: &str) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|u| u != url);
    }
}

/// One Redis (append-only, so a restart keeps its data) and several chat instances on it.
pub struct Cluster {
    redis: RedisServer,
    instances: Vec<ChatProcess>,
    urls: Urls,
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Starts Redis and `n` instances with `env` (plus `REDIS_URL`).
    pub fn start(n: usize, env: &[(&str, &str)]) -> Cluster {
        let redis = RedisServer::start_with(RedisOptions {
            appendonly: true,
            ..RedisOptions::default()
        });
        let url = redis.url();
        Cluster::start_on(redis, url, n, env)
    }

    /// Starts `n` instances on `redis`, reaching it at `redis_url` (through a proxy, say).
    pub fn start_on(
        redis: RedisServer,
        redis_url: String,
        n: usize,
        env: &[(&str, &str)],
    ) -> Cluster {
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("REDIS_URL".into(), redis_url));
        let mut cluster = Cluster {
            redis,
            instances: Vec::new(),
            urls: Urls::default(),
            env,
        };
        for _ in 0..n {
            cluster.start_instance();
        }
        cluster
    }

    /// The load balancer's view.
    pub fn urls(&self) -> Urls {
        self.urls.clone()
    }

    /// The Redis URL.
    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// How many instances run.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether no instance runs.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Starts one more instance and routes to it.
    pub fn start_instance(&mut self) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let instance = ChatProcess::spawn(&env);
        self.urls.add(format!("{}/socket", instance.url()));
        self.instances.push(instance);
    }

    /// Kills instance `index` with SIGKILL, as a crash would (requests and streams on it
    /// fail), then stops routing to it.
    pub fn kill(&mut self, index: usize) {
        let instance = self.instances.remove(index);
        let url = format!("{}/socket", instance.url());
        drop(instance);
        self.urls.remove(&url);
    }

    /// A deploy's stop of instance `index`: routing to it ends, then SIGTERM, then wait for
    /// it to exit (it ends its streams with `retry:` and finishes requests in flight).
    /// Returns how long it took to exit.
    pub fn terminate(&mut self, index: usize) -> Duration {
        let instance = self.instances.remove(index);
        self.urls.remove(&format!("{}/socket", instance.url()));
        let pid = instance.pid();
        let started = Instant::now();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        while !exited(pid) {
            assert!(
                started.elapsed() < TERMINATE_TIMEOUT,
                "instance {pid} did not exit within {TERMINATE_TIMEOUT:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = started.elapsed();
        drop(instance); // reaps it
        took
    }

    /// Restarts Redis (SIGTERM, then start on the same port and data).
    pub fn restart_redis(&mut self) {
        self.redis.restart();
    }
}

/// Whether the process has exited (gone, or a zombie waiting to be reaped).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}
