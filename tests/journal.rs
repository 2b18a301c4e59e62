//! The build journal and real crashes: `hipsforge build` is SIGKILLed as a child process at
//! several points, resumed, and the whole output tree must equal an uninterrupted build byte
//! for byte; `--resume` of a different build is refused, naming what differs; a full disk is a
//! clear error and the resumed build after space is freed is byte-identical too.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hipsforge::fits::write::{encode_image, Encoding};

/// Fixed build time, so that two builds of the same inputs have the same properties.
const SOURCE_DATE_EPOCH: &str = "1764547200";

/// A 4 × 3 mosaic of overlapping 1″ TAN images with noisy data (cheap to make, not a sky
/// model: these tests compare bytes, not positions).
fn mosaic(dir: &Path, size: usize) -> PathBuf {
    let inputs = dir.join("mosaic");
    std::fs::create_dir_all(&inputs).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for (i, (col, row)) in (0..4).flat_map(|c| (0..3).map(move |r| (c, r))).enumerate() {
        let step = size as f64 * 0.85;
        let (ra, dec) = common::offset(150.0, 2.0, col as f64 * step, row as f64 * step);
        let image = common::SynthImage {
            width: size,
            height: size,
            crval: (ra, dec),
            cd: common::rotated_cd(1.0, 3.0 * i as f64),
        };
        let data: Vec<f32> = (0..size * size)
            .map(|k| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (k % size) as f32 * 0.01 + (state % 1000) as f32 * 0.001 + i as f32
            })
            .collect();
        let bytes = encode_image(size, size, &data, Encoding::float32(), &image.cards());
        std::fs::write(inputs.join(format!("img{i:02}.fits")), bytes).unwrap();
    }
    inputs
}

fn build_command(input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(common::binary());
    c.args(["build"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--id", "ivo://test/P/crash", "--tile-width", "64"])
        .args(["--threads", "1", "--format", "fits,png", "-q"])
        .args(extra)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

/// Runs a build that must succeed (`label` says which, when it does not).
fn build_ok(c: Command, label: &str) {
    let o = run(c);
    assert_eq!(o.status.code(), Some(0), "{label}: {}", stderr(&o));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `root` (relative path → bytes).
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn assert_same_tree(reference: &Path, resumed: &Path, label: &str) {
    let (a, b) = (tree(reference), tree(resumed));
    let names = |t: &BTreeMap<PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{label}: file lists differ");
    for (path, bytes) in &a {
        assert!(&b[path] == bytes, "{label}: {} differs", path.display());
    }
}

fn count_files(dir: &Path, ext: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                count_files(&p, ext)
            } else {
                p.extension().is_some_and(|e| e == ext) as usize
            }
        })
        .sum()
}

/// When to kill a running build, judged from what it has written so far.
type KillPoint = Box<dyn Fn(&Path) -> bool>;

/// Starts the build and SIGKILLs it as soon as `reached(out)` holds; panics if the build
/// ended first (the kill point was never reached).
fn kill_when(mut c: Command, out: &Path, reached: impl Fn(&Path) -> bool, label: &str) {
    let mut child: Child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{label}: the build ended ({status}) before the kill point");
        }
        if reached(out) {
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        }
        assert!(Instant::now() < deadline, "{label}: kill point not reached");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Header keywords of the mosaic kept in the progenitor index (HpxFinder/).
const FITSKEYS: [&str; 2] = ["--fitskey", "RADESYS,CTYPE1"];

#[test]
fn killed_builds_resume_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = mosaic(dir.path(), 420);
    let reference = dir.path().join("reference");
    build_ok(build_command(&input, &reference, &FITSKEYS), "");
    let props = std::fs::read_to_string(reference.join("properties")).unwrap();
    let order: u8 = props
        .lines()
        .find_map(|l| l.strip_prefix("hips_order            = "))
        .unwrap()
        .parse()
        .unwrap();
    let leaves = count_files(&reference.join(format!("Norder{order}")), "fits");
    assert!(leaves > 100, "{leaves} leaves: too few for the kill points");
    assert!(reference.join(".hipsforge-build").is_file());
    // The progenitor index covers every leaf, each line with the --fitskey values.
    let index = reference.join("HpxFinder").join(format!("Norder{order}"));
    assert_eq!(count_files(&index, "fits"), 0);
    let index_files: Vec<PathBuf> = std::fs::read_dir(&index)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(index_files.len(), leaves);
    let first = std::fs::read_to_string(&index_files[0]).unwrap();
    assert!(
        first.contains("\"RADESYS\": \"ICRS\", \"CTYPE1\": \"RA---TAN\" }"),
        "{first}"
    );

    let deepest = format!("Norder{order}");
    let top = format!("Norder{}", order - 4);
    let points: [(&str, KillPoint); 5] = [
        (
            "INDEX (journal written, no tile yet)",
            Box::new(|out: &Path| out.join(".hipsforge-build").is_file()),
        ),
        (
            "mid-TILES",
            Box::new(move |out: &Path| count_files(&out.join(&deepest), "fits") >= leaves / 3),
        ),
        (
            "TREE above the subtrees",
            Box::new(move |out: &Path| out.join(&top).is_dir()),
        ),
        (
            "HpxFinder (progenitor index being written)",
            Box::new(|out: &Path| out.join("HpxFinder").is_dir()),
        ),
        (
            "PREVIEWS",
            Box::new(move |out: &Path| count_files(&out.join(format!("Norder{order}")), "png") > 0),
        ),
    ];
    for (i, (label, reached)) in points.into_iter().enumerate() {
        let out = dir.path().join(format!("crash{i}"));
        kill_when(build_command(&input, &out, &FITSKEYS), &out, reached, label);
        let resume = [&FITSKEYS[..], &["--resume"]].concat();
        build_ok(build_command(&input, &out, &resume), label);
        assert_same_tree(&reference, &out, label);
    }
}

