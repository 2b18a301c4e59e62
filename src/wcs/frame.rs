//! Celestial frames and the changes between them.
//!
//! [`Frame`] is the frame of a HiPS (and of a cutout grid): ICRS, galactic or ecliptic.
//! [`HeaderFrame`] is the frame of an input header's axes, with its parameters (FK5 and FK4 at
//! any equinox, FK4's observation epoch, the ecliptic of an equinox), read from CTYPE, RADESYS,
//! EQUINOX and MJD-OBS/DATE-OBS as the FITS standard (WCS Paper II §3.1) says. Each is turned
//! into ICRS as astropy does: FK5 by IAU 2006 precession (astropy's `FK5`, ERFA `bp06`) and the
//! ICRS frame bias; FK4 by removing the E-terms of aberration, Newcomb precession to B1950 and
//! astropy's B1950 → J2000 matrix with its time correction; ecliptic by ERFA `ecm06` (astropy's
//! `BarycentricMeanEcliptic`).

use crate::fits::Header;
use crate::wcs::WcsError;

/// A 3×3 matrix acting on unit vectors (row-major).
type Matrix = [[f64; 3]; 3];

/// The celestial frame of a HiPS or of a cutout grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Frame {
    /// ICRS.
    #[value(alias = "icrs")]
    Equatorial,
    /// Galactic (IAU 1958, as realised from ICRS by Hipparcos).
    Galactic,
    /// Mean ecliptic and equinox of J2000 (IAU 2006, as astropy's `BarycentricMeanEcliptic`).
    Ecliptic,
}

impl Frame {
    /// The `hips_frame` word.
    pub fn hips_name(self) -> &'static str {
        match self {
            Frame::Equatorial => "equatorial",
            Frame::Galactic => "galactic",
            Frame::Ecliptic => "ecliptic",
        }
    }

    /// The frame a `hips_frame` word names.
    pub fn from_hips_name(name: &str) -> Option<Frame> {
        [Frame::Equatorial, Frame::Galactic, Frame::Ecliptic]
            .into_iter()
            .find(|f| f.hips_name() == name)
    }

    /// The CTYPE prefixes of its longitude and latitude axes, padded with `-` to 5 characters
    /// (the projection code follows).
    pub fn ctype_prefixes(self) -> (&'static str, &'static str) {
        match self {
            Frame::Equatorial => ("RA---", "DEC--"),
            Frame::Galactic => ("GLON-", "GLAT-"),
            Frame::Ecliptic => ("ELON-", "ELAT-"),
        }
    }

    /// The header frame that is this frame.
    pub fn header_frame(self) -> HeaderFrame {
        match self {
            Frame::Equatorial => HeaderFrame::Icrs,
            Frame::Galactic => HeaderFrame::Galactic,
            Frame::Ecliptic => HeaderFrame::Ecliptic { equinox: 2000.0 },
        }
    }
}

/// The celestial frame of a header's axes, with what it depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeaderFrame {
    /// ICRS (RADESYS = 'ICRS', or RA/DEC with neither RADESYS nor EQUINOX).
    Icrs,
    /// FK5, mean equator and equinox of `equinox` (a Julian epoch).
    Fk5 {
        /// Julian epoch of the equinox (EQUINOX, default 2000).
        equinox: f64,
    },
    /// FK4, mean equator and equinox of `equinox` (a Besselian epoch).
    Fk4 {
        /// Besselian epoch of the equinox (EQUINOX, default 1950).
        equinox: f64,
        /// Julian epoch of the observation (MJD-OBS or DATE-OBS, else the equinox): FK4
        /// rotates against the inertial frame.
        observed: f64,
        /// Whether positions include the E-terms of aberration (`FK4`; `FK4-NO-E` has none).
        e_terms: bool,
    },
    /// Galactic (GLON/GLAT).
    Galactic,
    /// Mean ecliptic and equinox of `equinox` (ELON/ELAT).
    Ecliptic {
        /// Julian epoch of the equinox (EQUINOX, default 2000).
        equinox: f64,
    },
    /// Supergalactic (SLON/SLAT; de Vaucouleurs, as astropy).
    Supergalactic,
}

