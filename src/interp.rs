//! Interpolation pieces shared by the builder, the cutouts and the HiPS reader.
//!
//! Both the builder and the cutouts map an output raster onto another plane (HiPS pixel →
//! source pixel, cutout pixel → position in a tile) through an expensive exact transform.
//! Speed by design: the transform runs only at the corners of blocks of [`BLOCK`]² output
//! pixels, and a [`Quad`] interpolates inside a block once the interpolation has been checked
//! against the exact transform at the block's centre to [`MAX_BLOCK_ERROR`]. Blocks that fail
//! (projection edges, frame seams, tile edges) are done exactly, pixel by pixel.

/// Output pixels per block side between exact transforms.
pub const BLOCK: usize = 16;
/// Largest tolerated distance (in target-plane pixels) between the interpolated and the exact
/// position at a block's centre.
pub const MAX_BLOCK_ERROR: f64 = 0.01;

/// A 2-D map known at the four corners of a block — (0, 0), (1, 0), (0, 1), (1, 1) in block
/// units, in that order — and interpolated bilinearly inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad {
    corners: [(f64, f64); 4],
}

impl Quad {
    /// The map from its corner values, or `None` when one corner has none.
    pub fn from_corners(corners: [Option<(f64, f64)>; 4]) -> Option<Quad> {
        Some(Quad {
            corners: [corners[0]?, corners[1]?, corners[2]?, corners[3]?],
        })
    }

    /// The interpolated value at block fractions (s, t) ∈ [0, 1]².
    #[inline]
    pub fn at(&self, s: f64, t: f64) -> (f64, f64) {
        let c = &self.corners;
        let lerp = |a: f64, b: f64, f: f64| a + (b - a) * f;
        (
            lerp(lerp(c[0].0, c[1].0, s), lerp(c[2].0, c[3].0, s), t),
            lerp(lerp(c[0].1, c[1].1, s), lerp(c[2].1, c[3].1, s), t),
        )
    }

    /// Whether the interpolation at the block's centre lies within [`MAX_BLOCK_ERROR`] of the
    /// exact value there (`None`: the exact transform does not reach it).
    pub fn matches_centre(&self, exact: Option<(f64, f64)>) -> bool {
        let (mx, my) = self.at(0.5, 0.5);
        exact.is_some_and(|(ex, ey)| (mx - ex).hypot(my - ey) <= MAX_BLOCK_ERROR)
    }

    /// (min x, max x, min y, max y) of the corners.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        self.corners.iter().fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, d), p| (a.min(p.0), b.max(p.0), c.min(p.1), d.max(p.1)),
        )
    }

    /// Whether every corner satisfies `f`.
    pub fn all_corners(&self, f: impl Fn((f64, f64)) -> bool) -> bool {
        self.corners.iter().all(|&p| f(p))
    }
}

/// The four neighbours (dx, dy) of a point at fractional offsets (tx, ty) from the lower one,
/// with their bilinear weights.
#[inline]
pub fn bilinear_weights(tx: f64, ty: f64) -> [(usize, usize, f64); 4] {
    [
        (0, 0, (1.0 - tx) * (1.0 - ty)),
        (1, 0, tx * (1.0 - ty)),
        (0, 1, (1.0 - tx) * ty),
        (1, 1, tx * ty),
    ]
}

/// Weighted mean of (value, weight) pairs leaving out blank (NaN) values and zero weights, the
/// remaining weights renormalised; `None` when nothing is left.
#[inline]
pub fn weighted_mean_of_valid(pairs: impl IntoIterator<Item = (f32, f64)>) -> Option<f32> {
    let (mut sum, mut wsum) = (0.0f64, 0.0f64);
    for (v, w) in pairs {
        if !v.is_nan() && w > 0.0 {
            sum += w * v as f64;
            wsum += w;
        }
    }
    (wsum > 0.0).then(|| (sum / wsum) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quads_interpolate_between_their_corners() {
        let q = Quad::from_corners([
            Some((0.0, 0.0)),
            Some((16.0, 0.0)),
            Some((0.0, 8.0)),
            Some((16.0, 8.0)),
        ])
        .unwrap();
        assert_eq!(q.at(0.25, 0.5), (4.0, 4.0));
        assert!(q.matches_centre(Some((8.0, 4.005))));
        assert!(!q.matches_centre(Some((8.0, 4.02))) && !q.matches_centre(None));
        assert_eq!(q.bounds(), (0.0, 16.0, 0.0, 8.0));
        assert!(Quad::from_corners([None, Some((0.0, 0.0)), None, None]).is_none());
    }

    #[test]
    fn blanks_are_left_out() {
        let w = bilinear_weights(0.25, 0.5);
        assert!((w.iter().map(|p| p.2).sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(weighted_mean_of_valid([(1.0, 0.5), (3.0, 0.5)]), Some(2.0));
        assert_eq!(
            weighted_mean_of_valid([(1.0, 0.25), (f32::NAN, 0.75)]),
            Some(1.0)
        );
        assert_eq!(weighted_mean_of_valid([(f32::NAN, 1.0)]), None);
    }
}
