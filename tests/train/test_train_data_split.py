"""Validation data, voxel sizes and the recorded pixel size of a training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_synth import make_shells

from sxtseg.errors import InputError
from sxtseg.io import write_volume
from sxtseg.train.config import TrainConfig
from sxtseg.train.setup import prepare_data, spread_evenly
from sxtseg.types import Volume

CPU = torch.device("cpu")


def _folder(
    path: Path,
    *,
    shape: tuple[int, int, int] = (4, 48, 48),
    voxel: tuple[float, float, float] | None = (10.0, 20.0, 20.0),
    seed: int = 0,
    labelled_slices: list[int] | None = None,
) -> Path:
    tomo, mask = make_shells(shape, seed=seed, n_objects=3)
    if labelled_slices is not None:
        keep = np.zeros(shape[0], dtype=bool)
        keep[labelled_slices] = True
        mask[~keep] = 255
    path.mkdir(parents=True)
    write_volume(path / "tomogram.mrc", Volume(tomo, voxel))
    write_volume(path / "membranes.mrc", Volume(mask, voxel))
    return path


def _cfg(**kw: object) -> TrainConfig:
    base: dict[str, object] = {"preset": "tiny", "crop": 32, "batch_size": 2, "num_workers": 0}
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_explicit_validation_tomograms_are_used(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", seed=1)
    v1 = _folder(tmp_path / "v1", seed=2, shape=(6, 40, 40))
    v2 = _folder(tmp_path / "v2", seed=3, voxel=(10.0, 10.0, 10.0))
    data = prepare_data([a], [], _cfg(pixel_size_nm=10.0, val_max_slices=4), device=CPU,
                        validation=[v1, v2], val_crop=256)  # fmt: skip
    assert data.split_mode == "explicit"
    assert data.train_items == [(0, z) for z in range(4)]  # nothing held out of the training set
    assert data.val_sources is not None and [s.name for s in data.val_sources] == ["v1", "v2"]
    assert sorted({i for i, _ in data.val_items}) == [0, 1]
    assert len(data.val_items) == 4 and sum(i == 0 for i, _ in data.val_items) == 2
    # v1 is 40 px at 20 nm = 80 px at 10 nm; v2 is 48 px: the validation crop fits the smallest
    assert data.val_crop == 48 and data.crop == 32
    batches = data.val_loader()
    assert batches is not None
    b = batches[0]
    assert set(b) == {"image", "target", "valid", "label", "weight"}
    assert b["label"].shape == (2, 1, 48, 48)
    assert set(torch.unique(b["label"]).tolist()) <= {-1.0, 1.0}
    assert data.summary()["val_sources"] == ["v1", "v2"]
    assert data.pixel_size_nm == 10.0 and data.resample
    data.close()


def test_single_sparsely_labelled_tomogram_validates_on_held_out_labelled_slices(
    tmp_path: Path,
) -> None:
    a = _folder(tmp_path / "a", shape=(12, 48, 48), labelled_slices=[1, 4, 7, 10])
    data = prepare_data([a], [], _cfg(pixel_size_nm=10.0, val_fraction=0.25), device=CPU)
    assert data.split_mode == "slice"
    train_z = {z for _, z in data.train_items}
    val_z = {z for _, z in data.val_items}
    assert len(val_z) == 1 and not train_z & val_z and train_z | val_z == {1, 4, 7, 10}
    batches = data.val_loader()
    assert batches is not None and float(batches[0]["weight"].sum()) > 0
    batch = next(iter(data.train_loader()))
    assert float(batch["weight"].sum()) > 0
    data.close()


def test_missing_voxel_size_needs_one_when_resampling(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", voxel=None)
    with pytest.raises(InputError, match=r"tomogram\.mrc.*voxel size.*--voxel-size"):
        prepare_data([a], [], _cfg(pixel_size_nm=10.0), device=CPU)
    data = prepare_data([a], [], _cfg(pixel_size_nm=10.0), device=CPU, voxel_size=20.0)
    assert data.labeled_sources[0].voxel_yx == (20.0, 20.0) and data.pixel_size_nm == 10.0
    data.close()
    # without a pixel size nothing is resampled and no pixel size can be recorded
    data = prepare_data([a], [], _cfg(), device=CPU)
    assert data.pixel_size_nm is None and not data.resample
    data.close()


def test_without_pixel_size_the_median_voxel_size_is_recorded(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", voxel=(10.0, 20.0, 20.0), seed=1)
    b = _folder(tmp_path / "b", voxel=(10.0, 12.0, 12.0), seed=2)
    c = _folder(tmp_path / "c", voxel=(10.0, 12.0, 12.0), seed=3)
    data = prepare_data([a, b, c], [], _cfg(), device=CPU)
    assert data.pixel_size_nm == 12.0 and not data.resample
    assert data.crop == 32
    data.close()


def test_spread_evenly_shares_the_cap_between_tomograms() -> None:
    items = [(0, z) for z in range(10)] + [(1, 0), (1, 5)] + [(2, z) for z in range(10)]
    kept = spread_evenly(items, 9)
    counts = [sum(i == k for i, _ in kept) for k in range(3)]
    assert counts == [3, 2, 4] or counts == [4, 2, 3]
    assert kept == sorted(kept)
    zs = [z for i, z in kept if i == 0]
    assert zs[0] == 0 and zs[-1] == 9  # evenly spaced over the tomogram
    assert spread_evenly(items, 100) == items