/// Equinoxes and epochs (years) we accept: the precession series hold for a few millennia
/// around J2000; anything else is a broken header.
const YEARS: std::ops::RangeInclusive<f64> = 1000.0..=3000.0;

/// The year in `key` (a number, or `J2000`/`B1950` text): `None` when the card is absent.
fn year(h: &Header, key: &str) -> Result<Option<f64>, WcsError> {
    let Some(raw) = h.get(key) else {
        return Ok(None);
    };
    match crate::fits::header::parse_number(raw.trim().trim_start_matches(['J', 'B', 'j', 'b'])) {
        Some(y) if YEARS.contains(&y) => Ok(Some(y)),
        _ => Err(WcsError::invalid(
            key,
            format!(
                "'{raw}' is not a year in {}..{}",
                YEARS.start(),
                YEARS.end()
            ),
        )),
    }
}

/// The reference system of RADESYS (or the old RADECSYS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReferenceSystem {
    Icrs,
    Fk5,
    Fk4,
    Fk4NoE,
}

/// RADESYS (or RADECSYS; `None` when absent or blank) and EQUINOX (or EPOCH).
fn reference_system(h: &Header) -> Result<(Option<ReferenceSystem>, Option<f64>), WcsError> {
    let equinox = match year(h, "EQUINOX")? {
        Some(e) => Some(e),
        None => year(h, "EPOCH")?,
    };
    let (key, word) = match (h.get("RADESYS"), h.get("RADECSYS")) {
        (Some(w), _) => ("RADESYS", w),
        (None, Some(w)) => ("RADECSYS", w),
        (None, None) => ("RADESYS", ""),
    };
    let system = match word.trim().to_ascii_uppercase().as_str() {
        "" => None,
        "ICRS" => Some(ReferenceSystem::Icrs),
        "FK5" => Some(ReferenceSystem::Fk5),
        "FK4" => Some(ReferenceSystem::Fk4),
        "FK4-NO-E" => Some(ReferenceSystem::Fk4NoE),
        "GAPPT" => {
            return Err(WcsError::Unsupported(
                "geocentric apparent places (RADESYS = 'GAPPT')".into(),
            ))
        }
        other => {
            return Err(WcsError::invalid(
                key,
                format!("'{other}' is none of ICRS, FK5, FK4, FK4-NO-E, GAPPT"),
            ))
        }
    };
    Ok((system, equinox))
}

/// Julian epoch of the observation: MJD-OBS, else DATE-OBS; `None` when neither is given.
fn observation_epoch(h: &Header) -> Result<Option<f64>, WcsError> {
    let mjd =
        match crate::wcs::number(h, "MJD-OBS")? {
            Some(m) => Some(m),
            None => match h.get("DATE-OBS") {
                None => None,
                Some(raw) => Some(crate::fits::date_to_mjd(raw).ok_or_else(|| {
                    WcsError::invalid("DATE-OBS", format!("'{raw}' is not a date"))
                })?),
            },
        };
    let epoch = mjd.map(|m| 2000.0 + (m - MJD_J2000) / 365.25);
    match epoch {
        Some(e) if !YEARS.contains(&e) => Err(WcsError::invalid(
            "MJD-OBS/DATE-OBS",
            format!("epoch {e} is not in {}..{}", YEARS.start(), YEARS.end()),
        )),
        _ => Ok(epoch),
    }
}

