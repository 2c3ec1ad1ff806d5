//! The benchmark: socket-serve's chat example beside its peers, one run, one machine.
//! `bash scripts/bench.sh --quick` builds everything and runs this. Not a test: it prints one
//! JSON line per measurement and markdown tables, writes `results.json`, `results.jsonl`,
//! `report.md` and SVG plots to its output folder, and with `--docs` regenerates
//! `docs/BENCHMARKS.md` (and `docs/bench/*.svg`) from the run (or, with `--report FILE`,
//! from a saved `results.json`).
//!
//!   bench [--quick] [--n 100] [--m 2000] [--rate 500] [--window 32] [--instances 2]
//!         [--peers socketserve,sse-ref,sio-ws,sio-polling,ss06] [--idle 1000,10000,19500]
//!         [--only fanout,idle,redis,floor,cold] [--out DIR] [--docs] [--report results.json]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use socket_serve_bench::fanout::{self, Load};
use socket_serve_bench::idle;
use socket_serve_bench::peers::{release_binary, Peer};
use socket_serve_bench::redis_cost::{self, RedisProbe};
use socket_serve_bench::report::{self, FloorRun, Results};
use socket_serve_bench::{cold_start, plot};

/// The notes the regenerated `docs/BENCHMARKS.md` ends with (method and what bounds each
/// figure), kept by hand.
const NOTES: &str = include_str!("../../NOTES.md");

struct Args {
    load: Load,
    peers: Vec<Peer>,
    idle_counts: Vec<usize>,
    only: Vec<String>,
    out: PathBuf,
    docs: bool,
    report: Option<PathBuf>,
    command: String,
}

fn value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn parse_args() -> Args {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let number = |name: &str, default: usize| {
        value(&args, name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} wants a number, not {v}"))
        })
    };
    let list = |name: &str, default: &str| -> Vec<String> {
        value(&args, name)
            .unwrap_or(default)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let fits = idle::most_streams();
    // 20,000 is cut to what `ulimit -n` lets one process hold.
    let idle_default = "1000,10000,20000";
    let idle_counts = list("--idle", idle_default)
        .iter()
        .map(|c| c.parse::<usize>().expect("--idle wants counts"))
        .map(|c| c.min(fits))
        .collect();
    let peers = list("--peers", "socketserve,sse-ref,sio-ws,sio-polling,ss06")
        .iter()
        .map(|k| Peer::from_key(k).unwrap_or_else(|| panic!("no peer {k}")))
        .collect();
    let out = value(&args, "--out").map_or_else(
        || {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            release_dir().join("bench-results").join(stamp.to_string())
        },
        PathBuf::from,
    );
    Args {
        load: Load {
            n: number("--n", 100),
            m: number("--m", if quick { 1000 } else { 5000 }),
            rate: number("--rate", 500) as u32,
            window: number("--window", 32),
            k: number("--instances", 2),
        },
        peers,
        idle_counts,
        only: list("--only", "fanout,idle,redis,floor,cold"),
        out,
        docs: args.iter().any(|a| a == "--docs"),
        report: value(&args, "--report").map(PathBuf::from),
        command: std::env::var("BENCH_COMMAND")
            .unwrap_or_else(|_| format!("bench {}", args.join(" "))),
    }
}

fn release_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
        .unwrap_or_default()
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits in the workspace")
        .to_owned()
}

#[tokio::main]
async fn main() {
    idle::raise_fd_limit();
    let args = parse_args();
    let mut results: Results = match &args.report {
        Some(saved) => {
            let text = fs::read_to_string(saved).expect("a saved results.json");
            serde_json::from_str(&text).expect("results.json as bench writes it")
        }
        None => measure(&args).await,
    };
    if results.machine.is_empty() {
        results.machine = machine();
        results.command = args.command.clone();
    }
    fs::create_dir_all(&args.out).expect("the output folder");
    if args.report.is_none() {
        let json = serde_json::to_string_pretty(&results).expect("JSON");
        fs::write(args.out.join("results.json"), json).expect("write results.json");
    }
    plot::write(&args.out, &results.fanout, &results.floor).expect("the plots");
    let body = markdown(&results, "");
    fs::write(args.out.join("report.md"), &body).expect("write report.md");
    println!("\n{body}");
    eprintln!("[bench] wrote {}", args.out.display());
    if args.docs {
        let docs = workspace().join("docs");
        let svgs = docs.join("bench");
        fs::create_dir_all(&svgs).expect("docs/bench");
        plot::write(&svgs, &results.fanout, &results.floor).expect("the plots");
        let page = markdown(&results, "bench/");
        fs::write(docs.join("BENCHMARKS.md"), page).expect("write docs/BENCHMARKS.md");
        eprintln!("[bench] regenerated docs/BENCHMARKS.md");
    }
}

