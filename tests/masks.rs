//! Hipsgen's input controls end to end (`--shape`, `--fov` masks, `--valid-range`, `--skyval`,
//! `--pilot`, `--max-ratio`): built HiPS read back pixel by pixel and compared with the build
//! without the control, at each HiPS pixel's exact source position.

mod common;

use std::path::{Path, PathBuf};

use common::{hipsforge, SynthImage};
use hipsforge::fits::write::{encode_image, Card, CardValue, Encoding};
use hipsforge::reader::{HipsDir, PixelReader};
use hipsforge::wcs::Wcs;

/// `hipsforge build INPUT --out OUT --id ivo://test/P/NAME --tile-width 64 EXTRA...`, which
/// must succeed; the HiPS and the build's stderr (log lines included).
fn build(input: &Path, out: &Path, extra: &[&str]) -> (HipsDir, String) {
    let args = common::build_args(input, out, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, err) = hipsforge(&args);
    assert!(ok, "hipsforge {}: {err}", args.join(" "));
    (HipsDir::open(out).unwrap(), err)
}

/// A TAN image of `width × height` pixels of `sx` × `sy` arcsec, `east`/`north` arcsec from
/// the scene centre.
fn image(width: usize, height: usize, east: f64, sx: f64, sy: f64) -> SynthImage {
    let (ra, dec) = common::SCENE_CENTRE;
    SynthImage {
        width,
        height,
        crval: common::offset(ra, dec, east, 0.0),
        cd: [[-sx / 3600.0, 0.0], [0.0, sy / 3600.0]],
    }
}

/// Pixel values 100 + 3x + 7y (x, y 0-based): every pixel tells where it is.
fn ramp(im: &SynthImage) -> Vec<f32> {
    (0..im.width * im.height)
        .map(|k| 100.0 + 3.0 * (k % im.width) as f32 + 7.0 * (k / im.width) as f32)
        .collect()
}

