//! A HiPS read over HTTP(S): `properties`, `Moc.fits` and tiles fetched from a base URL by a
//! polite client — a bounded number of requests in flight per process, retries with backoff
//! on 5xx, 429 and network errors, 404 meaning "no tile" — into an on-disk mirror of the
//! HiPS's layout, so that each tile is fetched once, also across runs and processes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::ReadError;
use crate::output::write_atomic;

/// Where remote HiPS are mirrored and how politely they are fetched.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Root of the on-disk tile cache (one sub-directory per HiPS URL).
    pub cache_dir: PathBuf,
    /// Requests in flight at once to one server, at most.
    pub max_connections: usize,
    /// Attempts per file before giving up (the first try included).
    pub attempts: u32,
    /// Time allowed for one request, connection included.
    pub timeout: Duration,
}

impl Default for RemoteOptions {
    /// `$HIPSFORGE_CACHE_DIR`, else `$XDG_CACHE_HOME/hipsforge`, else `~/.cache/hipsforge`;
    /// 8 connections, 5 attempts, 60 s per request.
    fn default() -> Self {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let cache_dir = env("HIPSFORGE_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("hipsforge")))
            .or_else(|| env("HOME").map(|d| d.join(".cache/hipsforge")))
            .unwrap_or_else(|| std::env::temp_dir().join("hipsforge-cache"));
        RemoteOptions {
            cache_dir,
            max_connections: 8,
            attempts: 5,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Whether `location` names a HiPS on a server rather than a directory.
pub fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// Largest file fetched (a tile of 4096² float64 pixels is 128 MB).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// One remote HiPS: its base URL, the client and the mirror directory.
#[derive(Debug)]
pub struct Remote {
    base: String,
    agent: ureq::Agent,
    mirror: PathBuf,
    attempts: u32,
    slots: Slots,
    /// Files being fetched now: another caller of the same file waits for that fetch.
    in_flight: (Mutex<HashSet<String>>, Condvar),
    fetched: AtomicU64,
    bytes: AtomicU64,
}

impl Remote {
    /// A client for the HiPS at `base` (trailing slashes ignored), mirrored under
    /// `options.cache_dir`.
    pub fn new(base: &str, options: &RemoteOptions) -> Remote {
        let base = base.trim_end_matches('/').to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .user_agent(crate::PRODUCER)
            .build()
            .into();
        Remote {
            mirror: options.cache_dir.join(mirror_name(&base)),
            base,
            agent,
            attempts: options.attempts.max(1),
            slots: Slots::new(options.max_connections.max(1)),
            in_flight: (Mutex::new(HashSet::new()), Condvar::new()),
            fetched: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The local directory that mirrors this HiPS.
    pub fn mirror(&self) -> &Path {
        &self.mirror
    }

    /// (files fetched, bytes fetched) over the network so far.
    pub fn fetched(&self) -> (u64, u64) {
        (
            self.fetched.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// `rel` (a path inside the HiPS) in the mirror, fetched first when not there yet;
    /// `None` when the server has no such file. `fresh` fetches again even when mirrored
    /// (`properties` and `Moc.fits` may change; tiles do not).
    pub fn local(&self, rel: &str, fresh: bool) -> Result<Option<PathBuf>, ReadError> {
        let path = self.mirror.join(rel);
        let absent = path.with_extension(format!(
            "{}.absent",
            path.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        let mirrored = || {
            if path.is_file() {
                Some(Some(path.clone()))
            } else if absent.is_file() {
                Some(None)
            } else {
                None
            }
        };
        if !fresh {
            if let Some(found) = mirrored() {
                return Ok(found);
            }
        }
        // One fetch per file at a time: a second caller waits for the first, then reads the
        // mirror (the prefetcher and the cutting often want the same tile at once).
        let (lock, done) = &self.in_flight;
        let mut busy = lock.lock().unwrap_or_else(|e| e.into_inner());
        while busy.contains(rel) {
            busy = done.wait(busy).unwrap_or_else(|e| e.into_inner());
            if !fresh {
                if let Some(found) = mirrored() {
                    return Ok(found);
                }
            }
        }
        busy.insert(rel.to_string());
        drop(busy);
        let fetched = self.fetch_into_mirror(rel, &path, &absent);
        lock.lock().unwrap_or_else(|e| e.into_inner()).remove(rel);
        done.notify_all();
        fetched
    }

    /// Fetches `rel` into `path`, or marks it `absent` when the server has no such file.
    fn fetch_into_mirror(
        &self,
        rel: &str,
        path: &Path,
        absent: &Path,
    ) -> Result<Option<PathBuf>, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        };
        match self.fetch(rel)? {
            Some(bytes) => {
                write_atomic(path, &bytes).map_err(io)?;
                Ok(Some(path.to_path_buf()))
            }
            None => {
                write_atomic(absent, b"").map_err(io)?;
                Ok(None)
            }
        }
    }

    /// GET `base/rel`: the body, `None` on 404/410, retried with backoff on 5xx, 429 and
    /// network errors.
    fn fetch(&self, rel: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let url = format!("{}/{rel}", self.base);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 << attempt.min(6)));
            }
            let _slot = self.slots.take();
            let mut response = match self.agent.get(&url).call() {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            match response.status().as_u16() {
                200 => {
                    let body = response
                        .body_mut()
                        .with_config()
                        .limit(MAX_FILE_BYTES)
                        .read_to_vec();
                    match body {
                        Ok(bytes) => {
                            self.fetched.fetch_add(1, Ordering::Relaxed);
                            self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                            return Ok(Some(bytes));
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                404 | 410 => return Ok(None),
                s if s == 429 || s >= 500 => last = format!("HTTP {s}"),
                s => {
                    return Err(ReadError::Remote {
                        url,
                        problem: format!("HTTP {s}"),
                    })
                }
            }
        }
        Err(ReadError::Remote {
            url,
            problem: format!("{last} (after {} attempts)", self.attempts),
        })
    }
}

/// A directory name for a base URL: readable, and unique (a hash of the whole URL).
fn mirror_name(base: &str) -> String {
    let readable: String = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    // FNV-1a: stable across runs and machines, so the cache is found again.
    let hash = base.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!("{readable}-{hash:016x}")
}

/// A counting semaphore: at most `n` requests in flight.
#[derive(Debug)]
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A taken slot, given back when dropped.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().expect("slots lock");
        while *free == 0 {
            free = self.freed.wait(free).expect("slots lock");
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slots lock") += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_names_are_readable_and_distinct() {
        let a = mirror_name("https://alasky.cds.unistra.fr/SDSS/DR9/color");
        assert!(
            a.starts_with("alasky.cds.unistra.fr_SDSS_DR9_color-"),
            "{a}"
        );
        assert_ne!(
            a,
            mirror_name("https://alasky.cds.unistra.fr/SDSS/DR9/band-r")
        );
        assert!(is_url("http://127.0.0.1:8080/x") && !is_url("/data/hips"));
    }

    #[test]
    fn slots_bound_the_requests_in_flight() {
        let slots = Slots::new(2);
        let in_flight = AtomicU64::new(0);
        let most = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let _slot = slots.take();
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
