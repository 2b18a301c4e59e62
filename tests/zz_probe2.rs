mod common;
use hipsforge::fits::{list_image_hdus, HduSelection};
use hipsforge::wcs::Wcs;
#[test]
fn probe2() {
    let data = common::shared_data();
    let text = std::fs::read_to_string(data.join("wcs-reference-calibrations.json")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in reference["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        if !(file.starts_with("distortion/") || file.starts_with("dss/")) {
            continue;
        }
        let hdu = case["hdu"].as_u64().unwrap() as usize;
        let (images, _) =
            list_image_hdus(&data.join(file), &HduSelection::List(vec![hdu])).unwrap();
        let wcs = match Wcs::from_header(&images[0].header) {
            Ok(w) => w,
            Err(e) => {
                println!("{file}: {e}");
                continue;
            }
        };
        let (mut wf, mut wb, mut nb) = (0.0f64, 0.0f64, 0);
        for p in case["points"].as_array().unwrap() {
            let p: Vec<f64> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let ours = wcs.pixel_to_world(p[0], p[1]).unwrap();
            wf = wf.max(common::separation_arcsec(ours, (p[2], p[3])));
            match wcs.world_to_pixel(p[2], p[3]) {
                Some((bx, by)) => wb = wb.max((bx - p[0]).hypot(by - p[1])),
                None => nb += 1,
            }
        }
        println!(
            "{file}: fwd {wf:.3e}\" back {wb:.3e} px, {nb} None, scale {:.4}\"",
            wcs.pixel_scale_deg() * 3600.0
        );
    }
}
