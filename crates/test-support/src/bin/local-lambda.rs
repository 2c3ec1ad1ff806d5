//! `local-lambda`: a local AWS Lambda behind a Function URL, serving one function binary.
//!
//! ```text
//! LOCAL_LAMBDA_FUNCTION=target/debug/chat-lambda REDIS_URL=redis://127.0.0.1:6379 \
//!     target/debug/local-lambda
//! ```
//!
//! - `LOCAL_LAMBDA_FUNCTION`: the function's executable (required). A relative path that
//!   names no file from the working directory is looked up next to `local-lambda` itself
//!   (so `chat-lambda` finds `target/debug/chat-lambda` from anywhere).
//! - `LOCAL_LAMBDA_TIMEOUT_MS`: the function's timeout (default 20000).
//! - `LOCAL_LAMBDA_FREEZE`: `1` (default) freezes instances between invocations, `0` not.
//! - `LOCAL_LAMBDA_IDLE_REAP_MS`: kill instances idle this long (default 60000).
//! - `LOCAL_LAMBDA_MAX_INSTANCES`: at most this many instances (default 64).
//! - `HOST`, `PORT`: where the Function URL listens (default `127.0.0.1`, `0`: a free port).
//!
//! Every other variable (`REDIS_URL`, `SOCKET_SERVE_*`, `RUST_LOG`, ...) is passed on to the
//! instances, except `AWS_LAMBDA_MAX_CONCURRENCY` (Lambda never sets it for a function
//! without it, and `run_with_streaming_response` refuses to start with it).
//!
//! Once listening it prints `socket-serve chat listening on http://HOST:PORT` on stdout,
//! the line the chat example prints, so harnesses that start the chat example can start
//! this instead. SIGTERM or SIGINT kill every instance and exit 0.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use socket_serve_test_support::{LambdaOptions, LocalLambda};

fn main() -> ExitCode {
    let options = match options_from_env() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("local-lambda: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("local-lambda: could not start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

async fn run((options, addr): (LambdaOptions, SocketAddr)) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("local-lambda: could not listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lambda = match LocalLambda::start_on(options, addr).await {
        Ok(lambda) => lambda,
        Err(e) => {
            eprintln!("local-lambda: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "socket-serve chat listening on {}", lambda.url());
        let _ = stdout.flush();
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    lambda.shutdown().await;
    ExitCode::SUCCESS
}

fn options_from_env() -> Result<(LambdaOptions, SocketAddr), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let function = var("LOCAL_LAMBDA_FUNCTION")
        .ok_or("LOCAL_LAMBDA_FUNCTION (the function's executable) is required")?;
    let ms = |name: &str, default: u64| -> Result<Duration, String> {
        match var(name) {
            None => Ok(Duration::from_millis(default)),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| format!("{name}={v:?} is not a positive number of milliseconds")),
        }
    };
    let freeze = match var("LOCAL_LAMBDA_FREEZE").as_deref().map(str::trim) {
        None | Some("1") | Some("true") | Some("yes") => true,
        Some("0") | Some("false") | Some("no") => false,
        Some(other) => return Err(format!("LOCAL_LAMBDA_FREEZE={other:?}: use 1 or 0")),
    };
    let max_instances = match var("LOCAL_LAMBDA_MAX_INSTANCES") {
        None => 64,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("LOCAL_LAMBDA_MAX_INSTANCES={v:?} is not a positive number"))?,
    };
    let host: IpAddr = var("HOST")
        .unwrap_or_else(|| "127.0.0.1".into())
        .trim()
        .parse()
        .map_err(|e| format!("HOST: {e}"))?;
    let port: u16 = var("PORT")
        .unwrap_or_else(|| "0".into())
        .trim()
        .parse()
        .map_err(|e| format!("PORT: {e}"))?;
    let env = std::env::vars()
        .filter(|(name, _)| {
            !name.starts_with("LOCAL_LAMBDA_")
                && !matches!(
                    name.as_str(),
                    "HOST" | "PORT" | "AWS_LAMBDA_MAX_CONCURRENCY"
                )
        })
        .collect();
    let options = LambdaOptions {
        function: locate(PathBuf::from(function)),
        env,
        timeout: ms("LOCAL_LAMBDA_TIMEOUT_MS", 20_000)?,
        freeze,
        idle_reap: ms("LOCAL_LAMBDA_IDLE_REAP_MS", 60_000)?,
        max_instances,
    };
    Ok((options, SocketAddr::new(host, port)))
}

/// `function` as given if it names a file; a relative one that does not, next to this
/// executable if there; absolute either way when possible.
fn locate(function: PathBuf) -> PathBuf {
    let found = if function.is_file() || function.is_absolute() {
        function.clone()
    } else {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(function.file_name()?)))
            .filter(|sibling| sibling.is_file())
            .unwrap_or_else(|| function.clone())
    };
    std::path::absolute(&found).unwrap_or(found)
}
