#!/usr/bin/env python3
"""Reference pixel -> sky values for synthetic distortion headers.

Writes tests/data/distortion_reference.json (path overridable by argv[1]),
the same layout as projection_reference.json (cases: name, header, naxis,
points [x, y, lon, lat] on a 7x7 grid of FITS 1-based pixels, plus the
reference tool of each case):

- TPV with every one of the 40 PV1_n / PV2_n coefficients (radial terms
  3, 11, 23, 39 included) and a rotated CD matrix, and SIP on non-TAN bases
  (RA---ZPN-SIP, RA---SIN-SIP): astropy (wcslib) WCS.all_pix2world(x, y, 1).
- TNX with each IRAF surface type (Chebyshev, Legendre, polynomial) and
  half / full / no cross terms, and ZPX (ZPN projp on both axes, the RA
  axis's winning, plus lngcor/latcor surfaces): wcstools xy2sky, because
  astropy drops the IRAF surfaces. Each header is written to a FITS file
  with the WAT strings split into 68-character WATn_nnn cards (at least one
  card ends in a blank, which FITS readers trim), then
  `xy2sky -d -n 10 file.fits x1 y1 x2 y2 ...` is run. xy2sky takes FITS
  1-based pixels and prints "lon lat system x y" per point; the headers are
  FK5 J2000 so it does not precess.

Dependencies: stdlib, numpy, astropy, wcstools (xy2sky in PATH).
Usage: make_distortion_reference.py [out.json]
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import astropy
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "distortion_reference.json")

GRID = 7
WAT_WIDTH = 68


def grid(naxis):
    nx, ny = naxis
    return [(float(x), float(y)) for y in np.linspace(1, ny, GRID)
            for x in np.linspace(1, nx, GRID)]


def base_header(ctype, naxis, crval, cd):
    nx, ny = naxis
    return {
        "NAXIS": 2, "NAXIS1": nx, "NAXIS2": ny,
        "CTYPE1": "RA---" + ctype, "CTYPE2": "DEC--" + ctype,
        "CRPIX1": (nx + 1) / 2 + 37.25, "CRPIX2": (ny + 1) / 2 - 21.5,
        "CRVAL1": crval[0], "CRVAL2": crval[1],
        "CD1_1": cd[0][0], "CD1_2": cd[0][1],
        "CD2_1": cd[1][0], "CD2_2": cd[1][1],
        "RADESYS": "FK5", "EQUINOX": 2000.0,
    }


def tpv_case():
    rng = np.random.default_rng(20261201)
    naxis = (2000, 1600)
    s = 0.27 / 3600
    rot = np.radians(12.0)
    cd = [[-s * np.cos(rot), s * np.sin(rot)], [s * np.sin(rot), s * np.cos(rot)]]
    h = base_header("TPV", naxis, (150.25, 2.2), cd)
    # Degree of each PV index (radial terms 3, 11, 23, 39 have degree 1, 3, 5, 7).
    degrees = [0, 1, 1, 1] + [2] * 3 + [3] * 5 + [4] * 5 + [5] * 7 + [6] * 7 + [7] * 9
    # Intermediate coordinates reach ~0.2 deg; a term of degree d gets a
    # coefficient of ~1e-3 deg at that radius, so every term matters (> 1 mas).
    for axis in (1, 2):
        for k, d in enumerate(degrees):
            c = rng.uniform(-1, 1) * 1e-3 / 0.2 ** d if d > 1 else rng.uniform(-1e-3, 1e-3)
            if k == 1:
                c = 1.0 + rng.uniform(-1e-3, 1e-3)
            h[f"PV{axis}_{k}"] = float(c)
    return {"name": "TPV all 40 coefficients", "reference": f"astropy {astropy.__version__}",
            "header": h, "naxis": list(naxis)}


def sip_case(name, base, pv):
    """SIP on a non-TAN base projection (the CTYPE says RA---ZPN-SIP etc.)."""
    naxis = (1200, 1000)
    s = 0.9 / 3600
    h = base_header(base + "-SIP", naxis, (35.0, -12.5), [[-s, 1e-6 * s], [0.0, s]])
    h.update({f"PV2_{m}": v for m, v in pv.items()})
    h.update({"A_ORDER": 3, "A_2_0": 2.1e-6, "A_1_1": -1.3e-6, "A_0_2": 8e-7, "A_3_0": 4e-10,
              "A_1_2": -2e-10, "B_ORDER": 3, "B_2_0": -9e-7, "B_1_1": 1.7e-6,
              "B_0_2": 2.4e-6, "B_2_1": 3e-10, "B_0_3": -5e-10})
    return {"name": name, "reference": f"astropy {astropy.__version__}", "header": h,
            "naxis": list(naxis)}


def surface(kind, xterms, order, ranges, rng, scale):
    """IRAF surface attribute text: type, xorder, yorder, xterms, ranges, coefficients."""
    xo, yo = order
    n = {0: xo + yo - 1, 1: xo * yo, 2: xo * yo - min(xo, yo) * (min(xo, yo) - 1) // 2}[xterms]
    coeffs = rng.uniform(-1, 1, n) * scale
    if kind == 3:
        # Plain powers of x (deg): a term of order k is scaled so that it is
        # ~scale at the image edge (x ~ 0.1 deg).
        powers = [(k, i) for i in range(yo) for k in range(xo)
                  if {0: k == 0 or i == 0, 1: True, 2: k + i < max(xo, yo)}[xterms]]
        coeffs = [c / 0.1 ** (k + i) for c, (k, i) in zip(coeffs, powers)]
    nums = [kind, xo, yo, xterms, *ranges]
    return " ".join(f"{v:.1f}" if i < 4 else repr(float(v)) for i, v in enumerate(nums)) + \
        " " + " ".join(repr(float(c)) for c in coeffs)


def iraf_case(name, ctype, kind, xterms, seed, projp=None):
    rng = np.random.default_rng(seed)
    naxis = (1800, 1500)
    s = 0.36 / 3600
    cd = [[-s, 2e-7], [1.5e-7, s]]
    h = base_header(ctype, naxis, (83.5, -5.25) if ctype == "TNX" else (210.0, 54.3), cd)
    # The intermediate coordinates of the image, in degrees, with a margin.
    ranges = [-0.2, 0.2, -0.17, 0.17]
    lng = surface(kind, xterms, (4, 3), ranges, rng, 4e-4)
    lat = surface(kind, xterms, (3, 4), ranges, rng, 4e-4)
    wat1 = f"wtype={ctype.lower()} axtype=ra"
    wat2 = f"wtype={ctype.lower()} axtype=dec"
    if projp:
        wat1 += " " + " ".join(f"projp{m}={v}" for m, v in projp[0].items())
        wat2 += " " + " ".join(f"projp{m}={v}" for m, v in projp[1].items())
    wat1 += f' lngcor = "{lng} "'
    wat2 += f' latcor = "{lat} "'
    h["WAT0_001"] = "system=image"
    for axis, text in ((1, wat1), (2, wat2)):
        for i in range(0, len(text), WAT_WIDTH):
            h[f"WAT{axis}_{i // WAT_WIDTH + 1:03d}"] = text[i:i + WAT_WIDTH]
    return {"name": name, "reference": "wcstools " + xy2sky_version(),
            "header": h, "naxis": list(naxis)}


def xy2sky_version():
    out = subprocess.run(["xy2sky"], capture_output=True, text=True)
    first = (out.stdout + out.stderr).strip().splitlines()[0]
    return first.split("WCSTools")[-1].strip().strip(",") if "WCSTools" in first else first


def astropy_points(c):
    hdr = fits.Header()
    for k, v in c["header"].items():
        hdr[k] = v
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = WCS(hdr)
    pts = grid(c["naxis"])
    xy = np.array(pts)
    world = w.all_pix2world(xy, 1)
    # The distortion must be applied (wcslib turns RA---TPV into TAN + a TPV distortion;
    # astropy applies SIP itself): compare with the header without it.
    plain = fits.Header()
    for k, v in c["header"].items():
        if not (k.startswith("PV1") or "_ORDER" in k or k[:2] in ("A_", "B_")
                or (k.startswith("PV2") and "TPV" in c["header"]["CTYPE1"])):
            plain[k] = v.replace("TPV", "TAN").replace("-SIP", "") if isinstance(v, str) else v
    assert np.abs(world - WCS(plain).all_pix2world(xy, 1)).max() > 1e-4, "distortion not applied"
    return [[x, y, float(lon % 360), float(lat)] for (x, y), (lon, lat) in zip(pts, world)]


def xy2sky_points(c, tmp):
    path = os.path.join(tmp, "case.fits")
    hdu = fits.PrimaryHDU(np.zeros((c["naxis"][1], c["naxis"][0]), dtype=np.int16))
    for k, v in c["header"].items():
        if k.startswith("NAXIS"):
            continue
        hdu.header[k] = v
    hdu.writeto(path, overwrite=True)
    pts = grid(c["naxis"])
    args = [f"{v!r}" for p in pts for v in p]
    out = subprocess.run(["xy2sky", "-d", "-n", "10", path, *args],
                         capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.strip().splitlines()]
    assert len(rows) == len(pts), out
    points = []
    for (x, y), row in zip(pts, rows):
        lon, lat, system, px, py = row
        assert system == "J2000", row
        assert abs(float(px) - x) < 1e-3 and abs(float(py) - y) < 1e-3, (row, x, y)
        points.append([x, y, float(lon), float(lat)])
    return points


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    cases = [tpv_case(), sip_case("ZPN-SIP", "ZPN", {1: 1.0, 3: -20.0}),
             sip_case("SIN-SIP", "SIN", {})]
    names = {1: "Chebyshev", 2: "Legendre", 3: "polynomial"}
    terms = {0: "no", 1: "full", 2: "half"}
    seed = 1
    for kind in (1, 2, 3):
        for xterms in (2, 1):
            cases.append(iraf_case(f"TNX {names[kind]} {terms[xterms]} cross terms", "TNX",
                                   kind, xterms, seed))
            seed += 1
    cases.append(iraf_case("TNX Legendre no cross terms", "TNX", 2, 0, seed))
    # ZPX: projp on both axes, the RA axis's projp3 wins (IRAF, wcstools).
    cases.append(iraf_case("ZPX projp on both axes, polynomial half cross terms", "ZPX", 3, 2,
                           seed + 1, projp=({1: 1.0, 3: -45.0}, {1: 1.0, 3: 300.0})))
    wat_cards = [v for c in cases for k, v in c["header"].items() if k.startswith("WAT")]
    assert any(v.endswith(" ") for v in wat_cards[:-1]), "no WAT card ends in a blank"
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            astropy_case = c["reference"].startswith("astropy")
            c["points"] = astropy_points(c) if astropy_case else xy2sky_points(c, tmp)
    doc = {
        "about": __doc__.split("\n\n")[0],
        "tool": {"astropy": astropy.__version__, "xy2sky": xy2sky_version()},
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
