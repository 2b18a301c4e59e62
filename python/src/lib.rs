//! `hipsforge._hipsforge`: the Rust half of the `hipsforge` Python module.
//!
//! Stamps are cut by the library's own [`hipsforge::cutout::bulk::stamps`] (so they equal
//! `hipsforge cutout` output bit for bit), with the GIL released, rayon over objects in HEALPix
//! order and one process-wide [`TileStore`] shared by every call and thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use numpy::{IntoPyArray, PyArray4, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rayon::prelude::*;

use hipsforge::cutout::bulk::{healpix_order, stamps, with_prefetch};
use hipsforge::cutout::{CutoutError, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::fits::write::CardValue;
use hipsforge::reader::{ReadError, RemoteOptions};
use hipsforge::wcs::Frame;

/// Objects per unit of parallel work (neighbours in HEALPix order share tiles).
const CHUNK: usize = 64;

/// Default budget of the shared tile store: 1 GiB of decoded tiles.
const DEFAULT_CACHE_BYTES: usize = 1 << 30;

/// The library's error as a Python exception: ValueError for the caller's mistakes,
/// FileNotFoundError/OSError for files and servers, RuntimeError otherwise.
fn to_py(e: CutoutError) -> PyErr {
    let message = e.to_string();
    if e.is_caller_error() {
        return PyValueError::new_err(message);
    }
    let read = match &e {
        CutoutError::Survey(r) | CutoutError::Band { source: r, .. } => Some(r),
        _ => None,
    };
    match read {
        Some(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Some(ReadError::Io { .. } | ReadError::Remote { .. }) => PyOSError::new_err(message),
        _ => match e {
            CutoutError::Tile(_) | CutoutError::Output { .. } => PyOSError::new_err(message),
            _ => PyRuntimeError::new_err(message),
        },
    }
}

fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// Cache keys of opened surveys: unique in the process, so all share one [`TileStore`].
static NEXT_KEY: AtomicU32 = AtomicU32::new(0);

/// The process-wide tile store (replaced by `set_cache_size`).
fn store() -> Arc<TileStore> {
    store_slot().lock().expect("tile store lock").clone()
}

fn store_slot() -> &'static Mutex<Arc<TileStore>> {
    static STORE: OnceLock<Mutex<Arc<TileStore>>> = OnceLock::new();
    STORE.get_or_init(|| Mutex::new(Arc::new(TileStore::new(DEFAULT_CACHE_BYTES))))
}

/// Sets the memory for decoded tiles shared by all cutouts of this process (bytes); the tiles
/// decoded so far are dropped.
#[pyfunction]
fn set_cache_size(bytes: usize) -> PyResult<()> {
    if bytes == 0 {
        return Err(value_error("cache size must be positive"));
    }
    *store_slot().lock().expect("tile store lock") = Arc::new(TileStore::new(bytes));
    Ok(())
}

/// A HiPS with FITS tiles: a directory, or a base URL (http:// or https://) whose tiles are
/// fetched on demand into an on-disk cache shared between runs and processes.
///
/// Args:
///     path_or_url: the HiPS directory (holding ``properties``) or its base URL.
///     cache_dir: where tiles of a remote HiPS are kept (default ``$HIPSFORGE_CACHE_DIR``,
///         else ``$XDG_CACHE_HOME/hipsforge``, else ``~/.cache/hipsforge``).
///     connections: requests in flight at once to the server, at most.
#[pyclass(name = "Survey", module = "hipsforge", frozen)]
struct PySurvey {
    survey: Arc<Survey>,
    location: String,
    cache_dir: Option<PathBuf>,
    connections: usize,
}

#[pymethods]
impl PySurvey {
    #[new]
    #[pyo3(signature = (path_or_url, cache_dir=None, connections=8))]
    fn new(
        py: Python<'_>,
        path_or_url: PathBuf,
        cache_dir: Option<PathBuf>,
        connections: usize,
    ) -> PyResult<PySurvey> {
        if connections == 0 {
            return Err(value_error("connections must be at least 1"));
        }
        let location = path_or_url.to_string_lossy().into_owned();
        let mut remote = RemoteOptions::default();
        if let Some(dir) = &cache_dir {
            remote.cache_dir = dir.clone();
        }
        remote.max_connections = connections;
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let survey = py
            .detach(|| Survey::open_location(&location, key, &remote))
            .map_err(to_py)?;
        Ok(PySurvey {
            survey: Arc::new(survey),
            location,
            cache_dir,
            connections,
        })
    }

    /// The HiPS ``properties`` file as a dict of strings.
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.survey.hips.properties.iter() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Deepest tile order (``hips_order``).
    #[getter]
    fn order(&self) -> u8 {
        self.survey.hips.order
    }

    /// Tile width in pixels (``hips_tile_width``).
    #[getter]
    fn tile_width(&self) -> usize {
        self.survey.hips.width
    }

    /// ``"equatorial"`` or ``"galactic"`` (``hips_frame``).
    #[getter]
    fn frame(&self) -> &'static str {
        self.survey.hips.frame.hips_name()
    }

    /// The directory or URL the survey was opened from.
    #[getter]
    fn location(&self) -> &str {
        &self.location
    }

    /// The HiPS pixel at its deepest order, in arcsec (``hips_pixel_scale``), or None.
    #[getter]
    fn pixel_scale(&self) -> Option<f64> {
        hips_pixel_scale(&self.survey).map(|d| d * 3600.0)
    }

    /// (files, bytes) fetched from the server so far (0 for a directory).
    #[getter]
    fn fetched(&self) -> (u64, u64) {
        self.survey.hips.fetched()
    }

    fn __repr__(&self) -> String {
        format!(
            "Survey({:?}, order={}, tile_width={}, frame={:?})",
            self.location,
            self.survey.hips.order,
            self.survey.hips.width,
            self.survey.hips.frame.hips_name()
        )
    }

    /// Pickled as the arguments that open it again (for DataLoader worker processes).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let me = slf.get();
        let args = (me.location.clone(), me.cache_dir.clone(), me.connections).into_pyobject(py)?;
        Ok((py.get_type::<PySurvey>().into_any(), args))
    }
}

