#!/usr/bin/env python3
"""Star positions of a HiPS built from an IRAF TNX/ZPX (or any) header, against wcstools.

astropy drops the TNX/ZPX surfaces, so check_hips.py's reference is wrong for them, and the
shared TNX/ZPX files carry synthetic block pixels without stars. This script therefore:

1. writes a copy of FILE's header (cards verbatim) over a float32 image of Gaussian stars
   (sigma 1.5 input px) on a regular grid of known pixel positions;
2. converts the star pixels to sky with wcstools (`xy2sky -d -n 10`, FITS 1-based pixels;
   run on a copy with EQUINOX = 2000.0 so that xy2sky does not precess: the sky positions
   are in the header's own frame, which is what hipsforge uses);
3. builds a HiPS of the star image with hipsforge, cuts a stamp around each sky position
   (`hipsforge cutout`, TAN, stamp pixel = SCALE arcsec) and measures the star's
   centroid offset from the stamp centre (background-subtracted first moment within 5
   stamp pixels of the centre).

Prints the median and maximum offsets in input pixels and arcseconds.
Dependencies: numpy, astropy, wcstools, a built hipsforge (target/debug by default).
Usage: check_star_positions.py FILE SCALE_ARCSEC WORKDIR [HIPSFORGE]
"""
import csv
import os
import subprocess
import sys
import warnings

import numpy as np
from astropy.io import fits

STAMP = 33
SIGMA = 1.5
STARS_PER_AXIS = 8


def star_image(header, positions):
    ny, nx = header["NAXIS2"], header["NAXIS1"]
    yy, xx = np.mgrid[1:ny + 1, 1:nx + 1].astype(np.float32)
    img = np.full((ny, nx), 100.0, dtype=np.float32)
    for x, y in positions:
        sl = (slice(max(0, int(y) - 12), int(y) + 12), slice(max(0, int(x) - 12), int(x) + 12))
        img[sl] += 5000.0 * np.exp(-((xx[sl] - x) ** 2 + (yy[sl] - y) ** 2) / (2 * SIGMA ** 2))
    return img


def main():
    path, scale, work = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    hipsforge = sys.argv[4] if len(sys.argv) > 4 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "target", "debug", "hipsforge")
    os.makedirs(work, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.getheader(path)
        nx, ny = header["NAXIS1"], header["NAXIS2"]
        # Star centres at non-integer positions, away from the edges.
        xs = np.linspace(40, nx - 40, STARS_PER_AXIS) + 0.3
        ys = np.linspace(40, ny - 40, STARS_PER_AXIS) - 0.2
        positions = [(float(x), float(y)) for y in ys for x in xs]
        out = fits.PrimaryHDU(star_image(header, positions))
        for card in header.cards:
            if card.keyword in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                                "BSCALE", "BZERO", "BLANK", "", "COMMENT", "HISTORY", "END"):
                continue
            out.header.append(card)
        stars = os.path.join(work, "stars.fits")
        out.writeto(stars, overwrite=True, output_verify="silentfix")
        ref = out.copy()
        ref.header["EQUINOX"] = 2000.0
        ref_path = os.path.join(work, "stars_j2000.fits")
        ref.writeto(ref_path, overwrite=True, output_verify="silentfix")
    args = [repr(v) for p in positions for v in p]
    rows = subprocess.run(["xy2sky", "-d", "-n", "10", ref_path, *args], capture_output=True,
                          text=True, check=True).stdout.strip().splitlines()
    sky = [(float(r.split()[0]), float(r.split()[1])) for r in rows]
    assert len(sky) == len(positions)
    pos_csv = os.path.join(work, "positions.csv")
    with open(pos_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "ra", "dec"])
        for i, (ra, dec) in enumerate(sky):
            w.writerow([i, f"{ra:.10f}", f"{dec:.10f}"])
    hips = os.path.join(work, "hips")
    subprocess.run([hipsforge, "build", stars, "--out", hips, "--id", "ivo://test/P/stars",
                    "--force"], check=True, capture_output=True)
    stamps = os.path.join(work, "stamps.npy")
    subprocess.run([hipsforge, "cutout", "--hips", hips, "--positions", pos_csv, "--size",
                    str(STAMP), "--scale", f"{scale}arcsec", "--out", stamps, "--restart", "-q"],
                   check=True, capture_output=True)
    cube = np.load(stamps)[:, 0]
    c = (STAMP - 1) / 2
    yy, xx = np.mgrid[0:STAMP, 0:STAMP]
    near = (xx - c) ** 2 + (yy - c) ** 2 <= 25
    offsets = []
    for s in cube:
        if not np.isfinite(s[near]).all():
            continue
        w = np.clip(s - np.nanmedian(s), 0, None) * near
        cx, cy = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
        offsets.append(np.hypot(cx - c, cy - c))
    offsets = np.array(offsets)
    print(f"{os.path.basename(path)}: {len(offsets)} of {len(positions)} stars; centroid offset "
          f"median {np.median(offsets):.3f} px ({np.median(offsets) * scale:.4f}\"), "
          f"max {offsets.max():.3f} px ({offsets.max() * scale:.4f}\")")


if __name__ == "__main__":
    main()
