"""The notebook API (``sxtseg.segment`` ...) gives what the CLI and the library paths give."""

from __future__ import annotations

import doctest
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import sxtseg
from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.io import read_volume, write_volume
from sxtseg.types import Volume

SP = (10.0, 8.0, 8.0)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread per test (restored afterwards): the machine is shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _scene() -> np.ndarray:
    """Two membrane shells (outlines) and a small solid blob, uint8 0/1, voxel size SP.

    In outline mode the blob (15 voxels across) counts as membrane debris, not
    an object: the shells' two compartments are the objects.
    """
    shape = (24, 40, 80)
    z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, SP, strict=True)],
                          indexing="ij")  # fmt: skip

    def ball(c: tuple[float, float, float], r: float) -> np.ndarray:
        return (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r

    shells = ball((120, 160, 120), 100) & ~ball((120, 160, 120), 84)
    shells |= ball((120, 160, 340), 80) & ~ball((120, 160, 340), 64)
    return (shells | ball((120, 160, 540), 60)).astype(np.uint8)


def _tomogram(seed: int = 0) -> np.ndarray:
    """A noisy 8 x 64 x 64 tomogram with one spherical membrane (dense = bright)."""
    z, y, x = np.mgrid[:8, :64, :64]
    r = np.sqrt((2 * (z - 4)) ** 2 + (y - 32) ** 2 + (x - 32) ** 2)
    noise = np.random.default_rng(seed).normal(0, 0.2, r.shape)
    return ((np.abs(r - 20) < 1.5) + noise).astype(np.float32)


@pytest.fixture(scope="module")
def pixel_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model folder that records a pixel size (10 nm) and a threshold (0.5)."""
    from sxtseg.model import ModelConfig, build_model, save_model

    torch.manual_seed(0)
    config = ModelConfig.from_preset("tiny")
    out = tmp_path_factory.mktemp("pixel_model")
    meta = {"trained": True, "pixel_size_nm": 10.0, "threshold": 0.5}
    save_model(build_model(config).eval(), config, out, meta=meta)
    return out


# -- segment -------------------------------------------------------------------------------


def test_segment_mask_is_segment_array_at_the_models_threshold() -> None:
    from sxtseg.infer import SegmentConfig, resolve_model, segment_array

    tomo = _tomogram()
    seg = sxtseg.segment(tomo, spacing=10.0, device="cpu", postprocess=False)
    prob = segment_array(tomo, "default", config=SegmentConfig(device="cpu"), voxel_size=10.0)
    threshold = SegmentConfig().threshold_for(resolve_model("default").threshold)
    np.testing.assert_array_equal(seg.probabilities, prob)
    assert seg.probabilities.dtype == np.float32 and seg.mask.dtype == bool
    assert seg.threshold == threshold
    np.testing.assert_array_equal(seg.mask, prob >= threshold)
    assert seg.spacing == (10.0, 10.0, 10.0) and seg.model == "default"
    given = sxtseg.segment(tomo, spacing=10.0, device="cpu", postprocess=False, threshold=0.3)
    assert given.threshold == 0.3
    np.testing.assert_array_equal(given.mask, prob >= 0.3)


def test_segment_equals_the_runs_segment_stage(tmp_path: Path) -> None:
    """postprocess=True is RunConfig's post-processing; the mask is what segment_file writes."""
    from sxtseg.infer import SegmentConfig, segment_file
    from sxtseg.pipeline import RunConfig

    tomo = _tomogram(seed=3)
    write_volume(tmp_path / "tomo.mrc", Volume(tomo, (10.0, 10.0, 10.0)))
    res = segment_file(tmp_path / "tomo.mrc", tmp_path / "mask.mrc", model="default",
                       config=SegmentConfig(device="cpu"),
                       postprocess_config=RunConfig().postprocess)  # fmt: skip
    assert res.postprocessed
    seg = sxtseg.segment(tomo, spacing=10.0, device="cpu")
    np.testing.assert_array_equal(seg.mask, read_volume(tmp_path / "mask.mrc").data != 0)
    assert seg.threshold == res.threshold


def test_segment_takes_spacing_from_a_volume_and_explicit_spacing_wins(pixel_model: Path) -> None:
    tomo = _tomogram(seed=1)
    kw = {"model": pixel_model, "device": "cpu", "postprocess": False}
    from_volume = sxtseg.segment(Volume(tomo, (10.0, 5.0, 5.0)), **kw)
    explicit = sxtseg.segment(tomo, spacing=(10.0, 5.0, 5.0), **kw)
    assert from_volume.spacing == (10.0, 5.0, 5.0) and from_volume.threshold == 0.5
    np.testing.assert_array_equal(from_volume.probabilities, explicit.probabilities)
    # 5 nm voxels are resampled to the model's 10 nm: not the same as taking them as they are
    overridden = sxtseg.segment(Volume(tomo, (10.0, 5.0, 5.0)), spacing=10.0, **kw)
    assert overridden.spacing == (10.0, 10.0, 10.0)
    assert not np.array_equal(overridden.probabilities, explicit.probabilities)


def test_segment_without_spacing_is_a_clear_error(pixel_model: Path) -> None:
    tomo = _tomogram()
    with pytest.raises(InputError, match=r"10 nm/px.*spacing="):
        sxtseg.segment(tomo, model=pixel_model, device="cpu", postprocess=False)
    with pytest.raises(InputError, match=r"spacing="):
        sxtseg.segment(Volume(tomo, None), model=pixel_model, device="cpu", postprocess=False)
    with pytest.raises(InputError, match=r"post-processing.*spacing="):
        sxtseg.segment(tomo, model=pixel_model, device="cpu", rescale=False)
    # nothing in nm asked for: no spacing needed
    seg = sxtseg.segment(tomo, model=pixel_model, device="cpu", rescale=False, postprocess=False)
    assert seg.spacing is None and seg.mask.shape == tomo.shape
    with pytest.raises(InputError, match="spacing"):
        sxtseg.segment(tomo, spacing=-1.0, device="cpu")
    with pytest.raises(InputError, match="axes"):
        sxtseg.segment(tomo, spacing=10.0, axes="zz")


def test_load_model_result_is_a_model_for_segment() -> None:
    loaded = sxtseg.load_model()
    assert loaded.meta["trained"] and loaded.path.name == "default"
    tomo = _tomogram()
    a = sxtseg.segment(tomo, spacing=10.0, model=loaded, device="cpu", postprocess=False)
    b = sxtseg.segment(tomo, spacing=10.0, device="cpu", postprocess=False)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)


