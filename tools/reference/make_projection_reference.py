#!/usr/bin/env python3
"""Reference pixel -> sky values for synthetic 2-D FITS WCS headers.

Writes tests/data/projection_reference.json (path overridable by argv[1]).

Each case is a synthetic celestial WCS header (projections and header
conventions not covered by the real sample files: CAR, MER, CEA, MOL, SFL,
AIT, SIN with PV2_n, ZEA with LONPOLE, STG at a pole, CROTA2, PC+CDELT, CD,
galactic axes, RA wrap through 0) together with astropy's
WCS(header).all_pix2world(x, y, 1) on a 7x7 grid of FITS pixel coordinates
from (1, 1) to (NAXIS1, NAXIS2). Convention: FITS 1-based pixel coordinates,
integer values at pixel centres (origin = 1). Longitudes are reduced to
[0, 360); points outside the projection's domain (astropy returns NaN) are
written as null for both lon and lat.

Each header is checked to be taken by astropy as written: every
FITSFixedWarning (or other warning) raised while building the WCS is printed
and aborts the run, and the parsed CTYPE/CRVAL/CRPIX, the linear pixel ->
intermediate matrix, the PV2_n values and LONPOLE are compared with the
values we put in the header.

Dependencies: stdlib, numpy, astropy.
Usage: make_projection_reference.py [out.json]
"""
import json
import math
import os
import sys
import warnings

import astropy
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs._wcs import WCSLIB_VERSION

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "projection_reference.json")

GRID = 7  # points per axis

# Mollweide: the native-plane ellipse has semi-axes 2*sqrt(2)*180/pi = 162.05
# deg (x) and sqrt(2)*180/pi = 81.03 deg (y). With |CDELT| = 0.9 on a 360x180
# image the ellipse spans 360.06 x 180.03 pixels, i.e. it just fills the image
# (the pixel centres on the central row/column are all inside, corners not).
MOL_CDELT = 0.9


def case(name, ctype, naxis, crval, crpix=None, **cards):
    """Build one case: ordered header dict + image size.

    `ctype` is (CTYPE1, CTYPE2); RADESYS = ICRS is added for RA/DEC axes.
    `crpix` defaults to the image centre ((N+1)/2 in FITS pixels).
    `cards` are the remaining keywords (CDELTi, CDi_j, PCi_j, CROTA2, PV2_n,
    LONPOLE), written as given.
    """
    nx, ny = naxis
    if crpix is None:
        crpix = ((nx + 1) / 2, (ny + 1) / 2)
    hdr = {"NAXIS": 2, "NAXIS1": nx, "NAXIS2": ny,
           "CTYPE1": ctype[0], "CTYPE2": ctype[1],
           "CRPIX1": float(crpix[0]), "CRPIX2": float(crpix[1]),
           "CRVAL1": float(crval[0]), "CRVAL2": float(crval[1])}
    for key, val in cards.items():
        hdr[key] = float(val)
    if ctype[0].startswith("RA"):
        hdr["RADESYS"] = "ICRS"
    return {"name": name, "header": hdr, "naxis": [nx, ny]}


def radec(code):
    """Equatorial axis types for a projection code, e.g. 'TAN'."""
    return ("RA---" + code, "DEC--" + code)


def cdelt(d1, d2):
    return {"CDELT1": d1, "CDELT2": d2}


