//! A bounded cache of decoded input images shared by the worker threads. Bounded by bytes
//! (least recently used first out), so memory does not grow with the number of inputs; an
//! image being read by one thread is waited for, not read twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::inputs::SourceImage;
use crate::fits::read_pixels;

type Pixels = Arc<Vec<f32>>;
type Slot = Arc<OnceLock<Result<Pixels, String>>>;

pub struct ImageCache<'a> {
    images: &'a [SourceImage],
    /// Source values to treat as blank, besides NaN and BLANK.
    blank: Option<f32>,
    budget_bytes: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    slots: HashMap<u32, (Slot, u64)>,
    clock: u64,
}

impl<'a> ImageCache<'a> {
    pub fn new(images: &'a [SourceImage], blank: Option<f32>, budget_bytes: usize) -> Self {
        ImageCache {
            images,
            blank,
            budget_bytes,
            state: Mutex::new(CacheState::default()),
        }
    }

    fn bytes_of(&self, i: u32) -> usize {
        self.images[i as usize].pixel_count() * 4
    }

    /// The pixels of image `i`, reading it if needed. `Err` carries the read error (with file).
    pub fn get(&self, i: u32) -> Result<Pixels, String> {
        let slot = {
            let mut state = self.state.lock().expect("cache lock");
            state.clock += 1;
            let now = state.clock;
            let slot = state
                .slots
                .entry(i)
                .or_insert_with(|| (Arc::new(OnceLock::new()), now));
            slot.1 = now;
            let slot = slot.0.clone();
            self.evict(&mut state, i);
            slot
        };
        slot.get_or_init(|| self.load(i)).clone()
    }

    fn load(&self, i: u32) -> Result<Pixels, String> {
        let image = &self.images[i as usize];
        let mut data = read_pixels(&image.hdu).map_err(|e| e.to_string())?;
        if let Some(b) = self.blank {
            data.iter_mut()
                .filter(|v| **v == b)
                .for_each(|v| *v = f32::NAN);
        }
        Ok(Arc::new(data))
    }

    /// Drops least recently used images (never `keep`) until the total is within budget.
    fn evict(&self, state: &mut CacheState, keep: u32) {
        let mut total: usize = state.slots.keys().map(|&k| self.bytes_of(k)).sum();
        while total > self.budget_bytes {
            let victim = state
                .slots
                .iter()
                .filter(|(&k, _)| k != keep)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(&k, _)| k);
            let Some(victim) = victim else { break };
            state.slots.remove(&victim);
            total -= self.bytes_of(victim);
        }
    }
}
