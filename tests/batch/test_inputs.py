"""Which files a batch runs and the names of their output folders (no cluster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sxtseg.batch import find_tomograms
from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.io import write_volume
from sxtseg.types import Volume


def _vol(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_volume(path, Volume(np.zeros((2, 8, 8), np.float32), (10.0, 10.0, 10.0)))


def test_folder_scan_names_and_simulator_rule(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for i in range(2):  # simulator folders: only tomogram.* counts
        for name in ("tomogram.mrc", "membranes.mrc", "instances.mrc"):
            _vol(root / f"{i:03d}" / name)
    _vol(root / "other" / "a.mrc")
    _vol(root / "other" / "b.tif")
    _vol(root / "cell.zarr")
    (root / "slices").mkdir()
    for z in range(3):  # a folder of TIFF slices is one tomogram
        write_volume(root / "slices" / f"s{z}.tif",
                     Volume(np.zeros((1, 8, 8), np.float32), (10.0, 10.0, 10.0)))  # fmt: skip
    (root / "other" / ".a.mrc.1234.part").write_bytes(b"x")
    _vol(root / "res" / "x" / "mask.mrc")  # the batch's own output folder
    found = find_tomograms([root], exclude=root / "res")
    names = {t.name: t.path.relative_to(root).as_posix() for t in found}
    assert names == {
        "000_tomogram": "000/tomogram.mrc", "001_tomogram": "001/tomogram.mrc",
        "other_a": "other/a.mrc", "other_b": "other/b.tif", "cell": "cell.zarr",
        "slices": "slices",
    }  # fmt: skip


def test_globs_files_and_clashes(tmp_path: Path) -> None:
    _vol(tmp_path / "d" / "000" / "tomogram.mrc")
    _vol(tmp_path / "d" / "001" / "tomogram.mrc")
    found = find_tomograms([str(tmp_path / "d" / "*" / "tomogram.mrc")])
    assert [t.name for t in found] == ["000_tomogram", "001_tomogram"]
    _vol(tmp_path / "e" / "t.mrc")
    _vol(tmp_path / "e" / "t.tif")
    found = find_tomograms([tmp_path / "e" / "t.mrc", tmp_path / "e" / "t.tif"])
    assert [t.name for t in found] == ["t_mrc", "t_tif"]
    assert [t.name for t in find_tomograms([tmp_path / "e" / "t.mrc"])] == ["t"]


def test_bad_inputs_are_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError, match="no such file"):
        find_tomograms([tmp_path / "missing.mrc"])
    with pytest.raises(InputError, match="matches nothing"):
        find_tomograms([str(tmp_path / "*.mrc")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no tomograms"):
        find_tomograms([tmp_path / "empty"])
    assert main(["batch", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no tomograms" in err


def test_help_has_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "sxtseg batch" in out


def test_cli_import_does_not_load_dask() -> None:
    import subprocess
    import sys

    code = "import sys, sxtseg.cli, sxtseg.batch; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
