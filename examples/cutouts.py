"""Load the stamps written by `hipsforge cutout` and look at the first few.

    hipsforge cutout --hips u=HIPS_U --hips g=HIPS_G --hips r=HIPS_R --hips i=HIPS_I --hips z=HIPS_Z \\
        --positions quasars.csv --size 28 --scale 0.396arcsec --out quasars.npy
    python examples/cutouts.py quasars.npy            # needs numpy; matplotlib for the picture

The array is (objects, bands, size, size) float32, rows in the order of the positions file;
each stamp is stored like a FITS image read by astropy: row 0 is the bottom (y = 1), so show it
with origin="lower" (north up, east left for the default TAN grid). Blank pixels are NaN. The
manifest beside it (quasars.manifest.csv) gives id, ra, dec, an `outside` flag and the blank
fraction per band for every row.
"""
import csv
import sys

import numpy as np


def main(path):
    stamps = np.load(path, mmap_mode="r")  # memory-mapped: fine for millions of stamps
    manifest_path = path[: -len(".npy")] + ".manifest.csv"
    with open(manifest_path, newline="") as f:
        manifest = list(csv.DictReader(f))
    bands = [k[len("blank_"):] for k in manifest[0] if k.startswith("blank_")]
    print(f"{path}: {stamps.shape[0]} objects, bands {bands}, {stamps.shape[2]}x{stamps.shape[3]} px")
    usable = [int(m["row"]) for m in manifest if m["outside"] == "0"]
    print(f"{len(usable)} objects inside the surveys, {len(manifest) - len(usable)} outside")

    # Typical ML preparation: keep complete stamps, replace NaN, normalise per band.
    complete = [r for r in usable if not np.isnan(stamps[r]).any()]
    x = np.nan_to_num(np.asarray(stamps[complete[:1000]]))
    x = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / (x.std(axis=(0, 2, 3), keepdims=True) + 1e-12)
    print("normalised batch", x.shape, x.dtype)

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    n = min(6, len(usable))
    fig, axes = plt.subplots(n, len(bands), figsize=(1.6 * len(bands), 1.6 * n), squeeze=False)
    for row, r in enumerate(usable[:n]):
        for b, band in enumerate(bands):
            img = stamps[r, b]
            lo, hi = np.nanpercentile(img, [1, 99.5]) if np.isfinite(img).any() else (0, 1)
            axes[row][b].imshow(img, origin="lower", cmap="gray", vmin=lo, vmax=hi)
            axes[row][b].set_axis_off()
            if row == 0:
                axes[row][b].set_title(band)
        axes[row][0].text(0, 0, manifest[r]["id"], color="yellow", fontsize=6, va="bottom")
    fig.tight_layout()
    out = path[: -len(".npy")] + "_first.png"
    fig.savefig(out, dpi=120)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cutouts.npy")
