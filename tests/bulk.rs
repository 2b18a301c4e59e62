//! Bulk cutouts: the .npy/FITS stacks hold exactly the single cutouts, in input order, with a
//! manifest that flags objects outside the survey; an interrupted run resumes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::bulk::{run_bulk, BulkOptions};
use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::wcs::Frame;

fn scene_hips(dir: &Path) -> PathBuf {
    scene_hips_mapped(dir, "hips", |v| v)
}

/// The scene with `map` applied to its pixel values, built into `dir/name`.
fn scene_hips_mapped(dir: &Path, name: &str, map: impl Fn(f32) -> f32) -> PathBuf {
    let s = common::two_image_scene();
    let inputs = common::write_scene_images(&dir.join(format!("in-{name}")), &s, |_, v| map(v));
    let mut o = BuildOptions::new(
        vec![inputs],
        dir.join(name),
        &format!("ivo://test/P/{name}"),
    );
    o.tile_width = 64;
    build(&o).unwrap();
    dir.join(name)
}

fn options(hips: [&Path; 2], positions: &Path, out: &Path, size: usize) -> BulkOptions {
    let bands = vec![
        ("a".into(), hips[0].to_path_buf()),
        ("b".into(), hips[1].to_path_buf()),
    ];
    common::bulk_options(bands, positions, out, size)
}

/// The float32 values of a .npy file and its shape.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"));
    let shape_text = &header[header.find("'shape': (").unwrap() + 10..];
    let shape: Vec<usize> = shape_text[..shape_text.find(')').unwrap()]
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    let data = bytes[10 + len..]
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

#[test]
fn npy_and_fits_stacks_hold_the_single_cutouts_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let hips = scene_hips(dir.path());
    // Band b is another HiPS: the same sky with values 2v + 50, so a band mix-up shows.
    let hips_b = scene_hips_mapped(dir.path(), "scaled", |v| 2.0 * v + 50.0);
    let pos = common::scene_positions(dir.path(), 300);
    let out = dir.path().join("stamps.npy");
    let report = run_bulk(&options([&hips, &hips_b], &pos, &out, 20)).unwrap();
    assert_eq!(report.rows, 300);
    let (shape, data) = read_npy(&out);
    assert_eq!(shape, vec![300, 2, 20, 20]);
    let objects = hipsforge::cutout::positions::read_positions(&pos, &Default::default()).unwrap();
    let surveys = [
        Survey::open(&hips, 0).unwrap(),
        Survey::open(&hips_b, 1).unwrap(),
    ];
    let store = TileStore::new(64 << 20);
    let mut finite = 0;
    for row in [0usize, 5, 77, 150, 299] {
        let p = &objects[row];
        let g = Grid::from_spec(&GridSpec {
            lon: p.ra,
            lat: p.dec,
            width: 20,
            height: 20,
            scale_deg: 0.9 / 3600.0,
            projection: "TAN".into(),
            rotation_deg: 0.0,
            frame: Frame::Equatorial,
        })
        .unwrap();
        let single: Vec<Vec<f32>> = surveys
            .iter()
            .map(|s| cutout(&store, s, &g, Kernel::Bilinear, None).unwrap())
            .collect();
        for band in 0..2 {
            let stamp = &data[(row * 2 + band) * 400..][..400];
            let same = stamp
                .iter()
                .zip(&single[band])
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
            assert!(
                same,
                "row {row} band {band} differs from its HiPS's single cutout"
            );
        }
        // Band b holds 2a + 50 (linear in the values, so bilinear sampling keeps it).
        let (a, b) = (
            &data[row * 2 * 400..][..400],
            &data[(row * 2 + 1) * 400..][..400],
        );
        for (va, vb) in a.iter().zip(b) {
            assert_eq!(va.is_nan(), vb.is_nan(), "row {row}");
            if va.is_finite() {
                let want = 2.0 * va + 50.0;
                assert!(
                    (vb - want).abs() <= 1e-4 * want.abs(),
                    "row {row}: {va} {vb}"
                );
                finite += 1;
            }
        }
    }
    assert!(finite > 3 * 400, "only {finite} finite values compared");
    // The manifest: one line per object, in input order, outside objects flagged.
    let manifest = std::fs::read_to_string(&report.manifest).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines[0], "row,id,ra,dec,outside,blank_a,blank_b");
    assert_eq!(lines.len(), 301);
    for (i, line) in lines[1..].iter().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (f[0], f[1]),
            (i.to_string().as_str(), format!("obj-{i}").as_str())
        );
        let far = i % 17 == 5;
        assert_eq!(f[4], if far { "1" } else { "0" }, "{line}");
        let stamp = &data[i * 2 * 400..][..400];
        assert_eq!(far, stamp.iter().all(|v| v.is_nan()), "{line}");
        let blank = stamp.iter().filter(|v| v.is_nan()).count() as f64 / 400.0;
        assert!((f[5].parse::<f64>().unwrap() - blank).abs() < 1e-4);
    }
    assert_eq!(report.outside, (0..300).filter(|i| i % 17 == 5).count());

    // The same as a FITS stack: NAXIS4 = objects, values big-endian in the same order.
    let fits = dir.path().join("stamps.fits");
    run_bulk(&options([&hips, &hips_b], &pos, &fits, 20)).unwrap();
    let bytes = std::fs::read(&fits).unwrap();
    let header = String::from_utf8_lossy(&bytes[..2880]).into_owned();
    for (key, value) in [
        ("NAXIS", 4),
        ("NAXIS1", 20),
        ("NAXIS2", 20),
        ("NAXIS3", 2),
        ("NAXIS4", 300),
    ] {
        let card = (0..36)
            .map(|i| &header[i * 80..i * 80 + 80])
            .find(|c| c.starts_with(&format!("{key:<8}=")))
            .unwrap();
        assert_eq!(card[10..30].trim().parse::<i64>().unwrap(), value, "{key}");
    }
    let values: Vec<f32> = bytes[2880..2880 + data.len() * 4]
        .chunks(4)
        .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert!(values
        .iter()
        .zip(&data)
        .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
}

