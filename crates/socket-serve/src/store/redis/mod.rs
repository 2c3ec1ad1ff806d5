//! The Redis store: any number of stateless instances share one Redis, and any request of
//! any session may land on any of them.
//!
//! - Logs are Redis Streams whose entry ids are the cursors (one clock key orders them
//!   across all logs), trimmed to the recovery window on every append.
//! - Every operation is one Lua script: an emit is one round trip (dedup check, append,
//!   trim, publish), and a broadcast is one append whatever the number of recipients.
//! - One pub/sub connection per process feeds every stream it serves ([`feed`]).
//! - Every command is bounded by `store_timeout`; failures are
//!   [`StoreError::Unavailable`] (503), and the connections come back by themselves.
//!
//! Keys are listed in [`keys`]. Scripts that append also touch the global clock key, so
//! this store needs a single Redis (or a cluster with all keys in one slot), not a sharded
//! cluster.

mod codec;
mod feed;
mod keys;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Value};
use socket_serve_protocol::Cursor;
use tokio::time::Instant;

use super::{
    Audience, Claim, Entry, FoundSession, Hub, Join, Joined, LogId, LogRead, Outgoing,
    PresencePage, RateLimit, ReadBatch, RoomSnapshot, SessionMeta, StateQuota, Store, StoreError,
    StoreResult, StreamSlots, Subscription,
};
use crate::config::Config;
use crate::error::Error;
use codec::{fields, kind_from};
use feed::Feed;
use keys::Keys;
use scripts::*;

/// How many times an operation on all of a session's rooms reads them again when they
/// changed between its read and its script.
const ROOM_READS: usize = 5;

/// Settings of a [`RedisStore`].
///
/// ```
/// let options = socket_serve::store::redis::RedisOptions::from_config(&Default::default());
/// assert_eq!(options.key_prefix, "ss");
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prefix of every key.
    pub key_prefix: String,
    /// See [`Config::session_ttl`].
    pub session_ttl: Duration,
    /// See [`Config::recovery_window`].
    pub recovery_window: Duration,
    /// Bound of every command (and connection attempt).
    pub timeout: Duration,
}

impl RedisOptions {
    /// The options a [`Config`] implies.
    pub fn from_config(config: &Config) -> RedisOptions {
        RedisOptions {
            key_prefix: config.key_prefix.clone(),
            session_ttl: config.session_ttl,
            recovery_window: config.recovery_window,
            timeout: config.store_timeout,
        }
    }

    fn session_ttl_ms(&self) -> u64 {
        self.session_ttl.as_millis() as u64
    }

    fn window_ms(&self) -> u64 {
        self.recovery_window.as_millis().max(1) as u64
    }

    /// Session keys outlive the session TTL, so the sweep still finds their state for
    /// `on_disconnect`; then they expire by themselves if no sweep comes.
    fn keys_ttl_ms(&self) -> u64 {
        3 * self.session_ttl_ms() + self.window_ms()
    }

    /// Once nothing was appended to a log for the window, everything in it is outside it:
    /// it goes, session logs too (a one-entry stream takes 4.7 KB; an idle session keeps
    /// only its meta hash and index entries, well under 1 KB).
    fn log_ttl_ms(&self, _log: &LogId) -> u64 {
        self.window_ms()
    }
}

/// A [`Store`] on Redis. Chosen by `REDIS_URL` (see [`Config::from_env`]) or built here.
///
/// Creating it does no I/O: it connects on first use, so cold starts stay cheap.
///
/// ```no_run
/// use std::sync::Arc;
/// use socket_serve::store::redis::{RedisOptions, RedisStore};
/// use socket_serve::{Config, SocketServe};
///
/// let config = Config::default();
/// let store = RedisStore::open("redis://127.0.0.1:6379", RedisOptions::from_config(&config)).unwrap();
/// let io = SocketServe::with_store(config, Arc::new(store));
/// # let _ = io;
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

