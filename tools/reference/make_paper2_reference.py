#!/usr/bin/env python3
"""Reference pixel -> sky values for every projection of FITS WCS paper II.

Writes tests/data/projection_reference_paper2.json (path overridable by argv[1]).

Each projection code is placed at several reference points (equator,
mid-latitude, near the north and south poles, through the RA wrap at 0/360)
and on the whole sky, with its default parameters; further cases set
non-default PV2_m values, LONPOLE / LATPOLE, and PV1_0..PV1_4 (fiducial point,
its offset, and the LONPOLE / LATPOLE aliases), plus the GLS and NCP aliases.
Values are astropy's WCS(header).all_pix2world(x, y, 1) on a 9x9 grid of FITS
pixels (1-based, integer at pixel centres) from (1, 1) to (NAXIS1, NAXIS2);
points outside the projection (astropy: NaN) are null. Layout, header checks
and conventions as tools/reference/make_projection_reference.py, whose helpers
this script reuses; a case may carry "round_trip_px", the sky -> pixel
tolerance of the test when the projection is not exactly invertible (CSC).

Dependencies: stdlib, numpy, astropy.
Usage: make_paper2_reference.py [out.json]
"""
import json
import os
import sys

import astropy
import numpy as np
from astropy.wcs._wcs import WCSLIB_VERSION

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_projection_reference as base  # noqa: E402

base.GRID = 9

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "projection_reference_paper2.json")

# Projection codes with the parameters they cannot do without, and a field
# (degrees per pixel on a 100x100 image) that stays inside their domain.
CODES = {
    "AZP": ({}, 0.3), "SZP": ({}, 0.3), "TAN": ({}, 0.3), "STG": ({}, 0.5),
    "SIN": ({}, 0.3), "ARC": ({}, 0.5), "ZPN": ({"PV2_1": 1.0, "PV2_3": -0.1}, 0.3),
    "ZEA": ({}, 0.5), "AIR": ({}, 0.5), "CYP": ({}, 0.5), "CEA": ({}, 0.5),
    "CAR": ({}, 0.5), "MER": ({}, 0.3), "SFL": ({}, 0.5), "PAR": ({}, 0.5),
    "MOL": ({}, 0.5), "AIT": ({}, 0.5),
    "COP": ({"PV2_1": 45.0, "PV2_2": 25.0}, 0.3),
    "COE": ({"PV2_1": 45.0, "PV2_2": 25.0}, 0.5),
    "COD": ({"PV2_1": 45.0, "PV2_2": 25.0}, 0.5),
    "COO": ({"PV2_1": 45.0, "PV2_2": 25.0}, 0.5),
    "BON": ({"PV2_1": 45.0}, 0.5), "PCO": ({}, 0.5),
    "TSC": ({}, 0.5), "CSC": ({}, 0.5), "QSC": ({}, 0.5),
    "HPX": ({}, 0.5), "XPH": ({}, 0.5),
}

# CSC's forward and inverse polynomials disagree by up to 45" (wcslib).
CSC_ROUND_TRIP_PX = {0.5: 0.05, 4.0: 0.01}

PLACES = [
    ("equator", (30.0, 0.0)),
    ("mid-latitude", (150.0, 45.0)),
    ("near north pole", (75.0, 88.0)),
    ("near south pole", (250.0, -87.0)),
    ("RA wrap", (359.0, -20.0)),
]

S = (100, 100)


def with_round_trip(c, code, scale):
    if code == "CSC":
        c["round_trip_px"] = CSC_ROUND_TRIP_PX[scale]
    return c


