//! `socket-serve`: the command line of socket-serve.
//!
//! ```text
//! socket-serve emit [--room ROOM | --to PUBLIC_ID] [--once KEY] EVENT [JSON]
//! ```
//!
//! Sends `EVENT` with the `JSON` payload (default `null`) to every session, to the
//! members of a room, or to one session by its public id, through the Redis that
//! `REDIS_URL` names (and the key prefix `SOCKET_SERVE_KEY_PREFIX`, as the servers use).
//! Every recipient gets it once, also when it resumes later. `--once KEY` makes a retried
//! command send nothing the second time. Exit status: 0 sent, 1 failed, 2 bad usage.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use socket_serve::{Config, Emitter, Error, StoreConfig};

#[derive(Parser)]
#[command(
    name = "socket-serve",
    version,
    about = "socket-serve from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Emit an event to every session, a room, or one session (REDIS_URL names the store).
    Emit {
        /// Send to the members of this room.
        #[arg(long, conflicts_with = "to")]
        room: Option<String>,
        /// Send to the session with this public id.
        #[arg(long, value_name = "PUBLIC_ID")]
        to: Option<String>,
        /// An idempotency key: the same key again (within the recovery window) sends nothing.
        #[arg(long, value_name = "KEY")]
        once: Option<String>,
        /// The event name.
        event: String,
        /// The payload, as JSON (default: null).
        #[arg(default_value = "null")]
        data: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("socket-serve: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<String, String> {
    let Command::Emit {
        room,
        to,
        once,
        event,
        data,
    } = command;
    let data: serde_json::Value =
        serde_json::from_str(&data).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let config = Config::from_env().map_err(|e| e.to_string())?;
    if config.store == StoreConfig::Memory {
        return Err(
            "REDIS_URL is not set: the emitter reaches servers through their Redis \
                    (set it to the URL the servers use)"
                .into(),
        );
    }
    let mut emitter = Emitter::new(config).map_err(describe)?;
    if let Some(key) = &once {
        emitter = emitter.once(key);
    }
    let target = match (&room, &to) {
        (Some(room), _) => {
            emitter
                .to(room)
                .emit(&event, data)
                .await
                .map_err(describe)?;
            format!("room {room:?}")
        }
        (None, Some(id)) => {
            match emitter.to_session(id).emit(&event, data).await {
                Err(Error::UnknownSession) => {
                    return Err(format!("no open session has the public id {id:?}"))
                }
                other => other.map_err(describe)?,
            }
            format!("session {id:?}")
        }
        (None, None) => {
            emitter.emit(&event, data).await.map_err(describe)?;
            "every session".to_owned()
        }
    };
    Ok(format!("sent {event:?} to {target}"))
}

fn describe(err: Error) -> String {
    match err {
        Error::Store(store) => format!("{store} (is REDIS_URL right, and is Redis up?)"),
        other => other.to_string(),
    }
}
