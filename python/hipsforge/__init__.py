"""HiPS cutouts straight into numpy, for machine learning.

Stamps of many objects in many bands come back as one float32 array of shape
``(N, bands, size, size)``, cut on all cores with the GIL released, from HiPS directories
or HiPS servers (tiles fetched on demand into an on-disk cache)::

    import hipsforge
    bands = [hipsforge.Survey(f"hips/sdss-{b}") for b in "ugriz"]
    x = hipsforge.cutouts(ra, dec, 28, bands=bands)        # (N, 5, 28, 28) float32
    wcs = astropy.wcs.WCS(hipsforge.cutout_wcs(ra[0], dec[0], 28, bands[0].pixel_scale))

Stamps are the same, bit for bit, as those of ``hipsforge cutout``. Row 0 of a stamp is its
southern edge (FITS order; use ``origin="lower"`` with matplotlib), east is to the left;
pixels without data are NaN.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np

from ._hipsforge import Survey, __version__, cutout_wcs, set_cache_size
from ._hipsforge import cutouts as _cutouts

__all__ = [
    "Survey",
    "CutoutDataset",
    "cutouts",
    "cutout_wcs",
    "iter_cutouts",
    "set_cache_size",
    "__version__",
]

Band = Union[Survey, str, "os.PathLike[str]"]


@functools.lru_cache(maxsize=64)
def _open(location: str) -> Survey:
    return Survey(location)


def _survey(band: Band) -> Survey:
    if isinstance(band, Survey):
        return band
    if isinstance(band, (str, os.PathLike)):
        return _open(os.fspath(band))
    raise TypeError(f"a band is a Survey, a directory or a URL, not {type(band).__name__}")


def _surveys(bands: Optional[Union[Band, Sequence[Band]]]) -> list:
    if bands is None:
        raise ValueError("no bands given: pass bands=[Survey(...), ...]")
    if isinstance(bands, (Survey, str, os.PathLike)):
        bands = [bands]
    surveys = [_survey(b) for b in bands]
    if not surveys:
        raise ValueError("no bands given: pass bands=[Survey(...), ...]")
    return surveys


def _degrees(values: Any, name: str) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
    if a.ndim != 1:
        raise ValueError(f"{name} must be a sequence of numbers")
    return a


def cutouts(
    ra: Any,
    dec: Any,
    size: int,
    scale: Optional[float] = None,
    bands: Optional[Union[Band, Sequence[Band]]] = None,
    projection: str = "TAN",
    kernel: str = "bilinear",
    frame: str = "icrs",
    order: Optional[int] = None,
    rotation: float = 0.0,
) -> np.ndarray:
    """Stamps of every object in every band.

    Args:
        ra, dec: positions in degrees (scalars or array-likes of the same length), in ``frame``.
        size: width and height of each stamp in pixels (1..4096).
        scale: arcsec per pixel; default: the first band's ``hips_pixel_scale``.
        bands: ``Survey`` objects, HiPS directories or URLs, in output band order.
        projection: WCS projection of the stamps (TAN, SIN, ZEA, STG, CAR, AIT, ...).
        kernel: ``"bilinear"``, ``"nearest"`` or ``"flux"`` (area mean, for coarse stamps).
        frame: ``"icrs"``, ``"galactic"`` or ``"ecliptic"`` (J2000 mean ecliptic): of the positions and of the stamps' grids.
        order: HiPS order to read; default: the one matching ``scale`` in each band.
        rotation: position angle of the stamps' y axis, degrees east of north.

    Returns:
        float32 array of shape (N, len(bands), size, size); NaN where a band has no data.

    Raises:
        ValueError: bad arguments (size, scale, kernel, projection, frame, positions).
        OSError: a HiPS or one of its tiles cannot be read or fetched.
    """
    surveys = _surveys(bands)
    return _cutouts(
        _degrees(ra, "ra"),
        _degrees(dec, "dec"),
        int(size),
        surveys,
        scale=None if scale is None else float(scale),
        projection=projection,
        kernel=kernel,
        frame=frame,
        order=order,
        rotation=float(rotation),
    )


def iter_cutouts(
    ra: Any,
    dec: Any,
    batch_size: int,
    size: int,
    scale: Optional[float] = None,
    bands: Optional[Union[Band, Sequence[Band]]] = None,
    **options: Any,
) -> Iterator[np.ndarray]:
    """Stamps in batches of ``batch_size`` objects, for lists larger than memory.

    Yields arrays (≤ batch_size, bands, size, size) in input order; their concatenation is
    ``cutouts(ra, dec, size, ...)``. The next batch is cut in the background while the caller
    works on the current one. Other options as for :func:`cutouts`.
    """
    if int(batch_size) < 1:
        raise ValueError("batch_size must be at least 1")
    ra, dec = _degrees(ra, "ra"), _degrees(dec, "dec")
    if len(ra) != len(dec):
        raise ValueError(f"ra has {len(ra)} values, dec {len(dec)}")
    surveys = _surveys(bands)
    starts = range(0, len(ra), int(batch_size))

    def batch(start: int) -> np.ndarray:
        end = start + int(batch_size)
        return cutouts(ra[start:end], dec[start:end], size, scale, surveys, **options)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for start in starts:
            if pending is None:
                pending = pool.submit(batch, start)
            current = pending
            following = start + int(batch_size)
            pending = pool.submit(batch, following) if following < len(ra) else None
            yield current.result()


class CutoutDataset:
    """A PyTorch-style map dataset of stamps (no torch needed).

    ``dataset[i]`` is the (bands, size, size) float32 stamp stack of object ``i`` (with
    ``targets``: the pair ``(stack, targets[i])``; with ``transform``: ``transform(stack)``).
    ``__getitems__`` cuts a whole list of indices in one parallel call, which
    ``torch.utils.data.DataLoader`` uses when present. The dataset pickles (surveys are
    reopened), so it works with DataLoader worker processes.

    Args:
        ra, dec: positions in degrees.
        bands: ``Survey`` objects, HiPS directories or URLs.
        size: stamp width and height in pixels.
        scale, projection, kernel, frame, order, rotation: as for :func:`cutouts`.
        targets: optional labels, one per object.
        transform: optional function applied to each stack.
    """

    def __init__(
        self,
        ra: Any,
        dec: Any,
        bands: Union[Band, Sequence[Band]],
        size: int,
        scale: Optional[float] = None,
        targets: Optional[Sequence[Any]] = None,
        transform: Optional[Any] = None,
        **options: Any,
    ) -> None:
        self.ra = _degrees(ra, "ra")
        self.dec = _degrees(dec, "dec")
        if len(self.ra) != len(self.dec):
            raise ValueError(f"ra has {len(self.ra)} values, dec {len(self.dec)}")
        if targets is not None and len(targets) != len(self.ra):
            raise ValueError(f"{len(targets)} targets for {len(self.ra)} objects")
        self.bands = _surveys(bands)
        self.size = int(size)
        self.scale = scale
        self.targets = targets
        self.transform = transform
        self.options = options

    def __len__(self) -> int:
        return len(self.ra)

    def _index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} objects")
        return i

    def _item(self, i: int, stack: np.ndarray) -> Any:
        if self.transform is not None:
            stack = self.transform(stack)
        if self.targets is not None:
            return stack, self.targets[i]
        return stack

    def __getitem__(self, i: int) -> Any:
        i = self._index(i)
        stack = self.cut([i])[0]
        return self._item(i, stack)

    def __getitems__(self, indices: Sequence[int]) -> list:
        idx = [self._index(i) for i in indices]
        stacks = self.cut(idx)
        return [self._item(i, s) for i, s in zip(idx, stacks)]

    def cut(self, indices: Sequence[int]) -> np.ndarray:
        """Stamps of the objects at ``indices``: (len(indices), bands, size, size)."""
        idx = np.asarray(indices, dtype=np.intp)
        return cutouts(
            self.ra[idx], self.dec[idx], self.size, self.scale, self.bands, **self.options
        )

    def __repr__(self) -> str:
        return (
            f"CutoutDataset({len(self)} objects, {len(self.bands)} bands, "
            f"{self.size}x{self.size})"
        )