def cases():
    out = []
    for code, (pv, scale) in CODES.items():
        for where, crval in PLACES:
            c = base.case(f"{code} {where}", base.radec(code), S, crval,
                          **base.cdelt(-scale, scale), **pv)
            out.append(with_round_trip(c, code, scale))
        # The whole sky, 4 deg per pixel, galactic axes: edges and off-sky points.
        c = base.case(f"{code} all-sky", ("GLON-" + code, "GLAT-" + code),
                      S, (0.0, 0.0), **base.cdelt(-4.0, 4.0), **pv)
        out.append(with_round_trip(c, code, 4.0))
    c = base.case
    r = base.radec
    d = base.cdelt
    out += [
        # Non-default projection parameters.
        c("AZP mu=2 gamma=30", r("AZP"), S, (60, 30), **d(-0.3, 0.3),
          PV2_1=2.0, PV2_2=30.0),
        c("AZP mu=0.5 gamma=-20", r("AZP"), S, (60, -30), **d(-0.5, 0.5),
          PV2_1=0.5, PV2_2=-20.0),
        c("SZP mu=2 phic=180 thetac=60", r("SZP"), S, (10, 60), **d(-0.3, 0.3),
          PV2_1=2.0, PV2_2=180.0, PV2_3=60.0),
        c("SZP mu=-3 thetac=45", r("SZP"), S, (10, -10), **d(-0.3, 0.3),
          PV2_1=-3.0, PV2_2=30.0, PV2_3=45.0),
        c("AIR thetab=45", r("AIR"), S, (200, 10), **d(-0.5, 0.5), PV2_1=45.0),
        c("AIR thetab=-30 wide", r("AIR"), S, (200, 10), **d(-1.5, 1.5),
          PV2_1=-30.0),
        c("CYP mu=1 lambda=0.707", r("CYP"), S, (100, 20), **d(-0.5, 0.5),
          PV2_1=1.0, PV2_2=0.707106781187),
        c("CYP mu=0 lambda=1 (CAR-like)", r("CYP"), S, (100, 20),
          **d(-0.5, 0.5), PV2_1=0.0, PV2_2=1.0),
        c("CEA lambda=0.5", r("CEA"), S, (0, 0), **d(-0.5, 0.5), PV2_1=0.5),
        c("COP thetaa=-45", r("COP"), S, (20, -50), **d(-0.3, 0.3),
          PV2_1=-45.0, PV2_2=10.0),
        c("COE thetaa=-45 eta=25", r("COE"), S, (20, -50), **d(-0.5, 0.5),
          PV2_1=-45.0, PV2_2=25.0),
        c("COD thetaa=60 eta=0", r("COD"), S, (20, 50), **d(-0.5, 0.5),
          PV2_1=60.0),
        c("COO thetaa=30 eta=0", r("COO"), S, (20, 30), **d(-0.5, 0.5),
          PV2_1=30.0),
        c("BON theta1=-30", r("BON"), S, (300, -40), **d(-0.5, 0.5),
          PV2_1=-30.0),
        c("BON theta1=0 (SFL)", r("BON"), S, (300, -40), **d(-0.5, 0.5),
          PV2_1=0.0),
        c("HPX H=6 K=5", ("GLON-HPX", "GLAT-HPX"), S, (0, 0), **d(-4.0, 4.0),
          PV2_1=6.0, PV2_2=5.0),
        c("HPX H=4 K=4", ("GLON-HPX", "GLAT-HPX"), S, (0, 0), **d(-4.0, 4.0),
          PV2_1=4.0, PV2_2=4.0),
        c("HPX H=3 K=2", ("GLON-HPX", "GLAT-HPX"), S, (0, 0), **d(-4.0, 4.0),
          PV2_1=3.0, PV2_2=2.0),
        c("ZPN polynomial", r("ZPN"), S, (120, -60), **d(-0.5, 0.5),
          PV2_0=0.01, PV2_1=0.98, PV2_2=-0.1, PV2_3=0.05),
        c("SIN slant", r("SIN"), S, (150, 30), **d(-0.3, 0.3),
          PV2_1=0.2, PV2_2=-0.3),
        # LONPOLE / LATPOLE.
        c("CAR LONPOLE=30 LATPOLE=-90", r("CAR"), S, (30, 40), **d(-0.5, 0.5),
          LONPOLE=30.0, LATPOLE=-90.0),
        c("CAR LONPOLE=30", r("CAR"), S, (30, 40), **d(-0.5, 0.5),
          LONPOLE=30.0),
        c("MOL LONPOLE=90 on equator", r("MOL"), S, (80, 0), **d(-0.5, 0.5),
          LONPOLE=90.0, LATPOLE=30.0),
        c("AIT LONPOLE=160 LATPOLE=-90 south", r("AIT"), S, (80, -30),
          **d(-0.5, 0.5), LONPOLE=160.0, LATPOLE=-90.0),
        c("AIT LONPOLE=160 south", r("AIT"), S, (80, -30), **d(-0.5, 0.5),
          LONPOLE=160.0),
        c("TAN LONPOLE=120", r("TAN"), S, (80, 30), **d(-0.1, 0.1),
          LONPOLE=120.0),
        c("COE LATPOLE=-60", r("COE"), S, (40, 10), **d(-0.5, 0.5),
          PV2_1=45.0, PV2_2=25.0, LONPOLE=170.0, LATPOLE=-60.0),
        c("QSC LONPOLE=45", r("QSC"), S, (200, 30), **d(-1.0, 1.0),
          LONPOLE=45.0),
        c("HPX LONPOLE=60", r("HPX"), S, (10, 20), **d(-1.0, 1.0),
          LONPOLE=60.0),
        c("HPX at the pole", r("HPX"), S, (0, 90), **d(-4.0, 4.0)),
        # PV1_m: fiducial point, its offset, LONPOLE / LATPOLE aliases.
        c("ZEA theta0=60 (no offset)", r("ZEA"), S, (70, 20), **d(-0.5, 0.5),
          PV1_1=0.0, PV1_2=60.0),
        c("CEA phi0=10 theta0=30 offset", r("CEA"), S, (70, 20),
          **d(-0.5, 0.5), PV1_0=1.0, PV1_1=10.0, PV1_2=30.0),
        c("CAR theta0=-20 offset", r("CAR"), S, (70, 20), **d(-0.5, 0.5),
          PV1_0=1.0, PV1_1=0.0, PV1_2=-20.0),
        c("TAN PV1_3 as LONPOLE", r("TAN"), S, (80, 30), **d(-0.1, 0.1),
          PV1_3=200.0),
        c("CAR PV1_3 PV1_4", r("CAR"), S, (30, 40), **d(-0.5, 0.5),
          PV1_3=30.0, PV1_4=-90.0),
        # Aliases.
        c("GLS", r("GLS"), S, (40, 30), **d(-0.5, 0.5)),
        c("NCP", r("NCP"), S, (40, 60), **d(-0.01, 0.01)),
    ]
    return out


