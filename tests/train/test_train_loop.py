"""The training protocol: frozen label decoder, overfitting, CLI run, resume."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sxtseg.cli import main
from sxtseg.model import ModelConfig, build_model
from sxtseg.model.checkpoint import load_model
from sxtseg.preprocess import normalize_slices
from sxtseg.train.config import TrainConfig
from sxtseg.train.data import SliceDataset, find_sources
from sxtseg.train.loop import labeled_step, unlabeled_step
from sxtseg.train.losses import labeled_loss


def _batch(sources, *, labeled: bool, n: int = 2, crop: int = 32) -> dict[str, torch.Tensor]:
    items = [(0, z) for z in sources[0].slices[:n]]
    ds = SliceDataset(sources, items, crop=crop, labeled=labeled, augment_config=None)
    samples = [ds[i] for i in range(len(ds))]
    ds.close()
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


def test_unlabelled_steps_leave_label_decoder_untouched(shell_data: dict[str, Path]) -> None:
    torch.manual_seed(0)
    cfg = TrainConfig(preset="tiny")
    net = build_model(ModelConfig.from_preset("tiny", bn_momentum=0.1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lab = _batch(find_sources([shell_data["lab_a"]], labeled=True), labeled=True)
    unl = _batch(find_sources([shell_data["unl_a"]], labeled=False), labeled=False)
    # one labelled step first, so Adam has state for every parameter
    opt.zero_grad(set_to_none=True)
    labeled_step(net, lab, cfg).backward()
    opt.step()

    def snapshot(modules: list[torch.nn.Module]) -> dict[str, torch.Tensor]:
        return {f"{i}.{k}": v.clone() for i, m in enumerate(modules)
                for k, v in m.state_dict().items()}  # fmt: skip

    label_before = snapshot(net.label_modules())
    encoder_before = snapshot([net.encoder])
    image_before = snapshot(net.image_modules())
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        loss = unlabeled_step(net, unl, cfg)
        loss.backward()
        opt.step()
    label_after = snapshot(net.label_modules())
    assert any("running_mean" in k for k in label_after)
    for k, v in label_before.items():
        assert torch.equal(v, label_after[k]), f"label decoder changed: {k}"
    assert all(p.grad is None for m in net.label_modules() for p in m.parameters())
    changed_enc = [
        k for k, v in snapshot([net.encoder]).items() if not torch.equal(v, encoder_before[k])
    ]
    changed_img = [
        k for k, v in snapshot(net.image_modules()).items() if not torch.equal(v, image_before[k])
    ]
    assert any("running_mean" in k for k in changed_enc) and any("weight" in k for k in changed_enc)
    assert changed_img


def test_tiny_model_overfits_one_simulated_slice() -> None:
    from sxtseg.simulate import simulate

    sim = simulate("bessy-u41", shape=(16, 96, 96), seed=5)
    tomo, mask = sim.tomogram.data, sim.membranes.data
    assert 0.01 < mask[8].mean() < 0.5
    torch.manual_seed(0)
    x = torch.from_numpy(normalize_slices(tomo[8]))[None, None]
    y = torch.from_numpy(mask[8].astype(np.float32) * 2 - 1)[None, None]
    batch = {"label": y, "weight": torch.ones_like(y), "target": x, "valid": torch.ones_like(x)}
    net = build_model(ModelConfig.from_preset("tiny", bn_momentum=0.1))
    assert net.config.label_output == "logits"
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    best, start = 0.0, time.perf_counter()
    for step in range(1, 301):
        net.train()
        out = net(x)
        loss, _ = labeled_loss(out.label, out.image, batch, loss="bce_dice")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0:
            net.eval()
            with torch.no_grad():
                pred = net.predict_proba(x) >= 0.5
            truth = y > 0
            tp = int((pred & truth).sum())
            f1 = 2 * tp / max(1, 2 * tp + int((pred & ~truth).sum()) + int((~pred & truth).sum()))
            best = max(best, f1)
            if best > 0.9 or time.perf_counter() - start > 60:
                break
    assert best > 0.9, f"F1 {best:.3f} after {step} steps"


def _train_args(data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "train", "--labeled", str(data["lab_a"]), str(data["lab_b"]),
        "--unlabeled", str(data["unl_a"]), str(data["unl_b"]),
        "--preset", "tiny", "-o", str(out), "--crop", "32", "--batch-size", "2",
        "--steps-per-epoch", "2", "--threads", "1", "--lr", "1e-3", "-q", *extra,
    ]  # fmt: skip


def test_cli_train_writes_model_metrics_and_resumes(
    shell_data: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "model"
    assert main(_train_args(shell_data, out, "--epochs", "1", "--seed", "3")) == 0
    assert "val F1" in capsys.readouterr().out
    for name in ("model.safetensors", "config.json", "metrics.csv", "training_curves.png"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "config.json").read_text())
    meta = doc["meta"]
    assert meta["trained"] is True and meta["normalization"]["polarity_augmented"] is True
    assert doc["model"]["label_output"] == "logits" and meta["loss"] == "bce_dice"
    assert meta["init"] is None and meta["pixel_size_nm"] == pytest.approx(10.0)
    best_row = meta["training"]["best_epoch"]
    assert meta["training"]["steps"] == 4  # 2 labelled + 2 unlabelled
    assert meta["training"]["data"]["val_split"] == "tomogram"
    assert len(meta["training"]["data"]["unlabeled"]) == 2
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert {"val_f1", "val_precision", "val_recall", "val_accuracy", "val_image_accuracy",
            "val_boundary_f1", "val_threshold"} <= set(rows[0])  # fmt: skip
    # the calibrated threshold of the kept epoch is the model's mask threshold
    assert meta["threshold"] == pytest.approx(float(rows[best_row]["val_threshold"]))
    assert 0 < meta["threshold"] < 1
    # the same folder again without --resume is refused (exit 2)
    assert main(_train_args(shell_data, out, "--epochs", "1")) == 2
    # resume: the step count continues
    assert main(_train_args(shell_data, out, "--epochs", "2", "--resume")) == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [(r["epoch"], r["step"]) for r in rows] == [("0", "0"), ("1", "4"), ("2", "8")]
    state = torch.load(out / "last" / "state.pt", weights_only=True)
    assert state["state"]["step"] == 8 and state["state"]["labeled_samples"] == 8
    loaded = load_model(out)
    assert loaded.model.predict_label(torch.zeros(1, 1, 24, 40)).shape == (1, 1, 24, 40)


def test_supervised_only_run(shell_data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "sup"
    assert main(_train_args(shell_data, out, "--epochs", "1", "--supervised-only")) == 0
    loaded = load_model(out)
    assert loaded.config.image_decoder is False and loaded.model.image_decoder is None
    assert loaded.meta["training"]["steps"] == 2  # labelled steps only
    assert loaded.meta["training"]["data"]["unlabeled"] == []


def test_multi_value_options_expand_only_for_train() -> None:
    from sxtseg.cli._common import expand_multi_value_options

    opts = {"train": ("--labeled", "--unlabeled")}
    args = ["-v", "train", "--labeled", "A", "B", "--unlabeled=C", "D", "-o", "m", "--seed", "1"]
    assert expand_multi_value_options(args, opts) == [
        "-v", "train", "--labeled", "A", "--labeled", "B", "--unlabeled=C", "--unlabeled", "D",
        "-o", "m", "--seed", "1",
    ]  # fmt: skip
    assert expand_multi_value_options(["segment", "a", "-o", "b"], opts) == [
        "segment", "a", "-o", "b",
    ]  # fmt: skip