/// After this long without a command, the connections are checked before the next one:
/// a process that was frozen (a serverless instance between invocations) may hold
/// connections that died meanwhile, and would otherwise fail its first request with them.
const RECHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

struct Inner {
    client: redis::Client,
    /// The command connection, made on first use; dropped when a command times out (a
    /// connection that stalls without closing would otherwise hold every later command).
    connection: std::sync::Mutex<Option<ConnectionManager>>,
    /// Held while a connection is being made, so only one is.
    connecting: tokio::sync::Mutex<()>,
    /// When a command last went out (ms since `epoch`).
    last_used_ms: std::sync::atomic::AtomicU64,
    epoch: Instant,
    keys: Keys,
    hub: Hub,
    feed: Arc<Feed>,
    tick_channel: String,
    options: RedisOptions,
}

/// Connection trouble, timeouts and a Redis that is loading, read-only or busy are
/// "unavailable" (503: retry later); an error reply to a well-formed command is a bug here
/// (500, logged).
pub(crate) fn unavailable(err: redis::RedisError) -> StoreError {
    use redis::ErrorKind;
    match err.kind() {
        ErrorKind::ResponseError | ErrorKind::TypeError | ErrorKind::ExecAbortError => {
            tracing::error!(error = %err, "Redis refused a command");
            StoreError::Corrupt(err.to_string())
        }
        _ => StoreError::Unavailable(err.to_string()),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

fn cursor(value: &Value) -> StoreResult<Cursor> {
    text(value)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| corrupt("expected a cursor"))
}

fn array(value: Value) -> StoreResult<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(corrupt("expected an array")),
    }
}

fn meta(value: Value) -> StoreResult<Option<SessionMeta>> {
    if matches!(value, Value::Nil) {
        return Ok(None);
    }
    let items = array(value)?;
    let public_id = items
        .first()
        .and_then(text)
        .ok_or_else(|| corrupt("meta"))?;
    let start = cursor(items.get(1).ok_or_else(|| corrupt("meta"))?)?;
    let data = items.get(2).and_then(text).filter(|d| !d.is_empty());
    Ok(Some(SessionMeta {
        public_id,
        start,
        data,
    }))
}

/// One XRANGE reply: `[[id, [field, value, ...]], ...]`.
fn stream_entries(log: &LogId, value: Value, out: &mut Vec<(LogId, Entry)>) -> StoreResult<()> {
    for item in array(value)? {
        let mut parts = array(item)?.into_iter();
        let id = cursor(&parts.next().ok_or_else(|| corrupt("entry id"))?)?;
        let pairs = array(parts.next().ok_or_else(|| corrupt("entry fields"))?)?;
        let (mut k, mut a, mut b) = (String::new(), String::new(), String::new());
        for pair in pairs.chunks(2) {
            let (Some(name), Some(value)) = (pair.first().and_then(text), pair.get(1)) else {
                continue;
            };
            let value = text(value).unwrap_or_default();
            match name.as_str() {
                "k" => k = value,
                "a" => a = value,
                "b" => b = value,
                _ => {}
            }
        }
        let kind = kind_from(&k, a, b)?;
        out.push((log.clone(), Entry { cursor: id, kind }));
    }
    Ok(())
}

