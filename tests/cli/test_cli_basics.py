"""The command-line front door: help, version, info and convert, called in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from sxtseg.cli import app, main
from sxtseg.io import read_volume, write_tilt_angles, write_volume
from sxtseg.types import Volume

COMMANDS = ["simulate", "presets", "train", "segment", "surfaces", "measure", "evaluate", "run",
            "batch",
            "demo", "info", "convert"]  # fmt: skip


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("sxtseg ")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and f"sxtseg {command}" in out


def test_all_contract_commands_registered() -> None:
    names = {c.name for c in app.registered_commands}
    assert set(COMMANDS) <= names


def test_unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--no-such-flag"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_info_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tomo.mrc"
    data = np.linspace(-1, 3, 4 * 8 * 10, dtype=np.float32).reshape(4, 8, 10)
    write_volume(path, Volume(data, (9.8, 9.8, 9.8)))
    write_tilt_angles(tmp_path / "tomo.tlt", np.arange(-65, 66, 1.0))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 x 8 x 10" in out and "9.8 x 9.8 x 9.8 nm" in out and "-65.0° to +65.0°" in out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [4, 8, 10]
    assert info["minimum"] == pytest.approx(-1.0) and info["maximum"] == pytest.approx(3.0)
    assert info["nbytes"] == 4 * 8 * 10 * 4
    assert info["tilt_range_deg"] == [-65.0, 65.0, 131]


def test_convert_mrc_to_tif_keeps_nm_scale(tmp_path: Path) -> None:
    src = tmp_path / "tomo.mrc"
    data = np.random.default_rng(1).normal(size=(5, 20, 30)).astype(np.float32)
    write_volume(src, Volume(data, (9.8, 9.8, 9.8)))
    dst = tmp_path / "tomo.tif"
    assert main(["convert", str(src), str(dst)]) == 0
    with tifffile.TiffFile(dst) as tif:  # what Fiji reads: ImageJ unit + spacing + resolution
        assert tif.imagej_metadata["unit"] == "nm"
        num, den = tif.pages[0].tags["XResolution"].value
        assert den / num == pytest.approx(9.8, rel=1e-5)
    np.testing.assert_array_equal(read_volume(dst).data, data)
    assert main(["convert", str(src), str(dst)]) == 2  # exists: needs --overwrite
    assert main(["convert", str(src), str(dst), "--overwrite", "--dtype", "float16"]) == 0
    assert read_volume(dst).dtype == np.float32  # ImageJ has no float16: stored as float32


def test_voxel_size_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "plain.tif"
    tifffile.imwrite(src, np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
    assert main(["info", str(src)]) == 0
    assert "unknown" in capsys.readouterr().out
    dst = tmp_path / "fixed.mrc"
    assert main(["convert", str(src), str(dst), "--voxel-size", "13"]) == 0
    assert read_volume(dst).voxel_size == (13.0, 13.0, 13.0)
    assert main(["info", str(src), "--voxel-size", "-1"]) == 2


def test_import_is_light() -> None:
    code = "import sys, sxtseg, sxtseg.cli; print('torch' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
