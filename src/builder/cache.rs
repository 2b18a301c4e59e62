//! Decoded input images for the worker threads, in a [`BoundedCache`] so that memory does not
//! grow with the number of inputs.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::controls::InputControls;
use super::inputs::SourceImage;
use crate::cache::BoundedCache;
use crate::fits::read_pixels;

/// Input pixels by image index, `blank` values already turned to NaN and the build's
/// [`InputControls`] applied.
pub struct ImageCache<'a> {
    images: &'a [SourceImage],
    /// Source values to treat as blank, besides NaN and BLANK.
    blank: Option<f32>,
    /// Value controls and masks applied once per load.
    controls: &'a InputControls,
    cache: BoundedCache<u32, Vec<f32>>,
    /// Images found to hold no valid pixel when read (reported: they add nothing).
    all_blank: Mutex<BTreeSet<u32>>,
}

impl<'a> ImageCache<'a> {
    /// A cache over `images` charged 4 bytes a pixel against `budget_bytes` (0: nothing kept
    /// beyond the image in use); each image is masked by `controls` as it is loaded.
    pub fn new(
        images: &'a [SourceImage],
        blank: Option<f32>,
        controls: &'a InputControls,
        budget_bytes: usize,
    ) -> Self {
        ImageCache {
            images,
            blank,
            controls,
            cache: BoundedCache::new(budget_bytes),
            all_blank: Mutex::new(BTreeSet::new()),
        }
    }

    /// `image: every pixel is blank` for each image read so far that holds no valid pixel.
    pub fn blank_images(&self) -> Vec<String> {
        let blank = self.all_blank.lock().expect("lock");
        blank
            .iter()
            .map(|&i| format!("{}: every pixel is blank", self.images[i as usize].label()))
            .collect()
    }

    /// The pixels of image `i`, reading it if needed. `Err` carries the read error (with file).
    pub fn get(&self, i: u32) -> Result<Arc<Vec<f32>>, String> {
        let image = &self.images[i as usize];
        self.cache.get_or_load(&i, image.pixel_count() * 4, || {
            let mut data = read_pixels(&image.hdu).map_err(|e| e.to_string())?;
            if let Some(b) = self.blank {
                data.iter_mut()
                    .filter(|v| **v == b)
                    .for_each(|v| *v = f32::NAN);
            }
            self.controls
                .apply(image, &mut data)
                .map_err(|e| format!("{}: {e}", image.label()))?;
            if data.iter().all(|v| v.is_nan()) {
                self.all_blank.lock().expect("lock").insert(i);
            }
            Ok(data)
        })
    }
}