ALIASES = ("GLS", "NCP")


def build_wcs(name, h):
    """WCS from the header dict; reject any warning but an alias's rewrite; check meaning."""
    w, caught = base.read_wcs(name, h)
    ww = w.wcs
    if name in ALIASES:
        # wcsfix's celfix rewrites the alias (GLS -> SFL with the fiducial
        # offset, NCP -> slant SIN), which is the reference we want.
        assert all("celfix" in str(wrn.message) for wrn in caught), name
    else:
        assert not caught, f"{name}: astropy warned while reading the header"
        assert list(ww.ctype) == [h["CTYPE1"], h["CTYPE2"]], name
    assert list(ww.crval) == [h["CRVAL1"], h["CRVAL2"]], name
    pv_in = {(int(k[2]), int(k[4:])): v for k, v in h.items()
             if k.startswith("PV2_") or k.startswith("PV1_0")}
    pv_got = {(i, m): v for i, m, v in ww.get_pv() if (i, m) in pv_in}
    assert pv_got == pv_in, (name, pv_got, pv_in)
    # PV1_1..4 are rewritten by wcsset with the values it used.
    for m, key in ((1, "PV1_1"), (2, "PV1_2"), (3, "PV1_3"), (4, "PV1_4")):
        if key in h:
            got = {(i, mm): v for i, mm, v in ww.get_pv()}[(1, m)]
            assert abs(got - h[key]) < 1e-9 or m == 4, (name, key, got)
    if "LONPOLE" in h:
        assert ww.lonpole == h["LONPOLE"], (name, ww.lonpole)
    return w


