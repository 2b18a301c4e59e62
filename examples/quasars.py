"""Quasar stamps for a classifier, end to end: a list of objects → ugriz stamps in numpy →
a PyTorch-style dataset → FITS with a WCS for a look in DS9 or astropy.

    pip install ./python astropy         # from the repository root
    python examples/quasars.py           # local HiPS built as in the README
    python examples/quasars.py --remote  # the CDS's SDSS DR9 HiPS over the network

Local HiPS: build the five SDSS bands first (the frames are in ../shared/data/sdss/ or on the
SDSS Science Archive Server), e.g.

    for b in u g r i z; do
      hipsforge build frame-$b-002583-2-0136.fits.bz2 --out hips/sdss-$b \
        --id ivo://example/P/SDSS/$b --preset sdss-$b
    done
"""

import argparse
import time

import numpy as np

import hipsforge

# A few objects inside SDSS field 002583-2-0136 (stand-ins for a quasar catalogue such as
# DR16Q: read yours with astropy.table.Table.read("DR16Q_v4.fits")["RA", "DEC"]).
RA = np.array([323.3012, 323.3150, 323.3290, 323.3477, 323.3611, 323.3768])
DEC = np.array([-0.7712, -0.7420, -0.7215, -0.7030, -0.7555, -0.6984])
LABELS = np.array([1, 0, 1, 0, 0, 1])  # 1 = quasar, 0 = star, say


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--remote", action="store_true",
                    help="read the public SDSS DR9 HiPS at the CDS instead of hips/sdss-*")
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()

    if args.remote:
        # FITS-tile HiPS served by the CDS; tiles are fetched once into ~/.cache/hipsforge
        # (or $HIPSFORGE_CACHE_DIR) and reused by every later run and process.
        base = "https://alasky.cds.unistra.fr/SDSS/DR9"
        bands = [hipsforge.Survey(f"{base}/band-{b}", connections=8) for b in "ugriz"]
    else:
        bands = [hipsforge.Survey(f"hips/sdss-{b}") for b in "ugriz"]
    for b in bands:
        print(b, "pixel", b.pixel_scale, "arcsec")

    # 1. One call: (N, 5, size, size) float32, all cores, the GIL released.
    started = time.perf_counter()
    x = hipsforge.cutouts(RA, DEC, args.size, bands=bands, scale=0.396)
    print(f"{x.shape} {x.dtype} in {time.perf_counter() - started:.2f} s;",
          f"{np.isnan(x).mean():.1%} blank")

    # 2. Per-band normalisation for training (NaN-aware: blank pixels are NaN).
    med = np.nanmedian(x, axis=(2, 3), keepdims=True)
    mad = np.nanmedian(np.abs(x - med), axis=(2, 3), keepdims=True) + 1e-6
    x_norm = np.nan_to_num((x - med) / mad)
    print("normalised range", float(x_norm.min()), float(x_norm.max()))

    # 3. A map dataset for torch.utils.data.DataLoader (no torch needed to build it):
    #    DataLoader(ds, batch_size=256, num_workers=4) cuts each batch in one parallel call.
    ds = hipsforge.CutoutDataset(RA, DEC, bands, args.size, scale=0.396, targets=LABELS)
    stack, label = ds[0]
    print(ds, "item 0:", stack.shape, "label", label)

    # 4. Catalogues larger than memory: batches, the next one cut while you use this one.
    total = 0
    for batch in hipsforge.iter_cutouts(RA, DEC, 4, args.size, bands=bands, scale=0.396):
        total += len(batch)  # np.save / write to zarr / feed the model here
    print("iterated", total, "stamps")

    # 5. The WCS of a stamp, e.g. to write the r band of the first quasar as FITS.
    try:
        from astropy.io import fits
        from astropy.wcs import WCS
    except ImportError:
        return
    header = hipsforge.cutout_wcs(RA[0], DEC[0], args.size, 0.396)
    w = WCS(header)
    print("centre", w.all_pix2world([[(args.size - 1) / 2] * 2], 0)[0])
    fits.PrimaryHDU(x[0, 2], header=w.to_header()).writeto("quasar0-r.fits", overwrite=True)
    print("wrote quasar0-r.fits")


if __name__ == "__main__":
    main()
