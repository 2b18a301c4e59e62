//! 8-bit tile images: the picture top-down (row 0 at the top, i.e. FITS storage row W−1),
//! encoded as PNG (grey + alpha: blank is transparent), JPEG (blank is black) or WebP
//! (lossless, grey + alpha).

use std::str::FromStr;

use super::tone::ToneMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewFormat {
    Png,
    Jpeg,
    Webp,
}

impl PreviewFormat {
    /// File extension, also the word in `hips_tile_format`.
    pub fn extension(self) -> &'static str {
        match self {
            PreviewFormat::Png => "png",
            PreviewFormat::Jpeg => "jpeg",
            PreviewFormat::Webp => "webp",
        }
    }
}

impl FromStr for PreviewFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "png" => Ok(PreviewFormat::Png),
            "jpeg" | "jpg" => Ok(PreviewFormat::Jpeg),
            "webp" => Ok(PreviewFormat::Webp),
            other => Err(format!(
                "unknown tile format {other:?} (fits, png, jpeg, webp)"
            )),
        }
    }
}

/// Grey levels and opacity of a FITS-layout array (`width` × `height`), flipped to top-down.
pub fn to_grey_alpha(
    data: &[f32],
    width: usize,
    height: usize,
    tone: &ToneMap,
) -> (Vec<u8>, Vec<u8>) {
    let mut grey = vec![0u8; width * height];
    let mut alpha = vec![0u8; width * height];
    for r in 0..height {
        let src = &data[(height - 1 - r) * width..][..width];
        for (c, &v) in src.iter().enumerate() {
            if let Some(g) = tone.grey(v) {
                grey[r * width + c] = g;
                alpha[r * width + c] = 255;
            }
        }
    }
    (grey, alpha)
}

/// Encodes a top-down grey/alpha picture.
pub fn encode(
    format: PreviewFormat,
    width: usize,
    height: usize,
    grey: &[u8],
    alpha: &[u8],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (w, h) = (width as u32, height as u32);
    match format {
        PreviewFormat::Jpeg => {
            let encoder = jpeg_encoder::Encoder::new(&mut out, 90);
            encoder
                .encode(grey, w as u16, h as u16, jpeg_encoder::ColorType::Luma)
                .map_err(|e| format!("JPEG: {e}"))?;
        }
        PreviewFormat::Png | PreviewFormat::Webp => {
            let interleaved: Vec<u8> = grey.iter().zip(alpha).flat_map(|(&g, &a)| [g, a]).collect();
            let cursor = std::io::Cursor::new(&mut out);
            let result = if format == PreviewFormat::Png {
                use image::ImageEncoder;
                image::codecs::png::PngEncoder::new_with_quality(
                    cursor,
                    image::codecs::png::CompressionType::Fast,
                    image::codecs::png::FilterType::Adaptive,
                )
                .write_image(&interleaved, w, h, image::ExtendedColorType::La8)
            } else {
                use image::ImageEncoder;
                image::codecs::webp::WebPEncoder::new_lossless(cursor).write_image(
                    &interleaved,
                    w,
                    h,
                    image::ExtendedColorType::La8,
                )
            };
            result.map_err(|e| format!("{}: {e}", format.extension()))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::tone::Stretch;

    #[test]
    fn picture_is_the_fits_array_flipped_and_png_round_trips() {
        // 2×2 FITS array: stored row 0 (bottom) = [0, 100], row 1 (top) = [NaN, 50].
        let data = [0.0, 100.0, f32::NAN, 50.0];
        let tone = ToneMap {
            low: 0.0,
            high: 100.0,
            stretch: Stretch::Linear,
        };
        let (grey, alpha) = to_grey_alpha(&data, 2, 2, &tone);
        assert_eq!(grey, vec![0, 128, 0, 255]);
        assert_eq!(alpha, vec![0, 255, 255, 255]);
        let png = encode(PreviewFormat::Png, 2, 2, &grey, &alpha).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma_alpha8();
        assert_eq!(img.get_pixel(1, 0).0, [128, 255]);
        assert_eq!(img.get_pixel(0, 0).0[1], 0, "blank is transparent");
        for f in [PreviewFormat::Jpeg, PreviewFormat::Webp] {
            assert!(!encode(f, 2, 2, &grey, &alpha).unwrap().is_empty());
        }
    }
}
