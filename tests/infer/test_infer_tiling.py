"""Tile grids and blending windows (numpy only, no model)."""

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.infer import SegmentConfig, plan_tiles, tile_starts
from sxtseg.infer.tiling import ramp


@pytest.mark.parametrize("length", [1, 15, 16, 17, 100, 592, 593, 1001, 1284, 1324])
@pytest.mark.parametrize("tile", [16, 64, 592])
@pytest.mark.parametrize("overlap", [0, 8, 15])
def test_tile_starts_cover_without_degenerate_strides(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    t = min(tile, length)
    assert starts[0] == 0 and starts[-1] == length - t
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + t] = True
    assert covered.all()
    if len(starts) > 1:
        steps = np.diff(starts)
        assert steps.min() >= 1
        assert steps.max() <= t - min(overlap, t - 1)
        # evenly spread: no tiny stride next to a large one
        assert steps.max() - steps.min() <= 1


@pytest.mark.parametrize("length", [16, 112, 1024, 1328])
def test_aligned_starts_are_multiples(length):
    for tile in (16, 64, 592 // 16 * 16):
        if tile > length:
            continue
        starts = tile_starts(length, tile, tile // 4, align=16)
        assert (starts % 16 == 0).all() and starts[-1] == length - tile
        if len(starts) > 1:
            limit = max(16, (tile - tile // 4) // 16 * 16)
            assert np.diff(starts).min() >= 16 and np.diff(starts).max() <= limit
    with pytest.raises(ValueError):
        tile_starts(100, 64, 0, align=16)


def test_authors_degenerate_case_is_not_degenerate():
    # the reference scheme needs stride 1 (410 tiles per axis) for H = 1001 and 592-px tiles
    assert len(tile_starts(1001, 592, 0)) == 2


def test_ramp_is_positive_and_complementary():
    r = ramp(10)
    assert (r > 0).all() and (r < 1).all()
    np.testing.assert_allclose(r + r[::-1], 1.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(101, 133), (64, 64), (300, 17), (40, 500)])
def test_windows_positive_and_sum_smooth(shape):
    grid = plan_tiles(shape, tile=64, overlap=0.25)
    total = grid.weight_sum()
    assert total.shape == shape and (total > 0).all()
    for y0, x0 in grid.boxes:
        w = grid.window(y0, x0)
        assert w.shape == grid.tile and (w > 0).all() and w.max() <= 1.0
    # blended weights change smoothly: neighbouring pixels differ by less than a hard edge
    norm = [grid.window(y0, x0) / total[y0 : y0 + grid.tile[0], x0 : x0 + grid.tile[1]]
            for y0, x0 in grid.boxes]  # fmt: skip
    for w in norm:
        assert np.abs(np.diff(w, axis=0)).max() < 0.25
        assert np.abs(np.diff(w, axis=1)).max() < 0.25


def test_full_slice_grid_and_small_axes():
    g = plan_tiles((50, 70), tile=128)
    assert g.single and len(g) == 1 and g.tile == (50, 70)
    g2 = plan_tiles((50, 300), tile=128, overlap=0.5)
    assert g2.tile == (50, 128) and len(g2.starts_y) == 1 and len(g2.starts_x) == 4
    assert g2.blend_y == 0 and g2.blend_x >= 64


def test_segment_config_validation():
    cfg = SegmentConfig()
    assert cfg.threshold is None and cfg.plane_axes == ("xy",) and cfg.rescale
    assert cfg.threshold_for(None) == 0.9 and cfg.threshold_for(0.42) == 0.42
    assert SegmentConfig(threshold=0.6).threshold_for(0.42) == 0.6
    with pytest.raises(InputError):
        cfg.threshold_for(1.2)  # a broken model record
    assert SegmentConfig(axes="all").plane_axes == ("xy", "xz", "yz")
    for bad in ({"threshold": 1.5}, {"threshold": float("nan")}, {"tile": 8}, {"overlap": 1.0},
                {"axes": "zz"}, {"prob_dtype": "int8"}, {"batch_size": 0},
                {"device": "gpu"}):  # fmt: skip
        with pytest.raises(InputError):
            SegmentConfig(**bad)
