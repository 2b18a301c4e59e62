//! Hostile inputs, made at test time: every one is named with its reason, none panics or hangs,
//! and a good file beside them still builds. Alone, a broken file is an error (exit 2); an odd
//! but valid image (1×1, 1×N, infinite pixels) builds.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A FITS file from header cards (padded to 80 characters, END added unless `end` is false)
/// and raw data bytes, both padded to 2880-byte blocks.
fn fits(cards: &[String], data: &[u8], end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cards {
        out.extend_from_slice(format!("{c:<80}").as_bytes());
    }
    if end {
        out.extend_from_slice(format!("{:<80}", "END").as_bytes());
    }
    out.resize(out.len().div_ceil(2880) * 2880, b' ');
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

/// Cards of a `w`×`h` image of `bitpix` with a 1″ TAN WCS at (150, 2), with `change` applied
/// (key → replacement card, or removal with an empty replacement).
fn cards(bitpix: i32, dims: &[usize], change: &[(&str, &str)]) -> Vec<String> {
    let mut c = vec![
        "SIMPLE  =                    T".to_string(),
        format!("BITPIX  = {bitpix:>20}"),
        format!("NAXIS   = {:>20}", dims.len()),
    ];
    for (i, d) in dims.iter().enumerate() {
        c.push(format!("NAXIS{}  = {d:>20}", i + 1));
    }
    c.extend(
        [
            "CTYPE1  = 'RA---TAN'",
            "CTYPE2  = 'DEC--TAN'",
            "CRPIX1  =                 16.5",
            "CRPIX2  =                 16.5",
            "CRVAL1  =                150.0",
            "CRVAL2  =                  2.0",
            "CDELT1  =      -2.777777778E-4",
            "CDELT2  =       2.777777778E-4",
        ]
        .map(String::from),
    );
    for (key, card) in change {
        c.retain(|line| !line.starts_with(&format!("{key:<8}=")));
        if !card.is_empty() {
            c.push(card.to_string());
        }
    }
    c
}

fn floats(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// What a hostile file alone must give.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Alone {
    /// Exit 2, naming the file.
    Refused,
    /// Exit 0: odd but valid.
    Builds,
}

/// Writes every hostile input into `dir`; returns (file name, what it must give alone).
fn hostile_inputs(dir: &Path) -> Vec<(String, Alone)> {
    use Alone::*;
    let good = |change: &[(&str, &str)]| {
        fits(
            &cards(-32, &[32, 32], change),
            &floats((0..1024).map(|i| i as f32)),
            true,
        )
    };
    let image = fits(
        &cards(-32, &[32, 32], &[]),
        &floats((0..1024).map(|i| i as f32)),
        true,
    );
    let mut list: Vec<(String, Vec<u8>, Alone)> = vec![
        ("empty.fits".into(), Vec::new(), Refused),
        (
            "text.fits".into(),
            b"this is not a FITS file\n".repeat(200),
            Refused,
        ),
        (
            "truncated_header.fits".into(),
            image[..1000].to_vec(),
            Refused,
        ),
        (
            "truncated_data.fits".into(),
            image[..2880 + 1000].to_vec(),
            Refused,
        ),
        ("one_block.fits".into(), image[..2880].to_vec(), Refused),
        (
            "no_end.fits".into(),
            fits(
                &cards(-32, &[32, 32], &[]),
                &floats((0..1024).map(|i| i as f32)),
                false,
            ),
            Refused,
        ),
        (
            "corrupt.fits.gz".into(),
            {
                let mut g = gzip(&image);
                let n = g.len();
                g[20..n - 20].iter_mut().for_each(|b| *b ^= 0x5a);
                g
            },
            Refused,
        ),
        (
            "truncated.fits.gz".into(),
            {
                let g = gzip(&image);
                g[..g.len() / 2].to_vec()
            },
            Refused,
        ),
        (
            "plain_named.fits.gz".into(),
            b"plain text, not gzip".repeat(50),
            Refused,
        ),
        (
            "corrupt.fits.bz2".into(),
            {
                let mut b = bzip2(&image);
                let n = b.len();
                b[20..n - 4].iter_mut().for_each(|x| *x ^= 0x5a);
                b
            },
            Refused,
        ),
        (
            "truncated.fits.bz2".into(),
            {
                let b = bzip2(&image);
                b[..b.len() / 2].to_vec()
            },
            Refused,
        ),
        (
            "plain_named.fits.bz2".into(),
            b"plain text, not bzip2".repeat(50),
            Refused,
        ),
        (
            "naxis1_lies.fits".into(),
            good(&[("NAXIS1", "NAXIS1  =           2000000000")]),
            Refused,
        ),
        (
            "bitpix12.fits".into(),
            fits(&cards(12, &[32, 32], &[]), &[0; 2048], true),
            Refused,
        ),
        (
            "naxis999.fits".into(),
            good(&[("NAXIS", "NAXIS   =                  999")]),
            Refused,
        ),
        (
            "no_wcs.fits".into(),
            good(&[("CTYPE1", ""), ("CTYPE2", "")]),
            Refused,
        ),
        (
            "singular_cd.fits".into(),
            good(&[
                ("CDELT1", ""),
                ("CDELT2", ""),
                ("CD1_1", "CD1_1   =                1E-4"),
                ("CD1_2", "CD1_2   =                1E-4"),
                ("CD2_1", "CD2_1   =                1E-4"),
                ("CD2_2", "CD2_2   =                1E-4"),
            ]),
            Refused,
        ),
        (
            "cdelt_zero.fits".into(),
            good(&[("CDELT1", "CDELT1  =                  0.0")]),
            Refused,
        ),
        (
            "nan_crval.fits".into(),
            good(&[("CRVAL1", "CRVAL1  =                  NaN")]),
            Refused,
        ),
        (
            "nan_cdelt.fits".into(),
            good(&[("CDELT2", "CDELT2  =                  NaN")]),
            Refused,
        ),
        (
            "dec_above_90.fits".into(),
            good(&[("CRVAL2", "CRVAL2  =                123.0")]),
            Refused,
        ),
        (
            "unknown_ctype.fits".into(),
            good(&[
                ("CTYPE1", "CTYPE1  = 'RA---XYZ'"),
                ("CTYPE2", "CTYPE2  = 'DEC--XYZ'"),
            ]),
            Refused,
        ),
        (
            "mismatched_ctype.fits".into(),
            good(&[("CTYPE2", "CTYPE2  = 'GLAT-TAN'")]),
            Refused,
        ),
        (
            "scale_90deg.fits".into(),
            good(&[
                ("CDELT1", "CDELT1  =                -90.0"),
                ("CDELT2", "CDELT2  =                 90.0"),
            ]),
            Refused,
        ),
        (
            "scale_1e-12.fits".into(),
            good(&[
                ("CDELT1", "CDELT1  =               -1E-12"),
                ("CDELT2", "CDELT2  =                1E-12"),
            ]),
            Refused,
        ),
        (
            "all_nan.fits".into(),
            fits(&cards(-32, &[32, 32], &[]), &floats([f32::NAN; 1024]), true),
            Refused,
        ),
        (
            "all_blank_int.fits".into(),
            fits(
                &cards(
                    16,
                    &[32, 32],
                    &[("BLANK", "BLANK   =                -1000")],
                ),
                &(-1000i16).to_be_bytes().repeat(1024),
                true,
            ),
            Refused,
        ),
        (
            "bscale_zero.fits".into(),
            fits(
                &cards(
                    16,
                    &[32, 32],
                    &[("BSCALE", "BSCALE  =                  0.0")],
                ),
                &7i16.to_be_bytes().repeat(1024),
                true,
            ),
            Refused,
        ),
        (
            "cube.fits".into(),
            fits(
                &cards(-32, &[32, 32, 3], &[]),
                &floats((0..3072).map(|i| i as f32)),
                true,
            ),
            Refused,
        ),
        (
            "infinite_pixels.fits".into(),
            fits(
                &cards(-32, &[32, 32], &[]),
                &floats((0..1024).map(|i| match i % 3 {
                    0 => f32::INFINITY,
                    1 => f32::NEG_INFINITY,
                    _ => 5.0,
                })),
                true,
            ),
            Builds,
        ),
        (
            "one_by_one.fits".into(),
            fits(
                &cards(
                    -32,
                    &[1, 1],
                    &[
                        ("CRPIX1", "CRPIX1  =                  1.0"),
                        ("CRPIX2", "CRPIX2  =                  1.0"),
                    ],
                ),
                &floats([3.0]),
                true,
            ),
            Builds,
        ),
        // cfitsio's extended file-name syntax in a real file name: opened as the file it is.
        ("named[1]+2(x).fits".into(), image.clone(), Builds),
        (
            "one_by_n.fits".into(),
            fits(
                &cards(-32, &[1, 200], &[]),
                &floats((0..200).map(|i| i as f32)),
                true,
            ),
            Builds,
        ),
    ];
    for (name, bytes, _) in &list {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::create_dir_all(dir.join("directory.fits")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop_b.fits"), dir.join("loop_a.fits")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop_a.fits"), dir.join("loop_b.fits")).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere.fits"), dir.join("dangling.fits")).unwrap();
    let mut names: Vec<(String, Alone)> = list.drain(..).map(|(n, _, a)| (n, a)).collect();
    for n in [
        "directory.fits",
        "loop_a.fits",
        "loop_b.fits",
        "dangling.fits",
    ] {
        names.push((n.into(), Alone::Refused));
    }
    names
}

/// Runs `hipsforge build INPUTS...` with a deadline (a hang fails the test).
fn build(inputs: &[PathBuf], out: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(common::binary())
        .arg("build")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args([
            "--id",
            "ivo://test/P/hostile",
            "--tile-width",
            "64",
            "--force",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("hang: build of {inputs:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn hostile_inputs_are_named_and_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let cases = hostile_inputs(&bad);
    assert!(cases.len() >= 30, "{} hostile inputs", cases.len());
    let good = common::shared_data().join("first/FIRST_J001357-091951.fits");

    // All together with a good file: each hostile file named, the good one built.
    let mut inputs: Vec<PathBuf> = cases.iter().map(|(n, _)| bad.join(n)).collect();
    inputs.push(good.clone());
    let out = dir.path().join("together");
    let (code, stderr) = build(&inputs, &out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Exit 3: some images were found but their pixels could not be read (truncated data).
    assert_eq!(code, Some(3), "with a good file among them: {stderr}");
    for (name, alone) in &cases {
        if *alone == Alone::Refused {
            assert!(
                stderr.contains(name.as_str()),
                "{name} is not named:\n{stderr}"
            );
        }
    }
    let hips = hipsforge::reader::HipsDir::open(&out).unwrap();
    let mut reader = hipsforge::reader::PixelReader::new(&hips, hips.order);
    let v = reader
        .bilinear(3.48848f64.to_radians(), (-9.33123f64).to_radians())
        .unwrap();
    assert!(v.is_finite(), "the good FIRST file is not in the HiPS");

    // Each alone: broken files are errors naming the file, odd valid images build.
    for (name, alone) in &cases {
        let out = dir.path().join(format!("alone-{name}"));
        let (code, stderr) = build(&[bad.join(name)], &out);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        match alone {
            Alone::Refused => {
                assert_eq!(code, Some(2), "{name}: {stderr}");
                assert!(
                    stderr.contains(name.as_str()),
                    "{name} is not named: {stderr}"
                );
            }
            Alone::Builds => assert_eq!(code, Some(0), "{name}: {stderr}"),
        }
    }
}

#[test]
fn hostile_options_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let first = common::shared_data().join("first/FIRST_J001357-091951.fits");
    let run = |args: &[&str]| {
        let o = Command::new(common::binary()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        (o.status.code(), stderr)
    };
    let out = dir.path().join("h");
    let (o, f) = (out.to_str().unwrap(), first.to_str().unwrap());
    let base = ["build", f, "--out", o, "--id", "ivo://t/P/x", "--force"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    // A border wider than the image leaves nothing to place: an error naming why, no panic.
    let (code, stderr) = run(&with(&["--border", "100000"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no tile with data"), "{stderr}");
    let (code, stderr) = run(&with(&["--min-order", "25"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--min-order 25"), "{stderr}");
    // A HiPS to cut from, then an order beyond it (and beyond HEALPix's depth table).
    let (code, stderr) = run(&with(&[]));
    assert_eq!(code, Some(0), "{stderr}");
    let positions = dir.path().join("p.csv");
    std::fs::write(&positions, "ra,dec\n3.48848,-9.33123\n").unwrap();
    let stack = dir.path().join("c.npy");
    let (code, stderr) = run(&[
        "cutout",
        "--hips",
        o,
        "--positions",
        positions.to_str().unwrap(),
        "--order",
        "40",
        "--out",
        stack.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--order 40 is deeper"), "{stderr}");
}