/// `hips_pixel_scale` in degrees.
fn hips_pixel_scale(s: &Survey) -> Option<f64> {
    s.hips
        .properties
        .get("hips_pixel_scale")
        .and_then(|v| v.parse().ok())
}

fn parse_frame(frame: &str) -> PyResult<Frame> {
    match frame.to_ascii_lowercase().as_str() {
        "icrs" => Ok(Frame::Equatorial),
        other => Frame::from_hips_name(other).ok_or_else(|| {
            value_error(format!(
                "unknown frame {other:?} (icrs, galactic, ecliptic)"
            ))
        }),
    }
}

/// Arcseconds to degrees exactly as `hipsforge cutout --scale 0.396arcsec` does.
fn arcsec_to_deg(arcsec: f64) -> PyResult<f64> {
    if arcsec > 0.0 && arcsec.is_finite() {
        Ok(arcsec * (1.0 / 3600.0))
    } else {
        Err(value_error(format!(
            "scale {arcsec} is not a positive number of arcsec"
        )))
    }
}

/// Checked positions: finite, |dec| ≤ 90, RA wrapped into 0..360 (as the CLI reads them).
fn positions(ra: &[f64], dec: &[f64]) -> PyResult<Vec<(f64, f64)>> {
    if ra.len() != dec.len() {
        return Err(value_error(format!(
            "ra has {} values, dec {}",
            ra.len(),
            dec.len()
        )));
    }
    ra.iter()
        .zip(dec)
        .enumerate()
        .map(|(i, (&r, &d))| {
            if !r.is_finite() || !d.is_finite() {
                Err(value_error(format!(
                    "object {i}: ra {r}, dec {d} is not a position"
                )))
            } else if !(-90.0..=90.0).contains(&d) {
                Err(value_error(format!(
                    "object {i}: dec {d} is outside -90..90"
                )))
            } else {
                Ok((r.rem_euclid(360.0), d))
            }
        })
        .collect()
}

/// What one `cutouts` call asks for, ready to run without the GIL.
struct Request {
    bands: Vec<Arc<Survey>>,
    objects: Vec<(f64, f64)>,
    size: usize,
    scale_deg: f64,
    projection: String,
    rotation_deg: f64,
    frame: Frame,
    kernel: Kernel,
    order: Option<u8>,
    /// Requests in flight at once when tiles of remote bands are prefetched.
    connections: usize,
}

impl Request {
    fn spec(&self, (lon, lat): (f64, f64)) -> GridSpec {
        GridSpec {
            lon,
            lat,
            width: self.size,
            height: self.size,
            scale_deg: self.scale_deg,
            projection: self.projection.clone(),
            rotation_deg: self.rotation_deg,
            frame: self.frame,
        }
    }

    /// All stamps, (objects, bands, size, size) in input order.
    fn run(&self, store: &TileStore) -> Result<Vec<f32>, CutoutError> {
        let row = self.bands.len() * self.size * self.size;
        // Fails before any work on a grid that cannot be made (projection, scale).
        if let Some(&first) = self.objects.first() {
            Grid::from_spec(&self.spec(first))?;
        }
        let bands: Vec<&Survey> = self.bands.iter().map(|s| s.as_ref()).collect();
        let first = &bands[0];
        let order = self
            .order
            .unwrap_or_else(|| first.order_for(self.scale_deg));
        let sorted = healpix_order(
            self.objects.iter().copied(),
            self.frame,
            first.hips.frame,
            order,
        );
        let out = Mutex::new(vec![0f32; self.objects.len() * row]);
        let in_order = sorted.iter().map(|&(_, i)| self.objects[i]);
        with_prefetch(
            &bands,
            in_order,
            self.frame,
            self.scale_deg,
            self.order,
            self.connections,
            || {
                sorted.par_chunks(CHUNK).try_for_each(|chunk| {
                    let mut done = Vec::with_capacity(chunk.len());
                    for &(_, i) in chunk {
                        let values = stamps(
                            store,
                            &bands,
                            &self.spec(self.objects[i]),
                            self.kernel,
                            self.order,
                        )?;
                        done.push((i, values));
                    }
                    let mut out = out.lock().expect("output lock");
                    for (i, values) in done {
                        out[i * row..(i + 1) * row].copy_from_slice(&values);
                    }
                    Ok::<(), CutoutError>(())
                })
            },
        )?;
        Ok(out.into_inner().expect("output lock"))
    }
}

