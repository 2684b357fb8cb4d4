"""Same inputs and seed, same bytes: ``simulate``, ``segment`` and ``train`` (CPU).

Each command runs twice, once in this process and once in a fresh one, so
neither state left in a process nor the order of runs can hide a difference.
Only what records wall time (``finished_utc`` and ``seconds`` in a model's
history) may differ. The number of CPU threads is part of the inputs: float
sums in another order round differently, so both runs use one thread.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sxtseg.cli import main

CODE = "import sys; from sxtseg.cli import main; sys.exit(main(sys.argv[1:]))"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _twice(args_for: Callable[[Path], list[str]], tmp_path: Path) -> tuple[Path, Path]:
    """Run ``args_for(out)`` in-process into ``a`` and in a child process into ``b``."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(args_for(a)) == 0
    proc = subprocess.run([sys.executable, "-c", CODE, *args_for(b)], capture_output=True,
                          text=True, env=ENV, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return a, b


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sxtseg.simulate import simulate, write_simulation

    out = tmp_path_factory.mktemp("det") / "sim"
    write_simulation(simulate("bessy-u41", shape=(8, 48, 48), seed=5), out, previews=False)
    return out


def test_simulate_gives_the_same_bytes(tmp_path: Path) -> None:
    a, b = _twice(lambda out: ["simulate", str(out), "--profile", "bessy-u41",
                               "--shape", "8,48,48", "--seed", "5"], tmp_path)  # fmt: skip
    fa, fb = _files(a), _files(b)
    assert {"tomogram.mrc", "membranes.mrc", "instances.mrc", "objects.csv",
            "tilt_angles.tlt"} <= set(fa)  # fmt: skip
    assert fa.keys() == fb.keys()
    assert [n for n in fa if fa[n] != fb[n]] == []
    c = tmp_path / "c"  # and the seed matters
    assert main(["simulate", str(c), "--profile", "bessy-u41", "--shape", "8,48,48",
                 "--seed", "6"]) == 0  # fmt: skip
    assert (c / "tomogram.mrc").read_bytes() != fa["tomogram.mrc"]


@pytest.mark.parametrize("extra", [[], ["--min-volume", "1e5", "--tta"]])
def test_segment_gives_the_same_bytes(sim: Path, tmp_path: Path, extra: list[str]) -> None:
    def args(out: Path) -> list[str]:
        out.mkdir()
        return ["segment", str(sim / "tomogram.mrc"), "-o", str(out / "mask.mrc"),
                "--probabilities", str(out / "prob.mrc"), "--device", "cpu", "--threads", "1",
                *extra]  # fmt: skip

    a, b = _twice(args, tmp_path)
    fa, fb = _files(a), _files(b)
    assert set(fa) == {"mask.mrc", "prob.mrc"} == set(fb)
    assert fa == fb


def test_train_on_cpu_gives_the_same_weights(tmp_path: Path) -> None:
    from sxtseg.simulate import simulate, write_simulation

    data = {}
    for i, name in enumerate(("lab_a", "lab_b", "unl")):
        data[name] = tmp_path / "data" / name
        write_simulation(simulate("bessy-u41", shape=(6, 48, 48), seed=20 + i), data[name],
                         previews=False)  # fmt: skip

    def args(out: Path) -> list[str]:
        return ["train", "--labeled", str(data["lab_a"]), str(data["lab_b"]),
                "--unlabeled", str(data["unl"]), "--preset", "tiny", "-o", str(out),
                "--crop", "32", "--batch-size", "2", "--steps-per-epoch", "1",
                "--epochs", "2", "--max-steps", "3", "--threads", "1", "--device", "cpu",
                "--seed", "7", "-q"]  # fmt: skip

    a, b = _twice(args, tmp_path)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()

    def history(folder: Path) -> list[dict[str, str]]:
        rows = list(csv.DictReader((folder / "metrics.csv").open()))
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert history(a) == history(b) and len(history(a)) == 3  # epochs 0 (untrained), 1, 2
    c = tmp_path / "c"  # and the seed matters
    assert main([*args(c)[:-3], "--seed", "8", "-q"]) == 0
    assert (c / "model.safetensors").read_bytes() != (a / "model.safetensors").read_bytes()
