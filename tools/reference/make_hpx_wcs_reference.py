#!/usr/bin/env python3
"""Reference FITS WCS (HPX projection) headers for HiPS tiles.

Writes tests/data/hpx_wcs_reference.json (path overridable by argv[1]).

For a HiPS tile (tile order k, tile nested index n, width W = 2**w) stored with
the layout of tools/reference/make_tile_layout_reference.py (y = col,
x = W-1-row, N = n*W*W + interleave(x, y)), this builds a header with the
HEALPix (HPX, H=4, K=3) projection such that astropy's
WCS(header).all_pix2world(col+1, row+1, 1) is the HEALPix cell centre, and
measures the error against astropy_healpix on every pixel of the tile.

Derivation. In the HPX plane (degrees, CRVAL = (0,0)) every base cell f is a
square rotated by 45 deg with diagonal 90 deg, centred at (xc_f, yc_f):
  f = 0..3  : (45 + 90 f, +45)   north polar cells
  f = 4..7  : (90 (f-4),    0)   equatorial cells
  f = 8..11 : (45 + 90 (f-8), -45) south polar cells
(xc taken relative to CRVAL1 and wrapped into (-180, 180]). HEALPix face
coordinates (ix, iy) at nside Ns = 2**k * W start at the south vertex; ix runs
north-east, iy north-west, one step being a = 45/Ns deg along each plane axis:
  X = xc + a (ix - iy),   Y = yc - 45 + a (ix + iy + 1)     (cell centre).
With (tx, ty) = deinterleave(n mod 4**k), ix = tx W + W-1-row, iy = ty W + col,
p1 = col+1, p2 = row+1 this is affine in (p1, p2):
  CD1_1 = -a, CD1_2 = -a, CD2_1 = +a, CD2_2 = -a
  CRPIX1 = (A + B)/2, CRPIX2 = (A - B)/2 with
  A = (tx - ty + 1) W + 1 + xc Ns/45,  B = (45 - yc) Ns/45 - (tx + ty + 1) W.
WCSLIB rejects |X| > 180, so base cell 6 (centred on lon 180, straddling
X = +-180 when CRVAL1 = 0) uses CRVAL1 = 180; all other cells use CRVAL1 = 0.

Dependencies: stdlib, numpy, astropy, astropy_healpix.
Usage: make_hpx_wcs_reference.py [out.json]
"""
import json
import os
import sys
import warnings

import astropy
import astropy_healpix
import numpy as np
from astropy import units as u
from astropy.coordinates import angular_separation
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tile_layout_reference import TILE_CASES as LAYOUT_CASES, deinterleave, interleave  # noqa: E402

# Tile cases of the layout reference with W <= 64.
TILE_CASES = [c for c in LAYOUT_CASES if c[2] <= 64]

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "hpx_wcs_reference.json")

# Base-cell centres in the HPX plane for CRVAL = (0, 0), degrees.
FACE_XC = [45, 135, 225, 315, 0, 90, 180, 270, 45, 135, 225, 315]
FACE_YC = [45] * 4 + [0] * 4 + [-45] * 4


def tile_header_cards(k, n, W):
    """Header cards (as an ordered list of (key, value)) for tile (k, n, W)."""
    ns = (1 << k) * W                      # nside of the tile pixels
    face = n >> (2 * k)
    tx, ty = deinterleave(n & ((1 << (2 * k)) - 1))
    crval1 = 180.0 if face == 6 else 0.0
    xc = (FACE_XC[face] - crval1 + 180.0) % 360.0 - 180.0   # into [-180, 180)
    yc = FACE_YC[face]
    # xc*ns/45 and (45-yc)*ns/45 are integers: CRPIX is exact in binary.
    A = (tx - ty + 1) * W + 1 + round(xc) * ns // 45
    B = (45 - yc) * ns // 45 - (tx + ty + 1) * W
    a = 45.0 / ns
    return [
        ("NAXIS", 2), ("NAXIS1", W), ("NAXIS2", W),
        ("CTYPE1", "RA---HPX"), ("CTYPE2", "DEC--HPX"),
        ("PV2_1", 4), ("PV2_2", 3),
        ("CRVAL1", crval1), ("CRVAL2", 0.0),
        ("CRPIX1", (A + B) / 2), ("CRPIX2", (A - B) / 2),
        ("CD1_1", -a), ("CD1_2", -a), ("CD2_1", a), ("CD2_2", -a),
        ("RADESYS", "ICRS"),
    ]