impl HeaderFrame {
    /// The frame of a header whose CTYPE1/CTYPE2 start with `lon`/`lat` (`RA`/`DEC`,
    /// `GLON`/`GLAT`, `ELON`/`ELAT`, `SLON`/`SLAT`); `Ok(None)` when that is no celestial pair.
    pub fn from_header(h: &Header, lon: &str, lat: &str) -> Result<Option<HeaderFrame>, WcsError> {
        let frame = match (lon, lat) {
            ("RA", "DEC") => {
                let (system, equinox) = reference_system(h)?;
                // The FITS standard's default: ICRS without equinox, FK4 before 1984, FK5 after.
                let system = system.unwrap_or(match equinox {
                    None => ReferenceSystem::Icrs,
                    Some(e) if e < 1984.0 => ReferenceSystem::Fk4,
                    Some(_) => ReferenceSystem::Fk5,
                });
                match system {
                    ReferenceSystem::Icrs => HeaderFrame::Icrs,
                    ReferenceSystem::Fk5 => HeaderFrame::Fk5 {
                        equinox: equinox.unwrap_or(2000.0),
                    },
                    ReferenceSystem::Fk4 | ReferenceSystem::Fk4NoE => {
                        let equinox = equinox.unwrap_or(1950.0);
                        HeaderFrame::Fk4 {
                            equinox,
                            observed: observation_epoch(h)?
                                .unwrap_or_else(|| julian_epoch(besselian_to_jd(equinox))),
                            e_terms: system == ReferenceSystem::Fk4,
                        }
                    }
                }
            }
            ("ELON", "ELAT") => {
                // The ecliptic of EQUINOX in the modern (IAU 2006) sense unless RADESYS says
                // FK4 explicitly (astropy has no FK4 ecliptic to check one against).
                let (system, equinox) = reference_system(h)?;
                if matches!(system, Some(ReferenceSystem::Fk4 | ReferenceSystem::Fk4NoE)) {
                    return Err(WcsError::Unsupported("FK4 ecliptic coordinates".into()));
                }
                HeaderFrame::Ecliptic {
                    equinox: equinox.unwrap_or(2000.0),
                }
            }
            ("GLON", "GLAT") => HeaderFrame::Galactic,
            ("SLON", "SLAT") => HeaderFrame::Supergalactic,
            _ => return Ok(None),
        };
        Ok(Some(frame))
    }

    /// Unit vectors of this frame (E-terms removed, for FK4) → ICRS.
    fn to_icrs(self) -> Matrix {
        match self {
            HeaderFrame::Icrs => IDENTITY,
            HeaderFrame::Fk5 { equinox } => fk5_to_icrs(equinox),
            HeaderFrame::Fk4 {
                equinox, observed, ..
            } => fk4_to_icrs(equinox, observed),
            HeaderFrame::Galactic => transpose(&icrs_to_galactic()),
            HeaderFrame::Ecliptic { equinox } => transpose(&icrs_to_ecliptic(equinox)),
            HeaderFrame::Supergalactic => {
                let (l, b) = SUPERGALACTIC_POLE;
                let galactic_to_supergalactic =
                    pole_rotation(l.to_radians(), b.to_radians(), 90f64.to_radians());
                transpose(&product(&galactic_to_supergalactic, &icrs_to_galactic()))
            }
        }
    }

    /// The E-terms of aberration vector FK4 positions contain, if any.
    fn e_terms(self) -> Option<[f64; 3]> {
        match self {
            HeaderFrame::Fk4 {
                equinox,
                e_terms: true,
                ..
            } => Some(e_terms_vector(besselian_to_jd(equinox))),
            _ => None,
        }
    }

    /// The change of unit vectors from this frame to `to`.
    pub fn change_to(self, to: Frame) -> FrameChange {
        let rotation = if self == to.header_frame() {
            Rotation::IDENTITY
        } else {
            Rotation(Some(product(
                &to.header_frame().icrs_to_this(),
                &self.to_icrs(),
            )))
        };
        FrameChange {
            forward: rotation,
            backward: rotation.inverse(),
            e_terms: self.e_terms(),
        }
    }

    /// ICRS → this frame.
    fn icrs_to_this(self) -> Matrix {
        transpose(&self.to_icrs())
    }
}

/// A change of frame of unit vectors: the E-terms of aberration removed (FK4 only), then a
/// rotation; the identity costs nothing, a rotation only its matrix product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameChange {
    forward: Rotation,
    backward: Rotation,
    e_terms: Option<[f64; 3]>,
}

impl FrameChange {
    /// Source frame → target frame.
    #[inline]
    pub fn apply(&self, v: [f64; 3]) -> [f64; 3] {
        match self.e_terms {
            None => self.forward.apply(v),
            Some(a) => self.forward.apply(remove_e_terms(v, a)),
        }
    }