/// Writes `pixels` as `path` with the image's WCS plus `extra` cards.
fn write(im: &SynthImage, path: &Path, pixels: &[f32], extra: Vec<Card>) {
    let mut cards = im.cards();
    cards.extend(extra);
    let bytes = encode_image(im.width, im.height, pixels, Encoding::float32(), &cards);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// One max-order HiPS pixel: its exact source position (FITS pixels), the value of the
/// reference build and of the other build there.
struct Sample {
    px: f64,
    py: f64,
    reference: f32,
    value: f32,
}

/// Every max-order pixel of `reference` that has data, with `other`'s value at the same pixel.
fn samples(reference: &HipsDir, other: &HipsDir, wcs: &Wcs) -> Vec<Sample> {
    assert_eq!(reference.order, other.order);
    let k = reference.order;
    let bits = reference.width.trailing_zeros() as u64;
    let (mut a, mut b) = (PixelReader::new(reference, k), PixelReader::new(other, k));
    let mut out = Vec::new();
    for tile in reference.tiles(k, "fits").unwrap() {
        for sub in 0..1u64 << (2 * bits) {
            let q = (tile << (2 * bits)) | sub;
            let r = a.pixel(q).unwrap();
            if r.is_nan() {
                continue;
            }
            let (lon, lat) = cdshealpix::nested::center(a.depth(), q);
            let (px, py) = wcs
                .world_to_pixel(lon.to_degrees(), lat.to_degrees())
                .unwrap();
            out.push(Sample {
                px,
                py,
                reference: r,
                value: b.pixel(q).unwrap(),
            });
        }
    }
    out
}

/// Source positions this close to a pixel boundary are left out: the builder interpolates
/// positions inside blocks, to < 0.01 px (tests/resample_grid.rs), so the nearest pixel there
/// could be its neighbour.
fn unambiguous(p: f64) -> bool {
    let f = (p + 0.5).fract();
    f > 0.02 && f < 0.98
}

/// Checks a mask pixel by pixel: where the source pixel nearest to a HiPS pixel is outside
/// (`inside` = Some(false)) the masked build is blank; where the four bilinear neighbours are
/// all inside, it equals the unmasked build exactly. `inside` takes FITS pixel centres and
/// answers None on the boundary. Returns (pixels checked blank, pixels checked equal).
fn check_mask(
    reference: &HipsDir,
    masked: &HipsDir,
    wcs: &Wcs,
    inside: impl Fn(f64, f64) -> Option<bool>,
) -> (usize, usize) {
    let (mut blank, mut equal) = (0, 0);
    for s in samples(reference, masked, wcs) {
        if !(unambiguous(s.px) && unambiguous(s.py)) {
            continue;
        }
        let nearest = ((s.px + 0.5).floor(), (s.py + 0.5).floor());
        if inside(nearest.0, nearest.1) == Some(false) {
            assert!(
                s.value.is_nan(),
                "({:.2}, {:.2}) outside the mask: {}",
                s.px,
                s.py,
                s.value
            );
            blank += 1;
            continue;
        }
        let (x0, y0) = (s.px.floor(), s.py.floor());
        let corners = [
            (x0, y0),
            (x0 + 1.0, y0),
            (x0, y0 + 1.0),
            (x0 + 1.0, y0 + 1.0),
        ];
        if corners.iter().all(|&(x, y)| inside(x, y) == Some(true)) {
            assert_eq!(
                s.value.to_bits(),
                s.reference.to_bits(),
                "({:.2}, {:.2}) inside the mask: {} vs {} unmasked",
                s.px,
                s.py,
                s.value,
                s.reference
            );
            equal += 1;
        }
    }
    eprintln!(
        "mask: {blank} HiPS pixels checked blank, {equal} checked equal to the unmasked build"
    );
    (blank, equal)
}

/// Inside the ellipse of centre (cx, cy), semi-axes (a, b); None within 1e-9 of its edge.
fn in_ellipse(cx: f64, cy: f64, a: f64, b: f64) -> impl Fn(f64, f64) -> Option<bool> {
    move |x, y| {
        let rho = ((x - cx) / a).powi(2) + ((y - cy) / b).powi(2);
        ((rho - 1.0).abs() > 1e-9).then_some(rho < 1.0)
    }
}

#[test]
fn shape_circle_and_ellipse_blank_outside_and_keep_inside() {
    let dir = tempfile::tempdir().unwrap();
    // 160 × 100: the inscribed circle (radius 50) and ellipse (80 × 50) differ.
    let im = image(160, 100, 0.0, 1.0, 1.0);
    let input = dir.path().join("in/img.fits");
    write(&im, &input, &ramp(&im), vec![]);
    let (plain, _) = build(&input, &dir.path().join("plain"), &[]);
    let (circle, _) = build(&input, &dir.path().join("circle"), &["--shape", "circle"]);
    let (ellipse, _) = build(&input, &dir.path().join("ellipse"), &["--shape", "ellipse"]);
    let wcs = im.wcs();
    // Pixel edges 0.5 .. 160.5 and 0.5 .. 100.5: centre (80.5, 50.5).
    let (blank, equal) = check_mask(&plain, &circle, &wcs, in_ellipse(80.5, 50.5, 50.0, 50.0));
    assert!(
        blank > 3000 && equal > 5000,
        "circle: {blank} blank, {equal} equal"
    );
    let (blank_e, equal_e) = check_mask(&plain, &ellipse, &wcs, in_ellipse(80.5, 50.5, 80.0, 50.0));
    assert!(
        blank_e > 1000 && equal_e > equal + 3000,
        "ellipse: {blank_e} blank, {equal_e} equal"
    );
    let props = &circle.properties;
    assert_eq!(props.get("hipsforge_controls"), Some("shape=circle"));
}

#[test]
fn valid_range_blanks_exactly_the_values_outside() {
    let dir = tempfile::tempdir().unwrap();
    let im = image(160, 100, 0.0, 1.0, 1.0);
    let input = dir.path().join("in/img.fits");
    write(&im, &input, &ramp(&im), vec![]);
    let nearest = ["--interpolation", "nearest"];
    let (plain, _) = build(&input, &dir.path().join("plain"), &nearest);
    let (ranged, _) = build(
        &input,
        &dir.path().join("ranged"),
        &["--interpolation", "nearest", "--valid-range", "400", "900"],
    );
    let (mut kept, mut blanked) = (0, 0);
    for s in samples(&plain, &ranged, &im.wcs()) {
        // Nearest interpolation: the unmasked value is the source pixel's value.
        if (400.0..=900.0).contains(&s.reference) {
            assert_eq!(s.value, s.reference, "({:.2}, {:.2})", s.px, s.py);
            kept += 1;
        } else {
            assert!(
                s.value.is_nan(),
                "{} kept at ({:.2}, {:.2})",
                s.value,
                s.px,
                s.py
            );
            blanked += 1;
        }
    }
    assert!(
        kept > 5000 && blanked > 5000,
        "{kept} kept, {blanked} blanked"
    );
    // Both ends are inclusive: 400 (x = 100, y = 0) and 900 (x = 45, y = 95) are ramp values.
    assert!(samples(&plain, &ranged, &im.wcs())
        .iter()
        .any(|s| s.reference == 400.0 || s.reference == 900.0));
}

#[test]
fn skyval_keyword_shifts_every_value_by_the_header_value() {
    let dir = tempfile::tempdir().unwrap();
    let im = image(160, 100, 0.0, 1.0, 1.0);
    let inputs = dir.path().join("in");
    let skyval = 37.25;
    write(
        &im,
        &inputs.join("a.fits"),
        &ramp(&im),
        vec![Card::new("SKYVAL", CardValue::Float(skyval), "sky level")],
    );
    let (plain, _) = build(&inputs.join("a.fits"), &dir.path().join("plain"), &[]);
    // A second image without the keyword is passed over, with the reason.
    let other = image(60, 60, 400.0, 1.0, 1.0);
    write(&other, &inputs.join("b.fits"), &ramp(&other), vec![]);
    let (sub, log) = build(&inputs, &dir.path().join("sub"), &["--skyval", "SKYVAL"]);
    assert!(
        log.contains("b.fits[0]: --skyval SKYVAL: no SKYVAL card in the header"),
        "{log}"
    );
    assert!(log.contains(": 1 images"), "{log}");
    let all = samples(&plain, &sub, &im.wcs());
    assert!(all.len() > 10_000);
    let worst = all
        .iter()
        .map(|s| (s.reference - s.value - skyval as f32).abs())
        .fold(0f32, f32::max);
    // f32 rounding of values up to ~1300 (half an ulp is 6e-5).
    assert!(worst <= 2e-4, "shift differs from SKYVAL by up to {worst}");
    assert_eq!(sub.properties.get("hips_skyval_method"), Some("SKYVAL"));
}

/// A flat sky of 100 with stars and ±5 pseudo-random noise, plus `offset`.
fn noisy_sky(im: &SynthImage, seed: u64, offset: f32) -> Vec<f32> {
    let scene = common::two_image_scene();
    let (ra0, dec0) = common::SCENE_CENTRE;
    let wcs = im.wcs();
    let mut state = seed;
    (0..im.width * im.height)
        .map(|k| {
            let (px, py) = ((k % im.width + 1) as f64, (k / im.width + 1) as f64);
            let (ra, dec) = wcs.pixel_to_world(px, py).unwrap();
            // sky_model's gradient taken out: the true sky is the same flat 100 everywhere.
            let stars =
                common::sky_model(ra, dec, &scene.stars) - 20.0 * (ra - ra0) - 10.0 * (dec - dec0);
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 10.0;
            (stars + noise) as f32 + offset
        })
        .collect()
}

/// Mean of `a − b` over the pixels where both have data and `a` is background (no star).
fn mean_difference(a: &HipsDir, b: &HipsDir, wcs: &Wcs, background_below: f32) -> (f64, usize) {
    let d: Vec<f64> = samples(a, b, wcs)
        .iter()
        .filter(|s| s.value.is_finite() && s.reference < background_below)
        .map(|s| (s.reference - s.value) as f64)
        .collect();
    (d.iter().sum::<f64>() / d.len().max(1) as f64, d.len())
}

#[test]
fn skyval_auto_makes_overlapping_frames_with_different_offsets_match() {
    let dir = tempfile::tempdir().unwrap();
    // Two 1″ frames overlapping by 60″, whose backgrounds are 100 and 350.
    let frames = [
        image(120, 120, -30.0, 1.0, 1.0),
        image(120, 120, 30.0, 1.0, 1.0),
    ];
    let inputs = dir.path().join("in");
    for (i, (im, offset)) in frames.iter().zip([0.0, 250.0]).enumerate() {
        write(
            im,
            &inputs.join(format!("f{i}.fits")),
            &noisy_sky(im, i as u64 + 1, offset),
            vec![],
        );
    }
    let one = |i: usize, extra: &[&str]| {
        build(
            &inputs.join(format!("f{i}.fits")),
            &dir.path().join(format!("f{i}{}", extra.len())),
            extra,
        )
        .0
    };
    let auto = ["--skyval", "auto"];
    let (a, b) = (one(0, &auto), one(1, &auto));
    let wcs = frames[0].wcs();
    // Background pixels after subtraction are about 0 ± 5; stars rise far above.
    let (seam, n) = mean_difference(&a, &b, &wcs, 20.0);
    eprintln!("--skyval auto: mean seam {seam:+.4} over {n} overlap pixels");
    assert!(n > 2000, "{n} overlap pixels");
    assert!(seam.abs() < 0.2, "seam {seam}");
    let (raw_a, raw_b) = (one(0, &[]), one(1, &[]));
    let (raw_seam, _) = mean_difference(&raw_a, &raw_b, &wcs, 120.0);
    assert!(
        (raw_seam + 250.0).abs() < 0.5,
        "without --skyval: {raw_seam}"
    );
    // The coadd of both is their mean in the overlap, so seamless too.
    let (both, _) = build(&inputs, &dir.path().join("both"), &auto);
    let (coadd_vs_a, _) = mean_difference(&a, &both, &wcs, 20.0);
    assert!(
        (coadd_vs_a - seam / 2.0).abs() < 0.05,
        "{coadd_vs_a} vs {seam}"
    );
}

/// Inside the triangle `t` (vertices counter-clockwise); None on an edge.
fn in_triangle(t: [(f64, f64); 3]) -> impl Fn(f64, f64) -> Option<bool> {
    move |x, y| {
        let side = |(ax, ay): (f64, f64), (bx, by): (f64, f64)| {
            (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        };
        let s = [side(t[0], t[1]), side(t[1], t[2]), side(t[2], t[0])];
        if s.iter().any(|v| v.abs() < 1e-9) {
            None
        } else {
            Some(s.iter().all(|&v| v > 0.0))
        }
    }
}

#[test]
fn fov_files_clip_images_and_their_footprints() {
    use hipsforge::builder::controls::InputControls;
    use hipsforge::builder::index::tiles_of_image;
    use hipsforge::builder::inputs::{collect_files, discover};
    use hipsforge::fits::HduSelection;

    let dir = tempfile::tempdir().unwrap();
    let im = image(160, 100, 0.0, 1.0, 1.0);
    let inputs = dir.path().join("in");
    write(&im, &inputs.join("img.fits"), &ramp(&im), vec![]);
    // Hipsgen's .fov coordinates count pixels from 0: FITS pixel = value + 1.
    std::fs::write(inputs.join("img.fov"), "5 5\n70 8\n12 60\n").unwrap();
    let triangle = [(6.0, 6.0), (71.0, 9.0), (13.0, 61.0)];
    let (plain, _) = build(&inputs, &dir.path().join("plain"), &[]);
    let (clipped, _) = build(&inputs, &dir.path().join("clipped"), &["--fov"]);
    let (blank, equal) = check_mask(&plain, &clipped, &im.wcs(), in_triangle(triangle));
    assert!(
        blank > 10_000 && equal > 1000,
        "{blank} blank, {equal} equal"
    );

    // INDEX: the footprint of the clipped image is a part of the whole image's.
    let files = collect_files(std::slice::from_ref(&inputs)).files;
    let mut found = discover(
        &files,
        &HduSelection::FirstImage,
        hipsforge::wcs::Frame::Equatorial,
    );
    let whole = tiles_of_image(&found.images[0], plain.order);
    let controls = InputControls {
        fov: true,
        ..Default::default()
    };
    controls
        .select(&mut found, std::slice::from_ref(&inputs))
        .unwrap();
    let clipped_tiles = tiles_of_image(&found.images[0], plain.order);
    assert!(clipped_tiles.is_subset(&whole));
    assert!(
        clipped_tiles.len() < whole.len(),
        "{} of {} tiles",
        clipped_tiles.len(),
        whole.len()
    );

    // A directory's .fov (a circle) masks the images below it that have none of their own.
    let nested = dir.path().join("tree");
    write(&im, &nested.join("run1/night/img.fits"), &ramp(&im), vec![]);
    std::fs::write(nested.join("run1.fov"), "80.5 50.5 30").unwrap();
    let (circled, _) = build(&nested, &dir.path().join("circled"), &["--fov"]);
    let (blank, equal) = check_mask(
        &plain,
        &circled,
        &im.wcs(),
        in_ellipse(81.5, 51.5, 30.0, 30.0),
    );
    assert!(
        blank > 10_000 && equal > 2000,
        "{blank} blank, {equal} equal"
    );

    // Changing a mask changes the build: --resume is refused.
    std::fs::write(inputs.join("img.fov"), "5 5\n70 8\n12 61\n").unwrap();
    let out = dir.path().join("clipped");
    let args = common::build_args(&inputs, &out, &["--fov", "--resume"]);
    let (ok, err) = hipsforge(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !ok && err.contains("--resume refused") && err.contains("fov.0"),
        "{err}"
    );

    // A malformed mask stops the build, naming the file.
    std::fs::write(inputs.join("img.fov"), "5 5\n70 8\n12\n").unwrap();
    let out = dir.path().join("bad");
    let args = common::build_args(&inputs, &out, &["--fov"]);
    let (ok, err) = hipsforge(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !ok && err.contains("img.fov") && err.contains("5 numbers"),
        "{err}"
    );
}

/// The value at `east` arcsec from the scene centre (NaN where there is none).
fn value_at(hips: &HipsDir, east: f64) -> f32 {
    let (ra, dec) = common::SCENE_CENTRE;
    let (ra, dec) = common::offset(ra, dec, east, 0.0);
    PixelReader::new(hips, hips.order)
        .bilinear(ra.to_radians(), dec.to_radians())
        .unwrap()
}

/// Images `names[i]` of 60×60 1″ pixels (`sy` arcsec tall) 300″·i east of the scene centre.
fn spaced_images(dir: &Path, names: &[(&str, f64)]) -> PathBuf {
    for (i, (name, sy)) in names.iter().enumerate() {
        let im = image(60, 60, 300.0 * i as f64, 1.0, *sy);
        write(&im, &dir.join(name), &vec![500.0 + i as f32; 3600], vec![]);
    }
    dir.to_path_buf()
}

#[test]
fn pilot_uses_the_first_images_only() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = spaced_images(
        &dir.path().join("in"),
        &[("a.fits", 1.0), ("b.fits", 1.0), ("c.fits", 1.0)],
    );
    let (pilot, log) = build(
        &inputs,
        &dir.path().join("pilot"),
        &["--pilot", "2", "--order", "9"],
    );
    assert!(
        log.contains("pilot: 2 images (--pilot 2) from the first 3 of 3 files"),
        "{log}"
    );
    assert!(log.contains(": 2 images"), "{log}");
    assert_eq!(pilot.properties.get("hipsforge_controls"), Some("pilot=2"));
    assert_eq!(value_at(&pilot, 0.0), 500.0);
    assert_eq!(value_at(&pilot, 300.0), 501.0);
    assert!(value_at(&pilot, 600.0).is_nan());
    let (all, _) = build(&inputs, &dir.path().join("all"), &["--order", "9"]);
    assert_eq!(value_at(&all, 600.0), 502.0);
}

#[test]
fn max_ratio_skips_stretched_images_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // b.fits has 1″ × 4″ pixels: ratio 4.
    let inputs = spaced_images(&dir.path().join("in"), &[("a.fits", 1.0), ("b.fits", 4.0)]);
    let (checked, log) = build(
        &inputs,
        &dir.path().join("checked"),
        &["--max-ratio", "3", "--order", "9"],
    );
    assert!(
        log.contains("b.fits[0]: pixel ratio 4.00 (1.0000″ × 4.0000″) exceeds --max-ratio 3"),
        "{log}"
    );
    assert!(log.contains(": 1 images"), "{log}");
    assert!(value_at(&checked, 300.0).is_nan());
    assert_eq!(value_at(&checked, 0.0), 500.0);
    let (lenient, log) = build(
        &inputs,
        &dir.path().join("lenient"),
        &["--max-ratio", "4.5", "--order", "9"],
    );
    assert!(log.contains(": 2 images"), "{log}");
    assert_eq!(value_at(&lenient, 300.0), 501.0);
}

