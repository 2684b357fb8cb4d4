"""``sxtseg run`` killed with SIGKILL at random moments of every stage, then run again.

Each rerun must finish the job with outputs byte-identical to an
uninterrupted run (mask, probabilities, instances, objects.csv, meshes,
preview) and leave no ``.part`` file or scratch folder behind.

The runs are child processes of a multiprocessing *forkserver* that has
imported torch and sxtseg once, so a child starts in milliseconds instead of
seconds; each is a real process, killed with a real SIGKILL.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import signal
import time
from pathlib import Path

import pytest

from sxtseg.cli import main

pytestmark = pytest.mark.slow

STAGES = ("segment", "objects", "surfaces", "measure", "previews")
KILLS_PER_STAGE = 2
COMPARED = ("mask.mrc", "probabilities.mrc", "instances.mrc", "objects.csv",
            "preview_slices.png")  # fmt: skip


@pytest.fixture(scope="module")
def tomogram(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 12 x 96 x 96 simulated tomogram and a config whose mask components are objects."""
    from sxtseg.simulate import simulate, write_simulation

    root = tmp_path_factory.mktemp("killed")
    write_simulation(simulate("bessy-u41", shape=(12, 96, 96), seed=3), root / "sim",
                     previews=False)  # fmt: skip
    config = root / "run.yaml"
    config.write_text("objects:\n  mode: filled\n")  # objects whatever the model finds
    return root / "sim" / "tomogram.mrc", config


@pytest.fixture(scope="module")
def forkserver() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "sxtseg.cli", "sxtseg.pipeline", "sxtseg.infer",
                                "sxtseg.mesh", "sxtseg.morphometry"])  # fmt: skip
    return ctx


def _args(tomo: Path, config: Path, out: Path) -> list[str]:
    return ["run", str(tomo), "-o", str(out), "--device", "cpu", "--threshold", "0.5",
            "--min-volume", "0", "--formats", "ply", "--config", str(config)]  # fmt: skip


def _done(out: Path) -> list[str]:
    """Stages recorded as finished in ``summary.json`` (written after each stage)."""
    try:
        return list(json.loads((out / "summary.json").read_text())["stages"])
    except (OSError, ValueError, KeyError):
        return []


def _run(ctx: multiprocessing.context.BaseContext, args: list[str]) -> None:
    child = ctx.Process(target=main, args=(args,))
    child.start()
    child.join(300)
    assert child.exitcode == 0, f"run did not finish (exit code {child.exitcode})"


def _killed(ctx: multiprocessing.context.BaseContext, args: list[str], out: Path,
            stage: str, delay: float) -> str:  # fmt: skip
    """Start a run, SIGKILL it ``delay`` s into ``stage``; the stage it was in."""
    before = set(STAGES[: STAGES.index(stage)])
    child = ctx.Process(target=main, args=(args,))
    child.start()
    deadline = time.monotonic() + 300
    while not before <= set(_done(out)) and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    if child.is_alive():
        child.kill()
    child.join(60)
    if child.exitcode != -signal.SIGKILL:
        return "after the end"
    finished = _done(out)
    return next((s for s in STAGES if s not in finished), "after the end")


def _outputs(out: Path) -> dict[str, bytes]:
    files = {name: (out / name).read_bytes() for name in COMPARED}
    for mesh in sorted((out / "surfaces").rglob("*.ply")):
        files[str(mesh.relative_to(out))] = mesh.read_bytes()
    return files


def test_killed_runs_resume_to_identical_outputs(
    tomogram: tuple[Path, Path], forkserver: multiprocessing.context.BaseContext,
    tmp_path: Path,
) -> None:  # fmt: skip
    tomo, config = tomogram
    reference = tmp_path / "reference"
    _run(forkserver, _args(tomo, config, reference))
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["stages"]["objects"]["objects"] >= 1
    expected = _outputs(reference)
    seconds = {s: summary["stages"][s]["seconds"] for s in STAGES}
    rng = random.Random(13)
    trials = [(s, rng.random()) for s in STAGES for _ in range(KILLS_PER_STAGE)]
    landed = []
    for i, (stage, fraction) in enumerate(trials):
        out = tmp_path / f"trial{i}"
        args = _args(tomo, config, out)
        landed.append(_killed(forkserver, args, out, stage, fraction * seconds[stage]))
        _run(forkserver, args)
        got = _outputs(out)
        assert got.keys() == expected.keys(), (stage, sorted(got), sorted(expected))
        changed = [name for name in expected if got[name] != expected[name]]
        assert not changed, f"killed in {landed[-1]}: {changed} differ after the rerun"
        leftovers = [p.name for p in out.rglob(".*")]
        assert not leftovers, leftovers
        assert set(_done(out)) == set(STAGES)
    assert len(trials) >= 10
    # the kills fall in most stages (the shortest ones may finish before the signal lands)
    assert len(set(landed) & set(STAGES)) >= 4, landed
