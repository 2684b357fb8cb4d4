"""The widgets' work functions without a viewer: lazy input, painted labels, model folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.io import open_volume, write_volume
from sxtseg.napari._finetune_work import next_model_dir, training_labels
from sxtseg.napari._layers import lazy_array
from sxtseg.types import Volume

pytest.importorskip("dask.array")


def test_segment_volume_on_a_lazy_file_equals_segment_array(
    tmp_path: Path, sample_layers: list, one_torch_thread: None
) -> None:
    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.napari._work import segment_volume

    tomo = sample_layers[0][0][:, :64, :48]
    path = write_volume(tmp_path / "t.mrc", Volume(tomo, (9.8, 9.8, 9.8)))
    reports: list[tuple[float, float]] = []
    with open_volume(path) as reader:
        out = segment_volume(lazy_array(reader, slab_bytes=1), voxel_size=(9.8, 9.8, 9.8),
                             config=SegmentConfig(device="cpu"), slab=5,
                             report=lambda d, t, text="": reports.append((d, t)))  # fmt: skip
    expected = segment_array(tomo, config=SegmentConfig(device="cpu"), voxel_size=9.8)
    np.testing.assert_allclose(out.probabilities, expected, atol=1e-5)
    assert out.mask.dtype == np.uint8
    np.testing.assert_array_equal(out.mask, (expected >= out.threshold).astype(np.uint8))
    assert reports[-1] == (16, 16) and len(reports) == 1 + 4  # model, then 4 slabs of 5 planes


def test_painted_labels_become_sparse_training_labels() -> None:
    painted = np.zeros((4, 5, 6), np.uint8)
    painted[1, 1:3, 1:3] = 1
    painted[1, 4, :] = 2
    painted[3, 0, 0] = 2
    labels, slices = training_labels(painted)
    assert slices == [1, 3]
    assert labels.dtype == np.uint8
    assert (labels[painted == 1] == 1).all() and (labels[painted == 2] == 0).all()
    assert (labels[painted == 0] == 255).all()
    with pytest.raises(InputError, match="membrane"):
        training_labels(np.where(painted == 1, 2, painted))
    with pytest.raises(InputError, match="only"):
        training_labels(painted * 3)


def test_each_fine_tuning_round_gets_a_new_folder(tmp_path: Path) -> None:
    first = next_model_dir(tmp_path)
    assert first == tmp_path / "round_01"
    first.mkdir()
    assert next_model_dir(tmp_path) == tmp_path / "round_02"
    assert next_model_dir(None).name == "round_01"