    /// Target frame → source frame.
    #[inline]
    pub fn invert(&self, v: [f64; 3]) -> [f64; 3] {
        let v = self.backward.apply(v);
        match self.e_terms {
            None => v,
            Some(a) => add_e_terms(v, a),
        }
    }

    /// Whether this change leaves every vector as it is.
    pub fn is_identity(&self) -> bool {
        self.forward.is_identity() && self.e_terms.is_none()
    }
}

/// A rotation of unit vectors from one celestial frame to another; the identity (no arithmetic
/// at all) when the two frames are the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation(Option<Matrix>);

impl Rotation {
    /// No rotation.
    pub const IDENTITY: Rotation = Rotation(None);

    /// The rotation taking unit vectors of `from` to unit vectors of `to`.
    pub fn between(from: Frame, to: Frame) -> Rotation {
        // HiPS frames have no E-terms: the change is the rotation alone.
        from.header_frame().change_to(to).forward
    }

    /// The opposite rotation (the transposed matrix).
    pub fn inverse(self) -> Rotation {
        Rotation(self.0.map(|m| transpose(&m)))
    }

    /// Whether this rotation leaves every vector as it is.
    pub fn is_identity(&self) -> bool {
        self.0.is_none()
    }

    /// The rotated vector.
    #[inline]
    pub fn apply(&self, v: [f64; 3]) -> [f64; 3] {
        match &self.0 {
            None => v,
            Some(m) => [
                m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
                m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
                m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
            ],
        }
    }

    /// (lon, lat) in radians, rotated.
    pub fn apply_lonlat(&self, lon: f64, lat: f64) -> (f64, f64) {
        xyz_to_lonlat(self.apply(lonlat_to_xyz(lon, lat)))
    }
}

/// Longitude, latitude (radians) → unit vector.
#[inline]
pub fn lonlat_to_xyz(lon: f64, lat: f64) -> [f64; 3] {
    let (sl, cl) = lon.sin_cos();
    let (sb, cb) = lat.sin_cos();
    [cb * cl, cb * sl, sb]
}

/// Unit vector → longitude in [0, 2π), latitude (radians).
#[inline]
pub fn xyz_to_lonlat(v: [f64; 3]) -> (f64, f64) {
    let mut lon = v[1].atan2(v[0]);
    if lon < 0.0 {
        lon += std::f64::consts::TAU;
    }
    (lon, v[2].atan2(v[0].hypot(v[1])))
}

// ---------------------------------------------------------------------------------------------
// The transformations' ingredients, as astropy 8 / ERFA compute them.

const IDENTITY: Matrix = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Arcseconds → radians.
const ARCSEC: f64 = std::f64::consts::PI / (180.0 * 3600.0);

/// MJD of J2000.0 (TT).
const MJD_J2000: f64 = 51544.5;

/// JD of J2000.0 (TT).
const JD_J2000: f64 = 2_451_545.0;

/// The north galactic pole in FK5 J2000 (RA, Dec) and the galactic longitude of the north
/// celestial pole, degrees (astropy's `Galactic._ngp_J2000`, `_lon0_J2000`). Astropy reaches
/// galactic from ICRS through FK5 J2000, frame bias included: that differs by 25 mas from the
/// Hipparcos ICRS → galactic matrix (ESA 1997), which treats ICRS as FK5.
const GALACTIC_POLE_J2000: (f64, f64, f64) = (
    192.859_481_206_534_8,
    27.128_251_180_856_22,
    122.931_918_568_002_6,
);

/// The north supergalactic pole in galactic (l, b), degrees (astropy's `Supergalactic`).
const SUPERGALACTIC_POLE: (f64, f64) = (47.37, 6.32);

/// FK4 (no E-terms, B1950, at epoch B1950) → FK5 J2000: astropy's `_B1950_TO_J2000_M`
/// (Standish 1982, Murray 1989).
const B1950_TO_J2000: Matrix = [
    [
        0.999_925_679_495_687_7,
        -0.011_181_483_220_466_2,
        -0.004_859_003_815_359_2,
    ],
    [
        0.011_181_483_239_171_7,
        0.999_937_484_893_313_5,
        -0.000_027_162_594_714_2,
    ],
    [
        0.004_859_003_772_314_3,
        -0.000_027_170_293_744,
        0.999_988_194_602_374_2,
    ],
];