S = (200, 200)
CASES = [
    case("CAR equatorial", radec("CAR"), S, (30, 0), **cdelt(-0.5, 0.5)),
    case("CAR all-sky", radec("CAR"), (360, 180), (180, 0), (180.5, 90.5),
         **cdelt(-1, 1)),
    case("MER", radec("MER"), S, (10, 0), **cdelt(-0.1, 0.1)),
    case("CEA lambda=1", radec("CEA"), S, (0, 0), **cdelt(-0.2, 0.2),
         PV2_1=1),
    case("MOL all-sky galactic", ("GLON-MOL", "GLAT-MOL"), (360, 180), (0, 0),
         **cdelt(-MOL_CDELT, MOL_CDELT)),
    case("SFL", radec("SFL"), S, (60, 0), **cdelt(-0.3, 0.3)),
    case("AIT off-centre", radec("AIT"), S, (120, 0), **cdelt(-0.5, 0.5)),
    case("TAN CROTA2", radec("TAN"), S, (210.5, 54.3),
         **cdelt(-2.5e-4, 2.5e-4), CROTA2=37.5),
    case("TAN PC+CDELT unequal", radec("TAN"), S, (45, -30),
         **cdelt(-3e-4, 2e-4),
         PC1_1=0.9, PC1_2=0.3, PC2_1=-0.25, PC2_2=0.95),
    case("TAN near pole", radec("TAN"), S, (75, 89.9),
         CD1_1=-1e-3, CD1_2=0, CD2_1=0, CD2_2=1e-3),
    case("SIN slant", radec("SIN"), S, (150, 30), **cdelt(-5e-4, 5e-4),
         PV2_1=0.05, PV2_2=-0.03),
    case("galactic TAN", ("GLON-TAN", "GLAT-TAN"), S, (280.5, -32.9),
         **cdelt(-1e-3, 1e-3)),
    case("ZEA LONPOLE", radec("ZEA"), S, (300, -50), **cdelt(-0.01, 0.01),
         LONPOLE=150),
    case("STG wide", radec("STG"), S, (0, -90), **cdelt(-0.5, 0.5)),
    case("TAN RA wrap", radec("TAN"), S, (359.95, 10), **cdelt(-1e-3, 1e-3)),
]


def expected_linear(h):
    """Pixel -> intermediate (deg) matrix as the FITS standard defines it."""
    if "CD1_1" in h:
        return np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]])
    d = np.diag([h["CDELT1"], h["CDELT2"]])
    if "PC1_1" in h:
        pc = np.array([[h["PC1_1"], h["PC1_2"]], [h["PC2_1"], h["PC2_2"]]])
    else:
        # AIPS convention (Calabretta & Greisen 2002, eq. 189 ff.):
        # PC1_2 = -sin(r) CDELT2/CDELT1, PC2_1 = sin(r) CDELT1/CDELT2.
        r = math.radians(h.get("CROTA2", 0.0))
        c, s = math.cos(r), math.sin(r)
        pc = np.array([[c, -s * h["CDELT2"] / h["CDELT1"]],
                       [s * h["CDELT1"] / h["CDELT2"], c]])
    return pc @ d


def read_wcs(name, h):
    """WCS from the header dict, and the warnings astropy gave while reading it (printed)."""
    hdr = fits.Header()
    for key, val in h.items():
        hdr[key] = val
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w = WCS(hdr)
        w.wcs.set()
    for wrn in caught:
        print(f"  [{name}] {wrn.category.__name__}: {wrn.message}")
    return w, caught


def build_wcs(name, h):
    """WCS from the header dict; reject any warning; check meaning."""
    w, caught = read_wcs(name, h)
    assert not caught, f"{name}: astropy warned while reading the header"

    ww = w.wcs
    assert w.naxis == 2 and list(ww.ctype) == [h["CTYPE1"], h["CTYPE2"]], name
    assert np.allclose(ww.crval, [h["CRVAL1"], h["CRVAL2"]], rtol=0, atol=0)
    assert np.allclose(ww.crpix, [h["CRPIX1"], h["CRPIX2"]], rtol=0, atol=0)
    # get_pc() folds CROTA into PC; cdelt is 1 when CD is given.
    lin = ww.cd if ww.has_cd() else ww.get_pc() @ np.diag(ww.get_cdelt())
    assert np.allclose(lin, expected_linear(h), rtol=1e-14, atol=0), \
        (name, lin, expected_linear(h))
    pv_in = {(2, int(k[4:])): v for k, v in h.items() if k.startswith("PV2_")}
    pv_got = {(i, m): v for i, m, v in ww.get_pv()}
    assert pv_got == pv_in, (name, pv_got, pv_in)
    if "LONPOLE" in h:
        assert ww.lonpole == h["LONPOLE"], (name, ww.lonpole)
    if "RADESYS" in h:
        assert ww.radesys == h["RADESYS"], (name, ww.radesys)
    return w


