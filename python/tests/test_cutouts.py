"""The hipsforge module on five SDSS bands (run by tests/python.rs, which builds the HiPS,
serves them on loopback and cuts the CLI's reference stamps).

Environment: HIPSFORGE_TEST_HIPS (u,g,r,i,z HiPS directories, os.pathsep-separated),
HIPSFORGE_TEST_URL (our server, mounting them as sdss-u ... sdss-z), HIPSFORGE_TEST_CSV (id,ra,dec),
HIPSFORGE_TEST_CLI_NPY (`hipsforge cutout --size 28` of that list), HIPSFORGE_TEST_CLI_ZARR (the
same as a Zarr store), HIPSFORGE_TEST_CACHE.
"""

import os
import threading
import time

import numpy as np
import pytest

import hipsforge

SIZE = 28


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run through `cargo test --test python`")
    return value


@pytest.fixture(scope="module")
def bands():
    return [hipsforge.Survey(d) for d in env("HIPSFORGE_TEST_HIPS").split(os.pathsep)]


@pytest.fixture(scope="module")
def objects():
    table = np.genfromtxt(env("HIPSFORGE_TEST_CSV"), delimiter=",", names=True, dtype=None,
                          encoding="utf-8")
    return table["ra"].astype(float), table["dec"].astype(float)


@pytest.fixture(scope="module")
def stamps(bands, objects):
    ra, dec = objects
    return hipsforge.cutouts(ra, dec, SIZE, bands=bands)


def test_survey_attributes(bands):
    r = bands[2]
    assert r.order >= 3 and r.tile_width == 128 and r.frame == "equatorial"
    assert r.properties["creator_did"] == "ivo://test/P/sdss-r"
    assert abs(r.pixel_scale - float(r.properties["hips_pixel_scale"]) * 3600) < 1e-9
    assert "sdss-r" in repr(r)


def test_stamps_equal_the_cli(stamps, objects):
    cli = np.load(env("HIPSFORGE_TEST_CLI_NPY"))
    assert stamps.dtype == np.float32 and stamps.shape == (len(objects[0]), 5, SIZE, SIZE)
    assert cli.shape == stamps.shape
    # Inside all five frames: no blank pixel in any band.
    assert np.isfinite(stamps).all()
    np.testing.assert_array_equal(stamps, cli)


def test_zarr_store_reads_back_with_zarr_python(stamps, objects):
    import zarr
    from astropy.wcs import WCS

    root = zarr.open_group(env("HIPSFORGE_TEST_CLI_ZARR"), mode="r")
    np.testing.assert_array_equal(root["stamps"][:], stamps)
    ra, dec = objects
    np.testing.assert_array_equal(root["ra"][:], ra)
    np.testing.assert_array_equal(root["dec"][:], dec)
    assert list(root["id"][:3]) == ["q0", "q1", "q2"]
    # Stamp i's WCS: the shared header with CRVAL from ra[i], dec[i]; it matches cutout_wcs.
    header = dict(root.attrs["header"])
    i = 7
    header.update(NAXIS=2, NAXIS1=SIZE, NAXIS2=SIZE, CRVAL1=ra[i], CRVAL2=dec[i])
    expected = hipsforge.cutout_wcs(ra[i], dec[i], SIZE, header["PIXSCALE"])
    w, w_expected = WCS(header), WCS(expected)
    corners = [[0, 0], [SIZE - 1, SIZE - 1], [3.5, 20.25]]
    np.testing.assert_allclose(w.all_pix2world(corners, 0), w_expected.all_pix2world(corners, 0),
                               rtol=0, atol=1e-12)


def test_remote_hips_give_identical_stamps(stamps, objects, tmp_path_factory):
    cache = os.environ.get("HIPSFORGE_TEST_CACHE") or str(tmp_path_factory.mktemp("cache"))
    server = env("HIPSFORGE_TEST_URL").rstrip("/")
    urls = [f"{server}/sdss-{b}" for b in "ugriz"]
    remote = [hipsforge.Survey(u, cache_dir=cache, connections=4) for u in urls]
    assert remote[0].properties["creator_did"] == "ivo://test/P/sdss-u"
    ra, dec = objects
    got = hipsforge.cutouts(ra, dec, SIZE, bands=remote)
    np.testing.assert_array_equal(got, stamps)
    assert all(s.fetched[0] > 0 for s in remote)


def test_bands_as_paths(stamps, objects):
    ra, dec = objects
    dirs = env("HIPSFORGE_TEST_HIPS").split(os.pathsep)
    np.testing.assert_array_equal(hipsforge.cutouts(ra[:3], dec[:3], SIZE, bands=dirs), stamps[:3])


def test_ecliptic_stamps_show_the_same_sky(bands, objects):
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    ra, dec = objects
    sky = SkyCoord(ra[:20] * u.deg, dec[:20] * u.deg).barycentricmeanecliptic
    # An odd size puts the central pixel on the object itself: the grids are turned by the
    # angle between the two norths (about 20° here), but that pixel is the same sky point,
    # sampled from the same tiles.
    size = 29
    eq = hipsforge.cutouts(ra[:20], dec[:20], size, bands=bands[2:3])
    ecl = hipsforge.cutouts(sky.lon.deg, sky.lat.deg, size, bands=bands[2:3], frame="ecliptic")
    c = size // 2
    assert np.isfinite(ecl).all()
    np.testing.assert_allclose(ecl[:, 0, c, c], eq[:, 0, c, c], rtol=1e-4, atol=1e-4)
    # Away from the centre the turned grids differ.
    assert not np.allclose(ecl[:, 0, 0, 0], eq[:, 0, 0, 0], rtol=1e-3)


