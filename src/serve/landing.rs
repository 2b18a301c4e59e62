//! `GET /`: a page listing the HiPS served, with links to their pages and properties.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::{AppState, Mount};
use crate::hips::html::escape;

/// `GET /`: one table row per mount.
pub(super) async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let rows: String = state.mounts.iter().map(row).collect();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hipsforge HiPS node</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 12px;text-align:left}}</style></head>\
         <body><h1>HiPS served here</h1><table><tr><th>title</th><th>creator_did</th><th>order</th><th>formats</th><th></th></tr>\n{rows}</table>\
         <p><a href=\"/hipslist\">hipslist</a></p></body></html>\n"
    ))
}

/// A mount's title (linked to its page), creator_did, order, formats and properties link.
fn row(m: &Mount) -> String {
    let p = &m.properties;
    let name = escape(&m.name);
    format!(
        "<tr><td><a href=\"/{name}/index.html\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/{name}/properties\">properties</a></td></tr>\n",
        escape(p.get("obs_title").unwrap_or(&m.name)),
        escape(p.get("creator_did").unwrap_or("")),
        escape(p.get("hips_order").unwrap_or("?")),
        escape(p.get("hips_tile_format").unwrap_or("")),
    )
}