def grid_points(w, nx, ny):
    """7x7 grid, y outer / x inner, as [x, y, lon, lat] (None outside)."""
    xs = np.linspace(1.0, nx, GRID)
    ys = np.linspace(1.0, ny, GRID)
    px, py = np.meshgrid(xs, ys)          # rows: y, columns: x
    px, py = px.ravel(), py.ravel()
    lon, lat = w.all_pix2world(px, py, 1)
    pts = []
    for x, y, a, d in zip(px, py, lon, lat):
        if not (np.isfinite(a) and np.isfinite(d)):
            pts.append([float(x), float(y), None, None])
            continue
        a = float(a) % 360.0
        if a >= 360.0:                     # -1e-17 % 360 == 360.0
            a -= 360.0
        pts.append([float(x), float(y), a, float(d)])
    # Self-consistency: world -> pixel brings valid points back.
    ok = np.isfinite(lon) & np.isfinite(lat)
    bx, by = w.all_world2pix(lon[ok], lat[ok], 1)
    err = max(np.max(np.abs(bx - px[ok])), np.max(np.abs(by - py[ok])))
    return pts, int((~ok).sum()), float(err)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    cases = []
    n_points = n_null = 0
    for c in CASES:
        w = build_wcs(c["name"], c["header"])
        pts, nulls, rt = grid_points(w, *c["naxis"])
        assert rt < 1e-6, (c["name"], rt)
        # Sanity: CRPIX maps to CRVAL.
        a0, d0 = w.all_pix2world([[c["header"]["CRPIX1"],
                                   c["header"]["CRPIX2"]]], 1)[0]
        assert abs(d0 - c["header"]["CRVAL2"]) < 1e-9, c["name"]
        if abs(c["header"]["CRVAL2"]) < 90:
            dl = (a0 - c["header"]["CRVAL1"] + 180) % 360 - 180
            assert abs(dl) < 1e-9, c["name"]
        print(f"{c['name']:24s} points {len(pts)}  null {nulls}  "
              f"roundtrip_px {rt:.1e}")
        n_points += len(pts)
        n_null += nulls
        cases.append(dict(c, points=pts))
    doc = {
        "about": (
            "Synthetic 2-D celestial FITS WCS headers (numbers as JSON numbers, "
            "strings as JSON strings) and astropy.wcs pixel -> sky values: "
            "WCS(header).all_pix2world(x, y, 1), i.e. FITS 1-based pixel "
            "coordinates with integer values at pixel centres. points are "
            "[x, y, lon_deg, lat_deg] on a 7x7 grid, x and y each "
            "linspace(1, NAXISi, 7), y outer loop, x inner loop; lon reduced "
            "to [0, 360); lon = lat = null where astropy returns NaN (outside "
            "the projection). CROTA2 follows the AIPS convention as "
            "interpreted by WCSLIB. Every header was read by astropy without "
            "any FITSFixedWarning and its CRVAL/CRPIX/linear matrix/PV/LONPOLE "
            "checked unchanged. "
            f"astropy {astropy.__version__} (WCSLIB "
            f"{WCSLIB_VERSION}), numpy {np.__version__}; "
            "generated by tools/reference/make_projection_reference.py."
        ),
        "tool": {"astropy": astropy.__version__,
                 "wcslib": WCSLIB_VERSION,
                 "numpy": np.__version__},
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out), f"cases {len(cases)}",
          f"points {n_points}", f"null {n_null}")


if __name__ == "__main__":
    main()