/// The rotation of FK4 against FK5 per Julian century from 1950, in units of 1e-6 (astropy's
/// `_FK4_CORR`, Murray 1989 eq. 29).
const FK4_ROTATION: Matrix = [
    [-0.002_645_526_2, -1.153_991_868_9, 2.111_134_619],
    [1.154_062_816_1, -0.012_904_299_7, 0.023_602_147_8],
    [-2.111_297_904_8, -0.005_602_444_8, 0.010_258_773_4],
];

/// The rotation about axis `axis` (0 = x, 1 = y, 2 = z) by `angle` radians, of the frame (as
/// ERFA's `eraRx/Ry/Rz` and astropy's `rotation_matrix`).
fn rotation(axis: usize, angle: f64) -> Matrix {
    let (s, c) = angle.sin_cos();
    let (j, k) = ((axis + 1) % 3, (axis + 2) % 3);
    let mut m = [[0.0; 3]; 3];
    m[axis][axis] = 1.0;
    m[j][j] = c;
    m[k][k] = c;
    m[j][k] = s;
    m[k][j] = -s;
    m
}

fn product(a: &Matrix, b: &Matrix) -> Matrix {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn transpose(m: &Matrix) -> Matrix {
    std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))
}

/// A polynomial in `t` with coefficients from degree 0 up.
fn polynomial(coefficients: &[f64], t: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, c| acc * t + c)
}

/// Julian centuries of TT since J2000 of a Julian epoch.
fn centuries_since_j2000(julian_epoch: f64) -> f64 {
    (julian_epoch - 2000.0) / 100.0
}

/// JD (TT) of a Besselian epoch (ERFA `epb2jd`).
fn besselian_to_jd(besselian: f64) -> f64 {
    2_400_000.5 + 15_019.813_52 + (besselian - 1900.0) * 365.242_198_781
}

/// Julian epoch of a JD (ERFA `epj`).
fn julian_epoch(jd: f64) -> f64 {
    2000.0 + (jd - JD_J2000) / 365.25
}

/// Mean obliquity of the ecliptic, IAU 2006 (ERFA `obl06`), radians.
fn obliquity_2006(t: f64) -> f64 {
    polynomial(
        &[
            84381.406,
            -46.836769,
            -0.0001831,
            0.00200340,
            -0.000000576,
            -0.0000000434,
        ],
        t,
    ) * ARCSEC
}

/// Bias-precession matrix, IAU 2006, GCRS → mean of date (ERFA `pmat06`: Fukushima-Williams
/// angles `pfw06` through `fw2m`).
fn bias_precession_2006(t: f64) -> Matrix {
    let gamma = polynomial(
        &[
            -0.052928,
            10.556378,
            0.4932044,
            -0.00031238,
            -0.000002788,
            0.0000000260,
        ],
        t,
    ) * ARCSEC;
    let phi = polynomial(
        &[
            84381.412819,
            -46.811016,
            0.0511268,
            0.00053289,
            -0.000000440,
            -0.0000000176,
        ],
        t,
    ) * ARCSEC;
    let psi = polynomial(
        &[
            -0.041775,
            5038.481484,
            1.5584175,
            -0.00018522,
            -0.000026452,
            -0.0000000148,
        ],
        t,
    ) * ARCSEC;
    let m = product(&rotation(0, phi), &rotation(2, gamma));
    let m = product(&rotation(2, -psi), &m);
    product(&rotation(0, -obliquity_2006(t)), &m)
}

/// Precession matrix without bias, IAU 2006, mean J2000 → mean of date (ERFA `bp06`'s `rp`).
fn precession_2006(julian_epoch: f64) -> Matrix {
    let bias = bias_precession_2006(0.0);
    product(
        &bias_precession_2006(centuries_since_j2000(julian_epoch)),
        &transpose(&bias),
    )
}

