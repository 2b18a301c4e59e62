//! The CORS policy: which origins may read the responses, and which headers they may see.

use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use super::ServeError;

/// CORS for `origins` (comma separated, or `*`, the default). The exposed headers are those
/// Aladin Lite and range-reading clients look at from another origin.
pub(super) fn cors_layer(origins: Option<&str>) -> Result<CorsLayer, ServeError> {
    let allow = match origins.unwrap_or("*") {
        "*" => AllowOrigin::any(),
        list => AllowOrigin::list(
            list.split(',')
                .map(|origin| {
                    HeaderValue::from_str(origin.trim()).map_err(|source| ServeError::CorsOrigin {
                        origin: origin.to_string(),
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers(Any)
        .expose_headers([
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::CONTENT_ENCODING,
            header::ETAG,
            header::LAST_MODIFIED,
            header::ACCEPT_RANGES,
        ])
        .max_age(Duration::from_secs(86400)))
}
