//! The Lua scripts: each store operation is one script, so it is atomic and costs one
//! round trip (`EVALSHA`, falling back to `EVAL` on `NOSCRIPT`: loaded lazily, nothing at
//! start-up).
//!
//! Every cursor comes from one clock key, so cursors are ordered across all logs; every
//! append also trims its stream to the recovery window and announces the entry on the
//! stream's channel, in the same step.

use std::sync::LazyLock;

use redis::Script;

/// Functions shared by the scripts that append.
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function next_cursor(clock)
  local now = now_ms()
  local ms, seq = now, 0
  local last = redis.call('GET', clock)
  if last then
    local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
    lms = tonumber(lms)
    if lms and lms >= now then
      ms = lms
      seq = tonumber(lseq) + 1
    end
  end
  local id = string.format('%d-%d', ms, seq)
  redis.call('SET', clock, id)
  return id, ms
end
local function append(log, clock, window, log_ttl, k, a, b)
  local id, ms = next_cursor(clock)
  local min_id = string.format('%d', math.max(ms - tonumber(window), 0))
  redis.call('XADD', log, 'MINID', '~', min_id, id, 'k', k, 'a', a, 'b', b)
  redis.call('PEXPIRE', log, log_ttl)
  redis.call('PUBLISH', log, id .. '\n' .. k .. '\n' .. a .. '\n' .. b)
  return id
end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

/// KEYS: clock, meta, sessions, public ids. ARGV: public id, sid, keys ttl ms, data
/// ('' for none).
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local id = next_cursor(KEYS[1])
local now = now_ms()
redis.call('HSET', KEYS[2], 'pub', ARGV[1], 'start', id, 'drain', id, 'closed', '0', 'refreshed', now, 'data', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
return id
"#,
    )
});

/// KEYS: meta, state, rooms, log, sessions, public ids. ARGV: sid, session ttl ms, keys
/// ttl ms. The log is not refreshed: it expires a recovery window after its last append. The public-id index lives as long as some session is active: its entry and
/// expiry are refreshed now and then (a quarter of the keys' TTL), and then the answer also
/// lists the session's rooms, whose member hashes the caller refreshes (their keys can only
/// be passed in `KEYS` once known).
/// Returns `{public id, start, data[, room, ...]}` or nil when unknown, closed or expired.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local m = redis.call('HMGET', KEYS[1], 'pub', 'start', 'closed', 'refreshed', 'data')
if not m[1] or m[3] ~= '0' then return false end
local now = now_ms()
local seen = redis.call('ZSCORE', KEYS[5], ARGV[1])
if not seen or now - tonumber(seen) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[5], now, ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
local out = {m[1], m[2], m[5] or ''}
if now - tonumber(m[4] or 0) > tonumber(ARGV[3]) / 4 then
  redis.call('HSET', KEYS[6], m[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[6], ARGV[3])
  redis.call('HSET', KEYS[1], 'refreshed', now)
  for _, room in ipairs(redis.call('HKEYS', KEYS[3])) do out[#out + 1] = room end
end
return out
"#,
    )
});

/// KEYS: meta, log, clock, sessions, ended. ARGV: sid, reason, window ms, log ttl ms.
/// Returns `{public id, start, data}` to the one caller that closed it, nil to others.
pub(crate) static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
redis.call('ZREM', KEYS[4], ARGV[1])
local m = redis.call('HMGET', KEYS[1], 'pub', 'start', 'closed', 'data')
if not m[1] or m[3] ~= '0' then return false end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
append(KEYS[2], KEYS[3], ARGV[3], ARGV[4], 'd', ARGV[2], '')
return {m[1], m[2], m[4] or ''}
"#,
    )
});

/// Returns 1 when every room of the rooms hash `KEYS[rooms]` is among ARGV[from..], else 0:
/// the caller passed the member keys of the rooms it read, and must read again.
const COVERS: &str = r#"
local function covers(rooms, from)
  local given = {}
  for i = from, #ARGV do given[ARGV[i]] = true end
  for _, room in ipairs(redis.call('HKEYS', rooms)) do
    if not given[room] then return false end
  end
  return true
end
"#;

/// KEYS: meta, state, rooms, log, public ids, member hash of each room. ARGV: each room's
/// name, in the order of its key. Returns 1, or 0 (nothing done) when the session is in a
/// room not given.
pub(crate) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COVERS}{}",
        r#"
