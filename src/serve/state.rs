//! What every handler shares: the mounts, their cutout readers, the file and tile caches, and
//! the public URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, HeaderMap};

use super::files::CachedFile;
use super::{Mount, ServeError, ServeOptions};
use crate::cache::BoundedCache;
use crate::cutout::{Survey, TileStore};
use crate::reader::RemoteOptions;

/// Default memory for cached files.
pub const DEFAULT_FILE_CACHE: usize = 512 << 20;

/// The server's shared state, built once by [`router`](super::router).
pub struct AppState {
    /// The HiPS served, in the order given.
    pub mounts: Vec<Mount>,
    /// Public URL without a trailing slash, when configured.
    base_url: Option<String>,
    /// Aladin Lite's directory, served under `/aladin-lite/`.
    pub(super) aladin_lite: Option<Mount>,
    /// Contents of recently served files (tiles are small and immutable once written).
    pub(super) files: BoundedCache<PathBuf, CachedFile>,
    /// The mounts opened for cutouts (same order as `mounts`; key = index).
    pub surveys: Vec<Survey>,
    /// Decoded tiles shared by all cutout requests.
    pub tiles: Arc<TileStore>,
}

impl AppState {
    /// Opens every mount (for files and for cutouts) and Aladin Lite's directory.
    pub fn new(o: &ServeOptions) -> Result<AppState, ServeError> {
        let mounts = open_mounts(&o.mounts, &o.remote)?;
        let aladin_lite = o.aladin_lite.as_deref().map(open_aladin_lite).transpose()?;
        let budget = if o.file_cache_bytes == 0 {
            DEFAULT_FILE_CACHE
        } else {
            o.file_cache_bytes
        };
        let surveys = mounts
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let opened = match &m.upstream {
                    Some(up) => Survey::open_location(up.base(), i as u32, &o.remote),
                    None => Survey::open(&m.root, i as u32),
                };
                opened.map_err(|e| ServeError::CutoutSurvey {
                    name: m.name.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AppState {
            mounts,
            base_url: o
                .base_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            aladin_lite,
            files: BoundedCache::new(budget),
            surveys,
            tiles: Arc::new(TileStore::new(budget)),
        })
    }

    /// The URL clients reach this server at: the configured one, else from the Host header.
    pub(super) fn base_url(&self, headers: &HeaderMap) -> String {
        self.base_url.clone().unwrap_or_else(|| {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        })
    }

    /// The HiPS mounted at `/{name}/`.
    pub(super) fn mount(&self, name: &str) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.name == name)
    }
}

/// The HiPS directories (or URLs, mirrored) as mounts; a name given twice is refused.
fn open_mounts(
    dirs: &[(String, PathBuf)],
    remote: &RemoteOptions,
) -> Result<Vec<Mount>, ServeError> {
    let mut mounts: Vec<Mount> = Vec::with_capacity(dirs.len());
    for (name, dir) in dirs {
        if mounts.iter().any(|m| &m.name == name) {
            return Err(ServeError::DuplicateMount { name: name.clone() });
        }
        mounts.push(Mount::open_location(name, dir, remote)?);
    }
    Ok(mounts)
}

/// Aladin Lite's directory as a mount without properties or coverage.
fn open_aladin_lite(dir: &Path) -> Result<Mount, ServeError> {
    let root = dir
        .canonicalize()
        .map_err(|source| ServeError::AladinLiteDir {
            path: dir.to_path_buf(),
            source,
        })?;
    if !root.join("aladin.js").is_file() {
        return Err(ServeError::NoAladinJs {
            path: dir.to_path_buf(),
        });
    }
    Ok(Mount {
        name: "aladin-lite".into(),
        root,
        properties: Default::default(),
        coverage: None,
        upstream: None,
    })
}
