//! The library API: build a HiPS from the sample FIRST images, then cut a stamp around a
//! source and print it. Run from the repository root:
//!
//!     cargo run --release --example cutout

use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::wcs::Frame;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::temp_dir().join("hipsforge-example-first");
    let mut options = BuildOptions::new(
        vec!["../shared/data/first".into()],
        out.clone(),
        "ivo://example/P/FIRST",
    );
    options.force = true;
    let report = build(&options)?;
    println!(
        "built {} at order {} ({} tiles)",
        out.display(),
        report.order,
        report.tiles_per_order.iter().map(|(_, n)| n).sum::<usize>()
    );

    // One tile cache for every cutout of the process (a server shares it between requests).
    let store = TileStore::new(256 << 20);
    let survey = Survey::open(&out, 0)?;
    // A 24×24 stamp of 1.8″ pixels on FIRST J130904.395+102952.52, north up.
    let grid = Grid::from_spec(&GridSpec {
        lon: 197.26831,
        lat: 10.49793,
        width: 24,
        height: 24,
        scale_deg: 1.8 / 3600.0,
        projection: "TAN".into(),
        rotation_deg: 0.0,
        frame: Frame::Equatorial,
    })?;
    let stamp = cutout(&store, &survey, &grid, Kernel::Bilinear, None)?;
    let peak = stamp
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::MIN, f32::max);
    println!(
        "peak {:.2} mJy/beam; the stamp, top row first (north up):",
        peak * 1e3
    );
    for row in stamp.chunks(24).rev() {
        let line: String = row
            .iter()
            .map(|&v| {
                if v.is_nan() {
                    ' '
                } else {
                    b" .:-=+*#%@"[((v / peak).clamp(0.0, 1.0) * 9.0) as usize] as char
                }
            })
            .collect();
        println!("  {line}");
    }
    Ok(())
}
