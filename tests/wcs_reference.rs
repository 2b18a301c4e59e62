//! Every image HDU of ../shared/data against astropy's all_pix2world values
//! (shared/data/wcs-reference.json): pixel → sky within 0.01″ (0.05″ for ZPN, whose mapproj
//! inverse stops at 1 mas steps), and sky → pixel back onto the grid within 1e-4 px; the
//! distortions of wcs-reference-calibrations.json within 1 mas.

mod common;

use hipsforge::fits::{list_image_hdus, HduSelection};
use hipsforge::wcs::Wcs;

#[test]
fn every_shared_hdu_matches_astropy_both_ways() {
    let checked = check_shared_cases(
        "wcs-reference.json",
        |_| true,
        |file| {
            if file.contains("ZPN") {
                0.05
            } else {
                0.01
            }
        },
    );
    assert!(checked > 500, "only {checked} points checked");
}

/// The distortions real archives ship (TPV, TNX, ZPX, DSS plate solutions) against
/// shared/data/wcs-reference-calibrations.json (astropy, or wcstools' xy2sky for the IRAF
/// surfaces astropy drops): pixel → sky within 1 mas.
#[test]
fn shared_distortions_match_their_reference_both_ways() {
    let checked = check_shared_cases(
        "wcs-reference-calibrations.json",
        |file| file.starts_with("distortion/") || file.starts_with("dss/"),
        |_| 1e-3,
    );
    assert!(checked >= 250, "only {checked} points checked");
}

/// Headers whose correction folds the plane inside the image (its Jacobian changes sign):
/// AST's test variant of the KPNO TNX header, with the polynomial surface relabelled as a
/// Chebyshev one (not an astrometric solution). Sky → pixel there has several answers.
const FOLDED: &[&str] = &["distortion/tnx_chebyshev_kpno09m_A576_header_synthetic.fits.gz"];

/// Checks the cases of `reference` (in ../shared/data) whose file passes `select`: pixel →
/// sky within `tolerance(file)` arcsec, sky → pixel back within 1e-4 px. Returns the number
/// of points checked.
fn check_shared_cases(
    reference: &str,
    select: impl Fn(&str) -> bool,
    tolerance: impl Fn(&str) -> f64,
) -> usize {
    let data = common::shared_data();
    let text = std::fs::read_to_string(data.join(reference)).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    let mut worst = (0.0f64, 0.0f64);
    let (mut folded, mut folded_round_trips) = (0, 0);
    for case in reference["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        if !select(file) {
            continue;
        }
        let hdu = case["hdu"].as_u64().unwrap() as usize;
        let (images, _) =
            list_image_hdus(&data.join(file), &HduSelection::List(vec![hdu])).unwrap();
        let wcs = Wcs::from_header(&images[0].header).unwrap_or_else(|e| panic!("{file}: {e}"));
        let tolerance = tolerance(file);
        for p in case["points"].as_array().unwrap() {
            let p: Vec<Option<f64>> = p.as_array().unwrap().iter().map(|v| v.as_f64()).collect();
            let (x, y) = (p[0].unwrap(), p[1].unwrap());
            let (Some(lon), Some(lat)) = (p[2], p[3]) else {
                // The reference says: outside the projection. We must not invent a sky
                // position there that maps back onto this pixel.
                if let Some((l, b)) = wcs.pixel_to_world(x, y) {
                    let back = wcs.world_to_pixel(l, b);
                    assert!(
                        back.is_none_or(|(bx, by)| (bx - x).hypot(by - y) > 1e-3),
                        "{file}: ({x}, {y}) is off-sky for the reference but round-trips for us"
                    );
                }
                continue;
            };
            let ours = wcs
                .pixel_to_world(x, y)
                .unwrap_or_else(|| panic!("{file}: ({x}, {y}) not projected"));
            let err = common::separation_arcsec(ours, (lon, lat));
            assert!(
                err < tolerance,
                "{file}: pixel ({x}, {y}) → {ours:?}, reference ({lon}, {lat}): {err}″"
            );
            if FOLDED.contains(&file) {
                // Several pixels share this sky position: any of them will do, or none.
                if let Some((bx, by)) = wcs.world_to_pixel(lon, lat) {
                    let again = wcs.pixel_to_world(bx, by).unwrap();
                    let err = common::separation_arcsec(again, (lon, lat));
                    assert!(err < tolerance, "{file}: ({bx}, {by}) is {err}″ off");
                    folded_round_trips += usize::from((bx - x).hypot(by - y) < 1e-4);
                }
                folded += 1;
                continue;
            }
            let (bx, by) = wcs.world_to_pixel(lon, lat).unwrap();
            let perr = (bx - x).hypot(by - y);
            assert!(
                perr < 1e-4,
                "{file}: sky ({lon}, {lat}) → ({bx}, {by}), expected ({x}, {y}): {perr} px"
            );
            worst = (worst.0.max(err), worst.1.max(perr));
            checked += 1;
        }
    }
    eprintln!(
        "{checked} points: worst {:.2e}″ pixel → sky, {:.2e} px back; folded: \
         {folded_round_trips} of {folded} back to their own pixel",
        worst.0, worst.1
    );
    checked + folded
}

