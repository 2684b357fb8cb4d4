"""Losses, sparse labels, data discovery and augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_synth import make_shells

from sxtseg.errors import InputError
from sxtseg.io import write_volume
from sxtseg.train.augment import AugmentConfig, augment, random_crop
from sxtseg.train.data import SliceDataset, find_sources
from sxtseg.train.losses import huber, image_loss, labeled_loss, ssim
from sxtseg.train.metrics import MetricAccumulator
from sxtseg.train.sampling import KeySampler, plan_epoch
from sxtseg.types import Volume


def test_huber_ignores_zero_weight_pixels() -> None:
    torch.manual_seed(0)
    target = torch.ones(1, 1, 8, 8)
    weight = torch.zeros(1, 1, 8, 8)
    weight[..., :4, :] = 1
    pred = torch.zeros(1, 1, 8, 8, requires_grad=True)
    loss = huber(pred, target, weight, delta=0.1)
    loss.backward()
    assert pred.grad is not None
    assert torch.all(pred.grad[..., 4:, :] == 0) and torch.all(pred.grad[..., :4, :] != 0)
    wild = pred.detach().clone()
    wild[..., 4:, :] = 123.0  # anything in ignored pixels
    assert huber(wild, target, weight, delta=0.1) == pytest.approx(float(loss.detach()))
    # Keras Huber: 0.5 d² inside delta, delta (|d| - delta/2) outside
    assert float(loss.detach()) == pytest.approx(0.1 * (1 - 0.05))
    assert float(huber(torch.full((1, 1, 2, 2), 0.05), torch.zeros(1, 1, 2, 2))) == pytest.approx(
        0.5 * 0.05**2
    )


def test_pos_weight_weighs_membrane_pixels() -> None:
    target = -torch.ones(1, 1, 4, 4)
    target[..., 0, :] = 1.0  # 4 membrane pixels, 12 background
    batch = {"label": target, "weight": torch.ones_like(target)}
    pred = torch.full_like(target, -1.0)  # says "background" everywhere: wrong on membranes
    _, plain = labeled_loss(pred, None, batch, label_weight=1.0, pos_weight=1.0)
    _, weighted = labeled_loss(pred, None, batch, label_weight=1.0, pos_weight=4.0)
    per_pixel = 0.1 * (2 - 0.05)
    assert float(plain) == pytest.approx(per_pixel * 4 / 16)
    assert float(weighted) == pytest.approx(per_pixel * 16 / 28)  # 4 pixels x 4 of 12 + 16


def test_ssim_is_one_for_identical_and_lower_otherwise() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 1, 32, 32)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    assert float(ssim(x + 0.5 * torch.randn_like(x), x)) < 0.8
    batch = {"target": x, "valid": torch.ones_like(x)}
    assert float(image_loss(x, batch)) == pytest.approx(0.0, abs=1e-5)


def test_sparse_labels_skip_unlabelled_slices_and_pixels(tmp_path: Path) -> None:
    tomo, mask = make_shells((5, 40, 40), seed=1)
    labels = mask.copy()
    labels[[0, 2, 4]] = 255  # three slices wholly unlabelled
    labels[1, :, 20:] = 255  # half of slice 1 unlabelled
    folder = tmp_path / "sparse"
    folder.mkdir()
    write_volume(folder / "tomogram.mrc", Volume(tomo, (10.0,) * 3))
    write_volume(folder / "membranes.mrc", Volume(labels, (10.0,) * 3))
    (source,) = find_sources([folder], labeled=True)
    assert source.slices == [1, 3]
    items = [(0, z) for z in source.slices]
    ds = SliceDataset([source], items, crop=48, labeled=True, augment_config=None)
    sample = ds[0]  # centre crop, no augmentation; slice 1
    weight = sample["weight"][0].numpy()
    assert weight.shape == (48, 48)
    assert weight[:40, :20].min() == 1 and weight[:, 20:].max() == 0
    assert weight[40:, :].max() == 0  # padding beyond the 40-px image is not labelled either
    truth = sample["label"][0].numpy()[:40, :20]
    np.testing.assert_array_equal(truth > 0, mask[1, :, :20] > 0)
    ds.close()


def test_tiff_slice_pairs_and_clear_errors(tmp_path: Path) -> None:
    import tifffile

    tomo, mask = make_shells((1, 32, 48), seed=2)
    tifffile.imwrite(tmp_path / "a.tif", tomo[0])
    tifffile.imwrite(tmp_path / "a.labels.tif", mask[0])
    (src,) = find_sources([tmp_path], labeled=True)
    assert src.shape == (1, 32, 48) and src.label is not None and src.slices == [0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="found no"):
        find_sources([tmp_path / "empty"], labeled=True)
    with pytest.raises(InputError, match="no such"):
        find_sources([tmp_path / "missing"], labeled=False)


def test_augment_keeps_label_aligned_and_polarity_flips() -> None:
    rng = np.random.default_rng(0)
    img = rng.standard_normal((16, 16)).astype(np.float32)
    lab = (img > 0).astype(np.float32)
    cfg = AugmentConfig(intensity_jitter=0.0, noise=0.0, invert_prob=1.0)
    inp, target, (lab2,) = augment(img, [lab], np.random.default_rng(3), cfg)
    np.testing.assert_array_equal(inp, target)
    np.testing.assert_array_equal(lab2 > 0, -target > 0)  # inverted image, same geometry
    crop = random_crop([img], 24, None)
    assert crop.arrays[0].shape == (24, 24) and crop.valid.sum() == 16 * 16


def test_sampler_is_resumable_and_plan_alternates() -> None:
    full = KeySampler(5, seed=1, stream=0)
    it = iter(full)
    keys = [next(it) for _ in range(13)]
    it2 = iter(KeySampler(5, seed=1, stream=0, start=7))
    assert [next(it2) for _ in range(6)] == keys[7:]
    assert sorted(k[0] for k in keys[:5]) == list(range(5))
    assert plan_epoch(3, 3, alternation="step") == ["L", "U"] * 3
    assert plan_epoch(2, 4, alternation="step") == ["L", "U", "U", "L", "U", "U"]
    assert plan_epoch(2, 1, alternation="epoch") == ["L", "L", "U"]


def test_metrics_threshold_on_probability_scale() -> None:
    label = torch.tensor([0.9, 0.7, -1.0, 0.85]).view(1, 1, 2, 2)  # p = .95 .85 0 .925
    batch = {
        "label": torch.tensor([1.0, 1.0, -1.0, -1.0]).view(1, 1, 2, 2),
        "weight": torch.ones(1, 1, 2, 2),
        "target": torch.zeros(1, 1, 2, 2),
        "valid": torch.ones(1, 1, 2, 2),
    }
    acc = MetricAccumulator(threshold=0.9)
    acc.update(label, batch)
    s = acc.scores()
    assert (s.precision, s.recall, s.accuracy) == (0.5, 0.5, 0.5)


def test_labels_in_0_255_warn_and_work_without_ignore_value(tmp_path: Path, caplog) -> None:
    tomo, mask = make_shells((3, 32, 32), seed=4)
    folder = tmp_path / "fiji"
    folder.mkdir()
    write_volume(folder / "tomogram.mrc", Volume(tomo, (10.0,) * 3))
    write_volume(folder / "membranes.mrc", Volume(mask * 255, (10.0,) * 3))
    with caplog.at_level("WARNING"):
        find_sources([folder], labeled=True)
    assert "--ignore-value none" in caplog.text
    (src,) = find_sources([folder], labeled=True, ignore_value=None)
    assert src.slices == [0, 1, 2]
    ds = SliceDataset([src], [(0, 1)], crop=32, labeled=True, augment_config=None,
                      ignore_value=None)  # fmt: skip
    sample = ds[0]
    assert float(sample["weight"].min()) == 1.0
    np.testing.assert_array_equal(sample["label"][0].numpy() > 0, mask[1] > 0)