async fn measure(args: &Args) -> Results {
    let mut results = Results::default();
    let mut lines = Vec::new();
    let wants = |s: &str| args.only.iter().any(|o| o == s);
    if wants("floor") {
        for (rate, coalesce) in [(args.load.rate, 1), (0, 1), (0, 16)] {
            let floor = run_floor(args.load.n, args.load.m, rate, coalesce);
            lines.push(report::json_line("floor", &floor));
            results.floor.push(floor);
        }
    }
    if wants("fanout") {
        let redis = RedisProbe::start();
        for rate in [args.load.rate, 0] {
            for &peer in &args.peers {
                let load = Load { rate, ..args.load };
                eprintln!("[bench] fan-out {} {}", peer.name(), load.mode());
                let run = fanout::run(peer, load, &redis).await;
                lines.push(report::json_line("fanout", &run));
                results.fanout.push(run);
            }
        }
    }
    if wants("idle") {
        let fits = idle::most_streams();
        results.idle_note = format!(
            "`ulimit -n` is {} here and the load generator holds one end of every stream, so one run holds at most {fits} streams",
            fits + 400
        );
        for &peer in &args.peers {
            // The peers at the smallest count (their per-stream cost is flat); socket-serve at
            // every count.
            let counts: Vec<usize> = if peer == Peer::SocketServe {
                args.idle_counts.clone()
            } else if peer == Peer::SocketIoPolling {
                continue;
            } else {
                args.idle_counts.iter().take(1).copied().collect()
            };
            eprintln!("[bench] idle streams {} {counts:?}", peer.name());
            for run in idle::run(peer, &counts).await {
                lines.push(report::json_line("idle", &run));
                results.idle.push(run);
            }
        }
    }
    if wants("redis") {
        for peer in [Peer::SocketServe, Peer::SseRef, Peer::SocketServe06] {
            if !args.peers.contains(&peer) {
                continue;
            }
            eprintln!("[bench] Redis cost {}", peer.name());
            for cost in redis_cost::run(peer).await {
                lines.push(report::json_line("redis_cost", &cost));
                results.redis.push(cost);
            }
        }
    }
    if wants("cold") {
        eprintln!("[bench] cold start");
        for row in cold_start::run().await {
            lines.push(report::json_line("cold_start", &row));
            results.cold_start.push(row);
        }
    }
    fs::create_dir_all(&args.out).expect("the output folder");
    fs::write(args.out.join("results.jsonl"), lines.join("\n") + "\n").expect("results.jsonl");
    results
}

fn run_floor(conns: usize, messages: usize, rate: u32, coalesce: usize) -> FloorRun {
    let output = Command::new(release_binary("floor"))
        .args([
            "--conns",
            &conns.to_string(),
            "--messages",
            &messages.to_string(),
        ])
        .args([
            "--rate",
            &rate.to_string(),
            "--coalesce",
            &coalesce.to_string(),
        ])
        .output()
        .expect("run floor");
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("floor said {line:?}: {e}"))
}

fn machine() -> String {
    let sh = |c: &str| {
        Command::new("sh")
            .args(["-c", c])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}, {} cores, {} memory, Linux {}; load average at the end {}; socket-serve at {}, {}",
        sh("lscpu | sed -n 's/^Model name: *//p' | head -1"),
        sh("nproc"),
        sh("free -h | awk '/^Mem:/ {print $2}'"),
        sh("uname -r"),
        sh("cut -d' ' -f1-3 /proc/loadavg"),
        sh("git rev-parse --short HEAD"),
        sh("date -u '+%Y-%m-%d %H:%M UTC'"),
    )
}

fn markdown(r: &Results, svg_prefix: &str) -> String {
    let (machine, command) = (&r.machine, &r.command);
    let mut page = String::from("# Benchmarks\n\n");
    page.push_str(
        "Generated by the harness in `bench/` from one run; the notes at the end are kept by hand \
         (`bench/NOTES.md`). Every system ran on loopback on this one machine, with the load \
         generator and Redis: compare figures within the run, as ratios.\n\n",
    );
    page.push_str(&format!(
        "- **Machine**: {machine}\n- **Command**: `{command}`\n\n"
    ));
    page.push_str("## Targets of issue 13, where they stand\n\n");
    page.push_str(&report::targets(r));
    page.push_str("\n## Fan-out\n\n");
    page.push_str(&report::fanout_table(&r.fanout));
    page.push_str(&format!(
        "\n![latency, paced]({svg_prefix}latency-paced.svg)\n![latency, flat out]({svg_prefix}latency-flat-out.svg)\n![server CPU per delivery]({svg_prefix}cpu.svg)\n"
    ));
    page.push_str("\n## Floor\n\n");
    page.push_str(&report::floor_table(&r.floor));
    page.push_str("\n## Idle streams\n\n");
    page.push_str(&report::idle_table(&r.idle));
    if !r.idle_note.is_empty() {
        page.push_str(&format!("\n{}.\n", r.idle_note));
    }
    page.push_str("\n## Redis cost\n\n");
    page.push_str(&report::redis_table(&r.redis));
    page.push_str("\n## Cold start\n\n");
    page.push_str(&report::cold_start_table(&r.cold_start));
    page.push('\n');
    page.push_str(NOTES);
    page
}
