//! Key and channel names. Every key of one session carries the session id as a hash tag
//! (`ss:{sid}:...`) so a Redis Cluster would keep them in one slot. The pub/sub channel of
//! a log is the log's key name.

use crate::store::LogId;

#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// The last cursor handed out: one clock for all logs, so cursors are totally ordered.
    pub(crate) fn clock(&self) -> String {
        format!("{}:clock", self.prefix)
    }

    /// Sorted set of live sessions by last-seen time, for the expiry sweep.
    pub(crate) fn sessions(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    /// Hash: public id → session id, for addressing a session by its public id. Entries
    /// go with their session's purge; the hash expires `keys_ttl` after the last connect
    /// or periodic refresh of any session, so it cannot outlive the deployment's sessions.
    pub(crate) fn public_ids(&self) -> String {
        format!("{}:public", self.prefix)
    }

    /// Hash: `pub` (public id), `start`, `drain` (cursors), `closed` (0/1).
    pub(crate) fn meta(&self, sid: &str) -> String {
        format!("{}:{{{sid}}}:meta", self.prefix)
    }

    /// Why the session was closed: set by the close, expires after the recovery window.
    pub(crate) fn ended(&self, sid: &str) -> String {
        format!("{}:{{{sid}}}:ended", self.prefix)
    }

    /// Hash of the app's session state.
    pub(crate) fn state(&self, sid: &str) -> String {
        format!("{}:{{{sid}}}:state", self.prefix)
    }

    /// Hash: room → cursor of the join.
    pub(crate) fn rooms(&self, sid: &str) -> String {
        format!("{}:{{{sid}}}:rooms", self.prefix)
    }

    /// A client message id's record: `claimed` (with a lease) or `done:<answer>`.
    pub(crate) fn message(&self, sid: &str, message_id: &str) -> String {
        format!("{}:{{{sid}}}:msg:{message_id}", self.prefix)
    }

    /// An append's idempotency key.
    pub(crate) fn appended(&self, sid: &str, key: &str) -> String {
        format!("{}:{{{sid}}}:out:{key}", self.prefix)
    }

    /// Hash of a room's members: public id → presence metadata (JSON, `''` for none).
    /// Its size is the room's count (HLEN), its pages one HSCAN each.
    pub(crate) fn members(&self, room: &str) -> String {
        format!("{}:room:{room}:presence", self.prefix)
    }

    /// The stream (and pub/sub channel) of a log.
    pub(crate) fn log(&self, log: &LogId) -> String {
        match log {
            LogId::Session(sid) => format!("{}:{{{sid}}}:log", self.prefix),
            LogId::Room(room) => format!("{}:room:{room}:log", self.prefix),
            LogId::All => format!("{}:all:log", self.prefix),
            LogId::Ack { sid, id } => format!("{}:{{{sid}}}:ack:{id}", self.prefix),
        }
    }

    /// This instance's heartbeat channel.
    pub(crate) fn tick(&self, instance: &str) -> String {
        format!("{}:tick:{instance}", self.prefix)
    }
}