#[test]
fn an_interrupted_run_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let hips = scene_hips(dir.path());
    let pos = common::scene_positions(dir.path(), 150_000);
    let out = dir.path().join("big.npy");
    let args = |out: &Path| common::cutout_args(&hips, &pos, out, &[]);
    let mut child = Command::new(common::binary())
        .args(args(&out))
        .spawn()
        .unwrap();
    let progress = dir.path().join("big.npy.progress");
    common::interrupt_after_first_chunk(&mut child, &progress);
    let o = Command::new(common::binary())
        .args(args(&out))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("from an earlier run"), "{err}");
    assert!(!progress.exists(), "progress file left behind");
    // Same result as an uninterrupted run.
    let clean = dir.path().join("clean.npy");
    assert!(Command::new(common::binary())
        .args(args(&clean))
        .status()
        .unwrap()
        .success());
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(&clean).unwrap(),
        "resumed stack differs"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("big.manifest.csv")).unwrap(),
        std::fs::read_to_string(dir.path().join("clean.manifest.csv")).unwrap()
    );
}

#[test]
fn a_zarr_store_holds_the_npy_stamps_with_positions_ids_and_wcs() {
    use zarrs::array::Array;
    use zarrs::filesystem::FilesystemStore;
    let dir = tempfile::tempdir().unwrap();
    let hips = scene_hips(dir.path());
    let hips_b = scene_hips_mapped(dir.path(), "scaled", |v| 2.0 * v + 50.0);
    // 2 bands of 28² float32: 668 stamps per 4 MiB chunk, so 700 objects fill one chunk and
    // part of a second.
    let pos = common::scene_positions(dir.path(), 700);
    let npy = dir.path().join("stamps.npy");
    run_bulk(&options([&hips, &hips_b], &pos, &npy, 28)).unwrap();
    let zarr = dir.path().join("stamps.zarr");
    run_bulk(&options([&hips, &hips_b], &pos, &zarr, 28)).unwrap();

    let store = std::sync::Arc::new(FilesystemStore::new(&zarr).unwrap());
    let stamps = Array::open(store.clone(), "/stamps").unwrap();
    assert_eq!(stamps.shape(), &[700, 2, 28, 28]);
    let values: Vec<f32> = stamps.retrieve_array_subset(&stamps.subset_all()).unwrap();
    let (_, expected) = read_npy(&npy);
    assert_eq!(values.len(), expected.len());
    assert!(
        values
            .iter()
            .zip(&expected)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "Zarr stamps differ from the .npy ones"
    );
    assert!(values.iter().any(|v| v.is_finite()));

    let objects = hipsforge::cutout::positions::read_positions(&pos, &Default::default()).unwrap();
    let ra: Vec<f64> = {
        let a = Array::open(store.clone(), "/ra").unwrap();
        a.retrieve_array_subset(&a.subset_all()).unwrap()
    };
    let dec: Vec<f64> = {
        let a = Array::open(store.clone(), "/dec").unwrap();
        a.retrieve_array_subset(&a.subset_all()).unwrap()
    };
    let ids: Vec<String> = {
        let a = Array::open(store.clone(), "/id").unwrap();
        a.retrieve_array_subset(&a.subset_all()).unwrap()
    };
    for (i, p) in objects.iter().enumerate() {
        assert_eq!(
            (ra[i], dec[i], ids[i].as_str()),
            (p.ra, p.dec, p.id.as_str())
        );
    }
    assert_eq!(ids[3], "obj-3");

    // Stamp i's WCS is the shared header with CRVAL = (ra[i], dec[i]).
    let group: serde_json::Value =
        serde_json::from_slice(&std::fs::read(zarr.join("zarr.json")).unwrap()).unwrap();
    let attrs = &group["attributes"];
    assert_eq!(attrs["manifest"], "stamps.manifest.csv");
    assert_eq!(attrs["crval"], serde_json::json!(["ra", "dec"]));
    let header = attrs["header"].as_object().unwrap();
    assert!(!header.contains_key("CRVAL1"));
    assert_eq!(header["BANDS"], "a,b");
    let p = &objects[77];
    let grid = Grid::from_spec(&GridSpec {
        lon: ra[77],
        lat: dec[77],
        width: 28,
        height: 28,
        scale_deg: 0.9 / 3600.0,
        projection: "TAN".into(),
        rotation_deg: 0.0,
        frame: Frame::Equatorial,
    })
    .unwrap();
    for card in grid.cards.iter().filter(|c| !c.key.starts_with("CRVAL")) {
        let v = &header[&card.key];
        let same = match &card.value {
            hipsforge::fits::write::CardValue::Float(x) => v.as_f64() == Some(*x),
            hipsforge::fits::write::CardValue::Str(x) => v.as_str() == Some(x.as_str()),
            other => panic!("{other:?}"),
        };
        assert!(
            same,
            "{}: {v} in the store, {:?} for the stamp",
            card.key, card.value
        );
    }
    assert_eq!((p.ra, p.dec), (ra[77], dec[77]));

    // A directory that is not a Zarr store is never overwritten.
    let other = dir.path().join("notes.zarr");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let err = run_bulk(&options([&hips, &hips_b], &pos, &other, 28)).unwrap_err();
    assert!(err.to_string().contains("notes.zarr"), "{err}");
    assert!(err.to_string().contains("not a Zarr store"), "{err}");
    assert_eq!(
        std::fs::read_to_string(other.join("keep.txt")).unwrap(),
        "mine"
    );
}