/// Stamps of every object in every band: a float32 array (N, bands, size, size), NaN where a
/// HiPS has no data. Row 0 of a stamp is its southern edge (FITS order), east is to the left.
///
/// The GIL is released while stamps are cut on all cores.
#[pyfunction]
#[pyo3(signature = (ra, dec, size, bands, scale=None, projection="TAN", kernel="bilinear", frame="icrs", order=None, rotation=0.0))]
#[allow(clippy::too_many_arguments)]
fn cutouts<'py>(
    py: Python<'py>,
    ra: PyReadonlyArray1<'py, f64>,
    dec: PyReadonlyArray1<'py, f64>,
    size: usize,
    bands: Vec<Py<PySurvey>>,
    scale: Option<f64>,
    projection: &str,
    kernel: &str,
    frame: &str,
    order: Option<u8>,
    rotation: f64,
) -> PyResult<Bound<'py, PyArray4<f32>>> {
    if bands.is_empty() {
        return Err(value_error("no bands given"));
    }
    if size == 0 || size > 4096 {
        return Err(value_error(format!("size {size} must be 1..4096")));
    }
    let connections = bands.iter().map(|b| b.get().connections).max().unwrap_or(1);
    let bands: Vec<Arc<Survey>> = bands.iter().map(|b| b.get().survey.clone()).collect();
    let kernel: Kernel = kernel.parse().map_err(value_error)?;
    let scale_deg = match scale {
        Some(s) => arcsec_to_deg(s)?,
        None => hips_pixel_scale(&bands[0]).ok_or_else(|| {
            value_error("scale is needed: the first band has no hips_pixel_scale")
        })?,
    };
    if let Some(k) = order.filter(|&k| k > bands[0].hips.order) {
        return Err(value_error(format!(
            "order {k} is deeper than the first band (order {})",
            bands[0].hips.order
        )));
    }
    if !rotation.is_finite() {
        return Err(value_error("rotation must be a finite angle"));
    }
    let request = Request {
        objects: positions(ra.as_slice()?, dec.as_slice()?)?,
        bands,
        size,
        scale_deg,
        projection: projection.to_string(),
        rotation_deg: rotation,
        frame: parse_frame(frame)?,
        kernel,
        order,
        connections,
    };
    let n = request.objects.len();
    let nbands = request.bands.len();
    let store = store();
    let values = py.detach(|| request.run(&store)).map_err(to_py)?;
    values.into_pyarray(py).reshape([n, nbands, size, size])
}

/// The FITS WCS header cards of the stamp centred on (ra, dec), as a dict that
/// ``astropy.wcs.WCS(dict)`` takes (NAXIS1/NAXIS2 included).
#[pyfunction]
#[pyo3(signature = (ra, dec, size, scale, projection="TAN", frame="icrs", rotation=0.0))]
#[allow(clippy::too_many_arguments)]
fn cutout_wcs<'py>(
    py: Python<'py>,
    ra: f64,
    dec: f64,
    size: usize,
    scale: f64,
    projection: &str,
    frame: &str,
    rotation: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let (lon, lat) = positions(&[ra], &[dec])?[0];
    let spec = GridSpec {
        lon,
        lat,
        width: size,
        height: size,
        scale_deg: arcsec_to_deg(scale)?,
        projection: projection.to_string(),
        rotation_deg: rotation,
        frame: parse_frame(frame)?,
    };
    let grid = Grid::from_spec(&spec).map_err(to_py)?;
    let d = PyDict::new(py);
    d.set_item("NAXIS", 2)?;
    d.set_item("NAXIS1", size)?;
    d.set_item("NAXIS2", size)?;
    for card in &grid.cards {
        match &card.value {
            CardValue::Float(v) => d.set_item(&card.key, v)?,
            CardValue::Int(v) => d.set_item(&card.key, v)?,
            CardValue::Str(v) => d.set_item(&card.key, v)?,
            CardValue::Bool(v) => d.set_item(&card.key, v)?,
        }
    }
    Ok(d)
}

#[pymodule]
fn _hipsforge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySurvey>()?;
    m.add_function(wrap_pyfunction!(cutouts, m)?)?;
    m.add_function(wrap_pyfunction!(cutout_wcs, m)?)?;
    m.add_function(wrap_pyfunction!(set_cache_size, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
