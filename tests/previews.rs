//! 8-bit previews, Allsky images, seams, lint and `hipsforge previews`, on synthetic and real data.

mod common;

use std::path::Path;

use hipsforge::builder::{build, BuildOptions};
use hipsforge::hips::layout::{join_subindex, split_subindex, tile_path};
use hipsforge::lint::{lint, Level};
use hipsforge::preview::{
    write_previews, CutSpec, PreviewFormat, PreviewOptions, Stretch, ToneMap,
};
use hipsforge::reader::HipsDir;

fn build_scene(dir: &Path) -> HipsDir {
    let s = common::two_image_scene();
    let inputs = common::write_scene_inputs(dir, &s);
    let mut o = BuildOptions::new(vec![inputs], dir.join("hips"), "ivo://test/P/scene");
    o.tile_width = 64;
    for (k, v) in [
        ("obs_description", "synthetic"),
        ("prov_progenitor", "tests"),
        ("obs_regime", "Optical"),
        ("em_min", "4e-7"),
        ("em_max", "7e-7"),
        ("t_min", "60000"),
        ("t_max", "60001"),
    ] {
        o.properties.set(k, v);
    }
    build(&o).unwrap();
    HipsDir::open(&dir.join("hips")).unwrap()
}

fn previews(hips: &HipsDir, formats: Vec<PreviewFormat>, cut: &str, stretch: Stretch) -> ToneMap {
    let o = PreviewOptions {
        formats,
        cut: cut.parse::<CutSpec>().unwrap(),
        stretch,
        verbose: false,
    };
    write_previews(&hips.root, &o).unwrap().tone
}

#[test]
fn png_tiles_are_the_fits_tiles_flipped_through_one_cut() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path());
    let tone = previews(
        &hips,
        vec![PreviewFormat::Png, PreviewFormat::Jpeg],
        "0.5% 99.5%",
        Stretch::Asinh,
    );
    let hips = HipsDir::open(&hips.root).unwrap();
    assert_eq!(
        hips.properties.get("hips_tile_format"),
        Some("png jpeg fits")
    );
    assert_eq!(
        hips.properties.get("hips_pixel_cut"),
        Some(format!("{} {}", tone.low, tone.high).as_str())
    );
    let w = hips.width;
    let mut compared = 0;
    for order in hips.orders().unwrap() {
        for npix in hips.tiles(order, "fits").unwrap() {
            let fits = hips.read_tile(order, npix).unwrap().unwrap();
            let png = image::open(tile_path(&hips.root, order, npix, "png"))
                .unwrap()
                .to_luma_alpha8();
            let jpeg = image::open(tile_path(&hips.root, order, npix, "jpeg"))
                .unwrap()
                .to_luma8();
            assert_eq!(png.dimensions(), (w as u32, w as u32));
            let mut jpeg_err = 0.0;
            for r in 0..w {
                for c in 0..w {
                    let v = fits[(w - 1 - r) * w + c];
                    let [g, a] = png.get_pixel(c as u32, r as u32).0;
                    match tone.grey(v) {
                        Some(expected) => {
                            assert_eq!((g, a), (expected, 255), "{order}/{npix} ({r}, {c})")
                        }
                        None => assert_eq!(a, 0, "blank must be transparent"),
                    }
                    jpeg_err += (jpeg.get_pixel(c as u32, r as u32).0[0] as f64
                        - tone.grey(v).unwrap_or(0) as f64)
                        .abs();
                }
            }
            let jpeg_err = jpeg_err / (w * w) as f64;
            assert!(
                jpeg_err < 3.0,
                "JPEG {order}/{npix} off by {jpeg_err} levels"
            );
            // The brightest source sits at the same place, FITS row r ↔ PNG row W−1−r.
            let (k, _) = fits
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            let (row, col) = (k / w, k % w);
            assert_eq!(
                png.get_pixel(col as u32, (w - 1 - row) as u32).0[0],
                tone.grey(fits[k]).unwrap()
            );
            compared += 1;
        }
    }
    assert!(compared > 30);
    // preview.jpg: the initial view, 256×256, with the survey's structure in it.
    let preview = image::open(hips.root.join("preview.jpg"))
        .unwrap()
        .to_luma8();
    assert_eq!(preview.dimensions(), (256, 256));
    let levels: std::collections::HashSet<u8> = preview.pixels().map(|p| p.0[0]).collect();
    assert!(levels.len() > 32, "flat preview.jpg");
    // Allsky.png is Allsky.fits flipped through the same cut.
    let (hdus, _) = hipsforge::fits::list_image_hdus(
        &hips.root.join("Norder3/Allsky.fits"),
        &Default::default(),
    )
    .unwrap();
    let fits = hipsforge::fits::read_pixels(&hdus[0]).unwrap();
    let png = image::open(hips.root.join("Norder3/Allsky.png"))
        .unwrap()
        .to_luma_alpha8();
    let (aw, ah) = (hdus[0].width, hdus[0].height);
    assert_eq!(png.dimensions(), (aw as u32, ah as u32));
    for r in 0..ah {
        for c in 0..aw {
            let [g, a] = png.get_pixel(c as u32, r as u32).0;
            assert_eq!(tone.grey(fits[(ah - 1 - r) * aw + c]).map_or(0, |_| 255), a);
            if a == 255 {
                assert_eq!(Some(g), tone.grey(fits[(ah - 1 - r) * aw + c]));
            }
        }
    }
}

