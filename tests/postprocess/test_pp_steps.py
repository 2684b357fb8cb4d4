"""Each post-processing step on hand-made masks with known answers."""

import sys

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.postprocess import (
    PostprocessConfig,
    bin_volume,
    border_margin_voxels,
    cell_mask,
    clear_border,
    closing_nm,
    ellipsoid_footprint,
    erosion_nm,
    opening_nm,
    otsu_threshold,
    postprocess,
    remove_small_objects_nm,
)

SP = (10.0, 10.0, 10.0)


def test_postprocess_does_not_import_torch():
    assert "sxtseg.postprocess" in sys.modules
    import subprocess

    code = "import sxtseg.postprocess, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_remove_small_objects_uses_nm3_and_anisotropic_voxels():
    m = np.zeros((10, 20, 20), bool)
    m[1:3, 1:3, 1:3] = True  # 8 voxels
    m[5:8, 10:14, 10:14] = True  # 48 voxels
    # 8 voxels * 1000 nm3 = 8000 nm3 < 10000 <= 48000
    out = remove_small_objects_nm(m, spacing=SP, min_volume_nm3=10_000)
    assert not out[1:3, 1:3, 1:3].any()
    assert out[5:8, 10:14, 10:14].all()
    assert out.sum() == 48
    # with 2x larger z voxels the small object has 16000 nm3 and stays
    out2 = remove_small_objects_nm(m, spacing=(20.0, 10.0, 10.0), min_volume_nm3=10_000)
    assert out2.sum() == 56
    # exact threshold is inclusive
    assert remove_small_objects_nm(m, spacing=SP, min_volume_nm3=8000).sum() == 56


def test_remove_small_objects_connectivity():
    m = np.zeros((5, 5, 5), bool)
    m[1, 1, 1] = m[2, 2, 2] = True  # touching only by a corner
    assert remove_small_objects_nm(m, spacing=SP, min_volume_nm3=2000).sum() == 2
    assert remove_small_objects_nm(m, spacing=SP, min_volume_nm3=2000, connectivity=1).sum() == 0


def test_border_margin_voxels_rounds_up_per_axis():
    assert border_margin_voxels(25.0, spacing=(20.0, 10.0, 5.0)) == (2, 3, 5)
    assert border_margin_voxels(0.0, spacing=SP) == (0, 0, 0)


def test_clear_border_band_and_objects():
    m = np.zeros((8, 10, 10), bool)
    m[3:5, 0:4, 4:6] = True  # object touching the y=0 face
    m[3:5, 4:6, 4:6] = False
    m[2:6, 5:8, 5:8] = True  # interior object
    band = clear_border(m, margin=(0, 2, 0))
    assert not band[:, :2].any() and not band[:, -2:].any()
    assert band[3:5, 2:4, 4:6].all()  # the part of the touching object outside the band stays
    objs = clear_border(m, margin=(0, 2, 0), objects=True)
    assert not objs[3:5, 0:4, 4:6].any()  # whole touching object removed
    assert objs[2:6, 5:8, 5:8].all()
    assert clear_border(m, margin=0).sum() == m.sum()


def test_ellipsoid_footprint_anisotropic():
    fp = ellipsoid_footprint(20.0, spacing=(20.0, 10.0, 10.0))
    assert fp.shape == (3, 5, 5)
    assert fp[1, 2, 2] and fp[0, 2, 2] and fp[1, 0, 2] and not fp[0, 0, 0]
    assert ellipsoid_footprint(5.0, spacing=SP).shape == (1, 1, 1)


def test_opening_removes_specks_keeps_blocks():
    m = np.zeros((12, 12, 12), bool)
    m[2:9, 2:9, 2:9] = True
    m[10, 10, 10] = True  # a one-voxel speck
    out = opening_nm(m, spacing=SP, radius_nm=10.0)
    assert not out[10, 10, 10]
    # a ball-shaped element rounds off the cube's edges only
    assert out[3:8, 3:8, 3:8].all() and out.sum() > 0.75 * 7**3
    # an object cut by a face of the volume is not eaten from the face
    m2 = np.zeros((6, 6, 6), bool)
    m2[0:3, 0:3, 0:3] = True
    assert opening_nm(m2, spacing=SP, radius_nm=10.0)[0:2, 0:2, 0:2].all()


def test_closing_bridges_a_gap():
    m = np.zeros((7, 7, 16), bool)
    m[2:5, 2:5, 2:7] = True
    m[2:5, 2:5, 8:14] = True  # one-voxel gap at x=7
    out = closing_nm(m, spacing=SP, radius_nm=10.0)
    assert out[3, 3, 7]
    assert not out[0, 0, 0]
    assert out.sum() >= m.sum()


def test_erosion_thins():
    m = np.zeros((9, 9, 9), bool)
    m[2:7, 2:7, 2:7] = True
    out = erosion_nm(m, spacing=SP, radius_nm=10.0)
    assert out[3:6, 3:6, 3:6].all() and out.sum() == 27


