//! Writing simple FITS images (HiPS tiles, Allsky): one primary HDU, big-endian data, padded
//! to 2880-byte blocks. Written by hand because a tile is a fixed, tiny header plus one array,
//! and building it in memory lets the caller write it atomically.

/// A header value as written in a card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardValue {
    /// Integer, right-justified.
    Int(i64),
    /// Real, written so that it reads back the same.
    Float(f64),
    /// String, quoted (`'` doubled).
    Str(String),
    /// Logical, `T` or `F`.
    Bool(bool),
}

/// One header card: keyword, value, comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Keyword, at most 8 characters.
    pub key: String,
    /// Value, in fixed format (numbers right-justified to column 30).
    pub value: CardValue,
    /// Comment after ` / `; empty for none.
    pub comment: String,
}

impl Card {
    /// A card from its parts.
    pub fn new(key: &str, value: CardValue, comment: &str) -> Card {
        Card {
            key: key.to_string(),
            value,
            comment: comment.to_string(),
        }
    }

    /// `ORIGIN = 'hipsforge VERSION'`, the card every file we write carries.
    pub fn origin() -> Card {
        Card::new("ORIGIN", CardValue::Str(crate::PRODUCER.into()), "")
    }

    /// The 80-character card image, numbers right-justified to column 30 (fixed format).
    fn image(&self) -> String {
        let value = match &self.value {
            CardValue::Int(i) => format!("{i:>20}"),
            CardValue::Float(f) => format!("{:>20}", format_float(*f)),
            CardValue::Bool(b) => format!("{:>20}", if *b { "T" } else { "F" }),
            CardValue::Str(s) => format!("'{:<8}'", s.replace('\'', "''")),
        };
        let mut card = format!("{:<8}= {}", self.key, value);
        if !self.comment.is_empty() {
            card.push_str(" / ");
            card.push_str(&self.comment);
        }
        let mut card: String = card.chars().take(80).collect();
        while card.len() < 80 {
            card.push(' ');
        }
        card
    }
}

/// Shortest round-tripping representation that FITS readers accept (always with a `.` or `E`).
fn format_float(f: f64) -> String {
    let s = format!("{f:?}");
    let s = s.replace('e', "E");
    if s.contains('.') || s.contains('E') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// Storage type of the pixels of an output image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PixelType {
    /// BITPIX 8 (unsigned).
    U8,
    /// BITPIX 16.
    I16,
    /// BITPIX 32.
    I32,
    /// BITPIX 64.
    I64,
    /// BITPIX −32.
    F32,
    /// BITPIX −64.
    F64,
}

impl PixelType {
    /// The type for a BITPIX value; `None` for any other number.
    pub fn from_bitpix(bitpix: i32) -> Option<PixelType> {
        Some(match bitpix {
            8 => PixelType::U8,
            16 => PixelType::I16,
            32 => PixelType::I32,
            64 => PixelType::I64,
            -32 => PixelType::F32,
            -64 => PixelType::F64,
            _ => return None,
        })
    }

    /// The BITPIX value.
    pub fn bitpix(self) -> i32 {
        match self {
            PixelType::U8 => 8,
            PixelType::I16 => 16,
            PixelType::I32 => 32,
            PixelType::I64 => 64,
            PixelType::F32 => -32,
            PixelType::F64 => -64,
        }
    }

    /// Whether values are stored as scaled integers (BITPIX > 0).
    pub fn is_integer(self) -> bool {
        self.bitpix() > 0
    }

    /// The stored value used for blank pixels in integer images.
    pub fn blank(self) -> i64 {
        match self {
            PixelType::U8 => 0,
            PixelType::I16 => i16::MIN as i64,
            PixelType::I32 => i32::MIN as i64,
            PixelType::I64 => i64::MIN,
            PixelType::F32 | PixelType::F64 => 0,
        }
    }

