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
    _, plain = labeled_loss(pred, None, batch, label_weight=1.0, pos_weight=1.0, loss="paper")
    _, weighted = labeled_loss(pred, None, batch, label_weight=1.0, pos_weight=4.0, loss="paper")
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
    prob = torch.tensor([0.95, 0.85, 0.0, 0.925]).view(1, 1, 2, 2)
    batch = {
        "label": torch.tensor([1.0, 1.0, -1.0, -1.0]).view(1, 1, 2, 2),
        "weight": torch.ones(1, 1, 2, 2),
        "target": torch.zeros(1, 1, 2, 2),
        "valid": torch.ones(1, 1, 2, 2),
    }
    acc = MetricAccumulator(threshold=0.9)
    acc.update(prob, batch)
    s = acc.scores()
    assert (s.precision, s.recall, s.accuracy) == (0.5, 0.5, 0.5)
    assert s.threshold == 0.9 and acc.maps() is None  # maps only with keep_maps


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


def _membrane_batch() -> dict[str, torch.Tensor]:
    label = -torch.ones(1, 1, 8, 8)
    label[..., 2, :] = 1.0  # 8 membrane pixels
    weight = torch.ones_like(label)
    weight[..., :, 6:] = 0.0  # two ignored columns
    return {"label": label, "weight": weight}


def test_bce_dice_ignores_zero_weight_pixels() -> None:
    batch = _membrane_batch()
    logits = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    logits.requires_grad_(True)
    total, term = labeled_loss(logits, None, batch, label_weight=1.0, loss="bce_dice")
    assert float(total.detach()) == pytest.approx(float(term.detach()))
    term.backward()
    assert logits.grad is not None
    assert torch.all(logits.grad[..., 6:] == 0) and torch.all(logits.grad[..., :6] != 0)
    wild = logits.detach().clone()
    wild[..., 6:] = 50.0  # anything in the ignored pixels
    _, again = labeled_loss(wild, None, batch, label_weight=1.0, loss="bce_dice")
    assert float(again) == pytest.approx(float(term.detach()), rel=1e-6)


def test_bce_dice_value_and_pos_weight() -> None:
    from sxtseg.train.losses import bce_dice

    batch = _membrane_batch()
    zero = torch.zeros(1, 1, 8, 8)  # p = 0.5 everywhere
    bce_only = bce_dice(zero, batch["label"], batch["weight"], dice_weight=0.0)
    assert float(bce_only) == pytest.approx(np.log(2.0), rel=1e-6)
    # Dice over the 48 counted pixels (6 membrane): p·t = 3, sum p = 24, sum t = 6
    with_dice = bce_dice(zero, batch["label"], batch["weight"], dice_weight=1.0, smooth=1.0)
    assert float(with_dice) == pytest.approx(np.log(2.0) + 1 - (2 * 3 + 1) / (24 + 6 + 1))
    # "background" everywhere: pos_weight makes the missed membrane pixels count more
    background = torch.full((1, 1, 8, 8), -3.0)
    plain = bce_dice(background, batch["label"], batch["weight"], dice_weight=0.0)
    heavy = bce_dice(background, batch["label"], batch["weight"], dice_weight=0.0, pos_weight=4.0)
    per_fg, per_bg = np.log1p(np.exp(3.0)), np.log1p(np.exp(-3.0))
    assert float(plain) == pytest.approx((6 * per_fg + 42 * per_bg) / 48, rel=1e-5)
    assert float(heavy) == pytest.approx((24 * per_fg + 42 * per_bg) / 66, rel=1e-5)


def test_paper_loss_is_the_reference_huber() -> None:
    torch.manual_seed(1)
    batch = _membrane_batch()
    batch["target"] = torch.randn(1, 1, 8, 8)
    batch["valid"] = torch.ones(1, 1, 8, 8)
    label, image = torch.rand(1, 1, 8, 8) * 2 - 1, torch.randn(1, 1, 8, 8)
    total, term = labeled_loss(label, image, batch, loss="paper", pos_weight=1.0)
    expected = huber(label, batch["label"], batch["weight"], delta=0.1)
    assert torch.equal(term, expected)
    image_term = huber(image, batch["target"], batch["valid"], delta=0.1)
    assert torch.equal(total, 0.99 * expected + 0.01 * image_term)
    with pytest.raises(ValueError, match="unknown label loss"):
        labeled_loss(label, None, batch, loss="mse")


def test_bce_dice_goes_down_on_a_tiny_overfit() -> None:
    from sxtseg.model import ModelConfig, build_model
    from sxtseg.preprocess import normalize_slices

    tomo, mask = make_shells((1, 32, 32), seed=3, n_objects=3)
    x = torch.from_numpy(normalize_slices(tomo[0]))[None, None]
    batch = {"label": torch.from_numpy(mask[0] * 2.0 - 1)[None, None].float(),
             "weight": torch.ones_like(x)}  # fmt: skip
    torch.manual_seed(0)
    net = build_model(ModelConfig.from_preset("tiny", bn_momentum=0.1))
    assert net.config.label_output == "logits"
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        net.train()
        _, term = labeled_loss(net(x).label, None, batch, loss="bce_dice")
        opt.zero_grad()
        term.backward()
        opt.step()
        losses.append(float(term))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