/// Mean |difference| across the shared edges of x-adjacent max-order tiles, and between the
/// last two pixel columns inside them, for float values and for grey levels.
#[test]
fn adjacent_tiles_have_no_seams() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path());
    let tone = previews(
        &hips,
        vec![PreviewFormat::Png],
        "0.5% 99.5%",
        Stretch::Linear,
    );
    let (w, k) = (hips.width, hips.order);
    let tiles = hips.tiles(k, "fits").unwrap();
    let (mut across, mut within, mut across_grey, mut within_grey, mut n) = (0.0, 0.0, 0.0, 0.0, 0);
    for &a in &tiles {
        let (tx, ty) = split_subindex(a & ((1 << (2 * k)) - 1));
        let b = (a >> (2 * k) << (2 * k)) | join_subindex(tx + 1, ty);
        if tx + 1 >= (1 << k) || !tiles.contains(&b) {
            continue;
        }
        let (da, db) = (
            hips.read_tile(k, a).unwrap().unwrap(),
            hips.read_tile(k, b).unwrap().unwrap(),
        );
        // Pixel (x, y) is at storage row W−1−x, column y: x = W−1 is row 0, x = 0 is row W−1.
        for y in 0..w {
            let (a_last, a_prev, b_first) = (da[y], da[w + y], db[(w - 1) * w + y]);
            if a_last.is_nan() || a_prev.is_nan() || b_first.is_nan() {
                continue;
            }
            across += (a_last - b_first).abs() as f64;
            within += (a_last - a_prev).abs() as f64;
            let g = |v: f32| tone.grey(v).unwrap() as f64;
            across_grey += (g(a_last) - g(b_first)).abs();
            within_grey += (g(a_last) - g(a_prev)).abs();
            n += 1;
        }
    }
    assert!(n > 200, "only {n} edge pixels compared");
    assert!(
        across <= 1.5 * within,
        "float seam: across {} vs within {}",
        across / n as f64,
        within / n as f64
    );
    assert!(
        across_grey <= 1.5 * within_grey + n as f64 * 0.5,
        "grey seam: {across_grey} vs {within_grey}"
    );
}

