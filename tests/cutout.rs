//! Cutouts from a HiPS against direct resampling of the original images, star positions,
//! tile-corner and image-edge stamps, kernels, and five-band stamps of real SDSS frames.

mod common;

use std::path::Path;

use common::{sky_model, two_image_scene, Scene};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::wcs::Frame;

fn build_scene(dir: &Path) -> (Scene, Survey) {
    let s = two_image_scene();
    let inputs = common::write_scene_inputs(dir, &s);
    let mut o = BuildOptions::new(vec![inputs], dir.join("hips"), "ivo://test/P/scene");
    o.tile_width = 64;
    build(&o).unwrap();
    (s, Survey::open(&dir.join("hips"), 0).unwrap())
}

fn grid(lon: f64, lat: f64, size: usize, scale_arcsec: f64, rotation: f64) -> Grid {
    Grid::from_spec(&GridSpec {
        lon,
        lat,
        width: size,
        height: size,
        scale_deg: scale_arcsec / 3600.0,
        projection: "TAN".into(),
        rotation_deg: rotation,
        frame: Frame::Equatorial,
    })
    .unwrap()
}

/// The original images resampled directly onto the grid (bilinear, mean where they overlap):
/// what the cutout should equal, up to the HiPS's own interpolation.
fn direct(g: &Grid, s: &Scene) -> Vec<f64> {
    let images: Vec<(hipsforge::wcs::Wcs, Vec<f32>, usize, usize)> = s
        .images
        .iter()
        .map(|im| (im.wcs(), im.pixels(&s.stars), im.width, im.height))
        .collect();
    let mut out = Vec::new();
    for y in 1..=g.height {
        for x in 1..=g.width {
            let (ra, dec) = g.wcs.pixel_to_world(x as f64, y as f64).unwrap();
            let values: Vec<f64> = images
                .iter()
                .filter_map(|(wcs, data, w, h)| {
                    let (px, py) = wcs.world_to_pixel(ra, dec)?;
                    let (fx, fy) = (px - 1.0, py - 1.0);
                    if fx < 0.0 || fy < 0.0 || fx > (*w - 1) as f64 || fy > (*h - 1) as f64 {
                        return None;
                    }
                    let (x0, y0) = ((fx as usize).min(w - 2), (fy as usize).min(h - 2));
                    let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
                    let at = |xx: usize, yy: usize| data[yy * w + xx] as f64;
                    Some(
                        at(x0, y0) * (1.0 - tx) * (1.0 - ty)
                            + at(x0 + 1, y0) * tx * (1.0 - ty)
                            + at(x0, y0 + 1) * (1.0 - tx) * ty
                            + at(x0 + 1, y0 + 1) * tx * ty,
                    )
                })
                .collect();
            out.push(if values.is_empty() {
                f64::NAN
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            });
        }
    }
    out
}

/// Worst |difference| on pixels farther than 8″ from any star, and the RMS overall, over the
/// pixels the cutout holds; also how many pixels are blank.
fn compare(g: &Grid, s: &Scene, cut: &[f32]) -> (f64, f64, usize) {
    let t = direct(g, s);
    let (mut worst_bg, mut sq, mut n, mut blank) = (0.0f64, 0.0, 0usize, 0usize);
    for (i, (&c, &t)) in cut.iter().zip(&t).enumerate() {
        if c.is_nan() {
            blank += 1;
            continue;
        }
        if t.is_nan() {
            continue; // within a pixel of an image edge: no direct reference
        }
        let (x, y) = ((i % g.width + 1) as f64, (i / g.width + 1) as f64);
        let (ra, dec) = g.wcs.pixel_to_world(x, y).unwrap();
        let d = c as f64 - t;
        if s.stars
            .iter()
            .all(|st| common::separation_arcsec((ra, dec), (st.ra, st.dec)) > 8.0)
        {
            worst_bg = worst_bg.max(d.abs());
        }
        sq += d * d;
        n += 1;
    }
    (worst_bg, (sq / n.max(1) as f64).sqrt(), blank)
}

