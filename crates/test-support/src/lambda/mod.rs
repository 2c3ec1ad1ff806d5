//! A local AWS Lambda, faithful to what matters for socket-serve: a Function URL front
//! (payload format 2.0 events, buffered requests, buffered or streamed responses), the
//! Runtime API the function's runtime client talks to, one invocation per instance at a
//! time, instances started on demand, frozen (SIGSTOP) the moment a response ends and
//! thawed (SIGCONT) for the next one, killed at their timeout, reaped when idle.
//!
//! Choices where Lambda's behaviour is not the only possible one:
//! - Past [`LambdaOptions::max_instances`] busy instances, a request **waits** for one to
//!   free up (Lambda would throttle with 429 at its concurrency limit; waiting keeps tests
//!   deterministic, and the cap is only there to bound a runaway test).
//! - An invocation's deadline starts when its event is handed to the runtime
//!   (`Lambda-Runtime-Deadline-Ms` = then + timeout). A new instance has 10 s for its
//!   init phase (up to its first `/next`), as on Lambda; past it, it is killed like a
//!   timed-out invocation.
//! - A freeze happens right after the response ends, before the runtime even reads the
//!   `202` to its `/response`: background work a handler left running makes no progress
//!   until the next invocation.
//! - An instance runs with a clean environment: Lambda's variables, `PATH`, `LANG`, `TZ`,
//!   then [`LambdaOptions::env`].
//! - Its stdout and stderr go to the emulator's stderr (stdout stays free for the
//!   `local-lambda` binary's listening line).
//! - Each instance is its own process group; signals go to the group. If the emulator's
//!   process dies without cleaning up, the kernel sends the orphaned, stopped group
//!   SIGHUP + SIGCONT, so frozen instances do not linger.

mod body;
mod event;
mod front;
mod instance;
mod pool;
mod response;
mod runtime_api;
mod server;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use pool::{Pool, Shared};

/// How a [`LocalLambda`] runs its function.
///
/// ```no_run
/// use std::time::Duration;
/// use socket_serve_test_support::LambdaOptions;
///
/// let options = LambdaOptions {
///     timeout: Duration::from_secs(3),
///     env: vec![("REDIS_URL".into(), "redis://127.0.0.1:6379".into())],
///     ..LambdaOptions::new("target/debug/chat-lambda")
/// };
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct LambdaOptions {
    /// The function's executable: a custom runtime (`provided.al2023`'s `bootstrap`), such
    /// as a binary built on `lambda_runtime`.
    pub function: PathBuf,
    /// Extra environment of every instance (`REDIS_URL`, `RUST_LOG`, ...), set after
    /// Lambda's own variables, so it can override them.
    pub env: Vec<(String, String)>,
    /// The function's timeout: an invocation not complete by then (a streamed one: its
    /// whole stream) has its instance SIGKILLed and its client's response cut. Default
    /// 20 s.
    pub timeout: Duration,
    /// Freeze (SIGSTOP) an instance as soon as its response ends, thaw (SIGCONT) it for
    /// its next invocation, as Lambda does. Default on.
    pub freeze: bool,
    /// Kill an instance idle (frozen) for longer than this. Default 60 s.
    pub idle_reap: Duration,
    /// At most this many instances at once; a request finding them all busy waits for
    /// one to free up (see the module notes). Default 64.
    pub max_instances: usize,
}

impl LambdaOptions {
    /// The defaults (20 s timeout, freezing on, 60 s idle reaping, 64 instances) for
    /// `function`.
    ///
    /// ```no_run
    /// use socket_serve_test_support::LambdaOptions;
    ///
    /// let options = LambdaOptions::new("target/debug/chat-lambda");
    /// assert!(options.freeze);
    /// ```
    pub fn new(function: impl Into<PathBuf>) -> LambdaOptions {
        LambdaOptions {
            function: function.into(),
            env: Vec::new(),
            timeout: Duration::from_secs(20),
            freeze: true,
            idle_reap: Duration::from_secs(60),
            max_instances: 64,
        }
    }
}