#[test]
fn real_sdss_previews_have_sane_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::shared_data().join("sdss/frame-i-002583-2-0136.fits.bz2");
    let mut o = BuildOptions::new(vec![input], dir.path().to_path_buf(), "ivo://test/P/sdss-i");
    o.tile_width = 256;
    build(&o).unwrap();
    let hips = HipsDir::open(dir.path()).unwrap();
    previews(
        &hips,
        vec![PreviewFormat::Png],
        "0.5% 99.5%",
        Stretch::Asinh,
    );
    let (mut opaque, mut total, mut saturated, mut black) = (0usize, 0usize, 0usize, 0usize);
    let mut histogram = [0usize; 256];
    for npix in hips.tiles(hips.order, "png").unwrap() {
        let png = image::open(tile_path(&hips.root, hips.order, npix, "png"))
            .unwrap()
            .to_luma_alpha8();
        for p in png.pixels() {
            total += 1;
            if p.0[1] == 255 {
                opaque += 1;
                histogram[p.0[0] as usize] += 1;
                saturated += (p.0[0] == 255) as usize;
                black += (p.0[0] == 0) as usize;
            }
        }
    }
    let covered = opaque as f64 / total as f64;
    // One frame inside a ring of partly covered tiles: mostly covered, not fully.
    assert!(covered > 0.4 && covered < 0.95, "opaque fraction {covered}");
    // The 0.5 % / 99.5 % cut clips about 0.5 % at each end (plus what rounds to 0 or 255).
    let (saturated, black) = (
        saturated as f64 / opaque as f64,
        black as f64 / opaque as f64,
    );
    assert!(
        saturated < 0.02 && black < 0.03,
        "saturated {saturated}, black {black}"
    );
    let used = histogram.iter().filter(|&&c| c > opaque / 10_000).count();
    assert!(
        used > 100,
        "only {used} grey levels in use: the stretch is too flat"
    );
}

