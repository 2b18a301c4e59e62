//! WCS against astropy/wcslib reference values, both ways:
//! - every image HDU of ../shared/data (shared/data/wcs-reference.json): pixel → sky within
//!   0.01″ (0.05″ for ZPN), sky → pixel back onto the grid within 1e-4 px;
//! - the Calabretta projection files (`projections/` of shared/data/wcs-reference-calibrations.json,
//!   every projection of paper II on CRVAL2 = −90°): pixel → sky within 1 mas, back within 1e-4
//!   px (CSC: its two polynomials are no exact inverses, see `CSC_ROUND_TRIP_PX`);
//! - the distortions of the same file (TPV, TNX, ZPX, DSS plate solutions; astropy, or
//!   wcstools' xy2sky for the IRAF surfaces astropy drops): within 1 mas, back within 1e-4 px;
//! - synthetic headers (tests/data/projection_reference.json,
//!   tests/data/projection_reference_paper2.json, tests/data/distortion_reference.json):
//!   within 1 mas, back within 1e-6 px (distortions: 1e-4 px, Newton's tolerance).

mod common;

use hipsforge::fits::{list_image_hdus, HduSelection, Header};
use hipsforge::wcs::Wcs;

/// Round trip reached by CSC, whose forward and inverse polynomials disagree by up to 45″ in
/// wcslib as in ours (0.19 px at 240″/px).
const CSC_ROUND_TRIP_PX: f64 = 0.25;

/// Headers whose correction folds the plane inside the image (its Jacobian changes sign):
/// AST's test variant of the KPNO TNX header, with the polynomial surface relabelled as a
/// Chebyshev one (not an astrometric solution). Sky → pixel there has several answers.
const FOLDED: &[&str] = &["distortion/tnx_chebyshev_kpno09m_A576_header_synthetic.fits.gz"];

/// Tolerances of one case: pixel → sky (arcsec), sky → pixel (px); `folded`: sky → pixel may
/// find another pixel of the same sky point, or none.
struct Tolerance {
    sky_arcsec: f64,
    pixel: f64,
    folded: bool,
}

/// Checks one WCS against its reference points `[x, y, lon, lat]` (null lon/lat: off-sky):
/// pixel → sky, and sky → pixel onto the same pixel (or, on a seam, onto another pixel of the
/// same sky point: sky → pixel → sky); returns how many points were compared and the worst
/// (sky ″, pixel) errors.
fn check_points(
    name: &str,
    wcs: &Wcs,
    points: &serde_json::Value,
    tol: &Tolerance,
) -> (usize, f64, f64) {
    let (mut checked, mut worst_sky, mut worst_px) = (0, 0.0f64, 0.0f64);
    for p in points.as_array().unwrap() {
        let p: Vec<Option<f64>> = p.as_array().unwrap().iter().map(|v| v.as_f64()).collect();
        let (x, y) = (p[0].unwrap(), p[1].unwrap());
        let (Some(lon), Some(lat)) = (p[2], p[3]) else {
            // The reference says: outside the projection. We must not invent a sky position
            // there that maps back onto this pixel.
            let back = wcs
                .pixel_to_world(x, y)
                .and_then(|(l, b)| wcs.world_to_pixel(l, b));
            assert!(
                back.is_none_or(|(bx, by)| (bx - x).hypot(by - y) > 1e-3),
                "{name}: ({x}, {y}) is off-sky for the reference but round-trips for us"
            );
            continue;
        };
        let ours = wcs
            .pixel_to_world(x, y)
            .unwrap_or_else(|| panic!("{name}: ({x}, {y}) not projected"));
        let err = common::separation_arcsec(ours, (lon, lat));
        assert!(
            err < tol.sky_arcsec,
            "{name}: pixel ({x}, {y}) → {ours:?}, reference ({lon}, {lat}): {err}″"
        );
        worst_sky = worst_sky.max(err);
        // At a pole every longitude is the same point: the pixel of the pole is what counts.
        let Some((bx, by)) = wcs.world_to_pixel(lon, lat) else {
            assert!(tol.folded, "{name}: sky ({lon}, {lat}) not projected");
            continue;
        };
        let mut perr = (bx - x).hypot(by - y);
        if perr >= tol.pixel {
            // On a seam of the layout (cube faces, HEALPix facets, XPH quadrants) or in a
            // folded plane one sky point has two plane positions: the other one must be the
            // same sky point.
            let again = wcs.pixel_to_world(bx, by).unwrap_or((f64::NAN, f64::NAN));
            perr = common::separation_arcsec(again, (lon, lat)) / 3600.0 / wcs.pixel_scale_deg();
        }
        assert!(
            perr < tol.pixel,
            "{name}: sky ({lon}, {lat}) → ({bx}, {by}), expected ({x}, {y}): {perr} px"
        );
        worst_px = worst_px.max(perr);
        checked += 1;
    }
    (checked, worst_sky, worst_px)
}

