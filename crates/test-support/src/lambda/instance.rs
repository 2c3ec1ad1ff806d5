//! One execution environment: a function process, its own Runtime API server, and what it
//! is doing. Starting one, signalling it (freeze, thaw, kill), and the tasks that watch
//! its deadline and its exit.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::{oneshot, watch};

use super::body::{Body, Cut};
use super::pool::{Pool, Shared};
use super::runtime_api;

/// How long a new instance may take from its start to its first `/next` (or
/// `/init/error`): Lambda's limit on the init phase.
pub(crate) const INIT_LIMIT: Duration = Duration::from_secs(10);

/// The HTTP response a front request waits for.
pub(crate) type Reply = http::Response<Body>;

/// What `/next` answers the runtime.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub request_id: String,
    pub trace_id: String,
    pub event: Bytes,
    /// Epoch milliseconds, set when the event is handed over.
    pub deadline_ms: u64,
}

/// An invocation not yet handed to the runtime.
pub(crate) struct Invocation {
    pub delivery: Delivery,
    pub reply: oneshot::Sender<Reply>,
}

/// The invocation an instance is running: handed over by `/next`, its response not yet
/// complete. Dropping it answers the client 502 (if nothing was sent yet) or cuts its
/// stream.
pub(crate) struct Current {
    pub request_id: String,
    /// Until the response head is sent.
    pub reply: Option<oneshot::Sender<Reply>>,
    /// While a streamed body is relayed: cuts the client's body.
    pub cut: Option<oneshot::Sender<Cut>>,
    /// A `/response` (or `/error`) for it has begun.
    pub responding: bool,
}

impl Current {
    /// Ends it abnormally: a waiting client gets 502, a streaming one a cut body.
    pub(crate) fn fail(mut self, why: &'static str) {
        if let Some(cut) = self.cut.take() {
            let _ = cut.send(Cut(why));
        }
        // Dropping `reply` answers 502.
    }
}

/// What an instance is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Starting, running an invocation, or about to.
    Busy,
    /// Waiting for an invocation since then (frozen, if freezing is on).
    Idle { since: Instant },
}

/// An instance as the pool keeps it.
pub(crate) struct Slot {
    pub pid: u32,
    pub phase: Phase,
    pub frozen: bool,
    /// It asked for its first invocation (its init phase is over).
    pub initialized: bool,
    pub queued: Option<Invocation>,
    pub parked: Option<oneshot::Sender<Delivery>>,
    pub current: Option<Current>,
    /// When it must be done (init phase or invocation); `None` while it waits for work.
    pub deadline: watch::Sender<Option<Instant>>,
    /// Dropped with the slot: stops its Runtime API server and every connection to it.
    pub _stop: watch::Sender<bool>,
}

impl Slot {
    /// Gives it `invocation`: straight to a waiting `/next`, else queued for the next one.
    pub(crate) fn give(&mut self, invocation: Invocation, timeout: Duration) {
        match self.parked.take() {
            Some(parked) => {
                let delivery = self.start(invocation, timeout);
                if let Err(delivery) = parked.send(delivery) {
                    // That `/next` went away: keep the invocation for the next one.
                    let reply = self.current.take().and_then(|mut c| c.reply.take());
                    if let Some(reply) = reply {
                        self.queued = Some(Invocation { delivery, reply });
                    }
                    let _ = self.deadline.send_replace(None);
                }
            }
            None => self.queued = Some(invocation),
        }
    }

    /// Makes `invocation` the current one, starting its clock; returns what to hand over.
    pub(crate) fn start(&mut self, invocation: Invocation, timeout: Duration) -> Delivery {
        let Invocation {
            mut delivery,
            reply,
        } = invocation;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        delivery.deadline_ms = now_ms + timeout.as_millis() as u64;
        self.current = Some(Current {
            request_id: delivery.request_id.clone(),
            reply: Some(reply),
            cut: None,
            responding: false,
        });
        let _ = self.deadline.send_replace(Some(Instant::now() + timeout));
        delivery
    }
}