if not covers(KEYS[3], 1) then return 0 end
local pub = redis.call('HGET', KEYS[1], 'pub')
if pub then
  for i = 6, #KEYS do redis.call('HDEL', KEYS[i], pub) end
  redis.call('HDEL', KEYS[5], pub)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
"#
    ))
});

/// KEYS: sessions. ARGV: session ttl ms, limit.
pub(crate) static EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local cutoff = now_ms() - tonumber(ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
"#,
    )
});

/// KEYS: log, clock, dedup key, session meta. ARGV: window ms, log ttl ms, k, a, b,
/// check dedup (0/1), check session (0/1). Returns the cursor, nil for a spent dedup key,
/// '' when the session is gone.
pub(crate) static APPEND: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if ARGV[6] == '1' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return false end
end
if ARGV[7] == '1' and redis.call('HGET', KEYS[4], 'closed') ~= '0' then return '' end
return append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
"#,
    )
});

/// KEYS: rooms, session log, clock, members, meta. ARGV: room, public id, window ms,
/// log ttl ms, keys ttl ms, max rooms. Returns `{cursor, presence}` of the join, 'in' when
/// already in the room, 'full' when in max rooms already, nil when the session is gone or
/// closed.
pub(crate) static JOIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local m = redis.call('HMGET', KEYS[5], 'closed', 'presence')
if m[1] ~= '0' then return false end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'in' end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then return 'full' end
local presence = m[2] or ''
local id = append(KEYS[2], KEYS[3], ARGV[3], ARGV[4], 'j', ARGV[1], '')
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[2], presence)
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return {id, presence}
"#,
    )
});

/// KEYS: rooms, session log, clock, members. ARGV: room, public id, window ms, log ttl ms.
/// Returns 1 when it left, nil when it was not in the room.
pub(crate) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local since = redis.call('HGET', KEYS[1], ARGV[1])
if not since then return false end
append(KEYS[2], KEYS[3], ARGV[3], ARGV[4], 'l', ARGV[1], since)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[2])
return 1
"#,
    )
});

/// KEYS: meta, rooms, member hash of each room. ARGV: presence ('' for none), each room's
/// name in the order of its key. Sets the session's presence in its meta and in each of its
/// rooms' lists. Returns 1; 0 when gone or closed; -1 (nothing done) when the session is in
/// a room not given.
pub(crate) static SET_PRESENCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{COVERS}{}",
        r#"
local m = redis.call('HMGET', KEYS[1], 'closed', 'pub')
if m[1] ~= '0' then return 0 end
if not covers(KEYS[2], 2) then return -1 end
redis.call('HSET', KEYS[1], 'presence', ARGV[1])
for i = 3, #KEYS do redis.call('HSET', KEYS[i], m[2], ARGV[1]) end
return 1
"#
    ))
});

/// KEYS: rooms, clock. Returns `{position, room, cursor, room, cursor, ...}`.
pub(crate) static ROOMS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local out = {redis.call('GET', KEYS[2]) or '0-0'}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do out[#out + 1] = all[i] end
return out
"#,
    )
});

/// KEYS: log 1..n, clock (last). ARGV: after 1, until 1, count 1 (0: all), ..., for n.
/// Returns `{position, now ms, xrange 1, ..., xrange n}`.
pub(crate) static READ: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local out = {redis.call('GET', KEYS[#KEYS]) or '0-0', tostring(now_ms())}
for i = 1, #KEYS - 1 do
  local first, last, count = '(' .. ARGV[3 * i - 2], ARGV[3 * i - 1], tonumber(ARGV[3 * i])
  if count > 0 then
    out[#out + 1] = redis.call('XRANGE', KEYS[i], first, last, 'COUNT', count)
  else
    out[#out + 1] = redis.call('XRANGE', KEYS[i], first, last)
  end
end
return out
"#,
    )
});

/// KEYS: meta. ARGV: from, to. Compare-and-set of the drain position.
pub(crate) static ADVANCE_DRAIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('HGET', KEYS[1], 'drain') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'drain', ARGV[2])
return 1
"#,
    )
});