/// Synthetic headers for the projections and header conventions the real files lack (CAR,
/// MER, CEA, MOL, SFL, off-centre AIT, CROTA2, PC+CDELT, near-pole TAN, slant SIN, galactic
/// TAN, LONPOLE, south-pole STG, RA wrap): tests/data/projection_reference.json from astropy.
#[test]
fn synthetic_projection_headers_match_astropy() {
    let checked = check_synthetic_cases("projection_reference.json", 1e-6);
    assert!(checked > 700, "{checked}");
}

/// Synthetic distortion headers (TPV with all 40 coefficients, ZPN-SIP and SIN-SIP from
/// astropy; TNX of each IRAF surface type with no, half and full cross terms, and ZPX with
/// projp on both axes, from wcstools' xy2sky): tests/data/distortion_reference.json, within 1 mas and 1e-4 px back.
#[test]
fn synthetic_distortion_headers_match_their_reference() {
    let checked = check_synthetic_cases("distortion_reference.json", 1e-4);
    assert!(checked >= 11 * 49, "{checked}");
}

/// Checks every case of tests/data/`file`: pixel → sky within 1 mas, and sky → pixel back
/// within `round_trip_px` (away from the poles). Returns the number of points checked.
fn check_synthetic_cases(file: &str, round_trip_px: f64) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    let mut worst = (0.0f64, 0.0f64);
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let header = hipsforge::fits::Header::from_pairs(
            case["header"].as_object().unwrap().iter().map(|(k, v)| {
                (
                    k.clone(),
                    // Strings trimmed as the FITS card reader trims them (WAT cards
                    // ending in a blank must survive that).
                    v.as_str()
                        .map_or_else(|| v.to_string(), |s| s.trim_end().to_string()),
                )
            }),
        );
        let wcs = Wcs::from_header(&header).unwrap_or_else(|e| panic!("{name}: {e}"));
        for p in case["points"].as_array().unwrap() {
            let p: Vec<Option<f64>> = p.as_array().unwrap().iter().map(|v| v.as_f64()).collect();
            let (x, y) = (p[0].unwrap(), p[1].unwrap());
            let (Some(lon), Some(lat)) = (p[2], p[3]) else {
                let back = wcs
                    .pixel_to_world(x, y)
                    .and_then(|(l, b)| wcs.world_to_pixel(l, b));
                assert!(
                    back.is_none_or(|(bx, by)| (bx - x).hypot(by - y) > 1e-3),
                    "{name}: ({x}, {y}) is off-sky"
                );
                continue;
            };
            let ours = wcs
                .pixel_to_world(x, y)
                .unwrap_or_else(|| panic!("{name}: ({x}, {y}) not projected"));
            let err = common::separation_arcsec(ours, (lon, lat));
            assert!(
                err < 1e-3,
                "{name}: ({x}, {y}) → {ours:?}, reference ({lon}, {lat}): {err}″"
            );
            if lat.abs() < 89.999 {
                let (bx, by) = wcs.world_to_pixel(lon, lat).unwrap();
                let perr = (bx - x).hypot(by - y);
                assert!(
                    perr < round_trip_px,
                    "{name}: back to ({bx}, {by}), expected ({x}, {y})"
                );
                worst.1 = worst.1.max(perr);
            }
            worst.0 = worst.0.max(err);
            checked += 1;
        }
    }
    eprintln!(
        "{file}: {checked} points, worst {:.2e}″ pixel → sky, {:.2e} px back",
        worst.0, worst.1
    );
    checked
}
