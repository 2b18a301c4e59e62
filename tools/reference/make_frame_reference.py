#!/usr/bin/env python3
"""Reference header-frame -> ICRS / galactic / ecliptic values for celestial frames.

Writes tests/data/frame_reference.json (path overridable by argv[1]).

Each case is the frame part of a FITS header (CTYPE prefixes, RADESYS/RADECSYS,
EQUINOX/EPOCH, DATE-OBS/MJD-OBS) and the astropy frame it means. Where astropy can
tell (RA/DEC, GLON/GLAT) the frame is astropy.wcs.utils.wcs_to_celestial_frame of a
TAN header made of those cards, so the FITS defaults (RADESYS from EQUINOX, EQUINOX
from RADESYS, EPOCH as EQUINOX) are astropy's and wcslib's, not ours. Two cases go
beyond it:
- DATE-OBS / MJD-OBS with FK4: wcs_to_celestial_frame leaves the FK4 obstime at its
  default (the equinox); the header's observation date is the obstime FK4 -> FK5
  needs (FK4 rotates against FK5), so those cases use FK4(equinox, obstime=date).
- ELON/ELAT and SLON/SLAT: wcs_to_celestial_frame returns None; we take the mean
  ecliptic of EQUINOX (default J2000) as astropy's BarycentricMeanEcliptic (a pure
  rotation from ICRS, ERFA ecm06) and astropy's Supergalactic.

For 24 points per case (a fixed pseudo-random set plus the poles and lon 0/180) the
header-frame (lon, lat) is given with its ICRS, galactic and BarycentricMeanEcliptic
J2000 (the frame of an `ecliptic` HiPS) positions, all in degrees. Galactic and
ecliptic are reached from the ICRS position (as a HiPS is, so that the equatorial and
galactic HiPS of one image agree); astropy's own FK4 -> galactic route goes through
the IAU 1958 B1950 definition and ignores the observation epoch: the run prints by how
much it differs (up to 0.25 arcsec for FK4 B1900 or a 1985 plate).

`fk4_image` is a small FK4 B1950 TAN image header (0.5 arcsec pixels, rotated) with
star pixel positions and their ICRS positions from astropy's WCS(header).pixel_to_world
(so wcs_to_celestial_frame, FK4 at obstime B1950) for the end-to-end build test.

Dependencies: stdlib, numpy, astropy.
Usage: make_frame_reference.py [out.json]
"""
import json
import os
import sys
import warnings

import astropy
import astropy.units as u
import numpy as np
from astropy.coordinates import (FK4, BarycentricMeanEcliptic, Galactic, SkyCoord,
                                 Supergalactic)
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS
from astropy.wcs.utils import wcs_to_celestial_frame

DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
    "frame_reference.json")

# name, CTYPE prefixes, frame cards, explicit astropy frame (None: wcs_to_celestial_frame)
CASES = [
    ("fk4_b1950", ("RA", "DEC"), {"RADESYS": "FK4", "EQUINOX": 1950.0}, None),
    ("fk4_without_equinox", ("RA", "DEC"), {"RADESYS": "FK4"}, None),
    ("fk4_from_equinox_1950", ("RA", "DEC"), {"EQUINOX": 1950.0}, None),
    ("fk4_from_old_epoch_keyword", ("RA", "DEC"), {"EPOCH": 1950.0}, None),
    ("fk4_old_radecsys", ("RA", "DEC"), {"RADECSYS": "FK4", "EQUINOX": 1950.0}, None),
    ("fk4_b1900", ("RA", "DEC"), {"RADESYS": "FK4", "EQUINOX": 1900.0}, None),
    ("fk4_b1950_date_obs", ("RA", "DEC"),
     {"RADESYS": "FK4", "EQUINOX": 1950.0, "DATE-OBS": "1985-04-12T03:00:00"},
     lambda: FK4(equinox=Time(1950.0, format="byear"),
                 obstime=Time("1985-04-12T03:00:00", scale="utc"))),
    ("fk4_b1950_mjd_obs", ("RA", "DEC"),
     {"EQUINOX": 1950.0, "MJD-OBS": 36000.0, "DATE-OBS": "2000-01-01"},
     lambda: FK4(equinox=Time(1950.0, format="byear"),
                 obstime=Time(36000.0, format="mjd", scale="utc"))),
    ("fk4_no_e_b1950", ("RA", "DEC"), {"RADESYS": "FK4-NO-E", "EQUINOX": 1950.0}, None),
    ("fk5_j1975", ("RA", "DEC"), {"RADESYS": "FK5", "EQUINOX": 1975.0}, None),
    ("fk5_j2050", ("RA", "DEC"), {"RADESYS": "FK5", "EQUINOX": 2050.0}, None),
    ("fk5_j2000", ("RA", "DEC"), {"RADESYS": "FK5", "EQUINOX": 2000.0}, None),
    ("fk5_without_equinox", ("RA", "DEC"), {"RADESYS": "FK5"}, None),
    ("fk5_from_equinox_2000", ("RA", "DEC"), {"EQUINOX": 2000.0}, None),
    ("fk5_from_equinox_1984", ("RA", "DEC"), {"EQUINOX": 1984.0}, None),
    ("icrs_by_default", ("RA", "DEC"), {}, None),
    ("icrs_ignores_equinox", ("RA", "DEC"), {"RADESYS": "ICRS", "EQUINOX": 1950.0}, None),
    ("galactic", ("GLON", "GLAT"), {}, None),
    ("galactic_ignores_radesys", ("GLON", "GLAT"), {"RADESYS": "FK4", "EQUINOX": 1950.0},
     None),
    ("ecliptic_j2000", ("ELON", "ELAT"), {}, lambda: BarycentricMeanEcliptic(equinox=Time("J2000"))),
    ("ecliptic_j1975", ("ELON", "ELAT"), {"EQUINOX": 1975.0},
     lambda: BarycentricMeanEcliptic(equinox=Time(1975.0, format="jyear"))),
    ("supergalactic", ("SLON", "SLAT"), {}, lambda: Supergalactic()),
]