@pytest.mark.parametrize("kind", ["two levels", "bimodal", "uniform", "skewed", "volume"])
def test_otsu_matches_scikit_image(kind):
    from skimage.filters import threshold_otsu

    rng = np.random.default_rng(0)
    values = {
        "two levels": np.concatenate([np.full(100, 1.0), np.full(300, 5.0)]),
        "bimodal": np.concatenate([rng.normal(0, 1, 5000), rng.normal(6, 2, 3000)]),
        "uniform": rng.random(10000),
        "skewed": rng.gamma(2.0, 2.0, 10000),
        "volume": rng.normal(size=(8, 16, 16)) + 4.0 * (np.arange(16) > 8),
    }[kind]
    t = otsu_threshold(values)
    assert t == pytest.approx(threshold_otsu(values, nbins=256), rel=1e-12, abs=1e-12)
    assert otsu_threshold(np.append(values, [np.nan, np.inf])) == t  # non-finite values ignored
    if kind == "two levels":  # and it separates the two levels
        assert 1.0 <= t < 5.0
    if kind == "bimodal":  # between the modes, nearer the narrow one's tail
        assert 1.5 < t < 4.5


def test_bin_volume_means_and_edges():
    data = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    b = bin_volume(data, 2, slab=1)
    assert b.shape == (3, 2, 2)
    assert b[0, 0, 0] == pytest.approx(data[0:2, 0:2, 0:2].mean())
    assert b[2, 1, 1] == pytest.approx(data[4:, 2:4, 2:].mean())


def _cell_phantom():
    rng = np.random.default_rng(0)
    z, y, x = np.mgrid[:24, :48, :48]
    cell = ((z - 12) / 10) ** 2 + ((y - 24) / 16) ** 2 + ((x - 20) / 14) ** 2 <= 1
    tomo = np.where(cell, 1.0, 0.2) + rng.normal(0, 0.05, cell.shape)
    tomo[2:4, 4:6, 40:44] = 1.0  # a small dense fleck outside the cell
    return tomo.astype(np.float32), cell


def test_cell_mask_finds_the_cell_and_drops_flecks():
    tomo, cell = _cell_phantom()
    cm = cell_mask(tomo, spacing=SP, smooth_nm=10.0, dilate_nm=0.0)
    agree = (cm == cell).mean()
    assert agree > 0.97
    assert not cm[2:4, 4:6, 40:44].any()
    grown = cell_mask(tomo, spacing=SP, smooth_nm=10.0, dilate_nm=30.0)
    assert grown.sum() > cm.sum() and (grown | cm).sum() == grown.sum()
    inv = cell_mask(-tomo, spacing=SP, smooth_nm=10.0, dilate_nm=0.0, invert=True)
    assert (inv == cm).mean() > 0.99
    # binned path (forced small max_voxels) agrees roughly
    binned = cell_mask(tomo, spacing=SP, smooth_nm=10.0, dilate_nm=0.0, max_voxels=4000)
    assert (binned == cell).mean() > 0.9
    assert not cell_mask(np.ones((4, 4, 4)), spacing=SP).any()


def test_postprocess_pipeline_and_defaults():
    tomo, _ = _cell_phantom()
    mask = np.zeros(tomo.shape, bool)
    mask[10:14, 20:28, 18:22] = True  # inside the cell: 128 voxels
    mask[12, 24, 30] = True  # speck inside
    mask[10:14, 4:8, 40:46] = True  # outside the cell, 96 voxels
    mask[0:2, 20:24, 18:22] = True  # at the z faces
    same = postprocess(mask, spacing=SP)
    assert same.dtype == bool and (same == mask).all()
    cfg = PostprocessConfig(min_volume_nm3=50_000, border_nm=20, cell_mask=True,
                            cell_smooth_nm=10.0, cell_dilate_nm=0.0)  # fmt: skip
    assert cfg.enabled and not PostprocessConfig().enabled
    out = postprocess(mask, spacing=SP, config=cfg, tomogram=tomo)
    assert out[10:14, 20:28, 18:22].all()
    assert out.sum() == 128
    with pytest.raises(ValueError, match="tomogram"):
        postprocess(mask, spacing=SP, config=cfg)


def test_config_validation():
    with pytest.raises(InputError):
        PostprocessConfig(min_volume_nm3=-1)
    with pytest.raises(InputError):
        PostprocessConfig(connectivity=4)
    assert PostprocessConfig(connectivity=6).connectivity == 1
    assert PostprocessConfig(connectivity=26) == PostprocessConfig()
    with pytest.raises(InputError):
        remove_small_objects_nm(np.zeros((2, 2, 2)), spacing=(0, 1, 1), min_volume_nm3=1)
    with pytest.raises(ValueError):
        clear_border(np.zeros((2, 2)), margin=1)
