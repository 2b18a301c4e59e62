"""Reference for tests/progenitors.rs: which order-9 HEALPix tiles three real SDSS frames
touch, and their DATE-OBS / FILTER / EXPTIME header values; and for the UKIDSS
multi-extension file (image in HDU 1, ZPN), its order-12 tiles and the FILTER / DATE-OBS /
OBJECT that only its primary header holds. Computed with astropy (WCS, header) and
astropy-healpix (nested indices), independently of hipsforge.

A frame touches a tile when a sample of the frame lands in it: every 0.25 px along the
outer edges of the pixels (FITS 0.5 .. N + 0.5) and a 16 px grid inside.

Run: /work/checkvenv/bin/python tools/reference/make_progenitor_reference.py
"""
import json
import pathlib

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "sdss"
FRAMES = [f"frame-{b}-002583-2-0136.fits.bz2" for b in "gri"]
KEYS = ["DATE-OBS", "FILTER", "EXPTIME"]
ORDER = 9
MEF = ROOT.parent / "shared" / "data" / "ukidss" / "UKIDSS_GCS_K_M1_cutout.fits"
MEF_KEYS = ["FILTER", "DATE-OBS", "OBJECT"]
MEF_ORDER = 12


def samples(w, h):
    """FITS 1-based pixel positions: the outline every 0.25 px, and a 16 px inner grid."""
    ex = np.arange(0.5, w + 0.5 + 1e-9, 0.25)
    ey = np.arange(0.5, h + 0.5 + 1e-9, 0.25)
    xs = [ex, ex, np.full_like(ey, 0.5), np.full_like(ey, w + 0.5)]
    ys = [np.full_like(ex, 0.5), np.full_like(ex, h + 0.5), ey, ey]
    gx, gy = np.meshgrid(np.arange(0.5, w + 0.5, 16.0), np.arange(0.5, h + 0.5, 16.0))
    xs.append(gx.ravel())
    ys.append(gy.ravel())
    return np.concatenate(xs), np.concatenate(ys)


def tiles_of(header, order):
    hp = HEALPix(nside=2**order, order="nested")
    x, y = samples(header["NAXIS1"], header["NAXIS2"])
    ra, dec = WCS(header).all_pix2world(x, y, 1)
    return sorted(set(int(t) for t in hp.lonlat_to_healpix(ra * u.deg, dec * u.deg)))


def main():
    out = {"order": ORDER, "keys": KEYS, "frames": []}
    for name in FRAMES:
        header = fits.getheader(DATA / name)
        tiles = tiles_of(header, ORDER)
        out["frames"].append(
            {
                "file": name,
                "keys": {k: str(header[k]) for k in KEYS},
                "tiles": tiles,
            }
        )
    with fits.open(MEF) as f:
        out["mef"] = {
            "file": MEF.name,
            "hdu": 1,
            "order": MEF_ORDER,
            "keys": {k: str(f[0].header[k]) for k in MEF_KEYS if k not in f[1].header},
            "tiles": tiles_of(f[1].header, MEF_ORDER),
        }
    path = ROOT / "tests" / "data" / "progenitor_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(path, [len(f["tiles"]) for f in out["frames"]])


if __name__ == "__main__":
    main()
