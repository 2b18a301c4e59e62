//! Header frames against astropy (tests/data/frame_reference.json, from
//! tools/reference/make_frame_reference.py): FK4 (with and without E-terms, B1900 and B1950,
//! with an observation date), FK5 at J1975/J2000/J2050, ICRS, galactic, ecliptic and
//! supergalactic headers, with the FITS defaults for missing RADESYS/EQUINOX, into the three
//! HiPS frames within 1 mas; and back (HiPS frame → header frame) within 1e-6″.

mod common;

use hipsforge::fits::Header;
use hipsforge::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat};
use hipsforge::wcs::{Frame, HeaderFrame};

/// 1 mas.
const TOLERANCE_ARCSEC: f64 = 0.001;

fn degrees(v: [f64; 3]) -> (f64, f64) {
    let (lon, lat) = xyz_to_lonlat(v);
    (lon.to_degrees(), lat.to_degrees())
}

#[test]
fn header_frames_match_astropy_in_every_hips_frame() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/frame_reference.json"
    );
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut checked, mut worst, mut worst_back) = (0, 0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cards: Vec<(String, String)> = case["cards"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
            .collect();
        let header = Header::from_pairs(cards);
        let ctype = &case["ctype"];
        let frame = HeaderFrame::from_header(
            &header,
            ctype[0].as_str().unwrap(),
            ctype[1].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name}: no celestial frame"));
        for (hips, column) in [
            (Frame::Equatorial, 2),
            (Frame::Galactic, 4),
            (Frame::Ecliptic, 6),
        ] {
            let change = frame.change_to(hips);
            let mut case_worst = 0.0f64;
            for p in case["points"].as_array().unwrap() {
                let p: Vec<f64> = p
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                let source = lonlat_to_xyz(p[0].to_radians(), p[1].to_radians());
                let ours = degrees(change.apply(source));
                let theirs = (p[column], p[column + 1]);
                let err = common::separation_arcsec(ours, theirs);
                case_worst = case_worst.max(err);
                let target = lonlat_to_xyz(theirs.0.to_radians(), theirs.1.to_radians());
                let back = degrees(change.invert(change.apply(source)));
                let back_err = common::separation_arcsec(back, (p[0], p[1]));
                assert!(back_err < 1e-6, "{name} → {hips:?} and back: {back_err}″");
                worst_back = worst_back.max(back_err);
                // The inverse agrees with astropy too (target → header frame).
                let err = common::separation_arcsec(degrees(change.invert(target)), (p[0], p[1]));
                case_worst = case_worst.max(err);
                checked += 1;
            }
            if case_worst >= TOLERANCE_ARCSEC {
                failures.push(format!("{name} ({frame:?}) ↔ {hips:?}: {case_worst}″"));
            }
            worst = worst.max(case_worst);
        }
    }
    assert!(
        failures.is_empty(),
        "beyond {TOLERANCE_ARCSEC}″ of astropy:\n{}",
        failures.join("\n")
    );
    eprintln!("{checked} points: worst {worst:.2e}″ against astropy, round trip {worst_back:.1e}″");
    assert!(checked >= 20 * 24 * 3, "only {checked} points");
}