def tile_error(k, n, W, cards):
    """Max angular error (deg) over all W*W pixels: WCS vs astropy_healpix."""
    hdr = fits.Header()
    for key, val in cards:
        hdr[key] = val
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(hdr)
    col, row = np.meshgrid(np.arange(W), np.arange(W), indexing="ij")
    col, row = col.ravel(), row.ravel()
    nested = np.array([n * W * W + interleave(W - 1 - r, c)
                       for c, r in zip(col, row)], dtype=np.int64)
    lon, lat = HEALPix(nside=(1 << k) * W, order="nested").healpix_to_lonlat(nested)
    ra, dec = wcs.all_pix2world(col + 1.0, row + 1.0, 1)
    n_nan = int(np.isnan(ra).sum() + np.isnan(dec).sum())
    sep = angular_separation(lon, lat, ra * u.deg, dec * u.deg).to_value(u.deg)
    return float(np.nanmax(sep)), n_nan


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    cases = []
    for k, n, W in TILE_CASES:
        cards = tile_header_cards(k, n, W)
        err, n_nan = tile_error(k, n, W, cards)
        assert n_nan == 0 and err < 1e-9, (k, n, W, err, n_nan)
        cases.append({"k": k, "n": n, "W": W, "header": dict(cards),
                      "max_err_deg": err, "pixels_checked": W * W})
    # Extra check (not test data): every base cell, incl. cell 6 at lon 180.
    extra = []
    for f in range(12):
        cards = tile_header_cards(0, f, 16)
        err, n_nan = tile_error(0, f, 16, cards)
        assert n_nan == 0 and err < 1e-9, (f, err, n_nan)
        extra.append({"k": 0, "n": f, "W": 16, "max_err_deg": err})
    max_err = max(c["max_err_deg"] for c in cases + extra)
    doc = {
        "about": (
            "HPX (PV2_1=4, PV2_2=3) WCS headers for HiPS tiles such that "
            "astropy.wcs all_pix2world at FITS pixel (col+1, row+1) equals the "
            "HEALPix cell centre of tile pixel (col,row) (layout as in "
            "tile_layout_reference.json). With Ns = 2**k * W, a = 45/Ns, "
            "(tx,ty) = deinterleave(n mod 4**k), f = n >> 2k, (xc,yc) = base-cell "
            "centre in the HPX plane [f<4: (45+90f, 45); f<8: (90(f-4), 0); "
            "else (45+90(f-8), -45)], xc taken minus CRVAL1 and wrapped into "
            "[-180,180); CRVAL1 = 180 for f == 6 else 0, CRVAL2 = 0: "
            "CD1_1 = -a, CD1_2 = -a, CD2_1 = a, CD2_2 = -a; "
            "A = (tx-ty+1)W + 1 + xc*Ns/45, B = (45-yc)*Ns/45 - (tx+ty+1)W, "
            "CRPIX1 = (A+B)/2, CRPIX2 = (A-B)/2. det(CD) > 0: the FITS tile as "
            "stored has mirrored parity (east to the right with north up). "
            "max_err_deg is the angular separation, max over all W*W pixels. "
            f"astropy {astropy.__version__}, astropy_healpix "
            f"{astropy_healpix.__version__}; generated by "
            "tools/reference/make_hpx_wcs_reference.py."
        ),
        "tool": {"astropy": astropy.__version__,
                 "astropy_healpix": astropy_healpix.__version__,
                 "numpy": np.__version__},
        "max_err_deg": max_err,
        "tiles": cases,
        "all_base_cells_check": extra,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out), "max_err_deg", max_err)


if __name__ == "__main__":
    main()