/// ICRS → FK5 J2000: the frame bias of astropy (USNO circular 179).
fn icrs_to_fk5_j2000() -> Matrix {
    let mas = ARCSEC / 1000.0;
    let (eta0, xi0, da0) = (-19.9 * mas, 9.1 * mas, -22.9 * mas);
    product(
        &product(&rotation(0, -eta0), &rotation(1, xi0)),
        &rotation(2, da0),
    )
}

/// FK5 of `equinox` (Julian) → ICRS (astropy's `fk5_to_icrs`).
fn fk5_to_icrs(equinox: f64) -> Matrix {
    let to_j2000 = product(
        &precession_2006(2000.0),
        &transpose(&precession_2006(equinox)),
    );
    product(&transpose(&icrs_to_fk5_j2000()), &to_j2000)
}

/// ICRS → mean ecliptic and equinox of `equinox` (Julian; ERFA `ecm06`).
fn icrs_to_ecliptic(equinox: f64) -> Matrix {
    let t = centuries_since_j2000(equinox);
    product(&rotation(0, obliquity_2006(t)), &bias_precession_2006(t))
}

/// The rotation into a frame whose north pole is at (`lon`, `lat`) and where the old pole has
/// longitude `pole_lon` (radians), as astropy builds galactic and supergalactic.
fn pole_rotation(lon: f64, lat: f64, pole_lon: f64) -> Matrix {
    use std::f64::consts::{FRAC_PI_2, PI};
    product(
        &product(&rotation(2, PI - pole_lon), &rotation(1, FRAC_PI_2 - lat)),
        &rotation(2, lon),
    )
}

/// ICRS → galactic (astropy's ICRS → FK5 J2000 → galactic).
fn icrs_to_galactic() -> Matrix {
    let (ra, dec, lon0) = GALACTIC_POLE_J2000;
    product(
        &pole_rotation(ra.to_radians(), dec.to_radians(), lon0.to_radians()),
        &icrs_to_fk5_j2000(),
    )
}

/// FK4 (no E-terms) precession between Besselian equinoxes, Newcomb (astropy's
/// `FK4NoETerms._precession_matrix`).
fn newcomb_precession(from: f64, to: f64) -> Matrix {
    let t1 = (from - 1850.0) / 1000.0;
    let dt = (to - 1850.0) / 1000.0 - t1;
    let zeta1 = (0.060 * t1 + 139.720) * t1 + 23035.545;
    let zeta = ((17.995 * dt + (-0.27 * t1 + 30.240)) * dt + zeta1) * dt * ARCSEC;
    let z = ((18.325 * dt + (109.480 + 0.39 * t1)) * dt + zeta1) * dt * ARCSEC;
    let theta1 = (-0.37 * t1 - 85.29) * t1 + 20051.12;
    let theta = ((-41.8 * dt + (-0.37 * t1 - 42.65)) * dt + theta1) * dt * ARCSEC;
    product(
        &product(&rotation(2, -z), &rotation(1, theta)),
        &rotation(2, -zeta),
    )
}

/// FK4 without E-terms, of `equinox` (Besselian) observed at `observed` (Julian epoch) → ICRS
/// (astropy's `fk4_no_e_to_fk5` then `fk5_to_icrs`).
fn fk4_to_icrs(equinox: f64, observed: f64) -> Matrix {
    let t = (observed - 1950.0) / 100.0;
    let b1950_to_j2000: Matrix = std::array::from_fn(|i| {
        std::array::from_fn(|j| B1950_TO_J2000[i][j] + FK4_ROTATION[i][j] * 1e-6 * t)
    });
    product(
        &product(&fk5_to_icrs(2000.0), &b1950_to_j2000),
        &newcomb_precession(equinox, 1950.0),
    )
}