#[test]
fn lint_passes_our_output_and_names_what_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path());
    previews(
        &hips,
        vec![PreviewFormat::Png],
        "0.5% 99.5%",
        Stretch::Linear,
    );
    let findings = lint(&hips.root);
    assert!(findings.is_empty(), "{findings:?}");

    let broken = |name: &str, damage: &dyn Fn(&Path)| -> Vec<String> {
        let copy = dir.path().join(name);
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(&hips.root)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success());
        damage(&copy);
        lint(&copy)
            .into_iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| f.message)
            .collect()
    };
    let e = broken("no-title", &|d| {
        let p = std::fs::read_to_string(d.join("properties")).unwrap();
        let kept: Vec<&str> = p.lines().filter(|l| !l.starts_with("obs_title")).collect();
        std::fs::write(d.join("properties"), kept.join("\n")).unwrap();
    });
    assert!(
        e.iter().any(|m| m.contains("mandatory keyword obs_title")),
        "{e:?}"
    );
    let e = broken("no-allsky", &|d| {
        std::fs::remove_file(d.join("Norder3/Allsky.png")).unwrap()
    });
    assert!(e.iter().any(|m| m.contains("Allsky.png: missing")), "{e:?}");
    let e = broken("small-tile", &|d| {
        let t = hips.tiles(hips.order, "png").unwrap()[0];
        image::GrayAlphaImage::new(32, 32)
            .save(tile_path(d, hips.order, t, "png"))
            .unwrap();
    });
    assert!(
        e.iter()
            .any(|m| m.contains("32×32 pixels, hips_tile_width says 64")),
        "{e:?}"
    );
    let e = broken("no-moc", &|d| {
        std::fs::remove_file(d.join("Moc.fits")).unwrap()
    });
    assert!(e.iter().any(|m| m.contains("Moc.fits: missing")), "{e:?}");
    let out = std::process::Command::new(common::binary())
        .arg("lint")
        .arg(dir.path().join("no-moc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn previews_command_remakes_tiles_with_another_cut() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path());
    // PNG tiles through the same cut first, to compare the WebP tiles with.
    previews(&hips, vec![PreviewFormat::Png], "90 150", Stretch::Sqrt);
    let out = std::process::Command::new(common::binary())
        .args([
            "previews",
            hips.root.to_str().unwrap(),
            "--format",
            "jpeg,webp",
            "--pixel-cut",
            "90 150",
            "--stretch",
            "sqrt",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = HipsDir::open(&hips.root).unwrap().properties;
    assert_eq!(p.get("hips_pixel_cut"), Some("90 150"));
    assert_eq!(p.get("hips_pixel_func"), Some("sqrt"));
    assert_eq!(p.get("hips_tile_format"), Some("jpeg webp fits"));
    // WebP is lossless: pixel for pixel the PNG (grey and alpha), and both are the FITS value
    // through the sqrt stretch of 90..150, computed here independently of the tone code.
    let w = hips.width;
    let (mut pixels, mut mid) = (0, 0);
    for npix in hips.tiles(hips.order, "fits").unwrap() {
        let webp = image::load_from_memory(
            &std::fs::read(tile_path(&hips.root, hips.order, npix, "webp")).unwrap(),
        )
        .unwrap()
        .to_luma_alpha8();
        let png = image::open(tile_path(&hips.root, hips.order, npix, "png"))
            .unwrap()
            .to_luma_alpha8();
        assert_eq!(webp.dimensions(), (w as u32, w as u32));
        let fits = hips.read_tile(hips.order, npix).unwrap().unwrap();
        for (k, (a, b)) in webp.pixels().zip(png.pixels()).enumerate() {
            let v = fits[(w - 1 - k / w) * w + k % w];
            if v.is_nan() {
                assert_eq!((a.0[1], b.0[1]), (0, 0), "{npix} pixel {k}: blank");
                continue;
            }
            assert_eq!(a.0, b.0, "{npix} pixel {k}: WebP vs PNG");
            let t = ((v as f64 - 90.0) / 60.0).clamp(0.0, 1.0);
            assert_eq!(
                a.0,
                [(t.sqrt() * 255.0).round() as u8, 255],
                "{npix} {k}: {v}"
            );
            pixels += 1;
            mid += (t > 0.05 && t < 0.95) as usize;
        }
    }
    assert!(
        pixels > 20_000 && mid > 10_000,
        "{pixels} pixels, {mid} mid-range"
    );
    assert!(std::fs::read_to_string(hips.root.join("index.html"))
        .unwrap()
        .contains("imgFormat: 'jpeg'"));
}

/// (low, high) of each channel from `hips_rgb_red/green/blue` ("NAME [low high ...]").
fn rgb_cuts(props: &hipsforge::hips::properties::Properties) -> Vec<(f64, f64)> {
    ["hips_rgb_red", "hips_rgb_green", "hips_rgb_blue"]
        .iter()
        .map(|k| {
            let v = props.get(k).unwrap();
            let inner: Vec<f64> = v[v.find('[').unwrap() + 1..v.len() - 1]
                .split(' ')
                .take(2)
                .map(|x| x.parse().unwrap())
                .collect();
            (inner[0], inner[1])
        })
        .collect()
}

#[test]
fn colour_hips_from_three_sdss_bands() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared_data().join("sdss");
    let mut channels = Vec::new();
    for band in ["i", "r", "g"] {
        let out = dir.path().join(band);
        let mut o = BuildOptions::new(
            vec![data.join(format!("frame-{band}-002583-2-0136.fits.bz2"))],
            out.clone(),
            &format!("ivo://test/P/sdss-{band}"),
        );
        o.tile_width = 128;
        o.order = Some(11);
        build(&o).unwrap();
        channels.push(out);
    }
    let options = |out: &str, lupton| hipsforge::preview::rgb::RgbOptions {
        channels: [
            channels[0].clone(),
            channels[1].clone(),
            channels[2].clone(),
        ],
        out: dir.path().join(out),
        creator_did: "ivo://test/P/sdss-rgb".into(),
        format: PreviewFormat::Png,
        cuts: ["1% 99.5%".parse().unwrap(); 3],
        stretch: Stretch::Linear,
        lupton,
        force: false,
    };
    let n = hipsforge::preview::rgb::write_rgb(&options("rgb", None)).unwrap();
    assert!(n > 50);
    let rgb = dir.path().join("rgb");
    let errors: Vec<_> = lint(&rgb)
        .into_iter()
        .filter(|f| f.level == Level::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let props = HipsDir::open(&rgb).unwrap().properties;
    assert_eq!(props.get("dataproduct_subtype"), Some("color"));
    // Each channel of each pixel is that band's FITS value through that band's cut.
    let tones: Vec<ToneMap> = rgb_cuts(&props)
        .into_iter()
        .map(|(low, high)| ToneMap {
            low,
            high,
            stretch: Stretch::Linear,
        })
        .collect();
    let bands: Vec<HipsDir> = channels.iter().map(|c| HipsDir::open(c).unwrap()).collect();
    let tile = bands[1].tiles(11, "fits").unwrap()[10];
    let png = image::open(tile_path(&rgb, 11, tile, "png"))
        .unwrap()
        .to_rgba8();
    let fits: Vec<Option<Vec<f32>>> = bands
        .iter()
        .map(|b| b.read_tile(11, tile).unwrap())
        .collect();
    let mut opaque = 0;
    for (k, px) in png.pixels().enumerate() {
        let (r, c) = (k / 128, k % 128);
        let values: Vec<f32> = fits
            .iter()
            .map(|f| f.as_ref().map_or(f32::NAN, |d| d[(127 - r) * 128 + c]))
            .collect();
        if values.iter().all(|v| v.is_nan()) {
            assert_eq!(px.0[3], 0);
            continue;
        }
        opaque += 1;
        for ch in 0..3 {
            assert_eq!(
                px.0[ch],
                tones[ch].grey(values[ch]).unwrap_or(0),
                "pixel ({r}, {c}) channel {ch}"
            );
        }
    }
    assert!(opaque > 1000);
    hipsforge::preview::rgb::write_rgb(&options("lupton", Some(8.0))).unwrap();
    assert!(dir.path().join("lupton/Norder3/Allsky.png").is_file());
    // Lupton et al. (2004), written out here: x = (v − low)/(high − low) per channel,
    // I = mean(x), each channel x·asinh(Q·I)/(asinh(Q)·I), scaled down by the largest when
    // above 1. At the brightest pixel the hue is kept: channel ratios are the x ratios.
    let props = HipsDir::open(&dir.path().join("lupton"))
        .unwrap()
        .properties;
    assert_eq!(props.get("hips_rgb_method"), Some("lupton Q=8"));
    let cuts = rgb_cuts(&props);
    let png = image::open(tile_path(&dir.path().join("lupton"), 11, tile, "png"))
        .unwrap()
        .to_rgba8();
    let scaled = |k: usize| -> Option<[f64; 3]> {
        let (r, c) = (k / 128, k % 128);
        let mut x = [0.0; 3];
        for ch in 0..3 {
            let v = fits[ch].as_ref()?[(127 - r) * 128 + c];
            if v.is_nan() {
                return None;
            }
            x[ch] = ((v as f64 - cuts[ch].0) / (cuts[ch].1 - cuts[ch].0)).max(0.0);
        }
        Some(x)
    };
    let brightest = (0..128 * 128)
        .filter_map(|k| Some((k, scaled(k)?)))
        .max_by(|a, b| a.1.iter().sum::<f64>().total_cmp(&b.1.iter().sum::<f64>()))
        .unwrap();
    let mut checked = 0;
    for k in (0..128 * 128).filter(|k| k % 7 == 0).chain([brightest.0]) {
        let Some(x) = scaled(k) else { continue };
        let i = (x[0] + x[1] + x[2]) / 3.0;
        if i <= 0.0 {
            continue;
        }
        let f = (8.0 * i).asinh() / (8f64.asinh() * i);
        let mut want = x.map(|c| c * f);
        let max = want.iter().copied().fold(0.0, f64::max);
        if max > 1.0 {
            want = want.map(|c| c / max);
        }
        let got = png.get_pixel((k % 128) as u32, (k / 128) as u32).0;
        for ch in 0..3 {
            assert!(
                (got[ch] as f64 - want[ch] * 255.0).abs() <= 1.0,
                "pixel {k} channel {ch}: {got:?} vs {want:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 500, "only {checked} Lupton pixels compared");
    let (k, x) = brightest;
    let got = png.get_pixel((k % 128) as u32, (k / 128) as u32).0;
    let top = x.iter().copied().fold(0.0, f64::max);
    assert!(
        got.iter().take(3).any(|&c| c >= 250),
        "brightest pixel {got:?} not bright"
    );
    for ch in 0..3 {
        // Hue kept: each channel relative to the strongest as in the data, within 2 levels.
        assert!(
            (got[ch] as f64 - 255.0 * x[ch] / top).abs() <= 2.0,
            "brightest pixel {got:?} vs x {x:?}"
        );
    }

    // Channels of different orders are refused with both names.
    let mut o = BuildOptions::new(
        vec![data.join("frame-g-002583-2-0136.fits.bz2")],
        dir.path().join("g10"),
        "ivo://test/P/g10",
    );
    o.tile_width = 128;
    o.order = Some(10);
    build(&o).unwrap();
    let mut bad = options("bad", None);
    bad.channels[2] = dir.path().join("g10");
    let e = hipsforge::preview::rgb::write_rgb(&bad).unwrap_err();
    assert!(
        matches!(&e, hipsforge::preview::PreviewError::Mismatch(m) if m.contains("g10") && m.contains("order 10")),
        "{e}"
    );
    // An existing colour HiPS is refused without force.
    let again = hipsforge::preview::rgb::write_rgb(&options("rgb", None)).unwrap_err();
    assert!(
        matches!(&again, hipsforge::preview::PreviewError::OutputInUse(p) if p.ends_with("rgb")),
        "{again}"
    );
}

/// Mid-range values of every stretch, computed by hand: t = (v − low)/(high − low), grey =
/// round(255·f(t)).
#[test]
fn stretches_map_mid_values_to_the_expected_greys() {
    let tone = |stretch| ToneMap {
        low: 0.0,
        high: 1.0,
        stretch,
    };
    for (stretch, v, grey) in [
        (Stretch::Linear, 0.5, 128), // 127.5
        (Stretch::Linear, 0.2, 51),  // 51.0
        (Stretch::Sqrt, 0.25, 128),  // √0.25 = 0.5 → 127.5
        (Stretch::Sqrt, 0.04, 51),   // 0.2 → 51.0
        (Stretch::Pow2, 0.5, 64),    // 0.25 → 63.75
        (Stretch::Log, 0.1, 170),    // ln(101)/ln(1001) → 170.34
        (Stretch::Log, 0.5, 229),    // ln(501)/ln(1001) → 229.45
        (Stretch::Asinh, 0.1, 75),   // asinh(1)/asinh(10) → 74.96
        (Stretch::Asinh, 0.5, 197),  // asinh(5)/asinh(10) → 196.67
    ] {
        assert_eq!(tone(stretch).grey(v), Some(grey), "{stretch:?} at {v}");
    }
    // And through a cut that is not 0..1: sqrt of 90..150 at 105 (t = 0.25).
    let t = ToneMap {
        low: 90.0,
        high: 150.0,
        stretch: Stretch::Sqrt,
    };
    assert_eq!(t.grey(105.0), Some(128));
    assert_eq!(
        (t.grey(80.0), t.grey(200.0), t.grey(f32::NAN)),
        (Some(0), Some(255), None)
    );
}