# -- objects, measure, surfaces ----------------------------------------------------------------


def test_stage_defaults_are_the_runs() -> None:
    """objects/measure/surfaces use the config classes' defaults, which are RunConfig's."""
    from sxtseg.mesh import MeshConfig
    from sxtseg.morphometry import MeasureConfig, ObjectsConfig
    from sxtseg.pipeline import RunConfig

    run = RunConfig()
    assert run.objects == ObjectsConfig()
    assert run.measure == MeasureConfig()
    assert run.mesh == MeshConfig()


def test_objects_equal_the_runs_objects_stage(tmp_path: Path) -> None:
    from sxtseg.morphometry import load_objects

    mask = _scene()
    write_volume(tmp_path / "mask.mrc", Volume(mask, SP))
    expected = np.asarray(load_objects(tmp_path / "mask.mrc").data)
    labels = sxtseg.objects(mask, spacing=SP)
    assert labels.dtype == np.uint32 and int(labels.max()) == 2
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(sxtseg.objects(Volume(mask, SP)), expected)
    big = sxtseg.objects(mask, spacing=SP, min_volume_nm3=2.5e6)
    assert int(big.max()) == 1
    with pytest.raises(InputError, match="spacing"):
        sxtseg.objects(mask)


def test_measure_has_the_columns_and_values_of_sxtseg_measure(tmp_path: Path) -> None:
    mask = _scene()
    write_volume(tmp_path / "mask.mrc", Volume(mask, SP))
    assert main(["measure", str(tmp_path / "mask.mrc"), "-o", str(tmp_path / "o.csv")]) == 0
    cli = pd.read_csv(tmp_path / "o.csv")
    table = sxtseg.measure(mask, spacing=SP)
    assert list(table.columns) == list(cli.columns)
    assert len(table) == len(cli) == 2
    # the CSV holds 6 significant digits ("%.6g")
    pd.testing.assert_frame_equal(table, cli, check_dtype=False, rtol=1e-5, atol=1e-9)
    # the same table from the labels (kept as they are) and from a Volume
    labels = sxtseg.objects(mask, spacing=SP)
    pd.testing.assert_frame_equal(sxtseg.measure(labels, spacing=SP), table)
    pd.testing.assert_frame_equal(sxtseg.measure(Volume(mask.astype(bool), SP)), table)