/// The E-terms of aberration vector of an FK4 equinox given as JD (astropy's `fk4_e_terms`,
/// Explanatory Supplement 1992).
fn e_terms_vector(jd: f64) -> [f64; 3] {
    let k = 0.005_693_2_f64.to_radians();
    let t = (jd - besselian_to_jd(1950.0)) / 36525.0;
    let ek = k * polynomial(&[0.016_730_11, -0.000_041_93, -0.000_000_126], t);
    let g = polynomial(&[1_015_489.951, 6190.67, 1.65, 0.012], t) * ARCSEC;
    // Mean obliquity IAU 1980 (ERFA `obl80`).
    let o = polynomial(
        &[84381.448, -46.8150, -0.00059, 0.001813],
        (jd - JD_J2000) / 36525.0,
    ) * ARCSEC;
    let (sg, cg) = g.sin_cos();
    [ek * sg, -ek * cg * o.cos(), -ek * cg * o.sin()]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalised(v: [f64; 3]) -> [f64; 3] {
    let n = dot(v, v).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

/// FK4 position → the same without the E-terms `a` (astropy's `fk4_to_fk4_no_e`).
#[inline]
fn remove_e_terms(v: [f64; 3], a: [f64; 3]) -> [f64; 3] {
    let av = dot(a, v);
    normalised(std::array::from_fn(|i| v[i] - a[i] + av * v[i]))
}

/// Inverse of [`remove_e_terms`] (astropy's `fk4_no_e_to_fk4`): a fixed-point iteration that
/// gains a factor |a| ≈ 1.6e-6 per step, so three steps reach rounding.
#[inline]
fn add_e_terms(v: [f64; 3], a: [f64; 3]) -> [f64; 3] {
    let mut r = v;
    for _ in 0..3 {
        let scale = 1.0 / (1.0 + dot(a, r));
        r = std::array::from_fn(|i| (a[i] + v[i]) * scale);
    }
    normalised(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_galactic(ra: f64, dec: f64) -> (f64, f64) {
        let (l, b) = Rotation::between(Frame::Equatorial, Frame::Galactic)
            .apply_lonlat(ra.to_radians(), dec.to_radians());
        (l.to_degrees(), b.to_degrees())
    }

    #[test]
    fn known_galactic_points() {
        // The galactic centre: ICRS (266.40498829, -28.93617776) is (l, b) = (0, 0).
        let (l, b) = to_galactic(266.40498829, -28.93617776);
        let l = if l > 180.0 { l - 360.0 } else { l };
        assert!(l.abs() < 2e-4 && b.abs() < 2e-4, "{l} {b}");
        // The north galactic pole (ICRS 192.85948, 27.12825) has b = 90.
        let (_, b) = to_galactic(192.85948, 27.12825);
        assert!((b - 90.0).abs() < 1e-4, "{b}");
    }

    #[test]
    fn rotations_are_inverse() {
        let frames = [Frame::Equatorial, Frame::Galactic, Frame::Ecliptic];
        for from in frames {
            for to in frames {
                let there = Rotation::between(from, to);
                assert_eq!(there.is_identity(), from == to, "{from:?} → {to:?}");
                let back = Rotation::between(to, from);
                let v = lonlat_to_xyz(1.0, 0.3);
                let w = back.apply(there.apply(v));
                for i in 0..3 {
                    assert!((v[i] - w[i]).abs() < 1e-14, "{from:?} → {to:?}");
                }
            }
        }
    }

    fn frame_of(ctype: (&str, &str), cards: &[(&str, &str)]) -> Result<HeaderFrame, WcsError> {
        HeaderFrame::from_header(&Header::from_pairs(cards.iter().copied()), ctype.0, ctype.1)
            .map(|f| f.expect("a celestial pair"))
    }

    #[test]
    fn fits_defaults_for_radesys_and_equinox() {
        let radec = ("RA", "DEC");
        let b1950 = julian_epoch(besselian_to_jd(1950.0));
        let fk4 = |equinox: f64, observed: f64, e_terms: bool| HeaderFrame::Fk4 {
            equinox,
            observed,
            e_terms,
        };
        let table: [(&[(&str, &str)], HeaderFrame); 12] = [
            (&[], HeaderFrame::Icrs),
            (&[("EQUINOX", "1950")], fk4(1950.0, b1950, true)),
            (&[("EPOCH", "1950.0")], fk4(1950.0, b1950, true)),
            (
                &[("EQUINOX", "1983.9")],
                fk4(1983.9, julian_epoch(besselian_to_jd(1983.9)), true),
            ),
            (&[("EQUINOX", "1984")], HeaderFrame::Fk5 { equinox: 1984.0 }),
            (
                &[("EQUINOX", "2000"), ("EPOCH", "1987.05")],
                HeaderFrame::Fk5 { equinox: 2000.0 },
            ),
            (&[("RADESYS", "FK5")], HeaderFrame::Fk5 { equinox: 2000.0 }),
            (&[("RADESYS", "FK4")], fk4(1950.0, b1950, true)),
            (&[("RADECSYS", "fk4-no-e ")], fk4(1950.0, b1950, false)),
            (
                &[("RADESYS", "ICRS"), ("EQUINOX", "1950")],
                HeaderFrame::Icrs,
            ),
            (
                &[("RADESYS", "FK4"), ("MJD-OBS", "51544.5")],
                fk4(1950.0, 2000.0, true),
            ),
            (
                &[("EQUINOX", "J2000")],
                HeaderFrame::Fk5 { equinox: 2000.0 },
            ),
        ];
        for (cards, expected) in table {
            assert_eq!(frame_of(radec, cards), Ok(expected), "{cards:?}");
        }
        assert_eq!(
            frame_of(("GLON", "GLAT"), &[("RADESYS", "FK4")]),
            Ok(HeaderFrame::Galactic)
        );
        assert_eq!(
            frame_of(("ELON", "ELAT"), &[("EQUINOX", "1975")]),
            Ok(HeaderFrame::Ecliptic { equinox: 1975.0 })
        );
        assert_eq!(
            frame_of(("SLON", "SLAT"), &[]),
            Ok(HeaderFrame::Supergalactic)
        );
        let none = HeaderFrame::from_header(&Header::default(), "RA", "GLAT");
        assert_eq!(none, Ok(None));
    }

    #[test]
    fn bad_frame_cards_are_refused_by_name() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("RADESYS", "FK6")], "RADESYS"),
            (&[("RADECSYS", "J2000")], "RADECSYS"),
            (&[("EQUINOX", "NaN")], "EQUINOX"),
            (&[("EPOCH", "-1e308")], "EPOCH"),
            (&[("RADESYS", "FK4"), ("DATE-OBS", "yesterday")], "DATE-OBS"),
            (
                &[("EQUINOX", "1950"), ("MJD-OBS", "1e9")],
                "MJD-OBS/DATE-OBS",
            ),
        ];
        for (cards, keyword) in cases {
            match frame_of(("RA", "DEC"), cards) {
                Err(WcsError::Invalid { keyword: k, .. }) => assert_eq!(k, keyword, "{cards:?}"),
                other => panic!("{cards:?}: {other:?}"),
            }
        }
        for (ctype, cards) in [
            (("RA", "DEC"), [("RADESYS", "GAPPT")]),
            (("ELON", "ELAT"), [("RADESYS", "FK4")]),
        ] {
            assert!(
                matches!(frame_of(ctype, &cards), Err(WcsError::Unsupported(_))),
                "{ctype:?} {cards:?}"
            );
        }
    }

    #[test]
    fn e_terms_come_off_and_back() {
        let a = e_terms_vector(besselian_to_jd(1950.0));
        // The E-terms displace positions by up to 0.343″ (|a| in radians).
        let size = dot(a, a).sqrt() / ARCSEC;
        assert!((0.34..0.35).contains(&size), "{size}″");
        for (lon, lat) in [(0.0, 0.0), (1.0, 0.5), (4.0, -1.5), (2.0, 1.5)] {
            let v = lonlat_to_xyz(lon, lat);
            let w = add_e_terms(remove_e_terms(v, a), a);
            for i in 0..3 {
                assert!((v[i] - w[i]).abs() < 1e-15, "({lon}, {lat})");
            }
        }
        let fk4 = HeaderFrame::Fk4 {
            equinox: 1950.0,
            observed: 1950.0,
            e_terms: true,
        }
        .change_to(Frame::Equatorial);
        assert!(!fk4.is_identity() && HeaderFrame::Icrs.change_to(Frame::Equatorial).is_identity());
    }
}