#[test]
fn bad_control_values_fail_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = spaced_images(&dir.path().join("in"), &[("a.fits", 1.0)]);
    let out = dir.path().join("out");
    for (extra, flag) in [
        (&["--valid-range", "5", "1"][..], "--valid-range"),
        (&["--valid-range", "5"][..], "--valid-range"),
        (&["--pilot", "0"][..], "--pilot"),
        (&["--max-ratio", "0.5"][..], "--max-ratio"),
        (&["--max-ratio", "nan"][..], "--max-ratio"),
        (&["--skyval", "NOT A KEY"][..], "--skyval"),
        (&["--shape", "square"][..], "--shape"),
    ] {
        let mut args = vec![
            "build",
            inputs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--id",
            "ivo://test/P/out",
        ];
        args.extend_from_slice(extra);
        let (ok, err) = hipsforge(&args);
        assert!(!ok && err.contains(flag), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
    }
}

#[test]
fn resume_with_other_controls_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = spaced_images(&dir.path().join("in"), &[("a.fits", 1.0)]);
    let out = dir.path().join("out");
    build(
        &inputs,
        &out,
        &["--valid-range", "0", "1000", "--order", "9"],
    );
    let args = |range: &'static str| {
        vec![
            "build".to_string(),
            inputs.to_str().unwrap().to_string(),
            "--out".into(),
            out.to_str().unwrap().to_string(),
            "--id".into(),
            "ivo://test/P/out".into(),
            "--tile-width".into(),
            "64".into(),
            "--order".into(),
            "9".into(),
            "--valid-range".into(),
            "0".into(),
            range.into(),
            "--resume".into(),
        ]
    };
    let run = |a: Vec<String>| hipsforge(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, err) = run(args("1000"));
    assert!(ok, "the same build resumes: {err}");
    let (ok, err) = run(args("999"));
    assert!(
        !ok && err.contains("controls.validRange: 0 1000 then, 0 999 now"),
        "{err}"
    );
}
