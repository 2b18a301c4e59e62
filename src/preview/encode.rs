//! 8-bit tile images: the picture top-down (row 0 at the top, i.e. FITS storage row W−1),
//! encoded as PNG (grey + alpha: blank is transparent), JPEG (blank is black) or WebP
//! (lossless, grey + alpha).

use std::str::FromStr;

use super::tone::ToneMap;

/// An 8-bit tile format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewFormat {
    /// PNG, grey + alpha (blank transparent).
    Png,
    /// JPEG, grey (blank black).
    Jpeg,
    /// WebP, lossless, grey + alpha.
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

/// The 8-bit formats named in a comma-separated list such as `fits,png,jpeg` (`fits`, always
/// written, is accepted and left out; repeats count once).
pub fn parse_formats(list: &str) -> Result<Vec<PreviewFormat>, String> {
    let mut formats = Vec::new();
    for word in list
        .split(',')
        .map(str::trim)
        .filter(|w| *w != "fits" && !w.is_empty())
    {
        let f: PreviewFormat = word.parse().map_err(|e| format!("{word}: {e}"))?;
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    Ok(formats)
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

/// Channel layout of a [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Grey level and opacity.
    GreyAlpha,
    /// Red, green, blue and opacity.
    Rgba,
}

impl Channels {
    fn count(self) -> usize {
        match self {
            Channels::GreyAlpha => 2,
            Channels::Rgba => 4,
        }
    }
}

/// A top-down 8-bit picture, channels interleaved, the last channel being opacity.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// How each pixel's bytes are laid out.
    pub channels: Channels,
    /// Pixel bytes, rows top-down, channels interleaved.
    pub data: Vec<u8>,
}

impl Picture {
    /// Grey levels and opacity of a FITS-layout array (`width` × `height`), flipped to top-down.
    pub fn grey(data: &[f32], width: usize, height: usize, tone: &ToneMap) -> Picture {
        Picture::from_rows(width, height, Channels::GreyAlpha, |k| {
            tone.grey(data[k]).map(|g| [g, 0, 0])
        })
    }

    /// A picture whose pixel at FITS-layout index `k` is `colour(k)` (`None`: transparent).
    pub fn from_rows(
        width: usize,
        height: usize,
        channels: Channels,
        colour: impl Fn(usize) -> Option<[u8; 3]>,
    ) -> Picture {
        let n = channels.count();
        let mut data = vec![0u8; width * height * n];
        for r in 0..height {
            let src_row = (height - 1 - r) * width;
            for c in 0..width {
                if let Some(rgb) = colour(src_row + c) {
                    let px = &mut data[(r * width + c) * n..][..n];
                    px[..n - 1].copy_from_slice(&rgb[..n - 1]);
                    px[n - 1] = 255;
                }
            }
        }
        Picture {
            width,
            height,
            channels,
            data,
        }
    }

    /// Encodes the picture; JPEG drops the opacity (transparent becomes black).
    pub fn encode(&self, format: PreviewFormat) -> Result<Vec<u8>, String> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        let (w, h) = (self.width as u32, self.height as u32);
        let n = self.channels.count();
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", format.extension());
        match format {
            PreviewFormat::Jpeg => {
                let opaque: Vec<u8> = self
                    .data
                    .chunks(n)
                    .flat_map(|p| p[..n - 1].to_vec())
                    .collect();
                let colour = match self.channels {
                    Channels::GreyAlpha => jpeg_encoder::ColorType::Luma,
                    Channels::Rgba => jpeg_encoder::ColorType::Rgb,
                };
                jpeg_encoder::Encoder::new(&mut out, 90)
                    .encode(&opaque, w as u16, h as u16, colour)
                    .map_err(|e| err(&e))?;
            }
            PreviewFormat::Png | PreviewFormat::Webp => {
                let colour = match self.channels {
                    Channels::GreyAlpha => image::ExtendedColorType::La8,
                    Channels::Rgba => image::ExtendedColorType::Rgba8,
                };
                let cursor = std::io::Cursor::new(&mut out);
                let result = if format == PreviewFormat::Png {
                    image::codecs::png::PngEncoder::new_with_quality(
                        cursor,
                        image::codecs::png::CompressionType::Fast,
                        image::codecs::png::FilterType::Adaptive,
                    )
                    .write_image(&self.data, w, h, colour)
                } else {
                    image::codecs::webp::WebPEncoder::new_lossless(cursor)
                        .write_image(&self.data, w, h, colour)
                };
                result.map_err(|e| err(&e))?;
            }
        }
        Ok(out)
    }
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
        let picture = Picture::grey(&data, 2, 2, &tone);
        assert_eq!(picture.data, vec![0, 0, 128, 255, 0, 255, 255, 255]);
        let png = picture.encode(PreviewFormat::Png).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma_alpha8();
        assert_eq!(img.get_pixel(1, 0).0, [128, 255]);
        assert_eq!(img.get_pixel(0, 0).0[1], 0, "blank is transparent");
        for f in [PreviewFormat::Jpeg, PreviewFormat::Webp] {
            assert!(!picture.encode(f).unwrap().is_empty());
        }
    }
}
