"""The training controls: early stopping, --max-minutes, the cosine schedule, a non-finite loss."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import torch

from sxtseg.cli import main
from sxtseg.train import loop
from sxtseg.train.config import TrainConfig
from sxtseg.train.metrics import ValidationScores

SMALL = {"preset": "tiny", "crop": 32, "batch_size": 2, "steps_per_epoch": 1, "threads": 1,
         "device": "cpu", "lr": 1e-3, "seed": 0}  # fmt: skip


def _data(shell_data: dict[str, Path]) -> tuple[list[Path], list[Path]]:
    return [shell_data["lab_a"], shell_data["lab_b"]], [shell_data["unl_a"]]


def _cli(shell_data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["train", "--labeled", str(shell_data["lab_a"]), str(shell_data["lab_b"]),
            "--unlabeled", str(shell_data["unl_a"]), "--preset", "tiny", "-o", str(out),
            "--crop", "32", "--batch-size", "2", "--steps-per-epoch", "1", "--threads", "1",
            "--device", "cpu", "--lr", "1e-3", "-q", *extra]  # fmt: skip


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "metrics.csv").open()))


def test_cosine_schedule_values() -> None:
    f = loop._lr_lambda(TrainConfig(schedule="cosine", min_lr_factor=0.01), total=10)
    values = [f(s) for s in range(11)]
    assert values[0] == pytest.approx(1.0) and values[10] == pytest.approx(0.01)
    assert values[5] == pytest.approx(0.01 + 0.99 * 0.5)  # half way: the mean
    assert all(a > b for a, b in itertools.pairwise(values))  # strictly decreasing
    assert f(15) == pytest.approx(0.01)  # past the end: stays at the floor
    constant = loop._lr_lambda(TrainConfig(schedule="constant"), total=10)
    assert {constant(s) for s in range(11)} == {1.0}


def test_cosine_flag_decays_the_learning_rate(shell_data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m"
    assert main(_cli(shell_data, out, "--epochs", "3", "--cosine")) == 0
    rows = _rows(out)[1:]  # epoch 0 is the untrained model
    steps = [int(r["step"]) for r in rows]
    assert steps == [2, 4, 6]  # one labelled + one unlabelled step per epoch
    for row, step in zip(rows, steps):
        expected = 1e-3 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / 6)))
        assert float(row["lr"]) == pytest.approx(expected, rel=1e-6)
    assert float(rows[-1]["lr"]) == pytest.approx(1e-5)  # lr x min_lr_factor at the end
    doc = json.loads((out / "config.json").read_text())
    assert doc["meta"]["training"]["config"]["schedule"] == "cosine"


def test_max_minutes_stops_after_the_step_that_ran_out(
    shell_data: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m"
    assert main(_cli(shell_data, out, "--epochs", "20", "--max-minutes", "1e-9")) == 0
    rows = _rows(out)
    assert [(r["epoch"], r["step"]) for r in rows] == [("0", "0"), ("1", "1")]  # of 40 steps
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["training"]["steps"] == 1 and meta["trained"] is True
    assert (out / "model.safetensors").is_file()


def test_patience_stops_when_validation_stops_improving(
    shell_data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loop.evaluate
    calls = {"n": 0}

    def worse_every_epoch(*args: Any, **kwargs: Any) -> ValidationScores:
        scores = real(*args, **kwargs)
        calls["n"] += 1  # 1 = untrained, 2 = epoch 1, ...
        return dataclasses.replace(scores, boundary_f1=1.0 / calls["n"])

    monkeypatch.setattr(loop, "evaluate", worse_every_epoch)
    labeled, unlabeled = _data(shell_data)
    cfg = TrainConfig(**SMALL, epochs=10, patience=2)
    result = loop.train(labeled, unlabeled, tmp_path / "m", config=cfg)
    assert result.stopped_early
    assert result.epochs == 3 and result.best_epoch == 1  # epochs 2 and 3 did not improve
    assert result.best.boundary_f1 == pytest.approx(0.5)
    meta = json.loads((tmp_path / "m" / "config.json").read_text())["meta"]
    assert meta["training"]["best_epoch"] == 1
    # without patience the same run goes on to the last epoch
    calls["n"] = 0
    cfg = TrainConfig(**SMALL, epochs=4, patience=None)
    result = loop.train(labeled, unlabeled, tmp_path / "m2", config=cfg)
    assert not result.stopped_early and result.epochs == 4 and result.best_epoch == 1


def test_a_non_finite_loss_stops_training_with_a_clear_error(
    shell_data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nan_step(*args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.tensor(float("nan"), requires_grad=True)

    monkeypatch.setattr(loop, "labeled_step", nan_step)
    labeled, unlabeled = _data(shell_data)
    with pytest.raises(RuntimeError, match=r"non-finite loss at step 0 \(try a lower --lr\)"):
        loop.train(labeled, unlabeled, tmp_path / "m", config=TrainConfig(**SMALL, epochs=2))
    assert not (tmp_path / "m" / "model.safetensors").exists()  # nothing passed off as trained
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = main(_cli(shell_data, tmp_path / "cli", "--epochs", "2"))
    lines = [line for line in err.getvalue().splitlines() if line.startswith("sxtseg:")]
    assert rc == 1 and len(lines) == 1 and "non-finite loss at step 0" in lines[0], lines
