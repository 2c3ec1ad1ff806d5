//! # entry-points: one example app, three ways to run it
//!
//! Every example is a library (its handlers and its `app`: an axum [`Router`]) with thin
//! binaries around it: `main.rs` serves it with axum, and `<name>-lambda` and
//! `<name>-vercel` hand the same router to [`lambda::main`] and [`vercel::main`]. An entry
//! point gives a function from the [`Config`] read from the environment to an [`App`]; the
//! platform parts (runtime, port, store check, shutdown) live here, once.
//!
//! ```no_run
//! use socket_serve::{Config, SocketServe};
//!
//! fn main() -> std::process::ExitCode {
//!     entry_points::vercel::main("chat", |config: Config| {
//!         let io = SocketServe::new(config)?;
//!         chat::register(&io);
//!         Ok(entry_points::App::new(chat::app(&io), &io))
//!     })
//! }
//! ```
//!
//! Both platforms run many instances and send each request to any of them, so both refuse
//! to start on the memory store once deployed ([`needs_shared_store`]). Work an app does
//! outside requests (a ticker) runs only while its instance serves a request: the
//! examples' READMEs say how each lives with that.

#![warn(missing_docs)]

pub mod lambda;
pub mod vercel;

use axum::Router;
use socket_serve::{Config, SocketServe, StoreConfig};

/// The error of everything here: a message for the operator.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// An example's whole app: its router, and the servers (one per namespace) whose streams
/// end with `retry:` at shutdown.
pub struct App {
    router: Router,
    servers: Vec<SocketServe>,
}

impl App {
    /// The router `router`, serving `io`.
    ///
    /// ```
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let app = entry_points::App::new(axum::Router::new().nest("/socket", io.router()), &io);
    /// # let _ = app;
    /// ```
    pub fn new(router: Router, io: &SocketServe) -> App {
        App {
            router,
            servers: vec![io.clone()],
        }
    }

    /// The same app, also serving `io` (another namespace).
    ///
    /// ```
    /// let chat = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let staff = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let router = axum::Router::new()
    ///     .nest("/chat", chat.router())
    ///     .nest("/staff", staff.router());
    /// let app = entry_points::App::new(router, &chat).and(&staff);
    /// # let _ = app;
    /// ```
    pub fn and(mut self, io: &SocketServe) -> App {
        self.servers.push(io.clone());
        self
    }

    /// Its router.
    pub fn into_router(self) -> Router {
        self.router
    }

    /// Ends every server's streams (with `retry:`) once `signal` resolves.
    fn shutdown_on(&self, signal: impl std::future::Future<Output = ()> + Send + 'static) {
        let servers = self.servers.clone();
        tokio::spawn(async move {
            signal.await;
            for io in servers {
                io.shutdown_on(async {}).await;
            }
        });
    }
}

/// `Err` when `config` keeps state in memory on a `platform` (`"Lambda"`, `"Vercel"`) that
/// runs many instances: sessions must live in Redis there.
///
/// ```
/// use socket_serve::{Config, StoreConfig};
///
/// let memory = Config::default();
/// assert!(entry_points::needs_shared_store("Vercel", &memory).is_err());
/// let redis = Config { store: StoreConfig::Redis("redis://127.0.0.1:6379".into()), ..memory };
/// assert!(entry_points::needs_shared_store("Vercel", &redis).is_ok());
/// ```
pub fn needs_shared_store(platform: &str, config: &Config) -> Result<(), Error> {
    if config.store == StoreConfig::Memory {
        return Err(format!(
            "REDIS_URL is not set. On {platform} every request may reach another instance \
             and instances share no memory, so sessions must live in Redis: set REDIS_URL \
             (redis://… or rediss://…)"
        )
        .into());
    }
    Ok(())
}

/// Logs to stderr at `RUST_LOG` (default `info`).
fn init_tracing(with_time: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr);
    if with_time {
        logs.init();
    } else {
        logs.without_time().init(); // CloudWatch stamps every line
    }
}
