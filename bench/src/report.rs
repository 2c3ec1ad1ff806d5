//! What a run prints and writes: one JSON line per measurement, markdown tables, and the
//! targets of issue 13 as ratios within the run.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::cold_start::ColdStart;
use crate::fanout::FanoutRun;
use crate::idle::IdleRun;
use crate::redis_cost::Cost;

/// The floor binary's line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloorRun {
    pub conns: usize,
    pub messages: usize,
    pub rate: u64,
    pub coalesce: usize,
    pub cpu_us_per_frame: f64,
}

impl FloorRun {
    /// `one write per frame, 500/s` and the like.
    pub fn mode(&self) -> String {
        let writes = if self.coalesce == 1 {
            "one write per frame".to_owned()
        } else {
            format!("{} frames per write", self.coalesce)
        };
        let pace = if self.rate == 0 {
            "flat out".to_owned()
        } else {
            format!("{}/s", self.rate)
        };
        format!("{writes}, {pace}")
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub fanout: Vec<FanoutRun>,
    pub idle: Vec<IdleRun>,
    pub redis: Vec<Cost>,
    pub floor: Vec<FloorRun>,
    pub cold_start: Vec<ColdStart>,
    /// Idle-stream counts left out, and why.
    pub idle_note: String,
    /// The machine and its load, when the run ended.
    #[serde(default)]
    pub machine: String,
    /// The command that ran it.
    #[serde(default)]
    pub command: String,
}

/// Prints `value` as one JSON line with `"scenario"` first.
pub fn json_line<T: Serialize>(scenario: &str, value: &T) -> String {
    let mut object = serde_json::Map::new();
    object.insert("scenario".into(), scenario.into());
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(value) {
        object.extend(fields);
    }
    let line = serde_json::Value::Object(object).to_string();
    println!("{line}");
    line
}

fn bold_if(name: &str, text: String) -> String {
    if name == "socket-serve" {
        format!("**{text}**")
    } else {
        text
    }
}

/// The fan-out table.
pub fn fanout_table(runs: &[FanoutRun]) -> String {
    let mut t = String::from(
        "| system | load | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | lost | dup | server CPU µs/delivery | server RSS MiB | Redis cmds/msg | Redis reads/msg | generator CPU % |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        let _ = writeln!(
            t,
            "| {} | {}x{} over {}, {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {:.2} | {:.1} | {:.2} | {:.2} | {:.0} |",
            bold_if(&r.peer, r.peer.clone()),
            r.n, r.m, r.k, r.mode, r.deliveries_per_s, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms,
            r.lost, r.duplicated, r.cpu_us_per_delivery, r.server_rss_mib,
            r.redis_commands_per_message, r.redis_reads_per_message, r.generator_cpu_pct,
        );
    }
    t
}

/// The idle-stream table.
pub fn idle_table(runs: &[IdleRun]) -> String {
    let mut t = String::from(
        "| system | open streams | server RSS MiB | server KiB per stream | Redis bytes per session |\n|---|---|---|---|---|\n",
    );
    for r in runs {
        let _ = writeln!(
            t,
            "| {} | {} | {:.1} | {:.1} | {:.0} |",
            bold_if(&r.peer, r.peer.clone()),
            r.streams,
            r.server_rss_mib,
            r.server_kib_per_stream,
            r.redis_bytes_per_session
        );
    }
    t
}

/// The Redis-cost table.
pub fn redis_table(costs: &[Cost]) -> String {
    let mut t = String::from(
        "| system | operation | Redis commands | Redis reads (~round trips) | commands by name |\n|---|---|---|---|---|\n",
    );
    for c in costs {
        let _ = writeln!(
            t,
            "| {} | {} | {:.2} | {:.2} | {} |",
            bold_if(&c.peer, c.peer.clone()),
            c.operation,
            c.commands_per_op,
            c.reads_per_op,
            // `script|load`: a pipe would end the table cell.
            c.commands.replace('|', "\\|")
        );
    }
    t
}

/// The floor table.
pub fn floor_table(runs: &[FloorRun]) -> String {
    let mut t = String::from(
        "| floor: bare loopback writes of 150-byte frames | connections x messages | writer CPU µs/frame |\n|---|---|---|\n",
    );
    for r in runs {
        let _ = writeln!(
            t,
            "| {} | {}x{} | {:.2} |",
            r.mode(),
            r.conns,
            r.messages,
            r.cpu_us_per_frame
        );
    }
    t
}

/// The cold-start table.
pub fn cold_start_table(rows: &[ColdStart]) -> String {
    let mut t = String::from(
        "| cold start (spawn to first /connect answered) | median ms | min ms | max ms |\n|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {:.1} | {:.1} | {:.1} |",
            r.case, r.median_ms, r.min_ms, r.max_ms
        );
    }
    t
}

fn fanout<'a>(r: &'a Results, peer: &str, paced: bool) -> Option<&'a FanoutRun> {
    r.fanout
        .iter()
        .find(|f| f.peer == peer && f.mode.starts_with("flat") != paced)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "not met"
    }
}

