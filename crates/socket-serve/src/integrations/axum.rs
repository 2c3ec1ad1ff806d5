//! axum: the server as a `Router` to nest under a base path.

use crate::engine::SocketServe;

impl SocketServe {
    /// Every endpoint as an axum `Router`, to nest under the base path your client
    /// connects to.
    ///
    /// ```
    /// let io = socket_serve::SocketServe::new(Default::default()).unwrap();
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "hello" }))
    ///     .nest("/socket", io.router());
    /// # let _ = app;
    /// ```
    ///
    /// It fits a router of any state: `Router::new().nest("/socket", io.router())
    /// .with_state(app_state)` works.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        // Nesting strips the base path: the router sees `/`, `/connect`, ...
        let service = self.service_with(crate::http::Routing::Strict(String::new()));
        axum::Router::new()
            .route_service("/", service.clone())
            .route_service("/{*rest}", service)
    }
}