/// The real-file cases of one shared reference file whose path passes `select`.
fn check_shared(
    reference: &str,
    select: impl Fn(&str) -> bool,
    tol: impl Fn(&str) -> Tolerance,
) -> usize {
    let data = common::shared_data();
    let text = std::fs::read_to_string(data.join(reference)).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for case in reference["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        if !select(file) {
            continue;
        }
        let hdu = case["hdu"].as_u64().unwrap() as usize;
        let (images, _) =
            list_image_hdus(&data.join(file), &HduSelection::List(vec![hdu])).unwrap();
        let wcs = Wcs::from_header(&images[0].header).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (n, sky, px) = check_points(file, &wcs, &case["points"], &tol(file));
        eprintln!("{file:50} points {n:3}  worst {sky:.1e}″ {px:.1e} px");
        checked += n;
    }
    checked
}

#[test]
fn every_shared_hdu_matches_astropy_both_ways() {
    let checked = check_shared(
        "wcs-reference.json",
        |_| true,
        |file| Tolerance {
            sky_arcsec: if file.contains("ZPN") { 0.05 } else { 0.01 },
            pixel: 1e-4,
            folded: false,
        },
    );
    assert!(checked > 500, "only {checked} points checked");
}

#[test]
fn every_calabretta_projection_matches_wcslib_both_ways() {
    let checked = check_shared(
        "wcs-reference-calibrations.json",
        |file| file.starts_with("projections/"),
        |file| Tolerance {
            sky_arcsec: 1e-3,
            pixel: if file.contains("_CSC") {
                CSC_ROUND_TRIP_PX
            } else {
                1e-4
            },
            folded: false,
        },
    );
    assert!(checked > 400, "only {checked} points checked");
}

/// The distortions real archives ship (TPV, TNX, ZPX, DSS plate solutions) against
/// shared/data/wcs-reference-calibrations.json (astropy, or wcstools' xy2sky for the IRAF
/// surfaces astropy drops).
#[test]
fn shared_distortions_match_their_reference_both_ways() {
    let checked = check_shared(
        "wcs-reference-calibrations.json",
        |file| file.starts_with("distortion/") || file.starts_with("dss/"),
        |file| Tolerance {
            sky_arcsec: 1e-3,
            pixel: 1e-4,
            folded: FOLDED.contains(&file),
        },
    );
    // 250 points, less the folded file's sky points that no pixel is found for.
    assert!(checked >= 245, "only {checked} points checked");
}

/// The synthetic cases of one file under tests/data: back within each case's `round_trip_px`,
/// else `round_trip_px`.
fn check_synthetic(file: &str, round_trip_px: f64) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let header =
            Header::from_pairs(case["header"].as_object().unwrap().iter().map(|(k, v)| {
                (
                    k.clone(),
                    // Strings trimmed as the FITS card reader trims them (WAT cards ending in
                    // a blank must survive that).
                    v.as_str()
                        .map_or_else(|| v.to_string(), |s| s.trim_end().to_string()),
                )
            }));
        let wcs = Wcs::from_header(&header).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pixel = case["round_trip_px"].as_f64().unwrap_or(round_trip_px);
        let (n, sky, px) = check_points(
            name,
            &wcs,
            &case["points"],
            &Tolerance {
                sky_arcsec: 1e-3,
                pixel,
                folded: false,
            },
        );
        eprintln!("{name:40} points {n:3}  worst {sky:.1e}″ {px:.1e} px");
        checked += n;
    }
    checked
}

/// Synthetic headers for the projections and header conventions the real files lack (CAR,
/// MER, CEA, MOL, SFL, off-centre AIT, CROTA2, PC+CDELT, near-pole TAN, slant SIN, galactic
/// TAN, LONPOLE, south-pole STG, RA wrap): tests/data/projection_reference.json from astropy.
#[test]
fn synthetic_projection_headers_match_astropy() {
    let checked = check_synthetic("projection_reference.json", 1e-6);
    assert!(checked > 700, "{checked}");
}

/// Every paper II projection at several reference points and on the whole sky, non-default
/// PV2_m, LONPOLE/LATPOLE, PV1_0..PV1_4, GLS and NCP: tests/data/projection_reference_paper2.json
/// (tools/reference/make_paper2_reference.py, astropy/wcslib).
#[test]
fn every_paper2_projection_matches_wcslib_on_synthetic_headers() {
    let checked = check_synthetic("projection_reference_paper2.json", 1e-6);
    assert!(checked > 14_000, "{checked}");
}

/// Synthetic distortion headers (TPV with all 40 coefficients, ZPN-SIP and SIN-SIP from
/// astropy; TNX of each IRAF surface type with no, half and full cross terms, and ZPX with
/// projp on both axes, from wcstools' xy2sky): tests/data/distortion_reference.json.
#[test]
fn synthetic_distortion_headers_match_their_reference() {
    let checked = check_synthetic("distortion_reference.json", 1e-4);
    assert!(checked >= 11 * 49, "{checked}");
}