/// Counts and gauges of a [`LocalLambda`], for assertions.
///
/// ```no_run
/// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
/// let stats = lambda.stats();
/// assert_eq!(stats.instances_started, 1);
/// assert_eq!(stats.timeouts_killed, 0);
/// assert!(stats.init_errors.is_empty());
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LambdaStats {
    /// Function processes started.
    pub instances_started: u64,
    /// Invocations given to an instance.
    pub invocations: u64,
    /// Instances killed at a deadline (an invocation's timeout, or the init phase's 10 s).
    pub timeouts_killed: u64,
    /// What instances reported through `/init/error` (the runtime's JSON body), or why
    /// one could not be started, in order.
    pub init_errors: Vec<String>,
    /// Invocations the function answered through `/invocation/{id}/error`.
    pub function_errors: u64,
    /// Instances whose process exited without being killed by the emulator.
    pub crashed: u64,
    /// Idle instances killed after [`LambdaOptions::idle_reap`].
    pub reaped: u64,
    /// Instances alive now.
    pub live_now: usize,
    /// Instances frozen now.
    pub frozen_now: usize,
    /// Instances idle now (frozen, or waiting on `/next` if freezing is off).
    pub idle_now: usize,
    /// Instances starting or running an invocation now.
    pub busy_now: usize,
    /// The most instances busy at once so far.
    pub max_busy: usize,
    /// Requests waiting now for an instance to free up, all
    /// [`LambdaOptions::max_instances`] being busy.
    pub waiting_now: usize,
}

/// What a live instance is doing (see [`LocalLambda::instances`]).
///
/// ```no_run
/// use socket_serve_test_support::InstanceState;
/// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
/// let busy = lambda
///     .instances()
///     .iter()
///     .filter(|i| i.state == InstanceState::Busy)
///     .count();
/// # let _ = busy;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Started, its init phase not over (no `/next` yet).
    Starting,
    /// Running an invocation.
    Busy,
    /// Waiting for an invocation, not frozen (freezing is off).
    Idle,
    /// Waiting for an invocation, SIGSTOPped.
    Frozen,
}

/// A live instance.
///
/// ```no_run
/// use socket_serve_test_support::InstanceState;
/// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
/// let frozen: Vec<u32> = lambda
///     .instances()
///     .into_iter()
///     .filter(|i| i.state == InstanceState::Frozen)
///     .map(|i| i.pid)
///     .collect();
/// # let _ = frozen;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its process id (also its process group id).
    pub pid: u32,
    /// What it is doing.
    pub state: InstanceState,
}

