#!/usr/bin/env python3
"""Reference data for the HiPS tile pixel layout and HEALPix nested hashing.

Writes tests/data/tile_layout_reference.json (path overridable by argv[1]).

Dependencies: Python stdlib, numpy, astropy_healpix (no healpy), so the numbers
come from an implementation independent of ours.

Tile layout convention (HiPS 1.0 / Hipsgen), for a tile of order k, nested
index n and width W = 2**w:
  * the tile's pixels are HEALPix cells at order k + w; the cell with in-tile
    sub-index s in [0, W*W) has nested index N = n*W*W + s;
  * x = bits 0,2,4,... of s, y = bits 1,3,5,... of s (de-interleave);
  * the cell is stored at FITS array position col = y, row = W-1-x
    (0-based; row 0 is the first stored row, i.e. the bottom row of the image).
Inverse, used here: y = col, x = W-1-row, s = interleave(x -> even bits,
y -> odd bits).

Usage: make_tile_layout_reference.py [out.json]
"""
import json
import math
import os
import sys

import astropy_healpix
import numpy as np
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from astropy_healpix import HEALPix

# (tile_order k, tile nested index n, tile width W)
TILE_CASES = [
    (0, 0, 8),
    (0, 5, 8),
    (0, 11, 8),
    (3, 300, 16),
    (3, 767, 16),
    (6, 12345, 64),
    (9, 1500000, 512),
]

HASH_DEPTHS = [3, 9, 12, 20]

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "tile_layout_reference.json")


def interleave(x, y):
    """Morton code: bits of x to even positions, bits of y to odd positions."""
    s = 0
    bit = 0
    while (x >> bit) or (y >> bit):
        s |= ((x >> bit) & 1) << (2 * bit)
        s |= ((y >> bit) & 1) << (2 * bit + 1)
        bit += 1
    return s


def deinterleave(s):
    """Inverse of interleave: returns (x, y)."""
    x = y = 0
    bit = 0
    while s >> (2 * bit):
        x |= ((s >> (2 * bit)) & 1) << bit
        y |= ((s >> (2 * bit + 1)) & 1) << bit
        bit += 1
    return x, y


def colrow_to_nested(n, W, col, row):
    """FITS (col,row) in tile n of width W -> nested index at order k+log2(W)."""
    x = W - 1 - row
    y = col
    return n * W * W + interleave(x, y)


def in_tile_positions(W):
    """The four corners plus 6 fixed interior/edge positions (deterministic)."""
    corners = [(0, 0), (W - 1, 0), (0, W - 1), (W - 1, W - 1)]
    others = [
        (W // 2, W // 2),
        (1, 0),
        (0, 1),
        (W // 3, (2 * W) // 3),
        (W - 2, W // 4),
        ((3 * W) // 5, W - 3),
    ]
    out = []
    for p in corners + others:
        if p not in out:
            out.append(p)
    return out


def tile_cases():
    hp_cache = {}
    cases = []
    for k, n, W in TILE_CASES:
        w = W.bit_length() - 1
        assert 1 << w == W, "W must be a power of two"
        assert 0 <= n < 12 * 4 ** k
        order = k + w
        hp = hp_cache.setdefault(order, HEALPix(nside=2 ** order, order="nested"))
        pixels = []
        for col, row in in_tile_positions(W):
            N = colrow_to_nested(n, W, col, row)
            # self-check: inverse mapping gets back (col,row)
            x, y = deinterleave(N - n * W * W)
            assert (y, W - 1 - x) == (col, row)
            lon, lat = hp.healpix_to_lonlat(np.array([N], dtype=np.int64))
            pixels.append({
                "col": col,
                "row": row,
                "nested": int(N),
                "ra_deg": float(lon.to_value(u.deg)[0]),
                "dec_deg": float(lat.to_value(u.deg)[0]),
            })
        cases.append({"k": k, "n": n, "W": W, "order": order, "pixels": pixels})
    return cases


def hash_point_list():
    """40 deterministic points: hand-picked edge cases + a Fibonacci spiral."""
    b = math.degrees(math.asin(2.0 / 3.0))  # equatorial/polar boundary, 41.8103...
    # No point lies exactly on a cell edge or vertex (e.g. (45,0) or the exact
    # cap boundary): there the answer depends on rounding and is not a fair test.
    pts = [
        (0.3, 0.2), (45.1, 0.05), (89.9, -0.1), (359.999999, 0.01),
        (10.0, b + 1e-7), (100.0, b + 1e-6), (200.0, b - 1e-6), (300.0, 41.8),
        (10.0, -b - 1e-7), (100.0, -b + 1e-6), (200.0, -b - 1e-6), (300.0, -41.8),
        (0.0, 89.99), (123.4, 85.0), (270.0, 75.5), (359.5, 70.2),
        (0.0, -89.99), (123.4, -85.0), (270.0, -75.5), (359.5, -70.2),
    ]
    # 20 more points on a Fibonacci spiral (lat spread roughly uniformly in sin)
    m = 20
    golden = math.pi * (3.0 - math.sqrt(5.0))
    for i in range(m):
        z = 1.0 - (2.0 * i + 1.0) / m
        lon = math.degrees((i * golden) % (2.0 * math.pi))
        lat = math.degrees(math.asin(z))
        pts.append((round(lon, 9), round(lat, 9)))
    assert len(pts) == 40

    lon = Longitude([p[0] for p in pts] * u.deg)
    lat = Latitude([p[1] for p in pts] * u.deg)
    nested = {}
    for d in HASH_DEPTHS:
        hp = HEALPix(nside=2 ** d, order="nested")
        nested[d] = hp.lonlat_to_healpix(lon, lat)
    out = []
    for i, (lo, la) in enumerate(pts):
        out.append({
            "lon_deg": lo,
            "lat_deg": la,
            "nested": {str(d): int(nested[d][i]) for d in HASH_DEPTHS},
        })
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    doc = {
        "about": (
            "HiPS tile layout reference. For each tile (k = tile order, n = tile "
            "nested index, W = tile width) and FITS pixel (col,row) (0-based, as "
            "stored: row 0 = first stored row = bottom row), 'nested' is the HEALPix "
            "nested index at order k+log2(W): y=col, x=W-1-row, "
            "N = n*W*W + interleave(x -> even bits, y -> odd bits). ra_deg/dec_deg "
            "is the cell centre from astropy_healpix "
            f"{astropy_healpix.__version__} HEALPix(nside=2**order, order='nested')"
            ".healpix_to_lonlat. 'hash_points': nested indices at depths "
            f"{HASH_DEPTHS} from lonlat_to_healpix. Generated by "
            "tools/reference/make_tile_layout_reference.py "
            f"(numpy {np.__version__})."
        ),
        "tool": {"astropy_healpix": astropy_healpix.__version__,
                 "numpy": np.__version__},
        "tiles": tile_cases(),
        "hash_points": hash_point_list(),
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
