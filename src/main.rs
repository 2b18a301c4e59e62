//! The `hipsforge` command: parses arguments, calls the library, maps errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use hipsforge::builder::resample::{Coadd, Interpolation, Sampling};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::fits::HduSelection;
use hipsforge::hips::pixels::Reducer;
use hipsforge::hips::properties::Properties;
use hipsforge::preview::{write_previews, CutSpec, PreviewFormat, PreviewOptions, Stretch};
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
    /// Cut stamps of many objects from one or more HiPS into a .npy or FITS array.
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
    /// The flags, else the suggestion of a preset or properties file, else the defaults.
    fn resolve(&self, suggested: &Properties) -> Result<(CutSpec, Stretch), String> {
        let cut = match (self.pixel_cut, suggested.get("hips_pixel_cut")) {
            (Some(c), _) => c,
            (None, Some(s)) => s
                .parse()
                .map_err(|e| format!("hips_pixel_cut of the preset: {e}"))?,
            (None, None) => CutSpec::default(),
        };
        let stretch = match (self.stretch, suggested.get("hips_pixel_func")) {
            (Some(s), _) => s,
            (None, Some(s)) => s
                .parse()
                .map_err(|e| format!("hips_pixel_func of the preset: {e}"))?,
            (None, None) => Stretch::default(),
        };
        Ok((cut, stretch))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PositionFrame {
    Icrs,
    Galactic,
}

#[derive(clap::Args)]
struct CutoutArgs {
    /// A band: NAME=DIR (repeat in output band order) or a bare DIR for a single band.
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
    /// bilinear, nearest or flux (area mean over 4x4 sub-samples).
    #[arg(long, default_value = "bilinear")]
    kernel: hipsforge::cutout::Kernel,
    /// HiPS order to read (default: the one matching the pixel scale).
    #[arg(long)]
    order: Option<u8>,
    /// Frame of the positions and stamps.
    #[arg(long, value_enum, default_value = "icrs")]
    frame: PositionFrame,
    /// Column of right ascension (default: ra, ra_deg, raj2000, ...).
    #[arg(long)]
    ra_col: Option<String>,
    /// Column of declination (default: dec, dec_deg, dej2000, ...).
    #[arg(long)]
    dec_col: Option<String>,
    /// Column of object ids kept in the manifest (default: id, objid, name, ...; else the row).
    #[arg(long)]
    id_col: Option<String>,
    /// Output: .npy (N, bands, size, size) float32, or .fits (NAXIS4 = N); a manifest CSV is
    /// written beside it.
    #[arg(long)]
    out: PathBuf,
    /// Start again instead of continuing an interrupted run.
    #[arg(long)]
    restart: bool,
    /// Memory for decoded tiles, in MB.
    #[arg(long, default_value_t = 1024)]
    cache_mb: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// `NAME=DIR`, or a bare `DIR` named after itself.
fn named_dir(spec: &str) -> (String, PathBuf) {
    match spec.split_once('=') {
        Some((name, dir)) => (name.to_string(), PathBuf::from(dir)),
        None => (
            hipsforge::serve::default_name(std::path::Path::new(spec)),
            PathBuf::from(spec),
        ),
    }
}

fn run_cutout(a: CutoutArgs) -> Result<ExitCode, String> {
    use hipsforge::cutout::bulk::{parse_scale, run_bulk, BulkOptions};
    let bands = a.hips.iter().map(|spec| named_dir(spec)).collect();
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| format!("--threads: {e}"))?;
    }
    let o = BulkOptions {
        bands,
        positions: a.positions,
        columns: hipsforge::cutout::positions::Columns {
            ra: a.ra_col,
            dec: a.dec_col,
            id: a.id_col,
        },
        size: a.size,
        scale_deg: a.scale.as_deref().map(parse_scale).transpose()?,
        projection: a.projection,
        frame: match a.frame {
            PositionFrame::Icrs => Frame::Equatorial,
            PositionFrame::Galactic => Frame::Galactic,
        },
        kernel: a.kernel,
        order: a.order,
        out: a.out,
        restart: a.restart,
        cache_bytes: a.cache_mb << 20,
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
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct ServeArgs {
    /// HiPS directories, each as DIR (mounted at /<dir name>/) or NAME=DIR.
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
}

fn run_serve(a: ServeArgs) -> Result<ExitCode, String> {
    let mounts = a.hips.iter().map(|spec| named_dir(spec)).collect();
    let o = hipsforge::serve::ServeOptions {
        mounts,
        base_url: a.base_url,
        cors_origin: a.cors_origin,
        aladin_lite: a.aladin_lite,
        file_cache_bytes: a.cache_mb << 20,
    };
    let app = hipsforge::serve::router(&o).map_err(|e| e.to_string())?;
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
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.addr)
            .await
            .map_err(|e| format!("{}: {e}", a.addr))?;
        let names: Vec<String> = o.mounts.iter().map(|(n, _)| format!("/{n}/")).collect();
        eprintln!(
            "serving {} on http://{} (Ctrl-C to stop)",
            names.join(" "),
            listener.local_addr().map_err(|e| e.to_string())?
        );
        hipsforge::serve::run(listener, app, hipsforge::serve::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
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

fn run_rgb(a: RgbArgs) -> Result<ExitCode, String> {
    if a.out.join("properties").exists() && !a.force {
        return Err(format!(
            "{}: already holds a HiPS; pass --force to replace it",
            a.out.display()
        ));
    }
    let o = hipsforge::preview::rgb::RgbOptions {
        channels: [a.red, a.green, a.blue],
        out: a.out,
        creator_did: a.id,
        format: a.format,
        cuts: [a.red_cut, a.green_cut, a.blue_cut].map(|c| c.unwrap_or(a.pixel_cut)),
        stretch: a.stretch,
        lupton: a.lupton,
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
    #[arg(long, default_value = "png")]
    format: String,
    #[command(flatten)]
    look: PreviewLook,
    /// No log lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FrameArg {
    Equatorial,
    Galactic,
}

#[derive(Clone, Copy, ValueEnum)]
enum InterpArg {
    Bilinear,
    Nearest,
}

#[derive(Clone, Copy, ValueEnum)]
enum CoaddArg {
    Mean,
    First,
    Fading,
}

#[derive(Clone, Copy, ValueEnum)]
enum TreeArg {
    Mean,
    Median,
    First,
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
    #[arg(long, default_value = "fits")]
    format: String,
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
    frame: FrameArg,
    #[arg(long, value_enum, default_value = "bilinear")]
    interpolation: InterpArg,
    /// How overlapping images combine.
    #[arg(long, value_enum, default_value = "mean")]
    coadd: CoaddArg,
    /// How parent tiles are made from their children.
    #[arg(long, value_enum, default_value = "mean")]
    tree: TreeArg,
    /// Pixels to ignore along every input image edge.
    #[arg(long, default_value_t = 0)]
    border: usize,
    /// An input value to treat as blank (besides NaN and BLANK).
    #[arg(long)]
    blank: Option<f32>,
    /// BITPIX of the FITS tiles (integer types are scaled over the input data range).
    #[arg(long, default_value_t = -32, allow_hyphen_values = true)]
    bitpix: i32,
    /// HDUs to use: "first" (first image HDU), "all", or a list like 1,2,3 (0 = primary).
    #[arg(long, default_value = "first")]
    hdu: String,
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
}

fn parse_hdus(s: &str) -> Result<HduSelection, String> {
    match s {
        "first" => Ok(HduSelection::FirstImage),
        "all" => Ok(HduSelection::All),
        list => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("--hdu: {n:?} is not an HDU number"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(HduSelection::List),
    }
}

fn user_properties(a: &BuildArgs) -> Result<Properties, String> {
    let mut p = Properties::default();
    if let Some(name) = &a.preset {
        let preset = hipsforge::hips::presets::preset(name).ok_or_else(|| {
            format!(
                "--preset {name}: unknown (known: {})",
                hipsforge::hips::presets::names().join(", ")
            )
        })?;
        p.merge(&preset);
    }
    for file in &a.properties_file {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        p.merge(&Properties::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    for kv in &a.prop {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--prop {kv:?}: expected KEY=VALUE"))?;
        p.set(k.trim(), v.trim());
    }
    Ok(p)
}

/// The 8-bit formats named in a `--format` list (`fits` is accepted and skipped).
fn preview_formats(list: &str) -> Result<Vec<PreviewFormat>, String> {
    let mut formats = Vec::new();
    for word in list
        .split(',')
        .map(str::trim)
        .filter(|w| *w != "fits" && !w.is_empty())
    {
        let f: PreviewFormat = word.parse().map_err(|e| format!("--format {word}: {e}"))?;
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    Ok(formats)
}

fn run_previews(
    root: &std::path::Path,
    formats: Vec<PreviewFormat>,
    (cut, stretch): (CutSpec, Stretch),
    verbose: bool,
) -> Result<(), String> {
    let o = PreviewOptions {
        formats,
        cut,
        stretch,
        verbose,
    };
    let r = write_previews(root, &o)?;
    let names: Vec<&str> = o.formats.iter().map(|f| f.extension()).collect();
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
    Ok(())
}

fn run_build(a: BuildArgs) -> Result<ExitCode, String> {
    let formats = preview_formats(&a.format)?;
    let mut o = BuildOptions::new(a.inputs.clone(), a.out.clone(), &a.id);
    o.order = a.order;
    o.min_order = a.min_order;
    o.tile_width = a.tile_width;
    o.frame = match a.frame {
        FrameArg::Equatorial => Frame::Equatorial,
        FrameArg::Galactic => Frame::Galactic,
    };
    o.sampling = Sampling {
        interpolation: match a.interpolation {
            InterpArg::Bilinear => Interpolation::Bilinear,
            InterpArg::Nearest => Interpolation::Nearest,
        },
        coadd: match a.coadd {
            CoaddArg::Mean => Coadd::Mean,
            CoaddArg::First => Coadd::First,
            CoaddArg::Fading => Coadd::Fading,
        },
        border: a.border,
    };
    o.tree = match a.tree {
        TreeArg::Mean => Reducer::Mean,
        TreeArg::Median => Reducer::Median,
        TreeArg::First => Reducer::First,
    };
    o.blank = a.blank;
    o.bitpix = a.bitpix;
    o.hdus = parse_hdus(&a.hdu)?;
    o.properties = user_properties(&a)?;
    o.resume = a.resume;
    o.force = a.force;
    o.cache_bytes = a.cache_mb << 20;
    o.verbose = !a.quiet;
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| format!("--threads: {e}"))?;
    }
    let r = build(&o).map_err(|e| e.to_string())?;
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
    if !formats.is_empty() {
        run_previews(&o.out, formats, a.look.resolve(&o.properties)?, o.verbose)?;
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
        Command::Previews(a) => preview_formats(&a.format).and_then(|f| {
            if f.is_empty() {
                return Err("--format: name at least one of png, jpeg, webp".into());
            }
            run_previews(&a.dir, f, a.look.resolve(&Properties::default())?, !a.quiet)
                .map(|_| ExitCode::SUCCESS)
        }),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
