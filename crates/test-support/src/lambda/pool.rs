//! The instances and everything that changes them, behind one lock (never held across an
//! `.await`): giving invocations out, completing them, freezing, reaping, deaths.

use std::collections::HashMap;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

use super::instance::{self, Current, Invocation, Phase, Reply, Slot};
use super::{InstanceInfo, InstanceState, LambdaOptions, LambdaStats};

/// State shared by the front, the Runtime APIs and the watchers.
pub(crate) struct Shared {
    pub options: LambdaOptions,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the function binary's file name.
    pub function_name: String,
    /// The Function URL's id (`requestContext.apiId`).
    pub api_id: String,
    /// Where the front listens.
    pub front_addr: std::net::SocketAddr,
    pub pool: Mutex<Pool>,
    /// Signalled whenever an instance becomes free or goes away, for requests waiting at
    /// the instance cap.
    pub capacity: Notify,
    /// Requests waiting at the cap now.
    pub waiting: std::sync::atomic::AtomicUsize,
}

/// The instances.
#[derive(Default)]
pub(crate) struct Pool {
    pub slots: HashMap<u64, Slot>,
    /// Idle instances, the most recently used last (it is reused first).
    pub idle: Vec<u64>,
    pub next_id: u64,
    pub closed: bool,
    pub counters: Counters,
}

/// Counts kept for [`LambdaStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub instances_started: u64,
    pub invocations: u64,
    pub timeouts_killed: u64,
    pub init_errors: Vec<String>,
    pub function_errors: u64,
    pub crashed: u64,
    pub reaped: u64,
    pub max_busy: usize,
}

/// What [`Shared::try_assign`] did with an invocation.
pub(crate) enum Assign {
    /// An instance has it.
    Given,
    /// Every instance is busy and the cap is reached: wait for [`Shared::capacity`].
    Full(Invocation),
    /// No instance could be started.
    Failed,
}

impl Pool {
    fn busy(&self) -> usize {
        self.slots
            .values()
            .filter(|s| s.phase == Phase::Busy)
            .count()
    }

    fn note_busy(&mut self) {
        self.counters.invocations += 1;
        self.counters.max_busy = self.counters.max_busy.max(self.busy());
    }

    fn remove(&mut self, id: u64) -> Option<Slot> {
        self.idle.retain(|i| *i != id);
        self.slots.remove(&id)
    }
}

