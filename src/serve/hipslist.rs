//! `GET /hipslist`: the HiPS node list that clients read to discover the HiPS served here.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::hips::properties::Properties;

/// `GET /hipslist` (properties records with hips_service_url, blank-line separated) and
/// `?fmt=json` (the same records as a JSON array of objects).
pub(super) async fn hipslist(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let records = records(&state, &state.base_url(&headers));
    let cache = [(header::CACHE_CONTROL, "public, max-age=60")];
    if q.get("fmt").map(String::as_str) == Some("json") {
        let json: Vec<serde_json::Value> = records
            .iter()
            .map(|p| {
                serde_json::Value::Object(
                    p.iter().map(|(k, v)| (k.to_string(), v.into())).collect(),
                )
            })
            .collect();
        return (cache, axum::Json(json)).into_response();
    }
    let body: String = records
        .iter()
        .map(|p| p.to_text())
        .collect::<Vec<_>>()
        .join("\n");
    (
        cache,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Each mount's properties with the URL it is served at.
fn records(state: &AppState, base: &str) -> Vec<Properties> {
    state
        .mounts
        .iter()
        .map(|m| {
            let mut p = m.properties.clone();
            p.set("hips_service_url", format!("{base}/{}", m.name));
            p
        })
        .collect()
}
