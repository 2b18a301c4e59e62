//! Celestial frames and the rotation between them.

/// The celestial frame of an image or of a HiPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Frame {
    /// ICRS (FK5 J2000 is treated as ICRS: they differ by tens of milliarcseconds).
    #[value(alias = "icrs")]
    Equatorial,
    /// Galactic (IAU 1958, as realised from ICRS by Hipparcos).
    Galactic,
}

impl Frame {
    /// The `hips_frame` word.
    pub fn hips_name(self) -> &'static str {
        match self {
            Frame::Equatorial => "equatorial",
            Frame::Galactic => "galactic",
        }
    }

    /// The Moc.fits COORDSYS letter.
    pub fn moc_coordsys(self) -> char {
        match self {
            Frame::Equatorial => 'C',
            Frame::Galactic => 'G',
        }
    }
}

/// ICRS unit vector → galactic unit vector (rows: galactic x, y, z), the Hipparcos
/// definition (ESA 1997, vol. 1, section 1.5.3), as used by astropy to mas level.
const ICRS_TO_GALACTIC: [[f64; 3]; 3] = [
    [
        -0.054_875_560_416_215_4,
        -0.873_437_090_234_885,
        -0.483_835_015_548_713_2,
    ],
    [
        0.494_109_427_875_583_7,
        -0.444_829_629_960_011_2,
        0.746_982_244_497_219,
    ],
    [
        -0.867_666_149_019_004_7,
        -0.198_076_373_431_201_5,
        0.455_983_776_175_066_9,
    ],
];

/// A rotation of unit vectors from one celestial frame to another; the identity (no arithmetic
/// at all) when the two frames are the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation(Option<[[f64; 3]; 3]>);

impl Rotation {
    /// No rotation.
    pub const IDENTITY: Rotation = Rotation(None);

    /// The rotation taking unit vectors of `from` to unit vectors of `to`.
    pub fn between(from: Frame, to: Frame) -> Rotation {
        match (from, to) {
            (Frame::Equatorial, Frame::Galactic) => Rotation(Some(ICRS_TO_GALACTIC)),
            (Frame::Galactic, Frame::Equatorial) => Rotation(Some(ICRS_TO_GALACTIC)).inverse(),
            _ => Rotation::IDENTITY,
        }
    }

    /// The opposite rotation (the transposed matrix).
    pub fn inverse(self) -> Rotation {
        Rotation(
            self.0
                .map(|m| std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))),
        )
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
        let g = Rotation::between(Frame::Equatorial, Frame::Galactic);
        let e = Rotation::between(Frame::Galactic, Frame::Equatorial);
        assert!(
            !g.is_identity() && Rotation::between(Frame::Galactic, Frame::Galactic).is_identity()
        );
        let v = lonlat_to_xyz(1.0, 0.3);
        let w = e.apply(g.apply(v));
        for i in 0..3 {
            assert!((v[i] - w[i]).abs() < 1e-14);
        }
    }
}