/// KEYS: state hash. ARGV: key, value (JSON), keys ttl ms, max keys, max bytes (keys and
/// values). Returns 1 when written, 0 when the state would pass a limit (nothing written).
/// Summing the sizes is O(keys), which the key limit bounds.
pub(crate) static SET_STATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local is_new = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
if is_new and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
local total = #ARGV[1] + #ARGV[2]
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if field ~= ARGV[1] then
    total = total + #field + redis.call('HSTRLEN', KEYS[1], field)
  end
end
if total > tonumber(ARGV[5]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"#,
    )
});

/// KEYS: message record. ARGV: lease ms. Returns 'new', 'busy' or 'done:<answer>'.
pub(crate) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('GET', KEYS[1])
if v then
  if v == 'claimed' then return 'busy' end
  return v
end
redis.call('SET', KEYS[1], 'claimed', 'PX', ARGV[1])
return 'new'
"#,
    )
});

/// KEYS: clock. ARGV: channel. Announces the current position on this instance's channel.
pub(crate) static TICK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local position = redis.call('GET', KEYS[1]) or '0-0'
redis.call('PUBLISH', ARGV[1], position)
return position
"#,
    )
});

/// KEYS: bucket. ARGV: µs between tokens, µs of burst. One GCRA step (`store::rate::spend`):
/// returns -1 when a token was spent, else the µs until one comes.
pub(crate) static SPEND_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local arrival = tonumber(redis.call('GET', KEYS[1]) or now)
if arrival < now then arrival = now end
local next = arrival + tonumber(ARGV[1])
local wait = next - now - tonumber(ARGV[2])
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000))
return -1
"#,
    )
});

/// KEYS: meta. ARGV: data. Returns 1, or 0 when the session is gone or closed.
pub(crate) static SET_DATA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('HGET', KEYS[1], 'closed') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
return 1
"#,
    )
});

/// KEYS: streams (by opening), streams seen. ARGV: stream id, max streams, stale ms.
/// Frees stale slots, adds this stream as the newest, and takes the oldest away past the
/// cap. Returns the ids taken away, oldest first. At most `max + 1` entries are walked.
pub(crate) static OPEN_STREAM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = now_ms()
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local seen = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  if now - seen > tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000000 + tonumber(t[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if over <= 0 then return {} end
local gone = redis.call('ZRANGE', KEYS[1], 0, over - 1)
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return gone
"#,
    )
});

/// KEYS: streams, streams seen. ARGV: stream id, stale ms. Returns 1 when refreshed, 0
/// when the stream holds no slot any more.
pub(crate) static REFRESH_STREAM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], now_ms())
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: streams, streams seen. ARGV: stream id. Frees the stream's slot.
pub(crate) static CLOSE_STREAM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"#,
    )
});

#[cfg(test)]
mod tests {
    /// Every `redis.call` in this file, as `(command, its arguments as written)`.
    fn calls() -> Vec<(String, Vec<String>)> {
        let source = include_str!("scripts.rs");
        let test_start = source.find("#[cfg(test)]").unwrap_or(source.len());
        let mut out = Vec::new();
        for chunk in source[..test_start].split("redis.call(").skip(1) {
            // Up to the call's closing parenthesis (arguments hold no nested parentheses
            // but `tonumber(..)` and the like, which are never keys).
            let mut depth = 0;
            let mut end = chunk.len();
            for (i, c) in chunk.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let args: Vec<String> = chunk[..end]
                .split(',')
                .map(|a| a.trim().to_owned())
                .collect();
            let command = args[0].trim_matches('\'').to_owned();
            out.push((command, args[1..].to_vec()));
        }
        out
    }

    /// Redis Cluster routes a script by its `KEYS`: a key built inside the script is one
    /// the cluster never saw. Every key argument here must be `KEYS[..]`, or a parameter
    /// of a shared function that its callers pass `KEYS[..]` to.
    #[test]
    fn every_key_a_script_touches_is_passed_in_keys() {
        let calls = calls();
        assert!(calls.len() > 40, "found only {} calls", calls.len());
        let parameters = ["log", "clock", "rooms"];
        for (command, args) in calls {
            let keys: &[String] = match command.as_str() {
                // No key: the clock of the server, a channel.
                "TIME" | "PUBLISH" => &[],
                // Every argument is a key.
                "DEL" => &args,
                _ => &args[..1],
            };
            for key in keys {
                let ok = key.starts_with("KEYS[") || parameters.contains(&key.as_str());
                assert!(ok, "{command} touches {key}, which is not passed in KEYS");
            }
        }
    }
}