def header_of(prefixes, cards):
    """A small TAN header with these axes and frame cards."""
    h = fits.Header()
    h["NAXIS"] = 2
    h["NAXIS1"] = 100
    h["NAXIS2"] = 100
    h["CTYPE1"] = prefixes[0].ljust(4, "-") + "-TAN"
    h["CTYPE2"] = prefixes[1].ljust(4, "-") + "-TAN"
    for k in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2"):
        h[k] = 50.0 if k.startswith("CRPIX") else 10.0
    h["CDELT1"] = -0.001
    h["CDELT2"] = 0.001
    for k, v in cards.items():
        h[k] = v
    return h


def points():
    rng = np.random.default_rng(20261201)
    lon = rng.uniform(0.0, 360.0, 18)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 18)))
    fixed = [(0.0, 0.0), (180.0, 0.0), (0.0, 89.9), (123.0, -89.9), (359.99, 45.0),
             (90.0, 66.56)]
    return (np.concatenate([lon, [p[0] for p in fixed]]),
            np.concatenate([lat, [p[1] for p in fixed]]))


def fk4_image():
    """An FK4 B1950 image header and star pixels with astropy's ICRS positions."""
    width = height = 120
    angle = np.radians(25.0)
    scale = 0.5 / 3600.0
    cards = {
        "NAXIS": 2, "NAXIS1": width, "NAXIS2": height,
        "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN",
        "CRPIX1": 60.5, "CRPIX2": 60.5, "CRVAL1": 150.0, "CRVAL2": 20.0,
        "CD1_1": -scale * np.cos(angle), "CD1_2": scale * np.sin(angle),
        "CD2_1": scale * np.sin(angle), "CD2_2": scale * np.cos(angle),
        "RADESYS": "FK4", "EQUINOX": 1950.0,
    }
    h = fits.Header()
    for k, v in cards.items():
        h[k] = v
    wcs = WCS(h)
    pixels = [(30.3, 40.7), (60.0, 60.0), (90.2, 25.5), (20.5, 95.1), (100.4, 100.8)]
    stars = []
    for x, y in pixels:
        c = wcs.pixel_to_world(x - 1.0, y - 1.0).icrs  # 0-based in pixel_to_world
        stars.append([x, y, float(c.ra.deg), float(c.dec.deg)])
    return {
        "cards": {k: (float(v) if isinstance(v, (float, np.floating)) else v)
                  for k, v in cards.items()},
        "frame": repr(wcs_to_celestial_frame(wcs)),
        "stars": stars,
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    lon, lat = points()
    # An explicit equinox: SkyCoord would otherwise carry the source frame's equinox over.
    hips_ecliptic = BarycentricMeanEcliptic(equinox=Time("J2000"))
    cases = []
    for name, prefixes, cards, explicit in CASES:
        if explicit is None:
            # wcslib's notes on old spellings (RADECSYS) are expected; they are printed.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = wcs_to_celestial_frame(WCS(header_of(prefixes, cards)))
            for w in caught:
                print(f"{name}: astropy warns: {str(w.message).strip()}")
        else:
            frame = explicit()
        c = SkyCoord(lon * u.deg, lat * u.deg, frame=frame)
        icrs = c.icrs
        gal, ecl = icrs.transform_to(Galactic()), icrs.transform_to(hips_ecliptic)
        direct = c.transform_to(Galactic()).separation(gal).arcsec.max()
        rows = []
        for i in range(len(lon)):
            rows.append([float(lon[i]), float(lat[i]),
                         float(icrs.ra.deg[i]), float(icrs.dec.deg[i]),
                         float(gal.l.deg[i]), float(gal.b.deg[i]),
                         float(ecl.lon.deg[i]), float(ecl.lat.deg[i])])
        cases.append({
            "name": name,
            "ctype": [prefixes[0], prefixes[1]],
            "cards": {k: (str(v) if isinstance(v, str) else v) for k, v in cards.items()},
            "astropy_frame": repr(frame).replace("\n", " "),
            "points": rows,
        })
        print(f"{name}: {frame!r}; direct galactic route differs by {direct:.2e} arcsec")
    doc = {
        "fk4_image": fk4_image(),
        "generator": "tools/reference/make_frame_reference.py",
        "astropy": astropy.__version__,
        "columns": ["lon", "lat", "ra_icrs", "dec_icrs", "l_galactic", "b_galactic",
                    "lon_ecliptic_j2000", "lat_ecliptic_j2000"],
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