def test_measure_instances_flag_and_errors() -> None:
    ball = _scene()[:, :, 56:]  # the solid blob alone
    labels = ball.astype(np.uint16) * 5
    table = sxtseg.measure(labels, spacing=SP)
    assert table["id"].tolist() == [5]
    # a 0/1 array counts as a mask unless told otherwise
    assert sxtseg.measure(ball, spacing=SP, instances=True)["id"].tolist() == [1]
    with pytest.raises(InputError, match="spacing"):
        sxtseg.measure(labels)
    with pytest.raises(InputError, match="non-negative"):
        sxtseg.measure(-labels.astype(np.int32), spacing=SP, instances=True)


def test_surfaces_are_the_meshes_of_mesh_objects_in_nm() -> None:
    from sxtseg.mesh import mesh_objects

    mask = _scene()
    labels = sxtseg.objects(mask, spacing=SP)
    meshes = sxtseg.surfaces(labels, spacing=SP, origin=(1.0, 2.0, 3.0))
    expected = mesh_objects(labels, spacing=SP, origin=(1.0, 2.0, 3.0))
    assert [m.metadata["id"] for m in meshes] == [m.id for m in expected] == [1, 2]
    for mesh, ref in zip(meshes, expected, strict=True):
        np.testing.assert_array_equal(mesh.vertices, ref.vertices)
        np.testing.assert_array_equal(mesh.faces, ref.faces)
        assert mesh.is_watertight
    # from the mask and from a Segmentation: objects are made first
    from_mask = sxtseg.surfaces(mask, spacing=SP, origin=(1.0, 2.0, 3.0))
    np.testing.assert_array_equal(from_mask[0].vertices, meshes[0].vertices)
    seg = sxtseg.Segmentation(mask.astype(np.float32), mask.astype(bool), SP, 0.5)
    assert len(sxtseg.surfaces(seg)) == 2
    # vertices are (x, y, z) in nm: the second shell's centre is at x = 340 nm (+ origin)
    centre = meshes[1].vertices.mean(axis=0)
    np.testing.assert_allclose(centre, (340 + 3.0, 160 + 2.0, 120 + 1.0), atol=8.0)


# -- training, the package surface ---------------------------------------------------------------


def test_train_model_rejects_unknown_options(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="epochz"):
        sxtseg.train_model(tmp_path, tmp_path / "model", epochz=3)


def test_train_package_exports_its_entry_points() -> None:
    import sxtseg.train as train_pkg

    for name in train_pkg.__all__:
        assert getattr(train_pkg, name) is not None
    assert {"train", "load_model", "save_model"} <= set(train_pkg.__all__)


def test_import_sxtseg_and_the_api_stay_free_of_torch() -> None:
    code = (
        "import sys, sxtseg, sxtseg.api; sxtseg.measure; sxtseg.train_model; sxtseg.segment; "
        "assert 'torch' not in sys.modules and 'scipy' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", ["sxtseg.api_segment", "sxtseg.api_objects",
                                    "sxtseg.api_train"])  # fmt: skip
def test_api_examples_run(module: str) -> None:
    """The Examples sections of the API's docstrings run (as in the README)."""
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
