//! Interpolation pieces shared by the builder, the cutouts and the HiPS reader.

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