/// The environment of every instance: what Lambda sets (not `AWS_LAMBDA_MAX_CONCURRENCY`,
/// which `run_with_streaming_response` refuses), then `options.env` on top.
fn lambda_env(shared: &Shared, id: u64, api: SocketAddr) -> Vec<(String, String)> {
    let name = &shared.function_name;
    let task_root = shared
        .options
        .function
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/".into());
    let today = super::event::log_date(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default(),
    );
    let stream = format!(
        "{today}/[$LATEST]{:032x}",
        super::event::random_u128() ^ u128::from(id)
    );
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", task_root),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(path) = std::env::var_os("PATH") {
        env.push(("PATH".into(), path.to_string_lossy().into_owned()));
    }
    env.extend(shared.options.env.iter().cloned());
    env
}

/// Starts a new instance (process, Runtime API server, watchers) and adds it to `pool`,
/// busy. Called with the pool locked.
pub(crate) fn spawn(shared: &Arc<Shared>, pool: &mut Pool) -> Result<u64, String> {
    let id = pool.next_id;
    pool.next_id += 1;
    let function = shared.options.function.display().to_string();

    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(|l| Ok((l.local_addr()?, l)))
        .and_then(|(addr, l)| Ok((addr, tokio::net::TcpListener::from_std(l)?)));
    let (api, listener) =
        listener.map_err(|e| format!("could not open a Runtime API port for {function}: {e}"))?;

    let stdout = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
    let mut command = tokio::process::Command::new(&shared.options.function);
    command
        .env_clear()
        .envs(lambda_env(shared, id, api))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        // Its own process group: signals reach everything the function starts, a Ctrl-C
        // in a terminal reaches only the emulator, and if the emulator dies the kernel
        // sends the orphaned, frozen group SIGHUP + SIGCONT, so no frozen instance lingers.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("could not start {function}: {e}"))?;
    let Some(pid) = child.id() else {
        return Err(format!("{function} exited at once"));
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let (deadline_tx, deadline_rx) = watch::channel(Some(Instant::now() + INIT_LIMIT));
    runtime_api::serve(shared.clone(), id, listener, stop_rx);
    tokio::spawn(watchdog(Arc::downgrade(shared), id, deadline_rx));
    let exits = Arc::downgrade(shared);
    tokio::spawn(async move {
        let status = child.wait().await;
        if let Some(shared) = exits.upgrade() {
            shared.on_exit(id, pid, status);
        }
    });

    pool.slots.insert(
        id,
        Slot {
            pid,
            phase: Phase::Busy,
            frozen: false,
            initialized: false,
            queued: None,
            parked: None,
            current: None,
            deadline: deadline_tx,
            _stop: stop_tx,
        },
    );
    pool.counters.instances_started += 1;
    Ok(id)
}

/// Kills the instance (its process group) when its deadline passes; the deadline moves
/// with the instance's work and the task ends with the instance.
async fn watchdog(
    shared: std::sync::Weak<Shared>,
    id: u64,
    mut deadline: watch::Receiver<Option<Instant>>,
) {
    loop {
        let current = *deadline.borrow_and_update();
        match current {
            None => {
                if deadline.changed().await.is_err() {
                    return;
                }
            }
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {
                        let Some(shared) = shared.upgrade() else { return };
                        if shared.on_deadline(id, at) {
                            return;
                        }
                        // Moved meanwhile: look again.
                        if deadline.has_changed().is_err() {
                            return;
                        }
                    }
                    changed = deadline.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Sends `signal` to the instance's process group (falling back to the process alone).
pub(crate) fn signal(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let pid = Pid::from_raw(raw);
    if killpg(pid, signal).is_err() {
        let _ = kill(pid, signal);
    }
}

/// SIGSTOP: frozen, as Lambda freezes an environment between invocations.
pub(crate) fn freeze(pid: u32) {
    signal(pid, Signal::SIGSTOP);
}

/// SIGCONT.
pub(crate) fn thaw(pid: u32) {
    signal(pid, Signal::SIGCONT);
}

/// SIGKILL (also ends a frozen process).
pub(crate) fn kill_now(pid: u32) {
    signal(pid, Signal::SIGKILL);
}