impl RedisStore {
    /// A store for the Redis at `url`: `redis://host:port`, `redis://:password@host:port/db`,
    /// or `rediss://...` for TLS (with the `tls` feature, on by default; add `#insecure` to
    /// skip certificate checks, for tests only).
    /// Fails only if the URL cannot be parsed; no connection is made yet.
    pub fn open(url: &str, options: RedisOptions) -> Result<RedisStore, Error> {
        #[cfg(feature = "tls")]
        if url.starts_with("rediss://") {
            // rustls needs one process-wide crypto provider; keep one installed by the app.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(format!("REDIS_URL is not usable: {e}")))?;
        keys::check_prefix(&options.key_prefix).map_err(|problem| {
            Error::Config(format!("key prefix {:?}: {problem}", options.key_prefix))
        })?;
        let keys = Keys::new(&options.key_prefix);
        let instance = crate::engine::new_instance_id();
        let tick_channel = keys.tick(&instance);
        let hub = Hub::default();
        let feed = Arc::new(Feed::new(
            client.clone(),
            hub.clone(),
            tick_channel.clone(),
            options.timeout,
        ));
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                connection: std::sync::Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                last_used_ms: Default::default(),
                epoch: Instant::now(),
                keys,
                hub,
                feed,
                tick_channel,
                options,
            }),
        })
    }

    async fn connection(&self) -> StoreResult<ConnectionManager> {
        let connection = match self.current() {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        if self.idle_for_long() {
            self.recheck(&connection).await?;
        }
        Ok(connection)
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.inner
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes the command connection (one caller at a time; the others take its result).
    async fn connect(&self) -> StoreResult<ConnectionManager> {
        let timeout = self.inner.options.timeout;
        // Waiting for another caller's attempt counts against this call's timeout too: with
        // Redis down, callers queued behind each other would otherwise wait one timeout each.
        let deadline = Instant::now() + timeout;
        let _one = tokio::time::timeout_at(deadline, self.inner.connecting.lock())
            .await
            .map_err(|_| StoreError::Unavailable("connecting timed out".into()))?;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let client = self.inner.client.clone();
        let connection =
            tokio::time::timeout_at(deadline, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| StoreError::Unavailable("connecting timed out".into()))?
                .map_err(unavailable)?;
        *self
            .inner
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
        Ok(connection)
    }

    /// A command timed out: the next one goes out on a new connection. (A connection
    /// that stalls without closing keeps stalling; commands queued behind it with it.)
    fn timed_out(&self) -> StoreError {
        tracing::warn!("a Redis command timed out; the next one uses a new connection");
        self.inner
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        StoreError::Unavailable("Redis did not answer in time".into())
    }

    /// Whether no command went out for [`RECHECK_AFTER_IDLE`]; marks now as used, so one
    /// caller of many rechecks.
    fn idle_for_long(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = self.inner.epoch.elapsed().as_millis() as u64;
        let last = self.inner.last_used_ms.swap(now, Ordering::AcqRel);
        now.saturating_sub(last) >= RECHECK_AFTER_IDLE.as_millis() as u64
    }

    /// Pings both connections, at once and within one `store_timeout` in all. A command
    /// connection that died is replaced by the `ConnectionManager` on the failed ping (the
    /// second ping goes out on the new one); a pub/sub connection that does not answer is
    /// dropped, and the next stream reconnects. `Err` when the command connection did not
    /// answer: the store is down, and the caller says so now rather than after a second
    /// timeout of its own command.
    async fn recheck(&self, connection: &ConnectionManager) -> StoreResult<()> {
        let timeout = self.inner.options.timeout;
        let command = async {
            for _ in 0..2 {
                let mut con = connection.clone();
                let ping = redis::cmd("PING");
                if ping.query_async::<Value>(&mut con).await.is_ok() {
                    return true;
                }
                tracing::debug!("a Redis connection died while idle; reconnecting");
            }
            false
        };
        let (alive, ()) = tokio::join!(
            tokio::time::timeout(timeout, command),
            self.inner.feed.check_health()
        );
        match alive {
            Ok(true) => Ok(()),
            _ => Err(self.timed_out()),
        }
    }

    /// Runs one script invocation, bounded by the timeout.
    async fn run(&self, invocation: redis::ScriptInvocation<'_>) -> StoreResult<Value> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(
            self.inner.options.timeout,
            invocation.invoke_async::<Value>(&mut connection),
        )
        .await
        .map_err(|_| self.timed_out())?
        .map_err(|e| self.failed(e))
    }

    /// Runs one plain command future, bounded by the timeout.
    async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> StoreResult<T> {
        tokio::time::timeout(self.inner.options.timeout, fut)
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|e| self.failed(e))
    }

    /// A command failed: a response timeout is handled as [`Self::timed_out`].
    fn failed(&self, err: redis::RedisError) -> StoreError {
        if err.is_timeout() {
            return self.timed_out();
        }
        unavailable(err)
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    fn opts(&self) -> &RedisOptions {
        &self.inner.options
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn create_session(
        &self,
        sid: &str,
        public_id: &str,
        data: Option<&str>,
    ) -> StoreResult<Cursor> {
        let k = self.keys();
        let mut inv = CREATE.prepare_invoke();
        inv.key(k.clock())
            .key(k.meta(sid))
            .key(k.sessions())
            .key(k.public_ids());
        inv.arg(public_id)
            .arg(sid)
            .arg(self.opts().keys_ttl_ms())
            .arg(data.unwrap_or(""));
        cursor(&self.run(inv).await?)
    }

    async fn set_session_data(&self, sid: &str, json: &str) -> StoreResult<bool> {
        let mut inv = SET_DATA.prepare_invoke();
        inv.key(self.keys().meta(sid));
        inv.arg(json);
        Ok(matches!(self.run(inv).await?, Value::Int(1)))
    }

    async fn touch_session(&self, sid: &str) -> StoreResult<Option<SessionMeta>> {
        let k = self.keys();
        let mut inv = TOUCH.prepare_invoke();
        inv.key(k.meta(sid))
            .key(k.state(sid))
            .key(k.rooms(sid))
            .key(k.log(&LogId::Session(sid.to_owned())))
            .key(k.sessions())
            .key(k.public_ids());
        inv.arg(sid)
            .arg(self.opts().session_ttl_ms())
            .arg(self.opts().keys_ttl_ms());
        let value = self.run(inv).await?;
        // Past the session's facts: its rooms, when their member hashes are due a refresh.
        let rooms: Vec<String> = match &value {
            Value::Array(items) => items.iter().skip(3).filter_map(text).collect(),
            _ => Vec::new(),
        };
        if !rooms.is_empty() {
            // Room member hashes live as long as their members: one round trip now and then
            // (a quarter of the keys' TTL), not on every request.
            let mut pipe = redis::pipe();
            for room in &rooms {
                pipe.pexpire(k.members(room), self.opts().keys_ttl_ms() as i64)
                    .ignore();
            }
            let mut con = self.connection().await?;
            self.bounded(pipe.query_async::<()>(&mut con)).await?;
        }
        meta(value)
    }

    async fn close_session(&self, sid: &str, reason: &str) -> StoreResult<Option<SessionMeta>> {
        let k = self.keys();
        let log = LogId::Session(sid.to_owned());
        let mut inv = CLOSE.prepare_invoke();
        inv.key(k.meta(sid))
            .key(k.log(&log))
            .key(k.clock())
            .key(k.sessions())
            .key(k.ended(sid));
        inv.arg(sid)
            .arg(reason)
            .arg(self.opts().window_ms())
            .arg(self.opts().log_ttl_ms(&log));
        meta(self.run(inv).await?)
    }

    async fn purge_session(&self, sid: &str) -> StoreResult<()> {
        let k = self.keys();
        // A closed session joins nothing more, so the rooms read now cover it (the script
        // checks, and this reads again if not).
        for _ in 0..ROOM_READS {
            let rooms = self.rooms(sid).await?.rooms;
            let mut inv = PURGE.prepare_invoke();
            inv.key(k.meta(sid))
                .key(k.state(sid))
                .key(k.rooms(sid))
                .key(k.log(&LogId::Session(sid.to_owned())))
                .key(k.public_ids());
            for (room, _) in &rooms {
                inv.key(k.members(room)).arg(room);
            }
            if matches!(self.run(inv).await?, Value::Int(1)) {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "the session's rooms kept changing during its purge".into(),
        ))
    }

    async fn ended_reason(&self, sid: &str) -> StoreResult<Option<String>> {
        let mut con = self.connection().await?;
        let ended = self.keys().ended(sid);
        self.bounded(con.get::<_, Option<String>>(ended)).await
    }

    async fn expired_sessions(&self, limit: usize) -> StoreResult<Vec<String>> {
        let mut inv = EXPIRED.prepare_invoke();
        inv.key(self.keys().sessions());
        inv.arg(self.opts().session_ttl_ms()).arg(limit);
        Ok(array(self.run(inv).await?)?
            .iter()
            .filter_map(text)
            .collect())
    }

    async fn spend_token(&self, bucket: &str, limit: RateLimit) -> StoreResult<Option<Duration>> {
        let mut inv = SPEND_TOKEN.prepare_invoke();
        inv.key(self.keys().bucket(bucket));
        inv.arg(limit.interval_us()).arg(limit.tolerance_us());
        match self.run(inv).await? {
            Value::Int(wait) if wait > 0 => Ok(Some(Duration::from_micros(wait as u64))),
            Value::Int(_) => Ok(None),
            _ => Err(corrupt("spend_token")),
        }
    }

    async fn get_state(&self, sid: &str, key: &str) -> StoreResult<Option<String>> {
        let mut con = self.connection().await?;
        let state = self.keys().state(sid);
        self.bounded(con.hget::<_, _, Option<String>>(state, key))
            .await
    }

    async fn set_state(
        &self,
        sid: &str,
        key: &str,
        json: &str,
        quota: StateQuota,
    ) -> StoreResult<bool> {
        let mut inv = SET_STATE.prepare_invoke();
        inv.key(self.keys().state(sid));
        inv.arg(key)
            .arg(json)
            .arg(self.opts().keys_ttl_ms())
            .arg(quota.max_keys)
            .arg(quota.max_bytes);
        Ok(matches!(self.run(inv).await?, Value::Int(1)))
    }

    async fn open_stream(
        &self,
        sid: &str,
        stream: &str,
        slots: StreamSlots,
    ) -> StoreResult<Vec<String>> {
        let k = self.keys();
        let mut inv = OPEN_STREAM.prepare_invoke();
        inv.key(k.streams(sid)).key(k.streams_seen(sid));
        inv.arg(stream)
            .arg(slots.max.max(1))
            .arg(slots.stale.as_millis() as u64);
        array(self.run(inv).await?)?
            .iter()
            .map(|id| text(id).ok_or_else(|| corrupt("stream id")))
            .collect()
    }

    async fn refresh_stream(
        &self,
        sid: &str,
        stream: &str,
        slots: StreamSlots,
    ) -> StoreResult<bool> {
        let k = self.keys();
        let mut inv = REFRESH_STREAM.prepare_invoke();
        inv.key(k.streams(sid)).key(k.streams_seen(sid));
        inv.arg(stream).arg(slots.stale.as_millis() as u64);
        Ok(matches!(self.run(inv).await?, Value::Int(1)))
    }

    async fn close_stream(&self, sid: &str, stream: &str) -> StoreResult<()> {
        let k = self.keys();
        let mut inv = CLOSE_STREAM.prepare_invoke();
        inv.key(k.streams(sid)).key(k.streams_seen(sid));
        inv.arg(stream);
        self.run(inv).await.map(|_| ())
    }

    async fn delete_state(&self, sid: &str, key: &str) -> StoreResult<()> {
        let mut con = self.connection().await?;
        let state = self.keys().state(sid);
        self.bounded(con.hdel::<_, _, ()>(state, key)).await
    }

    async fn join(
        &self,
        sid: &str,
        public_id: &str,
        room: &str,
        max_rooms: usize,
    ) -> StoreResult<Join> {
        let k = self.keys();
        let log = LogId::Session(sid.to_owned());
        let mut inv = JOIN.prepare_invoke();
        inv.key(k.rooms(sid))
            .key(k.log(&log))
            .key(k.clock())
            .key(k.members(room))
            .key(k.meta(sid));
        inv.arg(room)
            .arg(public_id)
            .arg(self.opts().window_ms())
            .arg(self.opts().log_ttl_ms(&log))
            .arg(self.opts().keys_ttl_ms())
            .arg(max_rooms);
        match self.run(inv).await? {
            Value::Nil => Ok(Join::Gone),
            Value::Array(items) => {
                let [cursor_value, presence] = items.as_slice() else {
                    return Err(corrupt("join"));
                };
                Ok(Join::Joined(Joined {
                    cursor: cursor(cursor_value)?,
                    presence: text(presence).filter(|p| !p.is_empty()),
                }))
            }
            other => match text(&other).as_deref() {
                Some("in") => Ok(Join::AlreadyIn),
                Some("full") => Ok(Join::Full),
                _ => Err(corrupt("join")),
            },
        }
    }

    async fn leave(&self, sid: &str, public_id: &str, room: &str) -> StoreResult<bool> {
        let k = self.keys();
        let log = LogId::Session(sid.to_owned());
        let mut inv = LEAVE.prepare_invoke();
        inv.key(k.rooms(sid))
            .key(k.log(&log))
            .key(k.clock())
            .key(k.members(room));
        inv.arg(room)
            .arg(public_id)
            .arg(self.opts().window_ms())
            .arg(self.opts().log_ttl_ms(&log));
        Ok(matches!(self.run(inv).await?, Value::Int(1)))
    }

    async fn set_presence(&self, sid: &str, json: Option<&str>) -> StoreResult<bool> {
        let k = self.keys();
        for _ in 0..ROOM_READS {
            let rooms = self.rooms(sid).await?.rooms;
            let mut inv = SET_PRESENCE.prepare_invoke();
            inv.key(k.meta(sid)).key(k.rooms(sid));
            inv.arg(json.unwrap_or(""));
            for (room, _) in &rooms {
                inv.key(k.members(room)).arg(room);
            }
            match self.run(inv).await? {
                Value::Int(1) => return Ok(true),
                Value::Int(0) => return Ok(false),
                // A join or leave came between the read and the script: read again.
                _ => continue,
            }
        }
        Err(StoreError::Unavailable(
            "the session's rooms kept changing while its presence was set".into(),
        ))
    }

    async fn presence_count(&self, room: &str) -> StoreResult<usize> {
        let mut con = self.connection().await?;
        let members = self.keys().members(room);
        self.bounded(con.hlen::<_, usize>(members)).await
    }

    async fn presence_page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<PresencePage> {
        // HSCAN's cursor is a number; anything else starts over rather than failing.
        let start: u64 = after.and_then(|a| a.parse().ok()).unwrap_or(0);
        let mut con = self.connection().await?;
        let mut cmd = redis::cmd("HSCAN");
        cmd.arg(self.keys().members(room))
            .arg(start)
            .arg("COUNT")
            .arg(limit.max(1));
        let (next, flat): (String, Vec<String>) = self.bounded(cmd.query_async(&mut con)).await?;
        let members = flat
            .chunks(2)
            .filter_map(|pair| match pair {
                [id, meta] => Some((id.clone(), Some(meta.clone()).filter(|m| !m.is_empty()))),
                _ => None,
            })
            .collect();
        Ok(PresencePage {
            members,
            next: (next != "0").then_some(next),
        })
    }

    async fn rooms(&self, sid: &str) -> StoreResult<RoomSnapshot> {
        let mut inv = ROOMS.prepare_invoke();
        inv.key(self.keys().rooms(sid)).key(self.keys().clock());
        let items = array(self.run(inv).await?)?;
        let position = cursor(items.first().ok_or_else(|| corrupt("rooms"))?)?;
        let mut rooms = Vec::new();
        for pair in items[1..].chunks(2) {
            if let [room, joined] = pair {
                let room = text(room).ok_or_else(|| corrupt("room name"))?;
                rooms.push((room, cursor(joined)?));
            }
        }
        rooms.sort();
        Ok(RoomSnapshot { rooms, position })
    }

    async fn room_members(&self, room: &str) -> StoreResult<Vec<String>> {
        let mut con = self.connection().await?;
        let members = self.keys().members(room);
        let mut ids = self.bounded(con.hkeys::<_, Vec<String>>(members)).await?;
        ids.sort();
        Ok(ids)
    }

    async fn announce_volatile(
        &self,
        log: &LogId,
        json: Arc<str>,
        audience: Audience,
    ) -> StoreResult<()> {
        // A plain PUBLISH on the log's channel: no clock, no stream, one round trip.
        let mut con = self.connection().await?;
        let payload = codec::volatile_payload(&json, &audience);
        self.bounded(con.publish::<_, _, ()>(self.keys().log(log), payload))
            .await
    }

    async fn find_session(&self, public_id: &str) -> StoreResult<Option<FoundSession>> {
        // Two reads (the meta key depends on the answer of the first): addressing a session
        // from outside is not on the hot path.
        let mut con = self.connection().await?;
        let sid: Option<String> = self
            .bounded(con.hget(self.keys().public_ids(), public_id))
            .await?;
        let Some(sid) = sid else { return Ok(None) };
        let (closed, data): (Option<String>, Option<String>) = self
            .bounded(con.hget(self.keys().meta(&sid), &["closed", "data"]))
            .await?;
        Ok((closed.as_deref() == Some("0")).then(|| FoundSession {
            sid,
            data: data.filter(|d| !d.is_empty()),
        }))
    }

    async fn append(&self, outgoing: Outgoing) -> StoreResult<Option<Cursor>> {
        let k = self.keys();
        let log_key = k.log(&outgoing.log);
        let (kind, a, b) = fields(&outgoing.kind);
        let dedup_key = match &outgoing.dedup {
            Some((sid, key)) => k.appended(sid, key),
            None => log_key.clone(),
        };
        let session_meta = match outgoing.log.session() {
            Some(sid) => k.meta(sid),
            None => log_key.clone(),
        };
        let mut inv = APPEND.prepare_invoke();
        inv.key(&log_key)
            .key(k.clock())
            .key(dedup_key)
            .key(session_meta);
        inv.arg(self.opts().window_ms())
            .arg(self.opts().log_ttl_ms(&outgoing.log))
            .arg(kind)
            .arg(a)
            .arg(b)
            .arg(if outgoing.dedup.is_some() { "1" } else { "0" })
            .arg(if outgoing.log.session().is_some() {
                "1"
            } else {
                "0"
            });
        match self.run(inv).await? {
            Value::Nil => Ok(None),
            value => match text(&value) {
                // The session is gone: nobody can read it.
                Some(t) if t.is_empty() => Ok(Some(Cursor::ZERO)),
                _ => Ok(Some(cursor(&value)?)),
            },
        }
    }

    async fn read(&self, reads: &[LogRead]) -> StoreResult<ReadBatch> {
        let mut inv = READ.prepare_invoke();
        for read in reads {
            inv.key(self.keys().log(&read.log));
        }
        inv.key(self.keys().clock());
        for read in reads {
            let until = read.until.map_or_else(|| "+".to_owned(), |c| c.to_string());
            inv.arg(read.after.to_string())
                .arg(until)
                .arg(read.limit.unwrap_or(0));
        }
        let mut items = array(self.run(inv).await?)?.into_iter();
        let position = cursor(&items.next().ok_or_else(|| corrupt("read"))?)?;
        let now_ms = items
            .next()
            .and_then(|v| text(&v))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| corrupt("read time"))?;
        let mut entries = Vec::new();
        let mut position = position;
        let mut truncated = false;
        for (read, value) in reads.iter().zip(items) {
            let before = entries.len();
            stream_entries(&read.log, value, &mut entries)?;
            let returned = entries.len() - before;
            if read
                .limit
                .is_some_and(|limit| limit > 0 && returned >= limit)
            {
                // Maybe more: complete only up to the last one returned.
                truncated = true;
                if let Some((_, last)) = entries.last() {
                    position = position.min(last.cursor);
                }
            }
        }
        Ok(ReadBatch {
            entries,
            position,
            truncated,
            now_ms,
        })
    }

    async fn advance_drain(&self, sid: &str, from: Cursor, to: Cursor) -> StoreResult<bool> {
        let mut inv = ADVANCE_DRAIN.prepare_invoke();
        inv.key(self.keys().meta(sid));
        inv.arg(from.to_string()).arg(to.to_string());
        Ok(matches!(self.run(inv).await?, Value::Int(1)))
    }

    async fn drain_position(&self, sid: &str) -> StoreResult<Option<Cursor>> {
        let mut con = self.connection().await?;
        let meta = self.keys().meta(sid);
        let drain = self
            .bounded(con.hget::<_, _, Option<String>>(meta, "drain"))
            .await?;
        drain
            .map(|d| d.parse().map_err(|_| corrupt("drain position")))
            .transpose()
    }

    async fn claim_message(
        &self,
        sid: &str,
        message_id: &str,
        lease: Duration,
    ) -> StoreResult<Claim> {
        let mut inv = CLAIM.prepare_invoke();
        inv.key(self.keys().message(sid, message_id));
        inv.arg(lease.as_millis().max(1) as u64);
        let answer = text(&self.run(inv).await?).ok_or_else(|| corrupt("claim"))?;
        Ok(match answer.as_str() {
            "new" => Claim::New,
            "busy" => Claim::InProgress,
            done => Claim::Done(done.strip_prefix("done:").unwrap_or(done).to_owned()),
        })
    }

    async fn complete_message(&self, sid: &str, message_id: &str, answer: &str) -> StoreResult<()> {
        let mut con = self.connection().await?;
        let key = self.keys().message(sid, message_id);
        let value = format!("done:{answer}");
        let ttl = self.opts().window_ms();
        self.bounded(con.pset_ex::<_, _, ()>(key, value, ttl)).await
    }

    async fn release_message(&self, sid: &str, message_id: &str) -> StoreResult<()> {
        let mut con = self.connection().await?;
        let key = self.keys().message(sid, message_id);
        self.bounded(con.del::<_, ()>(key)).await
    }

    fn subscribe(&self, budget: usize) -> Subscription {
        self.inner.hub.subscribe(budget)
    }

    async fn listen(&self, subscription: &Subscription, logs: &[LogId]) -> StoreResult<()> {
        let channels = logs
            .iter()
            .map(|log| (self.keys().log(log), log.clone()))
            .collect();
        self.inner.feed.listen(subscription.id(), channels).await
    }

    async fn refresh(&self) {
        if let Some(connection) = self.current() {
            self.inner.last_used_ms.store(
                self.inner.epoch.elapsed().as_millis() as u64,
                std::sync::atomic::Ordering::Release,
            );
            // A failure shows again on the next command, as a 503.
            let _ = self.recheck(&connection).await;
        }
    }

    async fn tick(&self) -> StoreResult<()> {
        self.inner.feed.check_health().await;
        self.inner.feed.unsubscribe_idle().await;
        self.inner.feed.ensure_connected().await?;
        let mut inv = TICK.prepare_invoke();
        inv.key(self.keys().clock());
        inv.arg(&self.inner.tick_channel);
        self.run(inv).await?;
        Ok(())
    }
}
