"""A corrupted, truncated or incomplete model folder: one line naming the file, exit status 2.

Before: a non-numeric ``meta.threshold`` or a ``meta`` that is not a mapping
was an internal error (exit 1), and a bad architecture setting did not say
which file held it.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch

from sxtseg.cli import main
from sxtseg.io import write_volume
from sxtseg.model import ModelConfig, build_model
from sxtseg.model.checkpoint import save_model
from sxtseg.types import Volume

W, C = "model.safetensors", "config.json"


def _cut(name: str, fraction: float) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * fraction)])

    return apply


def _edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        doc = json.loads((folder / C).read_text())
        change(doc)
        (folder / C).write_text(json.dumps(doc))

    return apply


def _both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        for step in steps:
            step(folder)

    return apply


_no_checksum = _edit(lambda d: d.pop("weights_sha256"))

# name -> (how to break the folder, the file the message must name, words it must hold)
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "weights truncated": (_cut(W, 0.5), W, "checksum"),
    "weights truncated, no checksum": (_both(_cut(W, 0.5), _no_checksum), W, "cannot read"),
    "weights header cut": (_both(_cut(W, 0.001), _no_checksum), W, "cannot read"),
    "weights empty": (_both(_cut(W, 0.0), _no_checksum), W, "cannot read"),
    "weights garbage": (_both(lambda f: (f / W).write_bytes(b"\xff" * 4096), _no_checksum),
                        W, "cannot read"),
    "weights missing": (lambda f: (f / W).unlink(), W, "missing"),
    "config missing": (lambda f: (f / C).unlink(), C, "missing"),
    "config garbage": (lambda f: (f / C).write_bytes(b"\x00\xffgarbage{"), C, "not valid JSON"),
    "config truncated": (_cut(C, 0.5), C, "not valid JSON"),
    "config empty": (_cut(C, 0.0), C, "not valid JSON"),
    "config not a document": (lambda f: (f / C).write_text("[1, 2]"), C, "not an sxtseg model"),
    "config without model": (_edit(lambda d: d.pop("model")), C, "'model'"),
    "model width not a number": (_edit(lambda d: d["model"].update(m="x")), C, "width"),
    "model setting unknown": (_edit(lambda d: d["model"].update(bogus=1)), C, "bogus"),
    "model far too wide": (_edit(lambda d: d["model"].update(m=2**16)), "", "do not fit"),
    "threshold not a number": (_edit(lambda d: d.setdefault("meta", {}).update(threshold="hi")),
                               C, "meta.threshold"),
    "pixel size negative": (_edit(lambda d: d.setdefault("meta", {}).update(pixel_size_nm=-3)),
                            C, "meta.pixel_size_nm"),
    "meta not a mapping": (_edit(lambda d: d.update(meta=[1])), C, "'meta'"),
}  # fmt: skip


@pytest.fixture(scope="module")
def good_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset("tiny")
    return save_model(build_model(cfg).eval(), cfg, tmp_path_factory.mktemp("m") / "good")


@pytest.fixture(scope="module")
def tomo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("t") / "tomo.mrc"
    data = np.random.default_rng(0).normal(size=(2, 32, 32)).astype(np.float32)
    write_volume(path, Volume(data, (10.0, 10.0, 10.0)))
    return path


@pytest.mark.parametrize("command", ["segment", "run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupt_model_folder_is_one_line_naming_the_file(
    good_model: Path, tomo: Path, tmp_path: Path, case: str, command: str
) -> None:
    damage, culprit, words = CASES[case]
    folder = tmp_path / "model"
    shutil.copytree(good_model, folder)
    damage(folder)
    out = tmp_path / "out"
    out.mkdir()
    target = ["-o", str(out / "mask.mrc")] if command == "segment" else ["-o", str(out / "res")]
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = main([command, str(tomo), *target, "--model", str(folder), "--device", "cpu"])
    lines = [line for line in err.getvalue().splitlines() if line.startswith("sxtseg:")]
    assert rc == 2, err.getvalue()
    assert len(lines) == 1 and lines[0].startswith("sxtseg: error: "), lines
    assert str(folder / culprit).rstrip("/") in lines[0] and words in lines[0], lines[0]
    assert not [p for p in out.rglob("*") if p.is_file()]
