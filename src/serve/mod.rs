//! `hipsforge serve`: a HiPS node. Serves one or many HiPS directories with the headers that
//! Aladin Lite and other clients need (CORS, ETag/304, Cache-Control, Range, gzip/br),
//! `/hipslist`, a landing page, and Aladin Lite itself when given its `aladin.js`.

pub mod cutouts;
pub mod mount;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeFile;

use crate::cache::BoundedCache;
use crate::hips::html::escape;

pub use mount::Mount;
use mount::{cache_control, content_type, Refusal};

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// (mount name, HiPS directory).
    pub mounts: Vec<(String, PathBuf)>,
    /// Public URL of this server (behind a reverse proxy); default: from the Host header.
    pub base_url: Option<String>,
    /// Allowed origins, comma separated, or `*` (default).
    pub cors_origin: Option<String>,
    /// A directory holding Aladin Lite's `aladin.js`, served under `/aladin-lite/`.
    pub aladin_lite: Option<PathBuf>,
    /// Memory for file contents served from RAM (0: the default, [`DEFAULT_FILE_CACHE`]).
    pub file_cache_bytes: usize,
}

pub struct AppState {
    pub mounts: Vec<Mount>,
    base_url: Option<String>,
    aladin_lite: Option<Mount>,
    /// Contents of recently served files (tiles are small and immutable once written).
    files: BoundedCache<PathBuf, CachedFile>,
    /// The mounts opened for cutouts (same order as `mounts`; key = index).
    pub surveys: Vec<crate::cutout::Survey>,
    /// Decoded tiles shared by all cutout requests.
    pub tiles: Arc<crate::cutout::TileStore>,
}

/// A file held in memory, with the metadata it was read under.
struct CachedFile {
    bytes: bytes::Bytes,
    len: u64,
    modified: std::time::SystemTime,
}

/// Files larger than this are streamed from disk instead of cached.
const MAX_CACHED_FILE: u64 = 8 << 20;
/// Default memory for cached files.
pub const DEFAULT_FILE_CACHE: usize = 512 << 20;

/// The default mount name of a HiPS directory: its own name.
pub fn default_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "hips".into())
}

impl AppState {
    pub fn new(o: &ServeOptions) -> Result<AppState, String> {
        let mut mounts: Vec<Mount> = Vec::new();
        for (name, dir) in &o.mounts {
            if mounts.iter().any(|m| &m.name == name) {
                return Err(format!(
                    "two HiPS would be mounted at /{name}/: name one with NAME=DIR"
                ));
            }
            mounts.push(Mount::open(name, dir)?);
        }
        let aladin_lite = match &o.aladin_lite {
            Some(dir) => {
                let root = dir
                    .canonicalize()
                    .map_err(|e| format!("--aladin-lite {}: {e}", dir.display()))?;
                if !root.join("aladin.js").is_file() {
                    return Err(format!(
                        "--aladin-lite {}: no aladin.js there",
                        dir.display()
                    ));
                }
                Some(Mount {
                    name: "aladin-lite".into(),
                    root,
                    properties: Default::default(),
                    coverage: None,
                })
            }
            None => None,
        };
        let budget = if o.file_cache_bytes == 0 {
            DEFAULT_FILE_CACHE
        } else {
            o.file_cache_bytes
        };
        let surveys = mounts
            .iter()
            .enumerate()
            .map(|(i, m)| crate::cutout::Survey::open(&m.root, i as u32).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AppState {
            mounts,
            base_url: o
                .base_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            aladin_lite,
            files: BoundedCache::new(budget),
            surveys,
            tiles: Arc::new(crate::cutout::TileStore::new(budget)),
        })
    }

    fn base_url(&self, headers: &HeaderMap) -> String {
        self.base_url.clone().unwrap_or_else(|| {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        })
    }
}