#[test]
fn resume_refuses_another_build_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let input = mosaic(dir.path(), 120);
    let out = dir.path().join("h");
    build_ok(build_command(&input, &out, &[]), "");
    let before = tree(&out);

    let first = common::shared_data().join("first");
    let cases: [(&Path, &[&str], &str); 4] = [
        (&first, &["--resume"], "inputs: 12 then, 9 now"),
        (
            &input,
            &["--resume", "--coadd", "first"],
            "coadd: Mean then, First now",
        ),
        (
            &input,
            &["--resume", "--bitpix", "16"],
            "bitpix: -32 then, 16 now",
        ),
        (
            &input,
            &["--resume", "--fitskey", "RADESYS"],
            "fitskeys: (none) then, RADESYS now",
        ),
    ];
    for (input, extra, expected) in cases {
        let o = run(build_command(input, &out, extra));
        assert_eq!(o.status.code(), Some(2), "{expected}: {}", stderr(&o));
        let message = stderr(&o);
        assert!(
            message.contains("--resume refused") && message.contains(expected),
            "{expected}: {message}"
        );
    }
    assert_eq!(
        tree(&out),
        before,
        "a refused resume must not touch the output"
    );

    // Tiles without a journal (e.g. made by another tool) are not resumed either.
    std::fs::remove_file(out.join(".hipsforge-build")).unwrap();
    let o = run(build_command(&input, &out, &["--resume"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no build journal"), "{}", stderr(&o));
}

#[test]
fn integer_tiles_resume_to_the_same_bytes() {
    // Parents are made from the quantised children, whether computed or read back.
    let dir = tempfile::tempdir().unwrap();
    let input = mosaic(dir.path(), 200);
    let reference = dir.path().join("reference");
    build_ok(build_command(&input, &reference, &["--bitpix", "16"]), "");
    let out = dir.path().join("resumed");
    build_ok(build_command(&input, &out, &["--bitpix", "16"]), "");
    // An interruption after TILES: every parent and all previews gone, leaves kept.
    let order = hipsforge::reader::HipsDir::open(&out).unwrap().order;
    for k in 0..order {
        std::fs::remove_dir_all(out.join(format!("Norder{k}"))).unwrap();
    }
    for f in ["properties", "Moc.fits", "index.html", "preview.jpg"] {
        std::fs::remove_file(out.join(f)).unwrap();
    }
    build_ok(
        build_command(&input, &out, &["--bitpix", "16", "--resume"]),
        "",
    );
    assert_same_tree(&reference, &out, "BITPIX 16");
}

/// Mounts a tmpfs of `size` at `dir`; `Err` when this machine does not allow it.
fn mount_tmpfs(dir: &Path, size: &str) -> Result<(), String> {
    let o = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    o.status
        .success()
        .then_some(())
        .ok_or_else(|| String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_full_disk_is_a_clear_error_and_resume_finishes_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let input = mosaic(dir.path(), 300);
    let reference = dir.path().join("reference");
    build_ok(build_command(&input, &reference, &[]), "");
    let needed: usize = tree(&reference).values().map(Vec::len).sum();

    let disk = dir.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    if let Err(e) = mount_tmpfs(&disk, &format!("{}k", needed / 3 / 1024)) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: cannot mount a tmpfs: {e}"
        );
        std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED full-disk test: cannot mount a tmpfs here ({e})\n").as_bytes(),
        )
        .unwrap();
        return;
    }
    let unmount = |d: &Path| Command::new("umount").arg(d).status().unwrap();
    let out = disk.join("h");
    let o = run(build_command(&input, &out, &[]));
    let message = stderr(&o);
    let grow = Command::new("mount")
        .args(["-o", &format!("remount,size={}k", needed * 2 / 1024 + 1024)])
        .arg(&disk)
        .status()
        .unwrap();
    let resumed = run(build_command(&input, &out, &["--resume"]));
    let same = tree(&reference) == tree(&out);
    unmount(&disk);
    assert_eq!(o.status.code(), Some(2), "{message}");
    assert!(
        message.contains("No space left on device") && message.contains(".fits"),
        "the error names the file and the cause: {message}"
    );
    assert!(grow.success());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(same, "resumed after the disk was freed: not the same bytes");
}
