//! World coordinates of an image: linear part (ours), distortion (ours: SIP, TPV, IRAF
//! TNX/ZPX, DSS plate solutions), celestial ↔ native rotation and sphere projection (every
//! projection of paper II: mapproj's or ours, see `projection`), frame changes (ours).
//! Pixels are FITS 1-based: the first pixel's centre is (1, 1).

mod celestial;
mod distortion;
pub mod frame;
mod healpix;
mod iraf;
pub mod linear;
mod native;
mod plate;
pub mod projection;
mod quadcube;
pub mod sip;
mod tpv;

use frame::{lonlat_to_xyz, xyz_to_lonlat};
pub use frame::{Frame, HeaderFrame};
pub use linear::Linear;
pub use projection::SphericalProjection;
pub use sip::Sip;

use crate::fits::Header;
use distortion::Distortion;
use plate::PlateSolution;

/// Why a header has no celestial WCS we can use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WcsError {
    /// The header has no celestial axis pair.
    #[error("no celestial WCS ({0})")]
    NoCelestialAxes(String),
    /// A celestial WCS of a kind we do not read (projection, distortion, frame).
    #[error("{0} is not supported")]
    Unsupported(String),
    /// A keyword with a value no WCS can have.
    #[error("{keyword}: {problem}")]
    Invalid {
        /// The keyword (or keywords) at fault.
        keyword: String,
        /// What is wrong with its value.
        problem: String,
    },
}

impl WcsError {
    pub(crate) fn invalid(keyword: &str, problem: impl Into<String>) -> WcsError {
        WcsError::Invalid {
            keyword: keyword.to_string(),
            problem: problem.into(),
        }
    }
}

/// The number in `key`: `None` when the card is absent, `Err` when its value is no number (a
/// damaged value is not taken for a missing one).
pub(crate) fn number(h: &Header, key: &str) -> Result<Option<f64>, WcsError> {
    match h.get(key) {
        None => Ok(None),
        Some(raw) => h
            .get_f64(key)
            .map(Some)
            .ok_or_else(|| WcsError::invalid(key, format!("'{raw}' is not a number"))),
    }
}

/// A celestial WCS (the first two axes of an HDU).
#[derive(Debug)]
pub struct Wcs {
    /// Celestial frame of the axes (from CTYPE, RADESYS, EQUINOX and MJD-OBS/DATE-OBS).
    pub frame: HeaderFrame,
    /// CRPIX and the CD matrix.
    pub linear: Linear,
    distortion: Distortion,
    projection: SphericalProjection,
    /// Degrees per pixel where the CD matrix alone does not say it (plane corrections, ZPX).
    measured_scale: Option<f64>,
}

