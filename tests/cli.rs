//! The command line as a user meets it: clear errors with non-zero exits, bad files reported
//! by name without stopping the others, refusing to clobber, and resuming.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(common::binary()).args(args).output().unwrap()
}

/// `hipsforge build INPUT --out OUT --id ivo://a/P/b EXTRA...`
fn build(input: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["build", input, "--out", out, "--id", "ivo://a/P/b"];
    args.extend_from_slice(extra);
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn first_file() -> String {
    common::shared_data()
        .join("first/FIRST_J001357-091951.fits")
        .display()
        .to_string()
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h").display().to_string();
    let first = first_file();
    let check = |o: Output, expected: &str| {
        assert_eq!(o.status.code(), Some(2), "{expected}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{expected}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    };
    check(
        build("/no/such/file.fits", &out, &[]),
        "/no/such/file.fits: no such file",
    );
    check(
        run(&["build", &first, "--out", &out, "--id", "nonsense"]),
        "--id must look like",
    );
    let cases: [(&[&str], &str); 5] = [
        (&["--tile-width", "500"], "--tile-width"),
        (&["--bitpix", "12"], "--bitpix"),
        (&["--order", "25"], "exceeds HEALPix depth 29"),
        (&["--format", "gif"], "'--format <FORMAT>'"),
        (&["--format", "png,gif"], "unknown tile format \"gif\""),
    ];
    for (extra, expected) in cases {
        check(build(&first, &out, extra), expected);
    }
}

#[test]
fn unusable_and_corrupt_inputs_are_named_and_the_rest_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::write(inputs.join("garbage.fits"), b"this is not FITS at all").unwrap();
    // A valid FITS image without any WCS.
    let bytes = hipsforge::fits::write::encode_image(
        4,
        4,
        &[1.0; 16],
        hipsforge::fits::write::Encoding::float32(),
        &[],
    );
    std::fs::write(inputs.join("nowcs.fits"), bytes).unwrap();
    // Only the two bad files: nothing to build, exit 2, both named.
    let out = dir.path().join("h");
    let o = build(inputs.to_str().unwrap(), out.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("no usable input image"), "{e}");
    assert!(
        e.contains("garbage.fits") && e.contains("nowcs.fits[0]: no celestial WCS"),
        "{e}"
    );
    // With a good file beside them: built, and the bad ones still reported.
    std::fs::copy(first_file(), inputs.join("good.fits")).unwrap();
    let o = build(
        inputs.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--force"],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("skipped") && e.contains("garbage.fits") && e.contains("nowcs.fits"),
        "{e}"
    );
    assert!(out.join("properties").is_file());
}

#[test]
fn unwritable_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("hips");
    let o = build(&first_file(), out.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot create the output directory or write in it"),
        "{}",
        stderr(&o)
    );
}

fn tiles(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "fits") {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn existing_output_is_protected_and_an_interrupted_build_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h");
    let input = common::shared_data().join("first").display().to_string();
    let args = [
        "build",
        &input,
        "--out",
        out.to_str().unwrap(),
        "--id",
        "ivo://a/P/b",
        "--tile-width",
        "64",
    ];
    assert!(run(&args).status.success());
    let complete = tiles(&out);
    assert!(complete.len() > 20);

    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--resume") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );

    // Simulate a crash: half the deepest tiles, all parents and the metadata are gone, and a
    // temporary file was left behind.
    let deepest = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("Norder")?
                .parse::<u8>()
                .ok()
        })
        .max()
        .unwrap();
    let mut removed = 0;
    // The kept tiles get an old modification time, so any rewrite shows.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let mut kept = Vec::new();
    for (i, (path, bytes)) in complete.iter().enumerate() {
        let is_leaf = path.starts_with(&format!("Norder{deepest}/"));
        if !is_leaf || i % 2 == 0 {
            std::fs::remove_file(out.join(path)).unwrap();
            removed += 1;
        } else {
            let f = std::fs::File::options()
                .write(true)
                .open(out.join(path))
                .unwrap();
            f.set_modified(old).unwrap();
            kept.push((path.clone(), bytes.clone()));
        }
    }
    assert!(
        removed > 0 && kept.len() > 5,
        "{removed} removed, {} kept",
        kept.len()
    );
    std::fs::remove_file(out.join("properties")).unwrap();
    let leaf = complete
        .iter()
        .find(|(p, _)| p.starts_with(&format!("Norder{deepest}/")))
        .unwrap();
    std::fs::write(out.join(format!("{}.tmp", leaf.0)), b"partial").unwrap();
    let mut resume = args.to_vec();
    resume.push("--resume");
    let o = run(&resume);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        tiles(&out),
        complete,
        "a resumed build must give the same tiles"
    );
    // The tiles that survived the crash were kept as they were, not rewritten.
    for (path, bytes) in &kept {
        let p = out.join(path);
        assert_eq!(&std::fs::read(&p).unwrap(), bytes, "{path}");
        assert_eq!(
            std::fs::metadata(&p).unwrap().modified().unwrap(),
            old,
            "{path} was rewritten by --resume"
        );
    }
    assert!(out.join("properties").is_file());
}

#[test]
fn an_image_whose_pixels_cannot_be_read_is_named_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(first_file(), inputs.join("good.fits")).unwrap();
    // A header that reads fine, then the data stops short.
    let nvss =
        std::fs::read(common::shared_data().join("radio/NVSS_J001357.2-091951.5.fits")).unwrap();
    std::fs::write(inputs.join("truncated.fits"), &nvss[..20_000]).unwrap();
    let out = dir.path().join("h");
    let o = build(inputs.to_str().unwrap(), out.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("truncated.fits") && e.contains("could not be read"),
        "{e}"
    );
    assert!(
        out.join("properties").is_file(),
        "the good image is still built"
    );
}

/// The README's first set-up command, run as written from the repository root (its input ships
/// in examples/data, so a clone alone is enough), into a temporary directory.
#[test]
fn readme_first_command_builds_from_the_repository_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -- build "))
        .expect("README has the build command");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sdss-r");
    let mut args: Vec<String> = line
        .trim_start_matches("cargo run --release -- ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let at = args.iter().position(|a| a == "--out").unwrap() + 1;
    args[at] = out.display().to_string();
    let input = &args[1];
    assert!(
        input.starts_with("examples/"),
        "the first command must not need ../shared: {input}"
    );
    let o = Command::new(common::binary())
        .current_dir(root)
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let props = std::fs::read_to_string(out.join("properties")).unwrap();
    for wanted in [
        "creator_did           = ivo://hipsforge/P/SDSS/r",
        "hips_order            = 11",
        "hips_tile_format      = png fits",
    ] {
        assert!(props.contains(wanted), "{wanted} missing in\n{props}");
    }
    // The frame's centre (RA 323.3428, Dec -0.7340) is inside the HiPS and holds sky values.
    let hips = hipsforge::reader::HipsDir::open(&out).unwrap();
    let mut reader = hipsforge::reader::PixelReader::new(&hips, 11);
    let value = reader
        .bilinear(323.3428f64.to_radians(), (-0.7340f64).to_radians())
        .unwrap();
    assert!(value.is_finite(), "no data at the frame centre");
    assert!(out.join("index.html").is_file() && out.join("Norder3/Allsky.png").is_file());
}
