//! The `hipsforge` command: parses arguments, calls the library, maps errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hipsforge::builder::controls::{InputControls, Shape, SkyVal};
use hipsforge::builder::resample::{Coadd, Interpolation, Sampling};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::fits::HduSelection;
use hipsforge::hips::pixels::Reducer;
use hipsforge::hips::properties::Properties;
use hipsforge::preview::{
    parse_formats, write_previews, CutSpec, Look, PreviewFormat, PreviewOptions, PreviewReport,
    Stretch,
};
use hipsforge::wcs::Frame;

#[derive(Parser)]
#[command(
    name = "hipsforge",
    version,
    about = "Build HiPS (HEALPix tile pyramids) from FITS images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a HiPS from FITS images (files and/or directories, recursed).
    Build(BuildArgs),
    /// (Re)make the 8-bit preview tiles of a HiPS from its FITS tiles.
    Previews(PreviewArgs),
    /// Make a colour HiPS (PNG or JPEG) from three data HiPS of the same order and frame.
    Rgb(RgbArgs),
    /// Cut stamps of many objects from one or more HiPS into a .npy, FITS or Zarr array.
    Cutout(CutoutArgs),
    /// Serve HiPS directories over HTTP (a HiPS node for Aladin Lite, Aladin, scripts).
    Serve(ServeArgs),
    /// Check a HiPS directory against HiPS 1.0 (exit 1 on errors).
    Lint {
        /// The HiPS directory.
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct PreviewLook {
    /// Pixel cut: two percentiles of the whole survey ("0.5% 99.5%", the default) or two
    /// values ("-1 250"). A preset's hips_pixel_cut applies when this is not given.
    #[arg(long)]
    pixel_cut: Option<CutSpec>,
    /// Transfer function: linear (default), sqrt, log, asinh, pow2. A preset's hips_pixel_func
    /// applies when this is not given.
    #[arg(long)]
    stretch: Option<Stretch>,
}

impl PreviewLook {
    fn look(&self) -> Look {
        Look {
            cut: self.pixel_cut,
            stretch: self.stretch,
        }
    }
}

#[derive(clap::Args)]
struct CutoutArgs {
    /// A band: NAME=DIR or NAME=URL (repeat in output band order), or a bare DIR or URL for a
    /// single band. A URL (http:// or https://) is read from the server, tiles cached on disk.
    #[arg(long = "hips", required = true)]
    hips: Vec<String>,
    /// Delimited text with a header line: ra, dec (degrees) and optionally id columns.
    #[arg(long)]
    positions: PathBuf,
    /// Stamp width and height in pixels.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Pixel scale: 0.396arcsec, 1.5arcmin, 0.001deg (default: the first HiPS's pixel).
    #[arg(long)]
    scale: Option<String>,
    /// Projection of the stamps (TAN, SIN, ZEA, STG, CAR, AIT, ...).
    #[arg(long, default_value = "TAN")]
    projection: String,
    /// How HiPS pixels become stamp pixels (flux: area mean over 4x4 sub-samples).
    #[arg(long, value_enum, default_value = "bilinear")]
    kernel: hipsforge::cutout::Kernel,
    /// HiPS order to read (default: the one matching the pixel scale).
    #[arg(long)]
    order: Option<u8>,
    /// Frame of the positions and stamps.
    #[arg(long, value_enum, default_value = "icrs")]
    frame: Frame,
    /// Column of right ascension (default: ra, ra_deg, raj2000, ...).
    #[arg(long)]
    ra_col: Option<String>,
    /// Column of declination (default: dec, dec_deg, dej2000, ...).
    #[arg(long)]
    dec_col: Option<String>,
    /// Column of object ids kept in the manifest (default: id, objid, name, ...; else the row).
    #[arg(long)]
    id_col: Option<String>,
    /// Output: .npy (N, bands, size, size) float32, .fits (NAXIS4 = N) or .zarr (a Zarr v3 store with ra, dec, id and the stamp WCS); a manifest CSV is
    /// written beside it.
    #[arg(long)]
    out: PathBuf,
    /// Start again instead of continuing an interrupted run.
    #[arg(long)]
    restart: bool,
    /// Memory for decoded tiles, in MB.
    #[arg(long, default_value_t = 1024)]
    cache_mb: usize,
    #[command(flatten)]
    remote: RemoteArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// How HiPS given by URL are read.
#[derive(clap::Args)]
struct RemoteArgs {
    /// Disk cache of tiles of HiPS given by URL (default: $HIPSFORGE_CACHE_DIR, else
    /// $XDG_CACHE_HOME/hipsforge, else ~/.cache/hipsforge); safe to share between runs.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Requests in flight at once to a HiPS server.
    #[arg(long, default_value_t = 8)]
    connections: usize,
}

impl RemoteArgs {
    fn options(self) -> hipsforge::reader::RemoteOptions {
        let mut r = hipsforge::reader::RemoteOptions::default();
        if let Some(dir) = self.cache_dir {
            r.cache_dir = dir;
        }
        r.max_connections = self.connections;
        r
    }
}

/// `NAME=DIR`, or a bare `DIR` named after itself.
fn named_dir(spec: &str) -> (String, PathBuf) {
    match spec.split_once('=') {
        Some((name, dir)) => (name.to_string(), PathBuf::from(dir)),
        None if hipsforge::reader::is_url(spec) => (
            spec.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("hips")
                .to_string(),
            PathBuf::from(spec),
        ),
        None => (
            hipsforge::serve::default_name(std::path::Path::new(spec)),
            PathBuf::from(spec),
        ),
    }
}

/// A global rayon pool of `n` threads (default: one per core).
fn set_threads(n: Option<usize>) -> anyhow::Result<()> {
    match n {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads: {e}")),
        None => Ok(()),
    }
}

fn run_cutout(a: CutoutArgs) -> anyhow::Result<ExitCode> {
    use hipsforge::cutout::bulk::{parse_scale, run_bulk, BulkOptions};
    let bands = a.hips.iter().map(|spec| named_dir(spec)).collect();
    set_threads(a.threads)?;
    let o = BulkOptions {
        bands,
        positions: a.positions,
        columns: hipsforge::cutout::positions::Columns {
            ra: a.ra_col,
            dec: a.dec_col,
            id: a.id_col,
        },
        size: a.size,
        scale_deg: a
            .scale
            .as_deref()
            .map(parse_scale)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        projection: a.projection,
        frame: a.frame,
        kernel: a.kernel,
        order: a.order,
        out: a.out,
        restart: a.restart,
        cache_bytes: a.cache_mb << 20,
        remote: a.remote.options(),
        verbose: !a.quiet,
    };
    let r = run_bulk(&o)?;
    let done = r.rows - r.resumed;
    eprintln!(
        "{} stamps ({} bands of {}x{}) in {}: {done} made in {:.2} s ({:.0} objects/s){}; {} outside the surveys; manifest {}",
        r.rows,
        o.bands.len(),
        o.size,
        o.size,
        o.out.display(),
        r.seconds,
        done as f64 / r.seconds.max(1e-9),
        if r.resumed > 0 { format!(", {} from an earlier run", r.resumed) } else { String::new() },
        r.outside,
        r.manifest.display()
    );
    if r.fetched.0 > 0 {
        eprintln!(
            "fetched {} files ({:.1} MB) from HiPS servers",
            r.fetched.0,
            r.fetched.1 as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct ServeArgs {
    /// HiPS to serve, each as DIR (mounted at /<dir name>/) or NAME=DIR; a base URL
    /// (http:// or https://) instead of DIR mirrors that HiPS, fetching each file once.
    #[arg(required = true)]
    hips: Vec<String>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Public URL of this server, for hips_service_url behind a reverse proxy.
    #[arg(long)]
    base_url: Option<String>,
    /// Allowed CORS origins, comma separated, or * (default).
    #[arg(long)]
    cors_origin: Option<String>,
    /// Directory holding Aladin Lite's aladin.js (npm package aladin-lite, dist/), served at /aladin-lite/.
    #[arg(long)]
    aladin_lite: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Memory for files served from RAM, in MB.
    #[arg(long, default_value_t = 512)]
    cache_mb: usize,
    #[command(flatten)]
    remote: RemoteArgs,
}

fn run_serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mounts = a.hips.iter().map(|spec| named_dir(spec)).collect();
    let o = hipsforge::serve::ServeOptions {
        mounts,
        base_url: a.base_url,
        cors_origin: a.cors_origin,
        aladin_lite: a.aladin_lite,
        file_cache_bytes: a.cache_mb << 20,
        remote: a.remote.options(),
    };
    let app = hipsforge::serve::router(&o)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.addr)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.addr))?;
        let names: Vec<String> = o.mounts.iter().map(|(n, _)| format!("/{n}/")).collect();
        eprintln!(
            "serving {} on http://{} (Ctrl-C to stop)",
            names.join(" "),
            listener.local_addr()?
        );
        hipsforge::serve::run(listener, app, hipsforge::serve::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct RgbArgs {
    #[arg(long)]
    red: PathBuf,
    #[arg(long)]
    green: PathBuf,
    #[arg(long)]
    blue: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// creator_did of the colour HiPS.
    #[arg(long)]
    id: String,
    /// png or jpeg.
    #[arg(long, default_value = "png")]
    format: PreviewFormat,
    /// Cut for all three channels, each computed on its own survey (default "0.5% 99.5%").
    #[arg(long, default_value = "0.5% 99.5%")]
    pixel_cut: CutSpec,
    #[arg(long)]
    red_cut: Option<CutSpec>,
    #[arg(long)]
    green_cut: Option<CutSpec>,
    #[arg(long)]
    blue_cut: Option<CutSpec>,
    #[arg(long, default_value = "linear")]
    stretch: Stretch,
    /// Lupton et al. (2004) asinh colour mapping with softening Q (e.g. 8).
    #[arg(long)]
    lupton: Option<f64>,
    /// Replace an existing HiPS in --out.
    #[arg(long)]
    force: bool,
}

fn run_rgb(a: RgbArgs) -> anyhow::Result<ExitCode> {
    let o = hipsforge::preview::rgb::RgbOptions {
        channels: [a.red, a.green, a.blue],
        out: a.out,
        creator_did: a.id,
        format: a.format,
        cuts: [a.red_cut, a.green_cut, a.blue_cut].map(|c| c.unwrap_or(a.pixel_cut)),
        stretch: a.stretch,
        lupton: a.lupton,
        force: a.force,
    };
    let started = std::time::Instant::now();
    let n = hipsforge::preview::rgb::write_rgb(&o)?;
    eprintln!(
        "colour HiPS {}: {n} tiles in {:.2} s",
        o.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct PreviewArgs {
    /// The HiPS directory (with FITS tiles).
    dir: PathBuf,
    /// 8-bit formats, comma separated: png, jpeg, webp.
    #[arg(long, default_value = "png", value_parser = parse_formats)]
    format: ::std::vec::Vec<PreviewFormat>,
    #[command(flatten)]
    look: PreviewLook,
    /// No log lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// FITS files or directories (searched recursively for .fits/.fit/.fts/.fz, also .gz/.bz2).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory of the HiPS.
    #[arg(long)]
    out: PathBuf,
    /// creator_did of the HiPS: ivo://AUTHORITY/P/name.
    #[arg(long)]
    id: String,
    /// Tile formats, comma separated: fits (always made) plus png, jpeg, webp previews.
    #[arg(long, default_value = "fits", value_parser = parse_formats)]
    format: ::std::vec::Vec<PreviewFormat>,
    #[command(flatten)]
    look: PreviewLook,
    /// Deepest order (default: chosen from the finest input pixel).
    #[arg(long)]
    order: Option<u8>,
    #[arg(long, default_value_t = 0)]
    min_order: u8,
    /// Tile width in pixels (a power of two).
    #[arg(long, default_value_t = 512)]
    tile_width: usize,
    #[arg(long, value_enum, default_value = "equatorial")]
    frame: Frame,
    #[arg(long, value_enum, default_value = "bilinear")]
    interpolation: Interpolation,
    /// How overlapping images combine.
    #[arg(long, value_enum, default_value = "mean")]
    coadd: Coadd,
    /// How parent tiles are made from their children.
    #[arg(long, value_enum, default_value = "mean")]
    tree: Reducer,
    /// Pixels to ignore along every input image edge.
    #[arg(long, default_value_t = 0)]
    border: usize,
    /// An input value to treat as blank (besides NaN and BLANK).
    #[arg(long, allow_hyphen_values = true)]
    blank: Option<f32>,
    /// BITPIX of the FITS tiles (integer types are scaled over the input data range).
    #[arg(long, default_value_t = -32, allow_hyphen_values = true)]
    bitpix: i32,
    /// HDUs to use: "first" (first image HDU), "all", or a list like 1,2,3 (0 = primary).
    #[arg(long, default_value = "first")]
    hdu: HduSelection,
    #[command(flatten)]
    controls: ControlArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// A survey preset from properties/ (e.g. first, sdss-r, ukidss-las-k).
    #[arg(long)]
    preset: Option<String>,
    /// A properties file whose keywords are merged (obs_title, obs_regime, em_min, ...).
    #[arg(long = "properties")]
    properties_file: Vec<PathBuf>,
    /// One keyword, key=value (repeatable).
    #[arg(long = "prop", value_name = "KEY=VALUE")]
    prop: Vec<String>,
    /// Continue an interrupted build: keep the deepest tiles already written.
    #[arg(long)]
    resume: bool,
    /// Replace a HiPS already in --out.
    #[arg(long)]
    force: bool,
    /// Memory for decoded input images, in MB.
    #[arg(long, default_value_t = 2048)]
    cache_mb: usize,
    /// No progress bar or log lines.
    #[arg(long, short)]
    quiet: bool,
    /// Header keywords kept for each image in the progenitor index HpxFinder/ (repeatable or
    /// comma separated, e.g. DATE-OBS,FILTER,EXPTIME).
    #[arg(long = "fitskey", value_name = "KEY", value_delimiter = ',')]
    fitskey: Vec<String>,
}

/// Hipsgen's per-image controls (`hipsforge::builder::controls`).
#[derive(clap::Args)]
struct ControlArgs {
    /// Pilot HiPS: only the first N usable images (in input order), a quick look.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pilot: Option<u64>,
    /// Valid area of round detectors: pixels outside the circle or ellipse inscribed in the
    /// data area (the box of pixels that differ from the corner pixel) are blank.
    #[arg(long, value_enum)]
    shape: Option<Shape>,
    /// Read each image's .fov mask (NAME.fov beside NAME.fits, else DIR.fov for a directory):
    /// "X Y RADIUS" or polygon vertices "X1 Y1 X2 Y2 ...", pixels counted from 0 as Hipsgen
    /// does (FITS pixel - 1).
    #[arg(long)]
    fov: bool,
    /// Input values outside MIN..MAX (physical values, after BSCALE/BZERO) are blank.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], allow_hyphen_values = true)]
    valid_range: Option<Vec<f32>>,
    /// Subtract each image's sky before coadding: a header keyword (e.g. SKYVAL), or auto
    /// (3-sigma-clipped median of the image's valid pixels).
    #[arg(long, value_name = "KEY|auto")]
    skyval: Option<SkyVal>,
    /// Pass over images whose pixel is more than R times longer one way than the other.
    #[arg(long, value_name = "R")]
    max_ratio: Option<f64>,
}

impl ControlArgs {
    fn controls(&self) -> InputControls {
        InputControls {
            pilot: self.pilot.map(|n| n as usize),
            shape: self.shape,
            fov: self.fov,
            valid_range: self.valid_range.as_ref().map(|v| (v[0], v[1])),
            skyval: self.skyval.clone(),
            max_ratio: self.max_ratio,
        }
    }
}

fn print_previews(r: &PreviewReport, formats: &[PreviewFormat]) {
    let names: Vec<&str> = formats.iter().map(|f| f.extension()).collect();
    eprintln!(
        "previews {} of {} tiles in {:.2} s ({:.0} tiles/s), cut {} .. {} {}",
        names.join(","),
        r.tiles,
        r.seconds,
        r.tiles as f64 / r.seconds.max(1e-9),
        r.tone.low,
        r.tone.high,
        r.tone.stretch.name()
    );
}

fn run_previews(a: PreviewArgs) -> anyhow::Result<ExitCode> {
    if a.format.is_empty() {
        anyhow::bail!("--format: name at least one of png, jpeg, webp");
    }
    let (cut, stretch) = a
        .look
        .look()
        .resolve(&Properties::default())
        .map_err(anyhow::Error::msg)?;
    let o = PreviewOptions {
        formats: a.format,
        cut,
        stretch,
        verbose: !a.quiet,
    };
    print_previews(&write_previews(&a.dir, &o)?, &o.formats);
    Ok(ExitCode::SUCCESS)
}

fn run_build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut o = BuildOptions::new(a.inputs, a.out, &a.id);
    o.order = a.order;
    o.min_order = a.min_order;
    o.tile_width = a.tile_width;
    o.frame = a.frame;
    o.sampling = Sampling {
        interpolation: a.interpolation,
        coadd: a.coadd,
        border: a.border,
    };
    o.tree = a.tree;
    o.blank = a.blank;
    o.bitpix = a.bitpix;
    o.hdus = a.hdu;
    o.controls = a.controls.controls();
    o.properties = hipsforge::hips::presets::survey_properties(
        a.preset.as_deref(),
        &a.properties_file,
        &a.prop,
    )?;
    o.resume = a.resume;
    o.force = a.force;
    o.cache_bytes = a.cache_mb << 20;
    o.previews = a.format;
    o.look = a.look.look();
    o.verbose = !a.quiet;
    o.fitskeys = a.fitskey;
    set_threads(a.threads)?;
    let r = build(&o)?;
    let total: usize = r.tiles_per_order.iter().map(|(_, n)| n).sum();
    let mpix = r.input_pixels as f64 / 1e6;
    eprintln!(
        "built {} at order {}: {} images ({mpix:.1} Mpix), {total} tiles ({}), TILES {:.2} s ({:.0} tiles/s, {:.1} input Mpix/s), total {:.2} s",
        o.out.display(),
        r.order,
        r.images_used,
        r.tiles_per_order.iter().map(|(k, n)| format!("order {k}: {n}")).collect::<Vec<_>>().join(", "),
        r.seconds_tiles,
        r.tiles_per_order[0].1 as f64 / r.seconds_tiles.max(1e-9),
        mpix / r.seconds_tiles.max(1e-9),
        r.seconds_total
    );
    if let Some(p) = &r.previews {
        print_previews(p, &o.previews);
    }
    for b in &r.blank_images {
        eprintln!("warning: {b}; it adds nothing");
    }
    if !r.read_errors.is_empty() {
        eprintln!(
            "error: {} input image(s) could not be read; their tiles lack them:",
            r.read_errors.len()
        );
        for e in &r.read_errors {
            eprintln!("  {e}");
        }
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_lint(dir: &std::path::Path) -> ExitCode {
    let findings = hipsforge::lint::lint(dir);
    for f in &findings {
        let level = match f.level {
            hipsforge::lint::Level::Error => "ERROR",
            hipsforge::lint::Level::Warning => "WARNING",
        };
        println!("{level}: {}", f.message);
    }
    let errors = findings
        .iter()
        .filter(|f| f.level == hipsforge::lint::Level::Error)
        .count();
    println!(
        "{}: {errors} errors, {} warnings",
        dir.display(),
        findings.len() - errors
    );
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => run_build(a),
        Command::Lint { dir } => Ok(run_lint(&dir)),
        Command::Rgb(a) => run_rgb(a),
        Command::Serve(a) => run_serve(a),
        Command::Cutout(a) => run_cutout(a),
        Command::Previews(a) => run_previews(a),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message:#}");
            ExitCode::from(2)
        }
    }
}