    /// The range of stored values left for data (the blank value excluded).
    pub fn data_range(self) -> (f64, f64) {
        match self {
            PixelType::U8 => (1.0, 255.0),
            PixelType::I16 => (i16::MIN as f64 + 1.0, i16::MAX as f64),
            PixelType::I32 => (i32::MIN as f64 + 1.0, i32::MAX as f64),
            // Not the whole i64 range: f64 cannot tell i64::MIN + 1 from i64::MIN (the blank),
            // so the lowest data value would read back as blank.
            PixelType::I64 => (-(2f64.powi(62)), 2f64.powi(62)),
            PixelType::F32 | PixelType::F64 => (f64::MIN, f64::MAX),
        }
    }
}

/// How physical values become stored values: physical = BZERO + BSCALE * stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    /// Storage type of the values.
    pub pixel_type: PixelType,
    /// BZERO.
    pub bzero: f64,
    /// BSCALE.
    pub bscale: f64,
}

impl Encoding {
    /// Plain float32 (BZERO 0, BSCALE 1).
    pub fn float32() -> Encoding {
        Encoding {
            pixel_type: PixelType::F32,
            bzero: 0.0,
            bscale: 1.0,
        }
    }

    /// An integer encoding mapping `[min, max]` onto the whole stored range; a float type
    /// stores values as they are.
    pub fn for_range(pixel_type: PixelType, min: f64, max: f64) -> Encoding {
        if !pixel_type.is_integer() {
            return Encoding {
                pixel_type,
                bzero: 0.0,
                bscale: 1.0,
            };
        }
        let (lo, hi) = pixel_type.data_range();
        let span = (max - min).max(f64::MIN_POSITIVE);
        let bscale = if max > min { span / (hi - lo) } else { 1.0 };
        Encoding {
            pixel_type,
            bzero: min - lo * bscale,
            bscale,
        }
    }
}

impl Encoding {
    /// Replaces each value by the one a reader gets back from this encoding (integer types
    /// quantise; blanks stay NaN), computed as cfitsio does (stored × BSCALE + BZERO in double,
    /// then f32). Parents made from round-tripped children are the same whether the children
    /// were just computed or read back by a resumed build.
    pub fn round_trip(&self, data: &mut [f32]) {
        if !self.pixel_type.is_integer() {
            return;
        }
        let (lo, hi) = self.pixel_type.data_range();
        for v in data.iter_mut().filter(|v| v.is_finite()) {
            let stored = ((*v as f64 - self.bzero) / self.bscale)
                .round()
                .clamp(lo, hi);
            *v = (stored * self.bscale + self.bzero) as f32;
        }
    }
}

/// Serialises a 2-D image (row-major, first row = FITS y = 1) with the given extra cards.
pub fn encode_image(
    width: usize,
    height: usize,
    data: &[f32],
    encoding: Encoding,
    extra: &[Card],
) -> Vec<u8> {
    assert_eq!(data.len(), width * height, "image size mismatch");
    let pixel_type = encoding.pixel_type;
    let mut cards = vec![
        Card::new("SIMPLE", CardValue::Bool(true), "conforms to FITS standard"),
        Card::new("BITPIX", CardValue::Int(pixel_type.bitpix() as i64), ""),
        Card::new("NAXIS", CardValue::Int(2), ""),
        Card::new("NAXIS1", CardValue::Int(width as i64), ""),
        Card::new("NAXIS2", CardValue::Int(height as i64), ""),
    ];
    if pixel_type.is_integer() {
        cards.push(Card::new("BZERO", CardValue::Float(encoding.bzero), ""));
        cards.push(Card::new("BSCALE", CardValue::Float(encoding.bscale), ""));
        cards.push(Card::new(
            "BLANK",
            CardValue::Int(pixel_type.blank()),
            "stored value of blank pixels",
        ));
    }
    cards.extend_from_slice(extra);
    let mut out = Vec::with_capacity(2880 * 2 + data.len() * 8);
    for card in &cards {
        out.extend_from_slice(card.image().as_bytes());
    }
    out.extend_from_slice(format!("{:<80}", "END").as_bytes());
    pad_to_block(&mut out, b' ');
    encode_pixels(data, encoding, &mut out);
    pad_to_block(&mut out, 0);
    out
}