fn cors(origin: Option<&str>) -> Result<CorsLayer, String> {
    let allow = match origin.unwrap_or("*") {
        "*" => AllowOrigin::any(),
        list => AllowOrigin::list(
            list.split(',')
                .map(|o| {
                    HeaderValue::from_str(o.trim())
                        .map_err(|_| format!("--cors-origin: bad origin {o:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers(tower_http::cors::Any)
        .expose_headers([
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::CONTENT_ENCODING,
            header::ETAG,
            header::LAST_MODIFIED,
            header::ACCEPT_RANGES,
        ])
        .max_age(std::time::Duration::from_secs(86400)))
}

/// The whole application: routes, CORS, compression, request limits, access log.
pub fn router(o: &ServeOptions) -> Result<Router, String> {
    let state = Arc::new(AppState::new(o)?);
    Ok(Router::new()
        .route("/", get(landing))
        .route("/hipslist", get(hipslist))
        .route("/aladin-lite/{*rest}", get(aladin_lite_file))
        .route("/hips-image-services/hips2fits", get(cutouts::hips2fits))
        .route("/cutouts", axum::routing::post(cutouts::bulk))
        .route(
            "/{name}",
            get(
                |axum::extract::Path(name): axum::extract::Path<String>| async move {
                    Redirect::permanent(&format!("/{name}/"))
                },
            ),
        )
        .route("/{name}/", get(hips_root))
        .route("/{name}/{*rest}", get(hips_file))
        .fallback(|| async { not_found() })
        .with_state(state)
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(cors(o.cors_origin.as_deref())?)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(16 << 20))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        ))
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

fn mount<'a>(state: &'a AppState, name: &str) -> Option<&'a Mount> {
    state.mounts.iter().find(|m| m.name == name)
}

async fn hips_root(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(name): axum::extract::Path<String>,
    req: Request,
) -> Response {
    match mount(&state, &name) {
        Some(m) => serve_from(&state, m, "", req).await,
        None => not_found(),
    }
}

async fn hips_file(
    State(state): State<Arc<AppState>>,
    axum::extract::Path((name, rest)): axum::extract::Path<(String, String)>,
    req: Request,
) -> Response {
    match mount(&state, &name) {
        Some(m) => serve_from(&state, m, &rest, req).await,
        None => not_found(),
    }
}

async fn aladin_lite_file(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(rest): axum::extract::Path<String>,
    req: Request,
) -> Response {
    match &state.aladin_lite {
        Some(m) => serve_from(&state, m, &rest, req).await,
        None => not_found(),
    }
}

async fn serve_from(state: &AppState, m: &Mount, rest: &str, req: Request) -> Response {
    match m.resolve(rest) {
        Ok((path, meta)) => serve_file(state, &path, meta, req).await,
        Err(Refusal::Unsafe) | Err(Refusal::OutsideCoverage) => not_found(),
    }
}

/// A weak validator from size and modification time.
fn etag_of(meta: &std::fs::Metadata) -> String {
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{:x}-{:x}\"", meta.len(), nanos)
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

fn accepts_precompressed(headers: &HeaderMap, path: &Path) -> bool {
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    [("gzip", "gz"), ("br", "br")].iter().any(|(enc, ext)| {
        accepted.contains(enc) && {
            let mut sibling = path.as_os_str().to_owned();
            sibling.push(format!(".{ext}"));
            Path::new(&sibling).is_file()
        }
    })
}

/// One file: 304 on a matching If-None-Match; small files from memory (with Range and HEAD);
/// precompressed siblings and large files through tower-http's ServeFile. Path checks and
/// stats of hot inodes take microseconds and run in place: a hand-off to the blocking pool per
/// request would cost more than the calls.
async fn serve_file(
    state: &AppState,
    path: &Path,
    meta: std::fs::Metadata,
    req: Request,
) -> Response {
    let etag = etag_of(&meta);
    let cache = cache_control(path);
    if matches_etag(req.headers(), &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag.as_str()),
                (header::CACHE_CONTROL, cache),
            ],
        )
            .into_response();
    }
    let mut res = if meta.len() <= MAX_CACHED_FILE && !accepts_precompressed(req.headers(), path) {
        match cached_file(state, path, &meta).await {
            Ok(file) => from_memory(&file, path, &meta, &req),
            Err(_) => not_found(),
        }
    } else {
        let served =
            ServeFile::new_with_mime(path, &content_type(path).parse().expect("static mime"))
                .precompressed_gzip()
                .precompressed_br()
                .with_buf_chunk_size(1 << 20)
                .oneshot(req)
                .await;
        match served {
            Ok(r) => r.map(Body::new),
            Err(e) => match e {},
        }
    };
    if res.status().is_success() {
        let h = res.headers_mut();
        h.insert(
            header::ETAG,
            HeaderValue::from_str(&etag).expect("ascii etag"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    res
}

/// The file's bytes from the cache, re-read when its size or time changed on disk.
async fn cached_file(
    state: &AppState,
    path: &Path,
    meta: &std::fs::Metadata,
) -> Result<Arc<CachedFile>, String> {
    let modified = meta.modified().map_err(|e| e.to_string())?;
    let key = path.to_path_buf();
    let load = || -> Result<CachedFile, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        Ok(CachedFile {
            len: bytes.len() as u64,
            bytes: bytes.into(),
            modified,
        })
    };
    let file = match state.files.get(&key) {
        Some(hit) => hit?,
        None => tokio::task::block_in_place(|| {
            state.files.get_or_load(&key, meta.len() as usize, load)
        })?,
    };
    if file.len == meta.len() && file.modified == modified {
        return Ok(file);
    }
    // Rewritten since it was cached: serve the new contents (the stale entry ages out).
    tokio::task::block_in_place(load).map(Arc::new)
}

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `len`; `Err` when unsatisfiable.
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // several ranges: answer with the whole file
    }
    let (a, b) = spec.split_once('-')?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
        ),
    };
    Some(if range.0 <= range.1 && range.1 < len {
        Ok(range)
    } else {
        Err(())
    })
}