def grid_points(w, nx, ny, limit):
    """9x9 grid as [x, y, lon, lat] (None outside), without the seam points:
    where astropy's own world -> pixel lands more than `limit` px away or
    nowhere (a sky point with two plane positions, on the edge of a cube face
    or HEALPix facet, or a point wcslib deprojects but does not project back),
    or where astropy says off-sky but 1e-7 px aside is sky (wcslib's PCO on
    x = 0), the point is left out. Returns (points, nulls, seams, worst)."""
    pts, nulls, rt = base.grid_points(w, nx, ny)
    keep, seams, worst = [], 0, 0.0
    for x, y, a, d in pts:
        if a is None:
            # wcslib's PCO is 0/0 on its central meridian (x = 0) and returns
            # NaN there while 1e-7 px aside is sky: not an edge, left out.
            a2, _ = w.all_pix2world([[x + 1e-7, y]], 1)[0]
            if np.isfinite(a2):
                seams += 1
                continue
        else:
            bx, by = w.all_world2pix([[a, d]], 1)[0]
            err = float(np.hypot(bx - x, by - y))
            if not err < limit:
                seams += 1
                continue
            worst = max(worst, err)
        keep.append([x, y, a, d])
    return keep, nulls, seams, worst


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    done = []
    n_points = n_null = 0
    for c in cases():
        w = build_wcs(c["name"], c["header"])
        limit = c.get("round_trip_px", 1e-6)
        pts, nulls, seams, rt = grid_points(w, *c["naxis"], limit)
        print(f"{c['name']:36s} points {len(pts)}  null {nulls}  "
              f"seams {seams}  roundtrip_px {rt:.1e}")
        n_points += len(pts)
        n_null += nulls
        done.append(dict(c, points=pts))
    doc = {
        "about": (
            "Synthetic 2-D celestial FITS WCS headers for every projection of "
            "FITS WCS paper II (several reference points, the whole sky, "
            "non-default PV2_m, LONPOLE/LATPOLE, PV1_0..PV1_4, GLS/NCP) and "
            "astropy.wcs pixel -> sky values: WCS(header).all_pix2world(x, y, "
            "1), FITS 1-based pixels. points are [x, y, lon_deg, lat_deg] on a "
            "9x9 grid, x and y each linspace(1, NAXISi, 9), y outer, x inner; "
            "lon in [0, 360); null where astropy returns NaN; points that "
            "astropy itself does not bring back (a sky point with two plane "
            "positions on a seam of the whole-sky cases, or one wcslib "
            "deprojects but does not project) and points astropy calls off-sky "
            "while 1e-7 px aside is sky (wcslib's PCO is 0/0 on x = 0) are "
            "left out. round_trip_px, "
            "where present, is the sky -> pixel tolerance for a projection "
            "that is not exactly invertible (CSC). "
            f"astropy {astropy.__version__} (WCSLIB {WCSLIB_VERSION}), numpy "
            f"{np.__version__}; generated by "
            "tools/reference/make_paper2_reference.py."
        ),
        "tool": {"astropy": astropy.__version__, "wcslib": WCSLIB_VERSION,
                 "numpy": np.__version__},
        "cases": done,
    }
    # One case per line: a reviewable diff at a third of the indented size.
    with open(out, "w") as f:
        head = {k: v for k, v in doc.items() if k != "cases"}
        f.write(json.dumps(head, indent=1)[:-2] + ',\n "cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":"))
                            for c in doc["cases"]))
        f.write("\n ]\n}\n")
    print("wrote", os.path.normpath(out), f"cases {len(done)}",
          f"points {n_points}", f"null {n_null}")


if __name__ == "__main__":
    main()
