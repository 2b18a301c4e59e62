"""Where Hipsgen puts a `.fov` mask, compared with hipsforge (the pixel convention of .fov files).

Writes a 160x100 1" TAN image (values 100 + 3x + 7y) with the mask `80 50 30` (a circle), builds
it with Hipsgen (`java -cp aladin.jar cds.allsky.HipsGen ... fov=true`) and with
`hipsforge build --fov`, both at order 12 with 64-pixel tiles, and prints for each the centroid
of the HiPS pixels kept (in FITS pixels of the image) and the pixels only one of them keeps.

Usage: python hipsgen_fov_check.py HIPSFORGE_BINARY [ALADIN_JAR] (needs java, astropy,
astropy-healpix). Measured with Hipsgen 12.001: centroid (80.95, 51.00), i.e. `.fov` numbers are
0-based pixel indices (FITS pixel - 1); hipsforge (80.96, 51.00); 33 + 31 of ~4360 pixels differ,
all within 0.55 source pixel of the circle's edge.
"""
import glob
import re
import subprocess
import sys
import tempfile

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix

ORDER, BITS = 12, 6
W = 1 << BITS


def spread(v):
    return sum(((v >> i) & 1) << (2 * i) for i in range(BITS))


def kept_pixels(root, wcs):
    """FITS pixel position in the image of every non-blank order-12 HiPS pixel, by nested index."""
    hp = HEALPix(nside=2 ** (ORDER + BITS), order="nested")
    out = {}
    for f in glob.glob(f"{root}/Norder{ORDER}/Dir*/Npix*.fits"):
        npix = int(re.search(r"Npix(\d+)", f).group(1))
        d = fits.getdata(f)
        rows, cols = np.nonzero(np.isfinite(d))
        # Stored row r, column c is HEALPix in-tile x = W - 1 - r, y = c.
        q = [(npix << 2 * BITS) | spread(W - 1 - r) | (spread(c) << 1) for r, c in zip(rows, cols)]
        lon, lat = hp.healpix_to_lonlat(np.array(q))
        px, py = wcs.all_world2pix(lon.to_value(u.deg), lat.to_value(u.deg), 1)
        out.update(zip(q, zip(px, py)))
    return out


def main():
    binary = sys.argv[1]
    jar = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/java/aladin.jar"
    tmp = tempfile.mkdtemp()
    y, x = np.mgrid[0:100, 0:160]
    hdr = fits.Header()
    for k, v in [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRPIX1", 80.5),
                 ("CRPIX2", 50.5), ("CRVAL1", 150.0), ("CRVAL2", 2.0), ("CD1_1", -1 / 3600),
                 ("CD1_2", 0.0), ("CD2_1", 0.0), ("CD2_2", 1 / 3600), ("RADESYS", "ICRS")]:
        hdr[k] = v
    subprocess.run(["mkdir", "-p", f"{tmp}/in"], check=True)
    fits.PrimaryHDU((100 + 3 * x + 7 * y).astype("float32"), hdr).writeto(f"{tmp}/in/img.fits")
    open(f"{tmp}/in/img.fov", "w").write("80 50 30\n")
    subprocess.run(["java", "-Xmx1g", "-cp", jar, "cds.allsky.HipsGen", f"in={tmp}/in",
                    f"out={tmp}/hg", "id=ivo://t/P/hg", "fov=true", f"hips_order={ORDER}",
                    f"hips_tile_width={W}", "INDEX", "TILES"], check=True, capture_output=True)
    subprocess.run([binary, "build", f"{tmp}/in", "--out", f"{tmp}/hf", "--id", "ivo://t/P/hf",
                    "--order", str(ORDER), "--tile-width", str(W), "--fov", "-q"], check=True)
    wcs = WCS(hdr)
    kept = {name: kept_pixels(f"{tmp}/{name}", wcs) for name in ["hg", "hf"]}
    for name, k in kept.items():
        p = np.array(list(k.values()))
        print(f"{name}: {len(k)} pixels kept, centroid ({p[:, 0].mean():.3f}, {p[:, 1].mean():.3f})")
    for a, b in [("hg", "hf"), ("hf", "hg")]:
        only = [kept[a][q] for q in set(kept[a]) - set(kept[b])]
        r = [float(np.hypot(px - 81, py - 51)) for px, py in only]
        print(f"only {a}: {len(only)}, radius from FITS (81, 51): {min(r, default=0):.2f}..{max(r, default=0):.2f}")


if __name__ == "__main__":
    main()