/// A local Lambda function behind a Function URL on `127.0.0.1:<port>`. Everything it
/// started is killed when it is dropped.
///
/// ```no_run
/// use socket_serve_test_support::{LambdaOptions, LocalLambda};
///
/// # async fn example() -> std::io::Result<()> {
/// let lambda = LocalLambda::start(LambdaOptions {
///     env: vec![("REDIS_URL".into(), "redis://127.0.0.1:6379".into())],
///     ..LambdaOptions::new("target/debug/chat-lambda")
/// })
/// .await?;
/// let answer = socket_serve_test_support::http_client().build().unwrap()
///     .post(format!("{}/socket/connect", lambda.url()))
///     .body("{}")
///     .send()
///     .await;
/// # let _ = answer;
/// println!("{:?} on pids {:?}", lambda.stats(), lambda.pids());
/// # Ok(())
/// # }
/// ```
pub struct LocalLambda {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl LocalLambda {
    /// Starts the front on `127.0.0.1` and a free port. No instance starts before the
    /// first request. Fails if `options.function` is not a file or the port cannot be
    /// bound. Must be called within a tokio runtime (its tasks run there).
    ///
    /// ```no_run
    /// use socket_serve_test_support::{LambdaOptions, LocalLambda};
    /// # async fn example() -> std::io::Result<()> {
    /// let lambda = LocalLambda::start(LambdaOptions::new("target/debug/chat-lambda")).await?;
    /// # let _ = lambda;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(options: LambdaOptions) -> io::Result<LocalLambda> {
        Self::start_on(options, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts the front on `addr` (port 0: a free one).
    ///
    /// ```no_run
    /// use socket_serve_test_support::{LambdaOptions, LocalLambda};
    /// # async fn example() -> std::io::Result<()> {
    /// let addr = "127.0.0.1:3000".parse().unwrap();
    /// let lambda = LocalLambda::start_on(LambdaOptions::new("bootstrap"), addr).await?;
    /// assert_eq!(lambda.url(), "http://127.0.0.1:3000");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_on(options: LambdaOptions, addr: SocketAddr) -> io::Result<LocalLambda> {
        let meta = std::fs::metadata(&options.function).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("function {}: {e}", options.function.display()),
            )
        })?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("function {} is not a file", options.function.display()),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let function_name = options
            .function
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "function".into());
        let shared = Arc::new(Shared {
            function_name,
            api_id: format!("{:032x}", event::random_u128()),
            front_addr: addr,
            options,
            pool: Mutex::new(Pool::default()),
            capacity: Notify::new(),
            waiting: Default::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let front = Arc::downgrade(&shared);
        server::serve(listener, stopped.clone(), move |request, peer| {
            let shared = front.upgrade();
            async move {
                match shared {
                    Some(shared) => front::handle(shared, request, peer).await,
                    None => http::Response::new(body::full("")),
                }
            }
        });
        tokio::spawn(reaper(Arc::downgrade(&shared), stopped));
        Ok(LocalLambda { shared, addr, stop })
    }

    /// `http://127.0.0.1:<port>`: the Function URL (no trailing slash).
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// let connect = format!("{}/socket/connect", lambda.url());
    /// # let _ = connect;
    /// # }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The front's address.
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// let port = lambda.addr().port();
    /// # let _ = port;
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counts and gauges so far.
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// assert_eq!(lambda.stats().max_busy, 1);
    /// # }
    /// ```
    pub fn stats(&self) -> LambdaStats {
        self.shared.stats()
    }

    /// The process ids of the live instances, oldest first. Each is also the instance's
    /// process group, so a test can freeze (`SIGSTOP`) one itself to simulate a hung
    /// function, or read `/proc/<pid>/stat` to see it frozen (state `T`).
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// for pid in lambda.pids() {
    ///     let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    ///     println!("{stat}");
    /// }
    /// # }
    /// ```
    pub fn pids(&self) -> Vec<u32> {
        self.shared.instances().into_iter().map(|i| i.pid).collect()
    }

    /// The live instances and what each is doing, oldest first.
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// for instance in lambda.instances() {
    ///     println!("{} {:?}", instance.pid, instance.state);
    /// }
    /// # }
    /// ```
    pub fn instances(&self) -> Vec<InstanceInfo> {
        self.shared.instances()
    }

    /// Stops the front, kills every instance and waits (5 s at most) until their
    /// processes are gone. Dropping does the same without the wait.
    ///
    /// ```no_run
    /// # async fn example(lambda: socket_serve_test_support::LocalLambda) {
    /// lambda.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let pids = self.shared.close();
        let until = Instant::now() + Duration::from_secs(5);
        for pid in pids {
            while process_exists(pid) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.shared.close();
    }
}

/// Whether `pid` still exists (a zombie not yet reaped counts).
fn process_exists(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None).is_ok()
}

/// Kills idle instances past [`LambdaOptions::idle_reap`], checking a few times per period.
async fn reaper(shared: Weak<Shared>, mut stopped: watch::Receiver<bool>) {
    let period = match shared.upgrade() {
        Some(shared) => {
            (shared.options.idle_reap / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
        }
        None => return,
    };
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.reap_idle();
    }
}
