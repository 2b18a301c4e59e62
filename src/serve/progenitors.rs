//! `GET /<hips>/progenitors?ra=&dec=`: the input images that cover a position (ICRS degrees),
//! read from the HiPS's progenitor index (`HpxFinder/`, written by `hipsforge build`): the
//! index tile holding the position lists the images touching that tile, and those whose
//! footprint contains the position are answered, with file, HDU, footprint and `--fitskey`
//! values. 400 JSON naming the parameter for a bad position, 404 JSON without an index.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::cutouts::{bad, error, finite, ApiError};
use super::AppState;
use crate::hips::hpxfinder::{index_path, Progenitor, HPXFINDER_DIR};
use crate::hips::properties::Properties;
use crate::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat, Rotation};
use crate::wcs::Frame;

/// `ra` and `dec` in degrees: both required, finite, |dec| ≤ 90.
fn position(q: &HashMap<String, String>) -> Result<(f64, f64), ApiError> {
    let required =
        |key: &str| finite(q, key)?.ok_or_else(|| bad(format!("{key} is required (ICRS degrees)")));
    let (ra, dec) = (required("ra")?, required("dec")?);
    if !(-90.0..=90.0).contains(&dec) {
        return Err(bad(format!("dec={dec}: must be within -90 .. 90")));
    }
    Ok((ra.rem_euclid(360.0), dec))
}

fn unreadable(path: &Path, problem: impl std::fmt::Display) -> ApiError {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Progenitor index unreadable",
        format!("{}: {problem}", path.display()),
    )
}

/// The images of the index under `root` whose footprint contains (ra, dec), with the index
/// order and tile looked up.
fn lookup(root: &Path, ra: f64, dec: f64) -> Result<(u8, u64, Vec<Progenitor>), ApiError> {
    let props_path = root.join(HPXFINDER_DIR).join("properties");
    let text = match std::fs::read_to_string(&props_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(error(
                StatusCode::NOT_FOUND,
                "No progenitor index",
                "this HiPS has no HpxFinder/ progenitor index (built by another tool or before hipsforge wrote one)",
            ))
        }
        Err(e) => return Err(unreadable(&props_path, e)),
    };
    let props = Properties::parse(&text).map_err(|e| unreadable(&props_path, e))?;
    let order = props
        .get("hips_order")
        .and_then(|o| o.parse::<u8>().ok())
        .filter(|&o| o <= 29)
        .ok_or_else(|| unreadable(&props_path, "no valid hips_order"))?;
    let frame = match props.get("hips_frame") {
        Some("galactic") => Frame::Galactic,
        _ => Frame::Equatorial,
    };
    let v = lonlat_to_xyz(ra.to_radians(), dec.to_radians());
    let (lon, lat) = xyz_to_lonlat(Rotation::between(Frame::Equatorial, frame).apply(v));
    let npix = cdshealpix::nested::hash(order, lon, lat);
    let tile = index_path(root, order, npix);
    let lines = match std::fs::read_to_string(&tile) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(unreadable(&tile, e)),
    };
    let mut covering = Vec::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let p = Progenitor::parse(line).map_err(|e| unreadable(&tile, e))?;
        if p.covers(v) {
            covering.push(p);
        }
    }
    Ok((order, npix, covering))
}

fn progenitor_json(p: &Progenitor) -> Value {
    let keys: serde_json::Map<String, Value> = p
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "name": p.name,
        "path": p.path,
        "hdu": p.hdu,
        "ra": p.center.0,
        "dec": p.center.1,
        "footprint": p.footprint.iter().map(|&(a, d)| [a, d]).collect::<Vec<_>>(),
        "fitskeys": keys,
    })
}

/// `GET /{name}/progenitors?ra=&dec=`.
pub(super) async fn progenitors(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (ra, dec) = position(&q)?;
    let mount = state.mount(&name).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "Unknown HiPS",
            format!("no HiPS {name:?} on this server (see /hipslist)"),
        )
    })?;
    let root = mount.root.clone();
    let (order, npix, found) = tokio::task::spawn_blocking(move || lookup(&root, ra, dec))
        .await
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Lookup failed",
                format!("the index reader stopped: {e}"),
            )
        })??;
    let body = json!({
        "hips": name,
        "ra": ra,
        "dec": dec,
        "index_order": order,
        "index_tile": npix,
        "progenitors": found.iter().map(progenitor_json).collect::<Vec<_>>(),
    });
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        axum::Json(body),
    )
        .into_response())
}
