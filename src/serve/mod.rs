//! `hipsforge serve`: a HiPS node. Serves one or many HiPS directories with the headers that
//! Aladin Lite and other clients need (CORS, ETag/304, Cache-Control, Range, gzip/br),
//! `/hipslist`, a landing page, and Aladin Lite itself when given its `aladin.js`.
//!
//! One concern per file: `state` (what handlers share), `files` (one file, with
//! `conditional` and `range`), `hipslist`, `landing`, [`cutouts`], `progenitors` (which input
//! images cover a position, from the HiPS's HpxFinder index), [`mount`] (path rules),
//! `cors`, `error` (startup errors) and `guard` (what every request passes first: slashes
//! merged, URI and header limits, panics caught, access log). This file assembles them into
//! the [`router`].

mod conditional;
mod cors;
pub mod cutouts;
mod error;
mod files;
mod guard;
mod hipslist;
mod landing;
pub mod mount;
mod progenitors;
mod range;
mod state;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::reader::RemoteOptions;

pub use error::ServeError;
pub use guard::{harden, merge_slashes, MAX_HEADER_BYTES, MAX_URI_BYTES};
pub use mount::{default_name, Mount};
pub use state::{AppState, DEFAULT_FILE_CACHE};

/// Largest request body (the object list of `POST /cutouts`); larger ones are 413.
pub const MAX_REQUEST_BODY: usize = 16 << 20;

/// What `hipsforge serve` was asked to serve, and how.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// (mount name, HiPS directory or base URL of a HiPS to mirror).
    pub mounts: Vec<(String, PathBuf)>,
    /// Connections, retries and disk mirror of the HiPS mounted from URLs.
    pub remote: RemoteOptions,
    /// Public URL of this server (behind a reverse proxy); default: from the Host header.
    pub base_url: Option<String>,
    /// Allowed origins, comma separated, or `*` (default).
    pub cors_origin: Option<String>,
    /// A directory holding Aladin Lite's `aladin.js`, served under `/aladin-lite/`.
    pub aladin_lite: Option<PathBuf>,
    /// Memory for file contents served from RAM (0: the default, [`DEFAULT_FILE_CACHE`]).
    pub file_cache_bytes: usize,
}

/// The whole application: routes, CORS, compression, request limits, access log, and the
/// guards of [`harden`] (slashes merged, URI and header limits, panics caught).
pub fn router(o: &ServeOptions) -> Result<Router, ServeError> {
    let state = Arc::new(AppState::new(o)?);
    let routes = Router::new()
        .route("/", get(landing::landing))
        .route("/hipslist", get(hipslist::hipslist))
        .route("/aladin-lite/{*rest}", get(files::aladin_lite_file))
        .route("/hips-image-services/hips2fits", get(cutouts::hips2fits))
        .route("/cutouts", post(cutouts::bulk))
        .route("/{name}", get(files::redirect_to_mount_root))
        .route("/{name}/", get(files::hips_root))
        .route("/{name}/progenitors", get(progenitors::progenitors))
        .route("/{name}/{*rest}", get(files::hips_file))
        .fallback(|| async { files::not_found() })
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(cors::cors_layer(o.cors_origin.as_deref())?)
        // One limit for every route, in place of axum's 2 MB default for extracted bodies.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY));
    Ok(harden(routes))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes open requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY, small responses (properties, small tiles) wait ~40 ms for Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