/// Issue 13's targets, where each stands in this run, as ratios to the peers and the floor.
pub fn targets(r: &Results) -> String {
    let mut t = String::from(
        "| target | socket-serve | against the peers and the floor | status |\n|---|---|---|---|\n",
    );
    let ss = "socket-serve";
    let peers_ratio = |paced: bool, value: fn(&FanoutRun) -> f64| {
        let Some(ours) = fanout(r, ss, paced) else {
            return String::new();
        };
        r.fanout
            .iter()
            .filter(|f| f.peer != ss && f.mode.starts_with("flat") != paced)
            .map(|f| format!("{} of {}", ratio(value(ours), value(f)), f.peer))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let floor = |paced: bool| {
        r.floor
            .iter()
            .find(|f| f.coalesce == 1 && (f.rate > 0) == paced)
            .map(|f| f.cpu_us_per_frame)
    };
    if let Some(flat) = fanout(r, ss, false) {
        let _ = writeln!(
            t,
            "| flat out: ≤ 1.0 µs server CPU per delivery | {:.2} µs | {}; {} of the one-write floor (flat out) | {} |",
            flat.cpu_us_per_delivery,
            peers_ratio(false, |f| f.cpu_us_per_delivery),
            floor(false).map_or("n/a".into(), |x| ratio(flat.cpu_us_per_delivery, x)),
            verdict(flat.cpu_us_per_delivery <= 1.0)
        );
    }
    if let Some(paced) = fanout(r, ss, true) {
        let x = floor(true).unwrap_or(0.0);
        let _ = writeln!(
            t,
            "| {}: ≤ 1.15x the one-write floor | {:.2} µs per delivery, floor {:.2} µs | {} of the floor; {} | {} |",
            paced.mode, paced.cpu_us_per_delivery, x, ratio(paced.cpu_us_per_delivery, x),
            peers_ratio(true, |f| f.cpu_us_per_delivery),
            verdict(x > 0.0 && paced.cpu_us_per_delivery <= 1.15 * x)
        );
        let _ = writeln!(
            t,
            "| {}: p99 ≤ 5 ms | {:.2} ms | {} | {} |",
            paced.mode,
            paced.p99_ms,
            peers_ratio(true, |f| f.p99_ms),
            verdict(paced.p99_ms <= 5.0)
        );
    }
    if let Some(idle) = r
        .idle
        .iter()
        .filter(|i| i.peer == ss)
        .max_by_key(|i| i.streams)
    {
        let others: Vec<String> = r
            .idle
            .iter()
            .filter(|i| i.peer != ss)
            .map(|i| {
                format!(
                    "{:.1} KiB for {} ({} streams)",
                    i.server_kib_per_stream, i.peer, i.streams
                )
            })
            .collect();
        let _ = writeln!(
            t,
            "| ≤ 8 KB server memory per idle stream with its session | {:.1} KiB at {} streams | {} | {} |",
            idle.server_kib_per_stream, idle.streams, others.join("; "),
            verdict(idle.server_kib_per_stream * 1024.0 <= 8000.0)
        );
        let _ = writeln!(
            t,
            "| 20,000 streams on one instance | {} streams held | {} | {} |",
            idle.streams,
            r.idle_note,
            if idle.streams >= 20_000 {
                "met"
            } else {
                "not measured at 20,000 (fd limit)"
            }
        );
    }
    let cost = |op: &str| {
        r.redis
            .iter()
            .find(|c| c.peer == ss && c.operation.starts_with(op))
    };
    if let Some(emit) = cost("emit") {
        let _ = writeln!(
            t,
            "| one Redis round trip per emit | {:.2} commands, {:.2} Redis reads | {} | {} |",
            emit.commands_per_op,
            emit.reads_per_op,
            emit.commands.replace('|', "\\|"),
            verdict(emit.reads_per_op <= 1.05)
        );
    }
    if let (Some(ten), Some(thousand)) = (cost("broadcast to 10"), cost("broadcast to 1000")) {
        let _ = writeln!(
            t,
            "| broadcast cost independent of recipients | {:.2} commands to 10, {:.2} to 1,000 | reads {:.2} and {:.2} | {} |",
            ten.commands_per_op, thousand.commands_per_op, ten.reads_per_op, thousand.reads_per_op,
            // Within 5%: periodic housekeeping commands land in either window.
            verdict((thousand.commands_per_op - ten.commands_per_op).abs() <= 0.05 * ten.commands_per_op)
        );
    }
    if let Some(lambda) = r
        .cold_start
        .iter()
        .find(|c| c.case.starts_with("chat-lambda"))
    {
        let axum = r.cold_start.first().map_or(0.0, |c| c.median_ms);
        let _ = writeln!(
            t,
            "| cold start ≤ 20 ms through the local Lambda | {:.1} ms median | axum binary {:.1} ms | {} |",
            lambda.median_ms, axum, verdict(lambda.median_ms <= 20.0)
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_names_its_scenario() {
        let line = json_line("floor", &serde_json::json!({"cpu": 1.5}));
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(parsed, serde_json::json!({"scenario": "floor", "cpu": 1.5}));
    }
}