fn from_memory(
    file: &CachedFile,
    path: &Path,
    meta: &std::fs::Metadata,
    req: &Request,
) -> Response {
    let modified = meta
        .modified()
        .map(httpdate::fmt_http_date)
        .unwrap_or_default();
    let not_modified_since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| httpdate::parse_http_date(v.to_str().ok()?).ok())
        .zip(meta.modified().ok())
        .is_some_and(|(since, m)| m.duration_since(since).map_or(true, |d| d.as_secs() == 0));
    if not_modified_since && !req.headers().contains_key(header::IF_NONE_MATCH) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let len = file.bytes.len() as u64;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, len));
    let (status, body, content_range) = match range {
        None => (StatusCode::OK, file.bytes.clone(), None),
        Some(Ok((a, b))) => (
            StatusCode::PARTIAL_CONTENT,
            file.bytes.slice(a as usize..=b as usize),
            Some(format!("bytes {a}-{b}/{len}")),
        ),
        Some(Err(())) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type(path))
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::LAST_MODIFIED, modified);
    if let Some(cr) = content_range {
        builder = builder.header(header::CONTENT_RANGE, cr);
    }
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    builder.body(body).expect("valid response")
}

/// `GET /hipslist` (HiPS node list: properties records with hips_service_url) and
/// `?fmt=json` (the same records as a JSON array of objects).
async fn hipslist(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let base = state.base_url(&headers);
    let records: Vec<_> = state
        .mounts
        .iter()
        .map(|m| {
            let mut p = m.properties.clone();
            p.set("hips_service_url", format!("{base}/{}", m.name));
            p
        })
        .collect();
    let text_headers = [(header::CACHE_CONTROL, "public, max-age=60")];
    if q.get("fmt").map(String::as_str) == Some("json") {
        let json: Vec<serde_json::Value> = records
            .iter()
            .map(|p| {
                serde_json::Value::Object(
                    p.iter().map(|(k, v)| (k.to_string(), v.into())).collect(),
                )
            })
            .collect();
        return (text_headers, axum::Json(json)).into_response();
    }
    let body: String = records
        .iter()
        .map(|p| p.to_text())
        .collect::<Vec<_>>()
        .join("\n");
    (
        text_headers,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let rows: String = state
        .mounts
        .iter()
        .map(|m| {
            let p = &m.properties;
            let name = escape(&m.name);
            format!(
                "<tr><td><a href=\"/{name}/index.html\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/{name}/properties\">properties</a></td></tr>\n",
                escape(p.get("obs_title").unwrap_or(&m.name)),
                escape(p.get("creator_did").unwrap_or("")),
                escape(p.get("hips_order").unwrap_or("?")),
                escape(p.get("hips_tile_format").unwrap_or("")),
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hipsforge HiPS node</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 12px;text-align:left}}</style></head>\
         <body><h1>HiPS served here</h1><table><tr><th>title</th><th>creator_did</th><th>order</th><th>formats</th><th></th></tr>\n{rows}</table>\
         <p><a href=\"/hipslist\">hipslist</a></p></body></html>\n"
    ))
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

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(Ok((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some(Ok((990, 999))));
        assert_eq!(parse_range("bytes=1000-1001", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
