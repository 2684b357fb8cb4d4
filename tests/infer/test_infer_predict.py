"""Predictor on a really trained tiny model: tiling vs whole slices, seams, TTA, odd sizes."""

import numpy as np
import pytest
import torch

from sxtseg.errors import InputError
from sxtseg.infer import Predictor, SegmentConfig, dihedral, dihedral_inverse, segment_array
from sxtseg.preprocess import normalize_slices


def test_dihedral_inverse_round_trip():
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 1, 3, 5)
    outs = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(outs) == 8  # eight distinct transforms
    for k in range(8):
        assert torch.equal(dihedral_inverse(dihedral(x, k), k), x)


def _col_steps(prob):
    """Mean |difference| between neighbouring columns, shape (X - 1,)."""
    return np.abs(np.diff(prob, axis=-1)).mean(axis=(0, 1))


@pytest.mark.parametrize("shape", [(1, 101, 133), (1, 130, 97)])
def test_tiled_equals_untiled_without_seams(trained_tiny, shells, shape):
    tomo, _ = shells(shape, seed=3)
    full = segment_array(tomo, trained_tiny, config=SegmentConfig())
    tiled = segment_array(tomo, trained_tiny, config=SegmentConfig(tile=64, overlap=0.5))
    assert full.shape == tiled.shape == shape
    assert full.std() > 0.05  # the model's output really depends on the input
    diff = np.abs(full - tiled)
    assert diff.max() < 0.01 and diff.mean() < 1e-3
    # hard stitching (no overlap, one tile owns each pixel) is visibly worse
    hard = segment_array(tomo, trained_tiny, config=SegmentConfig(tile=48, overlap=0.0))
    assert np.abs(full - hard).max() > 0.05
    # no seam: the blended map has no extra step where tiles begin or end
    pred = Predictor(trained_tiny, config=SegmentConfig(tile=64, overlap=0.5))
    grid = pred.plan(shape[1:]).grid
    cuts = sorted({x for x in grid.starts_x[1:]} | {x + 64 for x in grid.starts_x[:-1]})
    cuts = [c for c in cuts if 0 < c < shape[2]]
    assert cuts
    extra = np.abs(_col_steps(tiled) - _col_steps(full))[[c - 1 for c in cuts]]
    assert extra.max() < 1e-3


def test_auto_plan_tiles_when_memory_is_short(trained_tiny, shells):
    tiny_budget = SegmentConfig(max_cpu_memory_mb=8)  # 8 MiB of activations: must tile
    pred = Predictor(trained_tiny, config=tiny_budget)
    plan = pred.plan((200, 260))
    assert plan.tiled and plan.grid.tile[0] % 16 == 0 and plan.batch_size >= 1
    roomy = Predictor(trained_tiny, config=SegmentConfig()).plan((200, 260))
    assert not roomy.tiled
    tomo, _ = shells((1, 200, 260), seed=4)
    x = normalize_slices(tomo)
    a = pred.predict(x)
    b = Predictor(trained_tiny, config=SegmentConfig()).predict(x)
    assert np.abs(a - b).mean() < 2e-3


def test_tta_is_symmetric_on_a_symmetric_input(trained_tiny):
    n = 64
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    r = np.hypot(yy, xx)
    img = (np.abs(r - 18) < 1.5).astype(np.float32) + 0.1 * np.cos(r / 3)
    x = normalize_slices(img[None])
    assert np.allclose(x[0], x[0].T) and np.allclose(x[0], x[0, ::-1])
    plain = Predictor(trained_tiny, config=SegmentConfig()).predict(x)[0]
    tta = Predictor(trained_tiny, config=SegmentConfig(tta=True)).predict(x)[0]
    t = torch.from_numpy(tta)[None, None]
    for k in range(8):
        np.testing.assert_allclose(dihedral(t, k)[0, 0].numpy(), tta, atol=2e-5)
    # without TTA the network (non-symmetric kernels) is not exactly symmetric
    assert np.abs(plain - plain.T).max() > 1e-4
    assert np.abs(tta - plain).max() < 0.2


@pytest.mark.parametrize("hw", [(1, 1), (7, 5), (17, 33), (31, 16)])
def test_odd_and_tiny_sizes(trained_tiny, shells, hw):
    tomo, _ = shells((2, *hw), seed=0, n=1)
    p = segment_array(tomo, trained_tiny, config=SegmentConfig(tile=16, overlap=0.25))
    assert p.shape == (2, *hw) and np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()


def test_axes_all_is_the_mean_of_the_three(trained_tiny, shells):
    tomo, _ = shells((12, 20, 24), seed=2)
    parts = [segment_array(tomo, trained_tiny, config=SegmentConfig(axes=a))
             for a in ("xy", "xz", "yz")]  # fmt: skip
    fused = segment_array(tomo, trained_tiny, config=SegmentConfig(axes="all"))
    np.testing.assert_allclose(fused, np.mean(parts, axis=0), atol=1e-5)
    assert np.abs(parts[0] - parts[1]).max() > 1e-3


def test_bad_arrays_are_input_errors(trained_tiny):
    with pytest.raises(InputError):
        segment_array(np.zeros((4, 4)), trained_tiny)
    bad = np.zeros((2, 8, 8), np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        segment_array(bad, trained_tiny)