fn encode_pixels(data: &[f32], encoding: Encoding, out: &mut Vec<u8>) {
    let Encoding {
        pixel_type,
        bzero,
        bscale,
    } = encoding;
    let (lo, hi) = pixel_type.data_range();
    let stored = |v: f32| -> Option<f64> {
        v.is_finite()
            .then(|| ((v as f64 - bzero) / bscale).round().clamp(lo, hi))
    };
    let blank = pixel_type.blank();
    match pixel_type {
        PixelType::F32 => data
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        PixelType::F64 => data
            .iter()
            .for_each(|v| out.extend_from_slice(&(*v as f64).to_be_bytes())),
        PixelType::U8 => data
            .iter()
            .for_each(|&v| out.push(stored(v).map_or(blank, |s| s as i64) as u8)),
        PixelType::I16 => data.iter().for_each(|&v| {
            out.extend_from_slice(&(stored(v).map_or(blank, |s| s as i64) as i16).to_be_bytes())
        }),
        PixelType::I32 => data.iter().for_each(|&v| {
            out.extend_from_slice(&(stored(v).map_or(blank, |s| s as i64) as i32).to_be_bytes())
        }),
        PixelType::I64 => data.iter().for_each(|&v| {
            out.extend_from_slice(&stored(v).map_or(blank, |s| s as i64).to_be_bytes())
        }),
    }
}

fn pad_to_block(out: &mut Vec<u8>, fill: u8) {
    let rem = out.len() % 2880;
    if rem != 0 {
        out.resize(out.len() + 2880 - rem, fill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_80_chars_and_fixed_format() {
        let c = Card::new("ORDER", CardValue::Int(9), "HEALPix order");
        let img = c.image();
        assert_eq!(img.len(), 80);
        assert_eq!(&img[..30], "ORDER   =                    9");
        let s = Card::new("CTYPE1", CardValue::Str("RA---HPX".into()), "").image();
        assert_eq!(&s[..20], "CTYPE1  = 'RA---HPX'");
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(-2.5e-10), "-2.5E-10");
    }

    #[test]
    fn round_trip_matches_what_cfitsio_reads_back() {
        let dir = std::env::temp_dir().join(format!("hipsforge-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for pixel_type in [
            PixelType::U8,
            PixelType::I16,
            PixelType::I32,
            PixelType::I64,
        ] {
            let enc = Encoding::for_range(pixel_type, -3.25, 1234.5);
            let mut data: Vec<f32> = (0..64).map(|i| -3.25 + i as f32 * 19.3).collect();
            data[5] = f32::NAN;
            let path = dir.join(format!("t{}.fits", pixel_type.bitpix()));
            std::fs::write(&path, encode_image(8, 8, &data, enc, &[])).unwrap();
            enc.round_trip(&mut data);
            let back = crate::fits::read_tile(&path, 8).unwrap();
            for (a, b) in data.iter().zip(&back) {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{} {a} {b}",
                    pixel_type.bitpix()
                );
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn integer_encoding_round_trips_within_half_a_step() {
        let enc = Encoding::for_range(PixelType::I16, -10.0, 100.0);
        let data = [-10.0f32, 0.0, 55.5, 100.0, f32::NAN, 1e9];
        let bytes = encode_image(6, 1, &data, enc, &[]);
        assert_eq!(bytes.len(), 2 * 2880);
        let stored: Vec<i16> = bytes[2880..2880 + 12]
            .chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(stored[4], i16::MIN, "NaN must become BLANK");
        for (s, v) in stored.iter().zip(&data).take(4) {
            let physical = enc.bzero + enc.bscale * *s as f64;
            assert!(
                (physical - *v as f64).abs() <= enc.bscale / 2.0 + 1e-9,
                "{physical} vs {v}"
            );
        }
        assert_eq!(stored[5], i16::MAX, "out-of-range values clamp");
    }
}
