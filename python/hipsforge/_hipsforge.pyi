"""Type stubs of the compiled half of hipsforge (see ``hipsforge`` for the Python API)."""

from os import PathLike
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class Survey:
    """A HiPS with FITS tiles: a directory, or a base URL whose tiles are fetched on demand."""

    def __init__(
        self,
        path_or_url: Union[str, "PathLike[str]"],
        cache_dir: Optional[Union[str, "PathLike[str]"]] = None,
        connections: int = 8,
    ) -> None: ...
    @property
    def properties(self) -> Dict[str, str]:
        """The HiPS ``properties`` file."""
    @property
    def order(self) -> int:
        """Deepest tile order (``hips_order``)."""
    @property
    def tile_width(self) -> int:
        """Tile width in pixels."""
    @property
    def frame(self) -> str:
        """``"equatorial"``, ``"galactic"`` or ``"ecliptic"``."""
    @property
    def location(self) -> str:
        """The directory or URL the survey was opened from."""
    @property
    def pixel_scale(self) -> Optional[float]:
        """``hips_pixel_scale`` in arcsec."""
    @property
    def fetched(self) -> Tuple[int, int]:
        """(files, bytes) fetched from the server so far."""

def cutouts(
    ra: npt.NDArray[np.float64],
    dec: npt.NDArray[np.float64],
    size: int,
    bands: Sequence[Survey],
    scale: Optional[float] = None,
    projection: str = "TAN",
    kernel: str = "bilinear",
    frame: str = "icrs",
    order: Optional[int] = None,
    rotation: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Stamps (N, bands, size, size) float32; the GIL is released while they are cut."""

def cutout_wcs(
    ra: float,
    dec: float,
    size: int,
    scale: float,
    projection: str = "TAN",
    frame: str = "icrs",
    rotation: float = 0.0,
) -> Dict[str, Union[str, int, float, bool]]:
    """FITS WCS cards of the stamp centred on (ra, dec), for ``astropy.wcs.WCS``."""

def set_cache_size(bytes: int) -> None:
    """Memory for decoded tiles shared by all cutouts of this process."""
