//! What stands between the network and the routes: repeated slashes merged (as nginx's
//! `merge_slashes`), URIs and header blocks over a limit refused (414, 431), a panicking
//! handler turned into a logged 500, and the access log.

use std::any::Any;

use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

/// Longest request target (path and query) accepted; longer ones are 414 (nginx: 8 KB).
pub const MAX_URI_BYTES: usize = 8 << 10;
/// Largest header block (names, values and separators) accepted; larger ones are 431.
pub const MAX_HEADER_BYTES: usize = 32 << 10;

/// Wraps `routes` in the guards every request passes: the access log, the URI and header
/// limits, repeated slashes merged before routing, and panics caught (logged, answered 500,
/// the connection kept). [`router`](super::router) uses it; so can a test router.
pub fn harden(routes: Router) -> Router {
    let routes = routes.layer(CatchPanicLayer::custom(panic_answer));
    let merged = ServiceBuilder::new()
        .map_request(merge_request_slashes)
        .service(routes);
    Router::new()
        .fallback_service(merged)
        .layer(middleware::from_fn(limit_request_head))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// `path` with every run of `/` made one `/` (nginx's `merge_slashes`). Only literal slashes
/// merge: `%2F` stays encoded and is refused later like any other encoded separator.
pub fn merge_slashes(path: &str) -> String {
    let mut merged = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && merged.ends_with('/')) {
            merged.push(c);
        }
    }
    merged
}

fn merge_request_slashes(mut req: Request) -> Request {
    let uri = req.uri();
    if !uri.path().contains("//") {
        return req;
    }
    let path = merge_slashes(uri.path());
    let target = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = target.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(merged) = Uri::from_parts(parts) {
            *req.uri_mut() = merged;
        }
    }
    req
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// 414 for a request target over [`MAX_URI_BYTES`], 431 for headers over [`MAX_HEADER_BYTES`]
/// (hyper itself refuses heads beyond ~400 KB before they reach here).
async fn limit_request_head(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return plain(StatusCode::URI_TOO_LONG, "request URI too long\n");
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large\n",
        );
    }
    next.run(req).await
}

/// The answer to a handler that panicked: logged with its message, a JSON 500.
fn panic_answer(err: Box<dyn Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!("a request handler panicked: {message}");
    let body = serde_json::json!({
        "title": "Internal error",
        "description": "the server failed on this request; it has been logged",
    });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::merge_slashes;

    #[test]
    fn runs_of_slashes_become_one() {
        assert_eq!(merge_slashes("/rgb//properties"), "/rgb/properties");
        assert_eq!(merge_slashes("///a////b/"), "/a/b/");
        assert_eq!(merge_slashes("/a/%2F%2F/b"), "/a/%2F%2F/b");
        assert_eq!(merge_slashes("/"), "/");
    }
}
