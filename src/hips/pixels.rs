//! Operations on tile pixel arrays in FITS storage layout (row-major, W × W): block reduction
//! (tree parents, Allsky thumbnails) and placing child quadrants in a parent.

/// How a block of pixels becomes one pixel. Blank (NaN) pixels are ignored; an all-blank
/// block stays blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Reducer {
    /// Mean of the non-blank pixels.
    #[default]
    Mean,
    /// Median of the non-blank pixels.
    Median,
    /// The first non-blank pixel in storage order.
    First,
}

impl Reducer {
    fn reduce(self, values: &mut [f32]) -> f32 {
        if values.is_empty() {
            return f32::NAN;
        }
        match self {
            Reducer::Mean => {
                (values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64) as f32
            }
            Reducer::First => values[0],
            Reducer::Median => {
                values.sort_by(|a, b| a.total_cmp(b));
                let n = values.len();
                if n % 2 == 1 {
                    values[n / 2]
                } else {
                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                }
            }
        }
    }
}

/// Shrinks a `width × width` array by `factor` (a divisor of width), block by block.
pub fn shrink(data: &[f32], width: usize, factor: usize, reducer: Reducer) -> Vec<f32> {
    let out_w = width / factor;
    let mut out = vec![f32::NAN; out_w * out_w];
    let mut block = Vec::with_capacity(factor * factor);
    for r in 0..out_w {
        for c in 0..out_w {
            block.clear();
            for dr in 0..factor {
                let row = &data[(r * factor + dr) * width + c * factor..][..factor];
                block.extend(row.iter().copied().filter(|v| !v.is_nan()));
            }
            out[r * out_w + c] = reducer.reduce(&mut block);
        }
    }
    out
}

/// Copies a `w × w` block into a `stride`-wide array with its first stored pixel at
/// (`row0`, `col0`).
pub fn paste(dest: &mut [f32], stride: usize, row0: usize, col0: usize, block: &[f32], w: usize) {
    for r in 0..w {
        dest[(row0 + r) * stride + col0..][..w].copy_from_slice(&block[r * w..][..w]);
    }
}

/// Storage position (first row, first column) of child `i` (0..4, its nested index modulo 4)
/// inside a parent tile of width `width`. The child's x offset is `(i & 1) * W/2`, its y
/// offset `(i >> 1) * W/2`; column = y and row = W − 1 − x put it here.
pub fn child_origin(i: usize, width: usize) -> (usize, usize) {
    let half = width / 2;
    let x0 = (i & 1) * half;
    let y0 = (i >> 1) * half;
    (half - x0, y0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hips::layout::{fits_index, split_subindex};

    #[test]
    fn reducers_ignore_blanks() {
        let nan = f32::NAN;
        let data = [
            1.0, nan, 3.0, 5.0, nan, nan, nan, nan, 2.0, 4.0, 6.0, nan, 8.0, 7.0, nan, 9.0,
        ];
        assert_eq!(
            shrink(&data, 4, 2, Reducer::Mean),
            vec![1.0, 4.0, 5.25, 7.5]
        );
        assert_eq!(
            shrink(&data, 4, 2, Reducer::Median),
            vec![1.0, 4.0, 5.5, 7.5]
        );
        assert!(shrink(&[nan; 4], 2, 2, Reducer::Mean)[0].is_nan());
        assert_eq!(shrink(&data, 4, 2, Reducer::First)[2], 2.0);
    }

    #[test]
    fn children_land_where_their_pixels_belong() {
        // Parent pixel (x, y) at width 8 covers child pixels of child i = (x >= 4) + 2 (y >= 4).
        let w = 8;
        for s in 0..(w * w) as u64 {
            let (x, y) = split_subindex(s);
            let (x, y) = (x as usize, y as usize);
            let child = (x / (w / 2)) | ((y / (w / 2)) << 1);
            let (row0, col0) = child_origin(child, w);
            let (cx, cy) = (x % (w / 2), y % (w / 2));
            // Inside the child's half-size array, stored position of (cx, cy):
            let within = fits_index(w / 2, cx, cy);
            let (r, c) = (within / (w / 2), within % (w / 2));
            assert_eq!((row0 + r) * w + col0 + c, fits_index(w, x, y));
        }
    }
}