#[test]
fn cutouts_match_the_sky_and_put_stars_where_they_belong() {
    let dir = tempfile::tempdir().unwrap();
    let (s, survey) = build_scene(dir.path());
    let store = TileStore::new(64 << 20);
    for (k, star) in s.stars.iter().enumerate() {
        // Off-centre and rotated, 1″ pixels (HiPS pixels are 0.8″).
        let g = grid(
            star.ra + 3.0 / 3600.0,
            star.dec - 2.0 / 3600.0,
            40,
            1.0,
            25.0 * k as f64,
        );
        let cut = cutout(&store, &survey, &g, Kernel::Bilinear, None).unwrap();
        let (bg, rms, blank) = compare(&g, &s, &cut);
        assert_eq!(blank, 0, "star {k}: blank pixels inside the images");
        assert!(bg < 0.01, "star {k}: background off by {bg}");
        // Stars (σ = 1.5″, peak 1000): the HiPS's own interpolation leaves < 0.5 % of the peak RMS.
        assert!(rms < 5.0, "star {k}: RMS {rms}");
        eprintln!("star {k}: background {bg:.4}, RMS {rms:.3}");
        // The star's light-weighted centroid sits on its position in the grid.
        let (ex, ey) = g.wcs.world_to_pixel(star.ra, star.dec).unwrap();
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for (i, &v) in cut.iter().enumerate() {
            let (x, y) = ((i % 40 + 1) as f64, (i / 40 + 1) as f64);
            if (x - ex).hypot(y - ey) < 6.0 {
                let (ra, dec) = g.wcs.pixel_to_world(x, y).unwrap();
                let w = v as f64 - sky_model(ra, dec, &[]);
                sx += w * x;
                sy += w * y;
                sw += w;
            }
        }
        let off = (sx / sw - ex).hypot(sy / sw - ey);
        assert!(off < 0.1, "star {k}: centroid {off} px from its position");
    }
}

#[test]
fn stamps_across_tile_corners_and_image_edges_have_no_seams() {
    let dir = tempfile::tempdir().unwrap();
    let (s, survey) = build_scene(dir.path());
    let store = TileStore::new(64 << 20);
    // Centred on a corner where four order-12 tiles meet, inside the first image.
    let layer = cdshealpix::nested::get(12);
    let tile = layer.hash(
        common::SCENE_CENTRE.0.to_radians(),
        common::SCENE_CENTRE.1.to_radians(),
    );
    let (lon, lat) = layer.vertices(tile)[0];
    let g = grid(lon.to_degrees(), lat.to_degrees(), 64, 0.7, 10.0);
    let (bg, rms, blank) = compare(
        &g,
        &s,
        &cutout(&store, &survey, &g, Kernel::Bilinear, None).unwrap(),
    );
    assert_eq!(blank, 0);
    assert!(
        bg < 0.01 && rms < 5.0,
        "tile corner: background {bg}, RMS {rms}"
    );
    // Straddling the western edge of the first image: data on one side, blank on the other,
    // and what is there is right.
    let edge = common::offset(common::SCENE_CENTRE.0, common::SCENE_CENTRE.1, -120.0, 0.0);
    let g = grid(edge.0, edge.1, 40, 1.0, 0.0);
    let cut = cutout(&store, &survey, &g, Kernel::Bilinear, None).unwrap();
    let (bg, _, blank) = compare(&g, &s, &cut);
    assert!(
        blank > 600 && blank < 1000,
        "about half the stamp is outside: {blank} blank"
    );
    assert!(bg < 0.02, "edge: background {bg}");
    // Far from any image: all blank.
    let g = grid(
        common::SCENE_CENTRE.0 + 1.0,
        common::SCENE_CENTRE.1,
        16,
        1.0,
        0.0,
    );
    assert!(cutout(&store, &survey, &g, Kernel::Bilinear, None)
        .unwrap()
        .iter()
        .all(|v| v.is_nan()));
}

