//! A cache shared by threads and bounded by bytes: least recently used entries leave first,
//! and a value being loaded by one thread is waited for by the others, not loaded twice.
//! Used for decoded input images (build) and decoded tiles (cutouts, server).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

type Slot<V> = Arc<OnceLock<Result<Arc<V>, String>>>;

/// Values by key, shared by threads, evicted least recently used first beyond `budget_bytes`.
pub struct BoundedCache<K, V> {
    budget_bytes: usize,
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    /// Slot, bytes it is charged, last use.
    slots: HashMap<K, (Slot<V>, usize, u64)>,
    clock: u64,
    total: usize,
}

impl<K: Hash + Eq + Clone, V> BoundedCache<K, V> {
    /// An empty cache holding at most `budget_bytes` of charged entries (the entry in use excepted).
    pub fn new(budget_bytes: usize) -> Self {
        BoundedCache {
            budget_bytes,
            state: Mutex::new(State {
                slots: HashMap::new(),
                clock: 0,
                total: 0,
            }),
        }
    }

    /// The value for `key`, loaded with `load` if absent. `bytes` is what the entry is charged
    /// (known before loading, so the budget holds while loads are in flight). A failed load is
    /// remembered like a value, so a bad file is not retried on every request.
    pub fn get_or_load(
        &self,
        key: &K,
        bytes: usize,
        load: impl FnOnce() -> Result<V, String>,
    ) -> Result<Arc<V>, String> {
        let slot = {
            let mut s = self.state.lock().expect("cache lock");
            s.clock += 1;
            let now = s.clock;
            let slot = match s.slots.get_mut(key) {
                Some(entry) => {
                    entry.2 = now;
                    entry.0.clone()
                }
                None => {
                    let slot: Slot<V> = Arc::new(OnceLock::new());
                    s.slots.insert(key.clone(), (slot.clone(), bytes, now));
                    s.total += bytes;
                    slot
                }
            };
            self.evict(&mut s, key);
            slot
        };
        slot.get_or_init(|| load().map(Arc::new)).clone()
    }

    /// The value for `key` if it is loaded (a failed load included), without loading.
    pub fn get(&self, key: &K) -> Option<Result<Arc<V>, String>> {
        let mut s = self.state.lock().expect("cache lock");
        s.clock += 1;
        let now = s.clock;
        let entry = s.slots.get_mut(key)?;
        entry.2 = now;
        entry.0.get().cloned()
    }

    /// Drops least recently used entries (never `keep`) until the total fits the budget.
    fn evict(&self, s: &mut State<K, V>, keep: &K) {
        while s.total > self.budget_bytes {
            let victim = s
                .slots
                .iter()
                .filter(|(k, _)| *k != keep)
                .min_by_key(|(_, e)| e.2)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some((_, bytes, _)) = s.slots.remove(&victim) {
                s.total -= bytes;
            }
        }
    }

    /// Bytes currently charged.
    pub fn bytes(&self) -> usize {
        self.state.lock().expect("cache lock").total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let cache = BoundedCache::<u32, Vec<u8>>::new(300);
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let get = |k: u32| {
            cache
                .get_or_load(&k, 100, || {
                    loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(vec![k as u8; 100])
                })
                .unwrap()
        };
        get(1);
        get(2);
        get(3);
        get(1); // 1 is now the most recent
        get(4); // evicts 2
        assert!(cache.bytes() <= 300);
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 4);
        get(1);
        get(3);
        assert_eq!(
            loads.load(std::sync::atomic::Ordering::SeqCst),
            4,
            "1 and 3 stayed"
        );
        get(2);
        assert_eq!(
            loads.load(std::sync::atomic::Ordering::SeqCst),
            5,
            "2 was evicted"
        );
        let err = cache.get_or_load(&9, 1, || Err("bad file".into()));
        assert_eq!(err.unwrap_err(), "bad file");
    }
}
