"""Every stage config rejects bad values with InputError: a bad YAML is exit 2, one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sxtseg.cli import main
from sxtseg.config import from_mapping
from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.io import write_volume
from sxtseg.mesh.config import MeshConfig
from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig
from sxtseg.postprocess.config import PostprocessConfig
from sxtseg.types import Volume

BAD: list[tuple[type, dict[str, Any]]] = [
    (MeshConfig, {"smooth_iterations": -5}),
    (MeshConfig, {"smooth_lambda": 1.5}),
    (MeshConfig, {"target_faces": 2}),
    (MeshConfig, {"pad": 0}),
    (MeshConfig, {"smooth_iterations": "many"}),  # wrong type: TypeError inside the check
    (MeasureConfig, {"smooth_iterations": -1}),
    (MeasureConfig, {"smooth_iterations": "x"}),
    (ObjectsConfig, {"mode": "membranes"}),
    (ObjectsConfig, {"connectivity": 4}),
    (ObjectsConfig, {"min_volume_nm3": 10.0, "max_volume_nm3": 5.0}),
    (ObjectsConfig, {"split_depth_nm": 0}),
    (PostprocessConfig, {"border_nm": -1}),
    (PostprocessConfig, {"connectivity": 5}),
    (SegmentConfig, {"axes": "zz"}),
]


@pytest.mark.parametrize(("cls", "values"), BAD, ids=lambda v: getattr(v, "__name__", str(v)))
def test_bad_config_values_are_input_errors(cls: type, values: dict[str, Any]) -> None:
    with pytest.raises(InputError) as info:
        from_mapping(cls, values)
    message = str(info.value)
    assert "\n" not in message
    assert any(key in message for key in values) or cls.__name__ in message, message


def test_config_classes_raise_input_error_directly() -> None:
    # InputError subclasses ValueError, so old `except ValueError` callers still work.
    for make in (lambda: MeshConfig(smooth_iterations=-5), lambda: ObjectsConfig(mode="x"),
                 lambda: MeasureConfig(smooth_iterations=-1)):  # fmt: skip
        with pytest.raises(InputError):
            make()
    assert issubclass(InputError, ValueError)


@pytest.fixture
def tomo(tmp_path: Path) -> Path:
    path = tmp_path / "tomo.mrc"
    data = np.random.default_rng(0).normal(size=(8, 32, 32)).astype(np.float32)
    write_volume(path, Volume(data, voxel_size=(10.0, 10.0, 10.0)))
    return path


@pytest.mark.parametrize(
    "text",
    [
        "mesh: {smooth_iterations: -5}",
        "mesh: {smooth_iterations: lots}",
        "measure: {smooth_iterations: -2}",
        "objects: {connectivity: 7}",
        "postprocess: {border_nm: -10}",
    ],
)
def test_run_with_bad_yaml_exits_2_with_one_line(
    text: str, tomo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\n")
    out = tmp_path / "res"
    capsys.readouterr()
    code = main(["run", str(tomo), "-o", str(out), "--device", "cpu", "--config", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("sxtseg: error:") and "internal error" not in err, err
    key = text.split("{")[1].split(":")[0]
    assert key in err, err
    assert not out.exists()