#[test]
fn kernels_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let (s, survey) = build_scene(dir.path());
    let store = TileStore::new(64 << 20);
    let star = s.stars[0];
    // Coarse 4″ pixels: the flux kernel keeps the star's integrated light, nearest does not.
    let g = grid(star.ra, star.dec, 12, 4.0, 0.0);
    let flux_of = |kernel| {
        let cut = cutout(&store, &survey, &g, kernel, None).unwrap();
        let mut total = 0.0;
        for (i, &v) in cut.iter().enumerate() {
            let (ra, dec) = g
                .wcs
                .pixel_to_world((i % 12 + 1) as f64, (i / 12 + 1) as f64)
                .unwrap();
            total += (v as f64 - sky_model(ra, dec, &[])) * 16.0;
        }
        total
    };
    let expected = 2.0 * std::f64::consts::PI * star.sigma_arcsec.powi(2) * star.peak;
    let flux = flux_of(Kernel::Flux);
    assert!(
        (flux / expected - 1.0).abs() < 0.05,
        "flux kernel: {flux} vs {expected}"
    );
    assert!(
        (flux_of(Kernel::Nearest) / expected - 1.0).abs() > 0.05,
        "nearest should not conserve flux here"
    );
    // Automatic order: 4″ pixels read a shallower order than 1″ pixels.
    assert!(survey.order_for(4.0 / 3600.0) < survey.order_for(1.0 / 3600.0));
    assert_eq!(survey.order_for(0.1 / 3600.0), survey.hips.order);
}

#[test]
fn five_band_sdss_stamps() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared_data().join("sdss");
    let store = TileStore::new(256 << 20);
    let mut surveys = Vec::new();
    for (key, band) in ["u", "g", "r", "i", "z"].iter().enumerate() {
        let frame = data.join(format!("frame-{band}-002583-2-0136.fits.bz2"));
        let mut o = BuildOptions::new(
            vec![frame.clone()],
            dir.path().join(band),
            &format!("ivo://test/P/sdss-{band}"),
        );
        o.tile_width = 128;
        build(&o).unwrap();
        surveys.push((
            Survey::open(&dir.path().join(band), key as u32).unwrap(),
            frame,
        ));
    }
    // Positions inside the r frame, 28×28 stamps at SDSS's 0.396″.
    let (r_images, _) =
        hipsforge::fits::list_image_hdus(&surveys[2].1, &Default::default()).unwrap();
    let r_wcs = hipsforge::wcs::Wcs::from_header(&r_images[0].header).unwrap();
    for (px, py) in [(300.0, 300.0), (1024.0, 745.0), (1700.0, 1200.0)] {
        let (ra, dec) = r_wcs.pixel_to_world(px, py).unwrap();
        let g = grid(ra, dec, 28, 0.396, 0.0);
        for (survey, frame) in &surveys {
            let cut = cutout(&store, survey, &g, Kernel::Bilinear, None).unwrap();
            assert!(
                cut.iter().all(|v| v.is_finite()),
                "{}: blank pixels inside the frame",
                frame.display()
            );
            // Against the frame itself resampled (bilinear) onto the stamp.
            let (images, _) = hipsforge::fits::list_image_hdus(frame, &Default::default()).unwrap();
            let wcs = hipsforge::wcs::Wcs::from_header(&images[0].header).unwrap();
            let pixels = hipsforge::fits::read_pixels(&images[0]).unwrap();
            let direct: Vec<f64> = (0..28 * 28)
                .map(|i| {
                    let (sra, sdec) = g
                        .wcs
                        .pixel_to_world((i % 28 + 1) as f64, (i / 28 + 1) as f64)
                        .unwrap();
                    let (fx, fy) = wcs.world_to_pixel(sra, sdec).unwrap();
                    let (fx, fy) = (fx - 1.0, fy - 1.0);
                    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                    let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
                    let at = |x: usize, y: usize| pixels[y * images[0].width + x] as f64;
                    at(x0, y0) * (1.0 - tx) * (1.0 - ty)
                        + at(x0 + 1, y0) * tx * (1.0 - ty)
                        + at(x0, y0 + 1) * (1.0 - tx) * ty
                        + at(x0 + 1, y0 + 1) * tx * ty
                })
                .collect();
            let ours: Vec<f64> = cut.iter().map(|&v| v as f64).collect();
            let corr = correlation(&ours, &direct);
            eprintln!("{} at ({px}, {py}): correlation {corr:.3}", frame.display());
            assert!(
                corr > 0.95,
                "{} at ({px}, {py}): correlation {corr}",
                frame.display()
            );
        }
    }
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}
