"""Training crops at the model's pixel size: resampling, flat voxels, membrane-centred crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_synth import make_shells

from sxtseg.io import write_volume
from sxtseg.train.config import TrainConfig
from sxtseg.train.crops import cut_crop, plan_window
from sxtseg.train.data import SliceDataset, find_sources
from sxtseg.train.sampling import KeySampler
from sxtseg.train.setup import prepare_data
from sxtseg.types import Volume

CPU = torch.device("cpu")


def _stripe_folder(
    folder: Path, *, width: int, voxel: tuple[float, float, float], flat: bool = False
) -> Path:
    """A (3, 48, 48) tomogram with a vertical membrane stripe ``width`` px wide at x = 20."""
    rng = np.random.default_rng(0)
    mask = np.zeros((3, 48, 48), dtype=np.uint8)
    mask[:, :, 20 : 20 + width] = 1
    tomo = (mask * 1.0 + rng.normal(0, 0.1, mask.shape)).astype(np.float32)
    folder.mkdir(parents=True)
    write_volume(folder / "tomogram.mrc", Volume(tomo, voxel))
    write_volume(folder / "membranes.mrc", Volume(mask, voxel))
    if flat:
        hidden = np.zeros_like(mask)
        hidden[:, :24] = mask[:, :24]  # the upper half of the stripe is "flat"
        write_volume(folder / "flat.mrc", Volume(hidden, voxel))
    return folder


def _widths(label: torch.Tensor, weight: torch.Tensor) -> list[int]:
    """Counted membrane pixels per row of (1, H, W) crops."""
    counted = (label[0] > 0) & (weight[0] > 0)
    return [int(n) for n in counted.sum(dim=1) if n > 0]


def test_resampling_20_to_10_nm_doubles_membrane_width(tmp_path: Path) -> None:
    folder = _stripe_folder(tmp_path / "a", width=3, voxel=(10.0, 20.0, 20.0))
    (src,) = find_sources([folder], labeled=True)
    assert src.voxel_yx == (20.0, 20.0)
    ds = SliceDataset([src], [(0, 1)], crop=64, labeled=True, augment_config=None,
                      pixel_size_nm=10.0)  # fmt: skip
    for key in [0, (0, 5), (0, 6, 1)]:
        sample = ds[key]
        assert sample["label"].shape == (1, 64, 64)
        widths = _widths(sample["label"], sample["weight"])
        assert widths and all(5 <= w <= 7 for w in widths), widths
    # native grid: 3 px
    plain = SliceDataset([src], [(0, 1)], crop=32, labeled=True, augment_config=None)
    assert set(_widths(plain[0]["label"], plain[0]["weight"])) == {3}
    ds.close()
    plain.close()


def test_shrinking_keeps_thin_membranes(tmp_path: Path) -> None:
    folder = _stripe_folder(tmp_path / "a", width=1, voxel=(10.0, 10.0, 10.0))
    (src,) = find_sources([folder], labeled=True)
    ds = SliceDataset([src], [(0, 1)], crop=16, labeled=True, augment_config=None,
                      pixel_size_nm=20.0)  # fmt: skip
    sample = ds[0]
    widths = _widths(sample["label"], sample["weight"])
    assert len(widths) == 16 and set(widths) <= {1, 2}
    assert float(sample["valid"].min()) == 1.0
    ds.close()


def test_flat_voxels_get_weight_zero(tmp_path: Path) -> None:
    folder = _stripe_folder(tmp_path / "a", width=4, voxel=(10.0, 10.0, 10.0), flat=True)
    (src,) = find_sources([folder], labeled=True)
    assert src.ignore is not None and src.ignore.name == "flat.mrc"
    ds = SliceDataset([src], [(0, 0)], crop=48, labeled=True, augment_config=None)
    s = ds[0]
    weight, label = s["weight"][0].numpy(), s["label"][0].numpy()
    assert weight[:24, 20:24].max() == 0 and weight[24:, 20:24].min() == 1
    assert weight[:, :20].min() == 1 and (label[24:, 20:24] > 0).all()
    # resampled (10 -> 5 nm) and with jitter: flat stays out, visible stays in
    ds2 = SliceDataset([src], [(0, 0)], crop=48, labeled=True, augment_config=None,
                       pixel_size_nm=5.0, scale_jitter=0.1)  # fmt: skip
    for seed in range(4):
        s2 = ds2[(0, seed, 1)]
        counted = (s2["label"][0] > 0) & (s2["weight"][0] > 0)
        assert counted[24].any()  # the centre row lies on a visible membrane pixel
    # ignore_flat off: every labelled pixel counts
    off = SliceDataset([src], [(0, 0)], crop=48, labeled=True, augment_config=None,
                       use_ignore=False)  # fmt: skip
    assert float(off[0]["weight"].min()) == 1.0
    for d in (ds, ds2, off):
        d.close()


@pytest.mark.parametrize("pixel", [None, 5.0])
def test_membrane_centred_crops(tmp_path: Path, pixel: float | None) -> None:
    tomo, mask = make_shells((4, 96, 96), seed=3, n_objects=2)
    folder = tmp_path / "shells"
    folder.mkdir()
    write_volume(folder / "tomogram.mrc", Volume(tomo, (10.0,) * 3))
    write_volume(folder / "membranes.mrc", Volume(mask, (10.0,) * 3))
    (src,) = find_sources([folder], labeled=True)
    items = [(0, z) for z in src.slices]
    crop = 32
    ds = SliceDataset([src], items, crop=crop, labeled=True, augment_config=None,
                      pixel_size_nm=pixel, scale_jitter=0.15)  # fmt: skip
    it = iter(KeySampler(len(items), seed=2, stream=0, centre_fraction=0.5))
    keys = [next(it) for _ in range(24)]
    assert sum(k[2] for k in keys) >= 12
    hits = 0
    for key in keys:
        s = ds[key]
        c = crop // 2
        on = bool(s["label"][0, c, c] > 0 and s["weight"][0, c, c] > 0)
        if key[2] and mask[items[key[0]][1]].any():
            assert on, key
        hits += on
    assert hits >= 12
    ds.close()


def test_plan_window_centres_the_pixel_after_zoom() -> None:
    for axis in (0, 1):  # one-pixel-wide membranes along X, then along Y
        image = np.zeros((50, 70), dtype=np.float32)
        if axis == 0:
            image[17, :] = 1.0
        else:
            image[:, 41] = 1.0
        memb = image > 0
        for zoom in [(1.0, 1.0), (2.0, 2.0), (1.7, 1.3), (0.6, 0.8), (0.87, 1.13)]:
            w = plan_window(image.shape, 32, zoom, None, (17, 41))
            cut = cut_crop(image, w, membrane=memb, weight=np.ones_like(memb))
            assert cut.membrane is not None and cut.membrane[16, 16], (axis, zoom)
            assert cut.image.shape == (32, 32) and cut.valid[16, 16]


def test_same_seed_same_batches(tmp_path: Path) -> None:
    folder = _stripe_folder(tmp_path / "a", width=2, voxel=(10.0, 20.0, 20.0))
    cfg = TrainConfig(preset="tiny", crop=32, batch_size=2, num_workers=0, seed=4,
                      pixel_size_nm=10.0, val_fraction=0.0)  # fmt: skip

    def first_batch(config: TrainConfig) -> dict[str, torch.Tensor]:
        data = prepare_data([folder], [], config, device=CPU)
        try:
            return next(iter(data.train_loader()))
        finally:
            data.close()

    a, b = first_batch(cfg), first_batch(cfg)
    assert set(a) == {"image", "target", "valid", "label", "weight"}
    assert a["image"].shape == (2, 1, 32, 32)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    c = first_batch(TrainConfig(**{**cfg.to_dict(), "seed": 5}))
    assert not torch.equal(a["image"], c["image"])


def test_jittered_crops_are_always_crop_sized() -> None:
    """Zooms near 1 round to an unresampled region that still has its margin."""

    rng = np.random.default_rng(0)
    image = rng.random((100, 100)).astype(np.float32)
    membrane = image > 0.8
    seen_unresampled = 0
    for i in range(400):
        z = float(rng.uniform(0.85, 1.15))
        zoom = (z, z * float(rng.uniform(0.95, 1.05)))
        centre = None if i % 2 else (int(rng.integers(0, 100)), int(rng.integers(0, 100)))
        window = plan_window(image.shape, 32, zoom, rng, centre)
        out = cut_crop(image, window, membrane=membrane, weight=membrane)
        assert out.image.shape == out.valid.shape == out.membrane.shape == (32, 32)
        if not window.resampled and window.offset != (0, 0):
            seen_unresampled += 1
            # the crop is the plain source window inside its margin
            (y0, x0), (oy, ox) = window.start, window.offset
            if y0 >= 0 and x0 >= 0 and y0 + window.size[0] <= 100 and x0 + window.size[1] <= 100:
                np.testing.assert_array_equal(
                    out.image, image[y0 + oy : y0 + oy + 32, x0 + ox : x0 + ox + 32]
                )
    assert seen_unresampled > 0