/// Logs what Lambda's own log lines would say, on stderr.
pub(crate) fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("local-lambda: {message}");
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Pool> {
        // A panic while locked cannot leave the pool half-changed in a way that matters
        // more than stopping would: keep serving.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives `invocation` to an idle instance (thawing it), else to a new one if the cap
    /// allows.
    pub(crate) fn try_assign(self: &Arc<Self>, invocation: Invocation) -> Assign {
        let mut guard = self.lock();
        let pool = &mut *guard;
        if pool.closed {
            return Assign::Failed;
        }
        while let Some(id) = pool.idle.pop() {
            let Some(slot) = pool.slots.get_mut(&id) else {
                continue;
            };
            if slot.frozen {
                instance::thaw(slot.pid);
                slot.frozen = false;
            }
            slot.phase = Phase::Busy;
            slot.give(invocation, self.options.timeout);
            pool.note_busy();
            return Assign::Given;
        }
        if pool.slots.len() >= self.options.max_instances.max(1) {
            return Assign::Full(invocation);
        }
        match instance::spawn(self, pool) {
            Ok(id) => {
                if let Some(slot) = pool.slots.get_mut(&id) {
                    slot.queued = Some(invocation);
                }
                pool.note_busy();
                Assign::Given
            }
            Err(error) => {
                log(format_args!("{error}"));
                pool.counters.init_errors.push(error);
                Assign::Failed
            }
        }
    }

    /// The instance's response is complete (or failed): it is free. Freezes it, or hands
    /// it to a waiting request. Called with the pool locked.
    fn release(&self, pool: &mut Pool, id: u64) {
        let Some(slot) = pool.slots.get_mut(&id) else {
            return;
        };
        slot.current = None;
        let _ = slot.deadline.send_replace(None);
        if pool.closed {
            instance::kill_now(slot.pid);
            pool.remove(id);
            return;
        }
        slot.phase = Phase::Idle {
            since: Instant::now(),
        };
        if self.options.freeze {
            instance::freeze(slot.pid);
            slot.frozen = true;
        }
        pool.idle.push(id);
        self.capacity.notify_one();
    }

    /// Ends the current invocation `request_id` of instance `id`: sends `reply` if given
    /// (else the client gets 502, or its stream was already relayed) and frees the instance.
    /// False if that invocation is no longer current (timed out, the instance died).
    pub(crate) fn finish(&self, id: u64, request_id: &str, reply: Option<Reply>) -> bool {
        let mut pool = self.lock();
        let Some(slot) = pool.slots.get_mut(&id) else {
            return false;
        };
        match slot.current.take() {
            Some(current) if current.request_id == request_id => {
                if let (Some(reply), Some(sender)) = (reply, current.reply) {
                    let _ = sender.send(reply);
                }
                // Otherwise dropping the sender answers 502.
            }
            other => {
                slot.current = other;
                return false;
            }
        }
        self.release(&mut pool, id);
        true
    }

    /// Runs `f` on the current invocation of instance `id` if it is `request_id`.
    pub(crate) fn with_current<T>(
        &self,
        id: u64,
        request_id: &str,
        f: impl FnOnce(&mut Current) -> T,
    ) -> Option<T> {
        let mut pool = self.lock();
        let current = pool.slots.get_mut(&id)?.current.as_mut()?;
        (current.request_id == request_id).then(|| f(current))
    }

    /// `/init/error`: records `error`, answers the client that started the instance 502,
    /// and kills the instance.
    pub(crate) fn init_failed(&self, id: u64, error: String) {
        let mut pool = self.lock();
        log(format_args!("init error: {error}"));
        pool.counters.init_errors.push(error);
        if let Some(slot) = pool.remove(id) {
            instance::kill_now(slot.pid);
            if let Some(current) = slot.current {
                current.fail("the function failed to initialize");
            }
            // A queued invocation is dropped with the slot: 502.
        }
        self.capacity.notify_one();
    }

    /// `/error`: the client gets 502; the instance lives on and is freed.
    pub(crate) fn function_error(&self, id: u64, request_id: &str, error: &str) -> bool {
        {
            let mut pool = self.lock();
            let current = pool.slots.get(&id).and_then(|s| s.current.as_ref());
            if current.is_none_or(|c| c.request_id != request_id) {
                return false;
            }
            pool.counters.function_errors += 1;
        }
        log(format_args!("invocation {request_id} failed: {error}"));
        self.finish(id, request_id, None)
    }

    /// The deadline `at` of instance `id` passed: if it still stands, kill the instance,
    /// answer its client 502 or cut its stream. True if it killed.
    pub(crate) fn on_deadline(&self, id: u64, at: Instant) -> bool {
        let mut pool = self.lock();
        let Some(slot) = pool.slots.get(&id) else {
            return true;
        };
        if *slot.deadline.borrow() != Some(at) {
            return false;
        }
        let Some(slot) = pool.remove(id) else {
            return true;
        };
        instance::kill_now(slot.pid);
        pool.counters.timeouts_killed += 1;
        let timeout = self.options.timeout.as_secs_f64();
        match (&slot.current, slot.initialized) {
            (Some(current), _) => log(format_args!(
                "{} Task timed out after {timeout:.2} seconds (pid {} killed)",
                current.request_id, slot.pid
            )),
            (None, false) => log(format_args!(
                "init phase timed out after {:?} (pid {} killed)",
                instance::INIT_LIMIT,
                slot.pid
            )),
            (None, true) => {}
        }
        if let Some(current) = slot.current {
            current.fail("the invocation timed out");
        }
        drop(pool);
        self.capacity.notify_one();
        true
    }

    /// The process of instance `id` exited. Unless the emulator killed it, that is a crash:
    /// its invocation, if any, gets 502 (or a cut stream) and it is forgotten.
    pub(crate) fn on_exit(&self, id: u64, pid: u32, status: std::io::Result<ExitStatus>) {
        let mut pool = self.lock();
        let Some(slot) = pool.remove(id) else {
            return;
        };
        if !pool.closed {
            pool.counters.crashed += 1;
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            log(format_args!(
                "instance pid {pid} exited by itself ({status})"
            ));
        }
        if let Some(current) = slot.current {
            current.fail("the function's process died");
        }
        drop(pool);
        self.capacity.notify_one();
    }

    /// Kills instances idle for longer than `idle_reap`.
    pub(crate) fn reap_idle(&self) {
        let mut pool = self.lock();
        let now = Instant::now();
        let expired: Vec<u64> = pool
            .slots
            .iter()
            .filter(|(_, s)| match s.phase {
                Phase::Idle { since } => now.duration_since(since) >= self.options.idle_reap,
                Phase::Busy => false,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(slot) = pool.remove(id) {
                instance::kill_now(slot.pid);
                pool.counters.reaped += 1;
            }
        }
    }

    /// Kills every instance; no new ones start.
    pub(crate) fn close(&self) -> Vec<u32> {
        let mut pool = self.lock();
        pool.closed = true;
        pool.idle.clear();
        let slots: Vec<Slot> = pool.slots.drain().map(|(_, s)| s).collect();
        drop(pool);
        let pids = slots.iter().map(|s| s.pid).collect();
        for slot in slots {
            instance::kill_now(slot.pid);
            if let Some(current) = slot.current {
                current.fail("the emulator shut down");
            }
        }
        self.capacity.notify_waiters();
        pids
    }

    pub(crate) fn stats(&self) -> LambdaStats {
        let pool = self.lock();
        let c = &pool.counters;
        LambdaStats {
            instances_started: c.instances_started,
            invocations: c.invocations,
            timeouts_killed: c.timeouts_killed,
            init_errors: c.init_errors.clone(),
            function_errors: c.function_errors,
            crashed: c.crashed,
            reaped: c.reaped,
            live_now: pool.slots.len(),
            frozen_now: pool.slots.values().filter(|s| s.frozen).count(),
            idle_now: pool.idle.len(),
            busy_now: pool.busy(),
            max_busy: c.max_busy,
            waiting_now: self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub(crate) fn instances(&self) -> Vec<InstanceInfo> {
        let pool = self.lock();
        let mut ids: Vec<&u64> = pool.slots.keys().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| pool.slots.get(id))
            .map(|slot| InstanceInfo {
                pid: slot.pid,
                state: match (slot.phase, slot.frozen, slot.initialized) {
                    (Phase::Idle { .. }, true, _) => InstanceState::Frozen,
                    (Phase::Idle { .. }, false, _) => InstanceState::Idle,
                    (Phase::Busy, _, false) => InstanceState::Starting,
                    (Phase::Busy, _, true) => InstanceState::Busy,
                },
            })
            .collect()
    }
}
