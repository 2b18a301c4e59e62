"""astroquery.hips2fits against a hipsforge server: one FITS query, one PNG query, one error.

Usage: hips2fits_client.py SERVER_URL HIPS_ID OUT_DIR
Writes OUT_DIR/query.fits (the FITS astroquery returned), OUT_DIR/query_png.npy (the image
array it decoded) and OUT_DIR/error.txt (the message of the exception for an unknown HiPS).
"""
import sys

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, Latitude, Longitude
from astroquery.hips2fits import hips2fits

server, hips_id, out = sys.argv[1], sys.argv[2], sys.argv[3]
hips2fits.server = server

hdul = hips2fits.query(
    hips=hips_id, width=120, height=90, projection="TAN",
    ra=Longitude(150.01 * u.deg), dec=Latitude(2.0 * u.deg), fov=Angle(0.03 * u.deg),
    rotation_angle=Angle(20 * u.deg), format="fits",
)
hdul.writeto(f"{out}/query.fits", overwrite=True)

image = hips2fits.query(
    hips=hips_id, width=64, height=48, projection="SIN",
    ra=Longitude(150.01 * u.deg), dec=Latitude(2.0 * u.deg), fov=Angle(0.02 * u.deg),
    format="png", min_cut=1.0, max_cut=99.0, stretch="sqrt",
)
np.save(f"{out}/query_png.npy", np.asarray(image))

try:
    hips2fits.query(
        hips="no/such/hips", width=10, height=10, projection="TAN",
        ra=Longitude(1 * u.deg), dec=Latitude(1 * u.deg), fov=Angle(0.1 * u.deg),
    )
    message = "no exception"
except Exception as e:  # astroquery raises AttributeError/Exception with the JSON title
    message = f"{type(e).__name__}: {e}"
open(f"{out}/error.txt", "w").write(message)
print("ok")
