#!/usr/bin/env python3
"""Builds every image of the shared data set into a HiPS and runs the independent checker on it.

Usage: check_shared_data.py HIPSFORGE_BINARY SHARED_DIR SCRATCH_DIR [FILTER]

For each row of SHARED_DIR/data/MANIFEST.tsv (optionally only paths containing FILTER):
`hipsforge build FILE --out SCRATCH/NAME --force`, then SHARED_DIR/tools/check_hips.py on a
grid at the input's own resolution (at most 1200 px across, centred on the image). Prints one
line per file (PASS/FAIL, the checker's figures) and a summary; exit 1 if a file fails.
Needs a Python with astropy, reproject, mocpy (not needed by `cargo test`).

The checker's reference is astropy: for IRAF TNX/ZPX headers astropy drops the polynomial, so
its offsets there measure astropy's error, not ours (tests/wcs_reference.rs checks those
against wcstools); those rows are marked `astropy lacks the polynomial`.
"""
import csv
import os
import re
import subprocess
import sys

MAX_GRID = 1200


def main():
    binary, shared, scratch = sys.argv[1:4]
    only = sys.argv[4] if len(sys.argv) > 4 else ""
    checker = os.path.join(shared, "tools", "check_hips.py")
    rows = list(csv.DictReader(open(os.path.join(shared, "data", "MANIFEST.tsv")), delimiter="\t"))
    failed = 0
    for row in rows:
        rel = row["file"]
        if only not in rel:
            continue
        path = os.path.join(shared, "data", rel)
        name = re.sub(r"[^A-Za-z0-9]+", "_", rel)
        out = os.path.join(scratch, name)
        dims = [int(d) for d in re.findall(r"\d+", row["naxis"].split("[")[0])[:2]]
        scale = float(row["scale_arcsec"])
        hdu = re.search(r"\[ext(\d+)\]", row["naxis"])
        across = int(max(dims) * 0.9)
        if across * scale > 30 * 3600:
            print(f"SKIP {rel}: all-sky image, no TAN grid covers it (tests/build_shared.rs)")
            continue
        build = subprocess.run([binary, "build", path, "--out", out, "--id",
                                f"ivo://check/P/{name}", "--force"], capture_output=True, text=True)
        if build.returncode != 0:
            failed += 1
            print(f"FAIL {rel}: build: {build.stderr.strip().splitlines()[-1:]}")
            continue
        # A grid a little finer than the input (0.9 input px): one at exactly its pixel size
        # aliases against it.
        args = [sys.executable, checker, out, path, "--npix", str(min(max(dims), MAX_GRID))]
        if across > MAX_GRID:
            # A window at the input's resolution around the centre (the manifest's centre is ICRS
            # for these large equatorial images).
            args += ["--ra", row["ra_center"], "--dec", row["dec_center"],
                     "--fov", str(MAX_GRID * scale / 3600)]
        if hdu:
            args += ["--hdu", hdu.group(1)]
        check = subprocess.run(args, capture_output=True, text=True)
        lines = check.stdout.strip().splitlines()
        verdict = next((line for line in reversed(lines) if line.startswith(("PASS", "FAIL"))),
                       (check.stderr.strip().splitlines() or ["no output"])[-1])
        grid = next((line for line in lines if line.startswith("grid ")), "")
        note = " (astropy lacks the polynomial)" if re.search(r"tnx|zpx", rel) else ""
        ok = check.returncode == 0
        failed += 0 if ok or note else 1
        print(f"{'PASS' if ok else 'FAIL'} {rel}{note}: {verdict} | {grid}")
    print(f"{failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