def test_wcs_puts_the_centre_on_the_object(bands, objects):
    from astropy.wcs import WCS

    ra, dec = objects
    for i in (0, 57, 199):
        header = hipsforge.cutout_wcs(ra[i], dec[i], SIZE, bands[0].pixel_scale)
        w = WCS(header)
        assert w.pixel_shape == (SIZE, SIZE)
        c = (SIZE - 1) / 2  # 0-based centre of an even-sized stamp
        lon, lat = w.all_pix2world([[c, c]], 0)[0]
        assert abs(lon - ra[i]) < 1e-6 and abs(lat - dec[i]) < 1e-6
        # One pixel is the scale, east to the left.
        lon1, _ = w.all_pix2world([[c - 1, c]], 0)[0]
        assert lon1 > lon


def test_dataset_items_are_rows(bands, objects, stamps):
    ra, dec = objects
    ds = hipsforge.CutoutDataset(ra, dec, bands, SIZE)
    assert len(ds) == len(ra)
    for i in (0, 1, 123, len(ra) - 1):
        item = ds[i]
        assert item.shape == (5, SIZE, SIZE) and item.dtype == np.float32
        np.testing.assert_array_equal(item, stamps[i])
    np.testing.assert_array_equal(ds[-1], stamps[-1])
    batch = ds.__getitems__([5, 3, 8])
    np.testing.assert_array_equal(np.stack(batch), stamps[[5, 3, 8]])
    with pytest.raises(IndexError):
        ds[len(ra)]
    labelled = hipsforge.CutoutDataset(ra, dec, bands, SIZE, targets=list(range(len(ra))))
    x, y = labelled[7]
    assert y == 7
    np.testing.assert_array_equal(x, stamps[7])


def test_dataset_pickles(bands, objects, stamps):
    import pickle

    ra, dec = objects
    ds = pickle.loads(pickle.dumps(hipsforge.CutoutDataset(ra, dec, bands, SIZE)))
    np.testing.assert_array_equal(ds[4], stamps[4])


def test_batches_concatenate_to_the_whole(bands, objects, stamps):
    ra, dec = objects
    batches = list(hipsforge.iter_cutouts(ra, dec, 64, SIZE, bands=bands))
    assert [len(b) for b in batches] == [64, 64, 64, 8]
    np.testing.assert_array_equal(np.concatenate(batches), stamps)


def test_bad_arguments_raise_value_error(bands, objects):
    ra, dec = objects
    with pytest.raises(ValueError, match="kernel"):
        hipsforge.cutouts(ra, dec, SIZE, bands=bands, kernel="cubic")
    with pytest.raises(ValueError, match="size"):
        hipsforge.cutouts(ra, dec, 0, bands=bands)
    with pytest.raises(ValueError):
        hipsforge.cutouts(ra, dec, SIZE, bands=bands, projection="XYZ")
    with pytest.raises(ValueError, match="dec"):
        hipsforge.cutouts([10.0], [95.0], SIZE, bands=bands)
    with pytest.raises(ValueError):
        hipsforge.cutouts(ra, dec[:5], SIZE, bands=bands)
    with pytest.raises(ValueError):
        hipsforge.cutouts(ra, dec, SIZE, bands=[])
    with pytest.raises(ValueError, match="frame"):
        hipsforge.cutout_wcs(ra[0], dec[0], SIZE, 0.4, frame="fk4")


def test_missing_hips_raises_os_error(tmp_path):
    with pytest.raises(OSError, match="properties"):
        hipsforge.Survey(str(tmp_path / "nothing"))


def test_gil_is_released_during_cutouts(bands, objects):
    ra, dec = objects
    # 1000 objects of 5 bands of 32x32: a call of a second or so.
    big_ra, big_dec = np.tile(ra, 5), np.tile(dec, 5)
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        # The counter's pace with the main thread idle (sleeping, GIL free) ...
        before, started = count[0], time.perf_counter()
        time.sleep(0.3)
        pace = (count[0] - before) / (time.perf_counter() - started)
        # ... and while the main thread is in cutouts.
        before, started = count[0], time.perf_counter()
        x = hipsforge.cutouts(big_ra, big_dec, 32, bands=bands)
        seconds = time.perf_counter() - started
        during = count[0] - before
    finally:
        stop.set()
        t.join()
    assert x.shape == (len(big_ra), 5, 32, 32)
    assert seconds > 0.05, f"the call took only {seconds:.3f} s: too short to tell"
    # Holding the GIL, the counter would run only at the call's edges (2-3 % of its pace:
    # measured so with the GIL held); released, it keeps a good part of its pace all along,
    # even with the stamps' threads taking the cores.
    share = during / (pace * seconds)
    assert share > 0.1, f"counter at {share:.1%} of its pace during a {seconds:.2f} s call"
    # Copies of an object get the same stamps, wherever the work was split.
    np.testing.assert_array_equal(x[len(ra):2 * len(ra)], x[:len(ra)])
