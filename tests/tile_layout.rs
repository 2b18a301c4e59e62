//! The in-tile pixel layout and the tile HPX WCS against astropy-healpix / astropy values
//! (tests/data/*_reference.json, made by tools/reference/*.py).

mod common;

use hipsforge::fits::write::CardValue;
use hipsforge::hips::layout::{pixel_nested_index, tile_wcs_cards};
use hipsforge::wcs::Frame;

fn load(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn tile_pixels_are_the_reference_healpix_cells() {
    let reference = load("tile_layout_reference.json");
    let mut checked = 0;
    for tile in reference["tiles"].as_array().unwrap() {
        let (k, n, w) = (
            tile["k"].as_u64().unwrap() as u8,
            tile["n"].as_u64().unwrap(),
            tile["W"].as_u64().unwrap(),
        );
        let order = tile["order"].as_u64().unwrap() as u8;
        for p in tile["pixels"].as_array().unwrap() {
            let (col, row) = (
                p["col"].as_u64().unwrap() as usize,
                p["row"].as_u64().unwrap() as usize,
            );
            let nested = pixel_nested_index(n, w as usize, col, row);
            assert_eq!(
                nested,
                p["nested"].as_u64().unwrap(),
                "tile {k}/{n} pixel ({col}, {row})"
            );
            let (lon, lat) = cdshealpix::nested::center(order, nested);
            let err = common::separation_arcsec(
                (lon.to_degrees(), lat.to_degrees()),
                (
                    p["ra_deg"].as_f64().unwrap(),
                    p["dec_deg"].as_f64().unwrap(),
                ),
            );
            assert!(err < 1e-6, "centre of {nested} off by {err}″");
            checked += 1;
        }
    }
    assert_eq!(checked, 70);
}

#[test]
fn cdshealpix_hashes_agree_with_astropy_healpix() {
    let reference = load("tile_layout_reference.json");
    for p in reference["hash_points"].as_array().unwrap() {
        let (lon, lat) = (
            p["lon_deg"].as_f64().unwrap().to_radians(),
            p["lat_deg"].as_f64().unwrap().to_radians(),
        );
        for (depth, expected) in p["nested"].as_object().unwrap() {
            let depth: u8 = depth.parse().unwrap();
            assert_eq!(
                cdshealpix::nested::hash(depth, lon, lat),
                expected.as_u64().unwrap(),
                "{p}"
            );
        }
    }
}

#[test]
fn tile_wcs_matches_astropy_headers_and_cell_centres() {
    let reference = load("hpx_wcs_reference.json");
    let tiles = reference["tiles"].as_array().unwrap();
    let mut compared = 0;
    let mut expected = 0;
    for tile in tiles {
        let (k, n, w) = (
            tile["k"].as_u64().unwrap() as u8,
            tile["n"].as_u64().unwrap(),
            tile["W"].as_u64().unwrap() as usize,
        );
        let cards = tile_wcs_cards(k, n, w, Frame::Equatorial);
        let header = tile["header"].as_object().unwrap();
        expected += header.len();
        for (key, value) in header {
            // The structural keys are written by the tile encoder, not by the WCS cards.
            let structural = match key.as_str() {
                "NAXIS" => Some(2),
                "NAXIS1" | "NAXIS2" => Some(w as i64),
                _ => None,
            };
            if let Some(ours) = structural {
                assert_eq!(ours, value.as_i64().unwrap(), "{k}/{n} {key}");
                compared += 1;
                continue;
            }
            let card = cards
                .iter()
                .find(|c| c.key == *key)
                .unwrap_or_else(|| panic!("{k}/{n}: no {key} card in our tile WCS"));
            match (&card.value, value) {
                (CardValue::Float(f), v) => assert!(
                    (f - v.as_f64().unwrap()).abs() < 1e-9,
                    "{k}/{n} {key}: {f} vs {v}"
                ),
                (CardValue::Int(i), v) => assert_eq!(*i, v.as_i64().unwrap(), "{k}/{n} {key}"),
                (CardValue::Str(s), v) => assert_eq!(s, v.as_str().unwrap(), "{k}/{n} {key}"),
                (ours, v) => panic!("{k}/{n} {key}: {ours:?} vs {v}"),
            }
            compared += 1;
        }
    }
    // 6 tiles × 16 keys (NAXIS*, CTYPE*, CRPIX*, CRVAL*, CD*_*, PV2_1/2, RADESYS).
    assert_eq!(tiles.len(), 6);
    assert_eq!((compared, expected), (96, 96));
}