/// Splits `RA---TAN-SIP` into (`RA`, `TAN`, `SIP`) (`RA---TAN-SIP-X`: suffix `SIP-X`).
fn split_ctype(ctype: &str) -> (String, String, String) {
    let s = ctype.trim().to_ascii_uppercase();
    let (kind, rest) = s.split_once('-').unwrap_or((s.as_str(), ""));
    let mut parts = rest.trim_start_matches('-').split('-');
    let code = parts.next().unwrap_or("").to_string();
    // Everything after the code: `SIP`, or a convention we do not read.
    let suffix = parts.collect::<Vec<_>>().join("-");
    (kind.to_string(), code, suffix)
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// A reference point on the sphere: finite, latitude within ±90°.
fn check_reference_point(crval: [f64; 2]) -> Result<(), WcsError> {
    if !crval[0].is_finite() {
        return Err(WcsError::invalid(
            "CRVAL1",
            format!("{} is not a finite angle", crval[0]),
        ));
    }
    if !(crval[1].is_finite() && crval[1].abs() <= 90.0) {
        return Err(WcsError::invalid(
            "CRVAL2",
            format!("{} is not a latitude", crval[1]),
        ));
    }
    Ok(())
}

impl Wcs {
    /// Reads the celestial WCS; `Err` says in one phrase why the header has none we can use.
    pub fn from_header(h: &Header) -> Result<Wcs, WcsError> {
        // A DSS plate solution is the plate's astrometry; the CTYPE/CD cards next to it in
        // DSS cutouts are a linear fit of it (off by up to 0.7″), so it wins, as in wcslib
        // and AST (wcstools takes the CTYPE cards first). A broken one beside CTYPE cards
        // (leftovers in a re-solved image) gives way to them.
        match PlateSolution::from_header(h) {
            Ok(Some(plate)) => return Wcs::from_plate(h, plate),
            Err(e) if !h.contains("CTYPE1") => return Err(e),
            _ => {}
        }
        let missing = |k: &str| WcsError::NoCelestialAxes(format!("{k} missing"));
        let ctype1 = h.get("CTYPE1").ok_or_else(|| missing("CTYPE1"))?;
        let ctype2 = h.get("CTYPE2").ok_or_else(|| missing("CTYPE2"))?;
        let (kind1, code, suffix) = split_ctype(ctype1);
        let (kind2, code2, _) = split_ctype(ctype2);
        let frame = match HeaderFrame::from_header(h, &kind1, &kind2)? {
            Some(frame) => frame,
            None if HeaderFrame::from_header(h, &kind2, &kind1)?.is_some() => {
                return Err(WcsError::Unsupported(format!(
                    "latitude on axis 1 ({ctype1}, {ctype2})"
                )))
            }
            None => {
                return Err(WcsError::NoCelestialAxes(format!(
                    "CTYPE1 = '{ctype1}', CTYPE2 = '{ctype2}'"
                )))
            }
        };
        if code.is_empty() {
            return Err(WcsError::invalid(
                "CTYPE1",
                format!("no projection in '{ctype1}'"),
            ));
        }
        if code != code2 {
            return Err(WcsError::invalid(
                "CTYPE1/CTYPE2",
                format!("projections differ on the two axes ({ctype1}, {ctype2})"),
            ));
        }
        let (distortion, base) = distortion::from_header(h, &code, &suffix)?;
        let crval = [
            number(h, "CRVAL1")?.unwrap_or(0.0),
            number(h, "CRVAL2")?.unwrap_or(0.0),
        ];
        check_reference_point(crval)?;
        let projection = SphericalProjection::new(&base.code, crval, &base.header)
            .map_err(|e| base.projection_error(e))?;
        let linear = Linear::from_header(h)?;
        let mut wcs = Wcs {
            frame,
            linear,
            distortion,
            projection,
            measured_scale: None,
        };
        if base.scale_differs_from_cd {
            wcs.measure_scale(h);
        }
        Ok(wcs)
    }

    /// The WCS of a DSS plate solution: TAN at the plate centre after the plate polynomials.
    fn from_plate(h: &Header, plate: PlateSolution) -> Result<Wcs, WcsError> {
        // GSSS plate solutions are J2000 unless EQUINOX says otherwise: EPOCH is the plate's
        // date here, not the old spelling of EQUINOX.
        let cards = h.subset(&["RADESYS", "RADECSYS", "EQUINOX", "MJD-OBS", "DATE-OBS"]);
        let frame = HeaderFrame::from_header(&cards, "RA", "DEC")?
            .ok_or_else(|| WcsError::Unsupported("the frame of a DSS plate".into()))?;
        let projection = SphericalProjection::new("TAN", plate.centre, &Header::default())?;
        let mut wcs = Wcs {
            frame,
            linear: plate.linear,
            distortion: Distortion::Plane(distortion::Plane::new(
                distortion::PlaneCorrection::Plate(plate.plate),
            )),
            projection,
            measured_scale: None,
        };
        wcs.measure_scale(h);
        Ok(wcs)
    }

    /// Sets the pixel scale from the sky distances of neighbouring pixels at the image centre
    /// (NAXIS1/2), or at CRPIX when the header has no image size.
    fn measure_scale(&mut self, h: &Header) {
        let centre = |axis: usize| {
            h.get_f64(&format!("NAXIS{axis}"))
                .filter(|n| *n >= 1.0)
                .map_or(self.linear.crpix[axis - 1], |n| (n + 1.0) / 2.0)
        };
        let (cx, cy) = (centre(1), centre(2));
        let at = |dx: f64, dy: f64| self.pixel_to_xyz(cx + dx, cy + dy);
        let (Some(a), Some(b), Some(c)) = (at(0.0, 0.0), at(1.0, 0.0), at(0.0, 1.0)) else {
            return;
        };
        let (u, v) = (sub(b, a), sub(c, a));
        let cross = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        let area = cross.iter().map(|c| c * c).sum::<f64>().sqrt();
        let scale = area.sqrt().to_degrees();
        self.measured_scale = (scale.is_finite() && scale > 0.0).then_some(scale);
    }

    /// A WCS without distortion or PV parameters, built directly (no header text): used for
    /// cutout grids, one per position.
    pub fn from_parts(
        frame: Frame,
        code: &str,
        crval: [f64; 2],
        linear: Linear,
    ) -> Result<Wcs, WcsError> {
        check_reference_point(crval)?;
        let projection = SphericalProjection::new(code, crval, &Header::default())?;
        Ok(Wcs {
            frame: frame.header_frame(),
            linear,
            distortion: Distortion::None,
            projection,
            measured_scale: None,
        })
    }

    /// Pixel scale (degrees per pixel): at the reference point from the CD matrix, or
    /// measured at the image centre where a distortion changes it.
    pub fn pixel_scale_deg(&self) -> f64 {
        self.measured_scale
            .unwrap_or_else(|| self.linear.pixel_scale_deg())
    }

    /// Unit vector in the image frame → FITS pixel (1-based, finite), or `None` where the
    /// projection does not reach.
    #[inline]
    pub fn xyz_to_pixel(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let (x, y) = self.projection.project(v)?;
        let (px, py) =
            self.distortion
                .plane_to_pixel(&self.linear, x.to_degrees(), y.to_degrees())?;
        (px.is_finite() && py.is_finite()).then_some((px, py))
    }

    /// FITS pixel (1-based) → unit vector in the image frame, or `None` where the projection
    /// does not reach (the result is always a finite unit vector: cdshealpix panics on less).
    pub fn pixel_to_xyz(&self, px: f64, py: f64) -> Option<[f64; 3]> {
        let (xd, yd) = self.distortion.pixel_to_plane(&self.linear, px, py);
        let (x, y) = (xd.to_radians(), yd.to_radians());
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        self.projection.deproject(x, y)
    }

    /// FITS pixel → (lon, lat) in degrees, image frame.
    pub fn pixel_to_world(&self, px: f64, py: f64) -> Option<(f64, f64)> {
        let (lon, lat) = xyz_to_lonlat(self.pixel_to_xyz(px, py)?);
        Some((lon.to_degrees(), lat.to_degrees()))
    }

    /// (lon, lat) in degrees, image frame → FITS pixel.
    pub fn world_to_pixel(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        self.xyz_to_pixel(lonlat_to_xyz(lon.to_radians(), lat.to_radians()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctype_parsing() {
        assert_eq!(
            split_ctype("RA---TAN-SIP"),
            ("RA".into(), "TAN".into(), "SIP".into())
        );
        assert_eq!(
            split_ctype("GLON-SIN"),
            ("GLON".into(), "SIN".into(), "".into())
        );
        assert_eq!(
            split_ctype("RA--TAN"),
            ("RA".into(), "TAN".into(), "".into())
        );
    }

    #[test]
    fn unusable_values_name_their_keyword() {
        let base = [
            ("CTYPE1", "RA---TAN"),
            ("CTYPE2", "DEC--TAN"),
            ("CDELT1", "-0.001"),
            ("CDELT2", "0.001"),
        ];
        let tpv = [
            ("CTYPE1", "RA---TPV"),
            ("CTYPE2", "DEC--TPV"),
            ("PV1_1", "1"),
        ];
        let tnx = [("CTYPE1", "RA---TNX"), ("CTYPE2", "DEC--TNX")];
        let dss = [
            ("PLTRAH", "10"),
            ("PLTDECD", "60"),
            ("PLTSCALE", "67.2"),
            ("XPIXELSZ", "25.3"),
            ("PPO3", "175000"),
            ("PPO6", "178000"),
        ];
        let with = |base: &[(&'static str, &'static str)],
                    extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            v
        };
        let distortion_cases = [
            (with(&tpv, &[("PV2_1", "1"), ("PV2_4", "0.1.2")]), "PV2_4"),
            (with(&tpv, &[]), "PV2_n"),
            (
                with(
                    &tnx,
                    &[("WAT1_001", "wtype=tnx lngcor = \"3 2 2 0 -1 1 -1 x 1 2 3\"")],
                ),
                "WAT1_nnn",
            ),
            (
                with(
                    &tnx,
                    &[("WAT2_001", "wtype=tnx latcor = \"3 2 2 0 -1 1 -1 1 1 2\"")],
                ),
                "WAT2_nnn",
            ),
            (
                with(
                    &tnx,
                    &[("WAT2_001", "wtype=tnx latcor = \"9 2 2 0 -1 1 -1 1 1 2 3")],
                ),
                "WAT2_nnn",
            ),
            (
                with(&tnx, &[("WAT1_001", "wtype=tnx projp1=abc")]),
                "WAT1_nnn",
            ),
            (with(&dss, &[("PLTDECSN", "x")]), "PLTDECSN"),
            (with(&dss, &[("AMDX3", "1e400")]), "AMDX3"),
            (with(&dss, &[("XPIXELSZ", "-2")]), "XPIXELSZ"),
            (dss[..5].to_vec(), "PPO6"),
        ];
        // PLTRAH left over beside a CTYPE WCS: the CTYPE WCS is read.
        let leftover = with(&base, &[("PLTRAH", "10")]);
        assert!(Wcs::from_header(&Header::from_pairs(leftover)).is_ok());
        for (pairs, keyword) in distortion_cases {
            match Wcs::from_header(&Header::from_pairs(pairs.clone())) {
                Err(WcsError::Invalid { keyword: k, .. }) => assert_eq!(k, keyword, "{pairs:?}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("CRVAL1", "12.5xx")], "CRVAL1"),
            (&[("CDELT1", "0")], "CDELT1"),
            (&[("CRPIX2", "1e20")], "CRPIX2"),
            (&[("LONPOLE", "NaN")], "LONPOLE"),
            (&[("CD1_1", "1e-3"), ("CD2_2", "1e-3xx")], "CD2_2"),
            (
                &[
                    ("CTYPE1", "RA---CEA"),
                    ("CTYPE2", "DEC--CEA"),
                    ("PV2_1", "nan"),
                ],
                "PV2_1",
            ),
            (
                &[
                    ("CTYPE1", "RA---CEA"),
                    ("CTYPE2", "DEC--CEA"),
                    ("PV2_1", "2"),
                ],
                "PV2_1",
            ),
            (&[("CTYPE1", "RA---ZPN"), ("CTYPE2", "DEC--ZPN")], "PV2_n"),
            (
                &[
                    ("CTYPE1", "RA---TAN-SIP"),
                    ("CTYPE2", "DEC--TAN-SIP"),
                    ("A_ORDER", "21"),
                    ("B_ORDER", "2"),
                ],
                "A_ORDER",
            ),
        ];
        for (extra, keyword) in cases {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            match Wcs::from_header(&Header::from_pairs(pairs)) {
                Err(WcsError::Invalid { keyword: k, .. }) => assert_eq!(k, keyword, "{extra:?}"),
                other => panic!("{extra:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn missing_wcs_is_explained() {
        let err = Wcs::from_header(&Header::from_pairs([("NAXIS", "2")])).unwrap_err();
        assert_eq!(err, WcsError::NoCelestialAxes("CTYPE1 missing".into()));
        let err = Wcs::from_header(&Header::from_pairs([
            ("CTYPE1", "RA---XYZ"),
            ("CTYPE2", "DEC--XYZ"),
        ]))
        .unwrap_err();
        assert_eq!(err.to_string(), "projection XYZ is not supported");
        for (crval2, bad) in [("123", true), ("NaN", true), ("-90", false)] {
            let r = Wcs::from_header(&Header::from_pairs([
                ("CTYPE1", "RA---TAN"),
                ("CTYPE2", "DEC--TAN"),
                ("CDELT1", "-0.001"),
                ("CDELT2", "0.001"),
                ("CRVAL2", crval2),
            ]));
            assert_eq!(
                matches!(&r, Err(WcsError::Invalid { keyword, .. }) if keyword == "CRVAL2"),
                bad,
                "CRVAL2 = {crval2}"
            );
        }
    }
}
