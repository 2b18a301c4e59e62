//! The `hipsforge` Python module (python/, built into a private venv by
//! scripts/install-python-package.sh) on five SDSS bands: pytest (python/tests/) checks its
//! stamps against `hipsforge cutout`, through our server as remote HiPS, its WCS through
//! astropy, the dataset and batch iterator, errors and the released GIL. When the module
//! cannot be built or installed the test fails under CI and is skipped with a
//! `SKIPPED python:` line on stderr elsewhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hipsforge::serve::{router, ServeOptions};

const BANDS: [&str; 5] = ["u", "g", "r", "i", "z"];

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dir/objects.csv`: 200 objects (id,ra,dec) spread over RA 323.30..323.38,
/// Dec −0.78..−0.69, inside all five frames of field 002583-2-0136.
fn positions(dir: &Path) -> PathBuf {
    let mut text = String::from("id,ra,dec\n");
    for i in 0..200u32 {
        // Two incommensurate steps: a quasi-random, reproducible spread over the box.
        let (u, v) = ((i as f64 * 0.618_034) % 1.0, (i as f64 * 0.414_214) % 1.0);
        let (ra, dec) = (323.30 + 0.08 * u, -0.78 + 0.09 * v);
        text.push_str(&format!("q{i},{ra:.7},{dec:.7}\n"));
    }
    let path = dir.join("objects.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn python_module_cuts_what_the_cli_cuts() {
    let installed = common::run_installer("scripts/install-python-package.sh")
        .map(PathBuf::from)
        .map_err(|e| format!("the hipsforge Python module could not be built: {e}"));
    let Some(python) = common::ready_or_skip("python", installed) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared_data().join("sdss");
    let mut hips = Vec::new();
    for band in BANDS {
        let out = dir.path().join(format!("sdss-{band}"));
        run(Command::new(common::binary()).args([
            "build",
            data.join(format!("frame-{band}-002583-2-0136.fits.bz2"))
                .to_str()
                .unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--id",
            &format!("ivo://test/P/sdss-{band}"),
            "--tile-width",
            "128",
            "-q",
        ]));
        hips.push(out);
    }
    let csv = positions(dir.path());

    // The CLI's stamps, the reference for the module's.
    let cli = dir.path().join("cli.npy");
    // The same stamps as a Zarr store, read back by zarr-python.
    let zarr = dir.path().join("cli.zarr");
    for out in [&cli, &zarr] {
        let mut cutout = Command::new(common::binary());
        cutout.args(["cutout", "--positions", csv.to_str().unwrap()]);
        for (band, h) in BANDS.iter().zip(&hips) {
            cutout.args(["--hips", &format!("{band}={}", h.display())]);
        }
        cutout.args(["--size", "28", "-q", "--out", out.to_str().unwrap()]);
        run(&mut cutout);
    }

    let app = router(&ServeOptions {
        mounts: BANDS
            .iter()
            .zip(&hips)
            .map(|(b, h)| (format!("sdss-{b}"), h.clone()))
            .collect(),
        ..Default::default()
    })
    .unwrap();
    let addr = common::start_server(app);

    let join = |v: Vec<String>| std::env::join_paths(v).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = run(Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests"))
        .current_dir(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env(
            "HIPSFORGE_TEST_HIPS",
            join(hips.iter().map(|h| h.display().to_string()).collect()),
        )
        .env("HIPSFORGE_TEST_URL", format!("http://{addr}"))
        .env("HIPSFORGE_TEST_CSV", &csv)
        .env("HIPSFORGE_TEST_CLI_NPY", &cli)
        .env("HIPSFORGE_TEST_CLI_ZARR", &zarr)
        .env("HIPSFORGE_TEST_CACHE", dir.path().join("remote-cache")));
    eprintln!("{out}");
    assert!(out.contains("passed"), "{out}");
    assert!(!out.contains("skipped"), "{out}");
}
