//! The files of a mount: the handlers for `/{name}/…` and `/aladin-lite/…`, and serving one
//! file with its validators, conditional requests, Range, HEAD and precompressed siblings.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::conditional::{etag, matches_if_modified_since, matches_if_none_match};
use super::mount::{cache_control, content_type, safe_segments, Refusal};
use super::range::parse_range;
use super::{AppState, Mount};
use crate::reader::Remote;

/// A file held in memory, with the metadata it was read under.
pub(super) struct CachedFile {
    bytes: bytes::Bytes,
    len: u64,
    modified: SystemTime,
}

/// Files larger than this are streamed from disk instead of cached.
const MAX_CACHED_FILE: u64 = 8 << 20;

/// `GET /{name}`: the mount's root is `/{name}/`, so relative links in its index.html resolve.
/// Only a mounted name redirects: `/%2F%2Fhost` must not become a redirect to `//host/`.
pub(super) async fn redirect_to_mount_root(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    match state.mount(&name) {
        Some(m) => Redirect::permanent(&format!("/{}/", m.name)).into_response(),
        None => not_found(),
    }
}

/// `GET /{name}/`: the mount's index.html.
pub(super) async fn hips_root(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    req: Request,
) -> Response {
    serve_from(&state, state.mount(&name), "", req).await
}

/// `GET /{name}/{*rest}`: a file of the mount.
pub(super) async fn hips_file(
    State(state): State<Arc<AppState>>,
    UrlPath((name, rest)): UrlPath<(String, String)>,
    req: Request,
) -> Response {
    serve_from(&state, state.mount(&name), &rest, req).await
}

/// `GET /aladin-lite/{*rest}`: a file of Aladin Lite, when its directory was given.
pub(super) async fn aladin_lite_file(
    State(state): State<Arc<AppState>>,
    UrlPath(rest): UrlPath<String>,
    req: Request,
) -> Response {
    serve_from(&state, state.aladin_lite.as_ref(), &rest, req).await
}

/// The plain-text 404 of every unknown route, mount or file.
pub(super) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// The file at `rest` in `mount`, or 404 for a missing mount or a refused path.
async fn serve_from(state: &AppState, mount: Option<&Mount>, rest: &str, req: Request) -> Response {
    let Some(mount) = mount else {
        return not_found();
    };
    match mount.resolve(rest) {
        Ok((path, meta)) => serve_file(state, &path, meta, req).await,
        Err(Refusal::Unsafe) => match &mount.upstream {
            Some(upstream) if safe_segments(rest).is_some() => {
                mirrored(state, mount, upstream, rest, req).await
            }
            _ => not_found(),
        },
        Err(Refusal::OutsideCoverage) => not_found(),
    }
}

/// A file of a mirrored HiPS not yet on this machine: fetched from its server into the
/// mirror (a 404 there is remembered), then served like any other; 502 when the server
/// fails after its retries.
async fn mirrored(
    state: &AppState,
    mount: &Mount,
    upstream: &Arc<Remote>,
    rest: &str,
    req: Request,
) -> Response {
    let rel = if rest.is_empty() { "index.html" } else { rest }.to_string();
    let client = Arc::clone(upstream);
    match tokio::task::spawn_blocking(move || client.local(&rel, false)).await {
        Ok(Ok(Some(_))) => match mount.resolve(rest) {
            Ok((path, meta)) => serve_file(state, &path, meta, req).await,
            Err(_) => not_found(),
        },
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "fetch task failed\n").into_response(),
    }
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
    let etag = etag(meta.len(), meta.modified().ok());
    let cache = cache_control(path);
    if matches_if_none_match(req.headers(), &etag) {
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
            Ok(file) => from_memory(&file, path, &req),
            Err(_) => not_found(),
        }
    } else {
        from_disk(path, req).await
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

/// Whether the client accepts an encoding of which `path` has a precompressed sibling
/// (`.gz`, `.br`), which ServeFile then sends.
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

/// The file streamed by tower-http's ServeFile (its own Range, If-Modified-Since, HEAD and
/// precompressed siblings), in 1 MB chunks.
async fn from_disk(path: &Path, req: Request) -> Response {
    let mime = content_type(path).parse().expect("static mime");
    let served = ServeFile::new_with_mime(path, &mime)
        .precompressed_gzip()
        .precompressed_br()
        .with_buf_chunk_size(1 << 20)
        .oneshot(req)
        .await;
    match served {
        Ok(r) => r.map(Body::new),
        Err(e) => match e {},
    }
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

/// The answer from a file in memory: 304 on If-Modified-Since, else the whole file or the
/// requested range (416 when unsatisfiable); headers only for HEAD.
fn from_memory(file: &CachedFile, path: &Path, req: &Request) -> Response {
    if matches_if_modified_since(req.headers(), file.modified) {
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
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(file.modified),
        );
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
