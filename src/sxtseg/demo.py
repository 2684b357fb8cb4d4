"""The demo: simulate a tomogram the bundled model never saw, run the whole job, score it.

What ``sxtseg demo`` and ``make demo`` run. Output folder::

    simulated/   the simulated tomogram and its ground truth (sxtseg simulate)
    results/     the whole job on it (sxtseg run)
    scores.json  the mask scored against the membrane truth (sxtseg evaluate)

When the simulation marks flat membranes (``simulated/flat.mrc``, hidden by
the missing wedge) the scores include the visible-membrane ``visible_*``
keys; ``visible_boundary_f1`` at tolerance 2 is the headline number.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sxtseg.config import to_dict
from sxtseg.errors import InputError
from sxtseg.io.checkpoint import write_json_atomic
from sxtseg.pipeline import RunConfig, RunResult, run_pipeline

__all__ = ["DEMO_SEED", "DemoConfig", "DemoResult", "headline", "run_demo"]

log = logging.getLogger(__name__)

#: A seed outside the range used to simulate the bundled model's training data.
DEMO_SEED = 20261125


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo.

    Attributes
    ----------
    profile : str
        Beamline profile of the simulated tomogram.
    shape : (Z, Y, X)
        Size of the simulated tomogram in voxels.
    seed : int
        Simulation seed (never used for training data).
    recipe : str or None
        Scene recipe (None: the profile's default).
    tolerance : float
        Boundary tolerance in voxels for the boundary scores.
    run : RunConfig
        Settings of the whole job.
    """

    profile: str = "bessy-u41"
    shape: tuple[int, int, int] = (64, 256, 256)
    seed: int = DEMO_SEED
    recipe: str | None = None
    tolerance: float = 2.0
    run: RunConfig = field(default_factory=RunConfig)


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced.

    Attributes
    ----------
    out_dir : Path
    simulation_dir : Path
    run : RunResult
    scores : dict
        ``sxtseg evaluate`` of the mask (and of the probabilities) against the truth.
    """

    out_dir: Path
    simulation_dir: Path
    run: RunResult
    scores: dict[str, Any]


def _simulation_settings(cfg: DemoConfig) -> dict[str, Any]:
    return {"profile": cfg.profile, "shape": list(cfg.shape), "seed": cfg.seed,
            "recipe": cfg.recipe}  # fmt: skip


def _write_flat(sim: Any, sim_dir: Path) -> None:
    """Write ``flat.mrc`` from a Simulation's ``flat`` when the simulator did not."""
    flat = getattr(sim, "flat", None)
    path = sim_dir / "flat.mrc"
    if flat is None or path.exists():
        return
    import numpy as np

    from sxtseg.io import write_volume
    from sxtseg.types import Volume

    data = (np.asarray(getattr(flat, "data", flat)) != 0).astype(np.uint8)
    write_volume(path, Volume(data, sim.membranes.voxel_size))


def _threshold_used(run: Any) -> float:
    """The mask threshold the run's segment stage used (the model's calibrated one)."""
    from sxtseg.infer import DEFAULT_THRESHOLD

    used = run.summary["stages"].get("segment", {}).get("threshold")
    return float(DEFAULT_THRESHOLD if used is None else used)


def headline(scores: dict[str, Any]) -> str:
    """The demo's score lines: visible boundary F1 first when there is one.

    Parameters
    ----------
    scores : dict
        ``sxtseg evaluate`` output with a tolerance (the demo's ``mask`` scores).

    Returns
    -------
    str
        One or two lines.
    """
    tol = scores.get("tolerance")

    def line(prefix: str, name: str) -> str:
        f1, p, r = (scores[f"{prefix}boundary_{k}"] for k in ("f1", "precision", "recall"))
        return (f"{name}boundary F1 (tolerance {tol:g} voxels) {f1:.3f}  "
                f"(precision {p:.3f}, recall {r:.3f})")  # fmt: skip

    if "visible_boundary_f1" not in scores:
        return line("", "")
    return line("visible_", "visible-membrane ") + "\n" + line("", "full-truth ")


def run_demo(
    out_dir: str | Path,
    *,
    config: DemoConfig | None = None,
    overwrite: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """Simulate, run the whole job with the configured model, and score the mask.

    Parameters
    ----------
    out_dir : str or Path
        Output folder. An existing demo folder is reused stage by stage with
        ``overwrite`` (the simulation is kept when its settings match).
    config : DemoConfig, optional
    overwrite : bool
        Allow writing into an existing, non-empty folder.
    progress : callable(stage, done, total), optional

    Returns
    -------
    DemoResult
    """
    from sxtseg.evaluate import EvaluateConfig, evaluate_files
    from sxtseg.simulate import simulate, write_simulation

    cfg = config or DemoConfig()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty; pass --overwrite to reuse it")
    out.mkdir(parents=True, exist_ok=True)
    sim_dir = out / "simulated"
    stamp = sim_dir / "demo_simulation.json"
    settings = _simulation_settings(cfg)
    reuse = stamp.is_file() and json.loads(stamp.read_text()) == settings
    if not reuse:
        if progress:
            progress("simulate", 0, 1)
        sim = simulate(cfg.profile, shape=cfg.shape, seed=cfg.seed, recipe=cfg.recipe)
        if sim_dir.exists():
            shutil.rmtree(sim_dir)
        write_simulation(sim, sim_dir)
        _write_flat(sim, sim_dir)
        write_json_atomic(stamp, settings)
        if progress:
            progress("simulate", 1, 1)
    run = run_pipeline(sim_dir / "tomogram.mrc", out / "results", config=cfg.run, progress=progress)
    truth = sim_dir / "membranes.mrc"
    mask_scores = evaluate_files(
        run.path("mask"), truth, config=EvaluateConfig(tolerance=cfg.tolerance)
    ).to_dict()
    prob_scores = evaluate_files(
        run.path("probabilities"), truth,
        config=EvaluateConfig(threshold=_threshold_used(run), tolerance=cfg.tolerance),
    ).to_dict()  # fmt: skip
    scores = {
        "simulation": settings,
        "model": run.summary["stages"].get("segment", {}).get("model", cfg.run.model),
        "model_trained": run.summary["stages"].get("segment", {}).get("model_trained"),
        "mask": mask_scores,
        "probabilities": prob_scores,
        "objects": run.summary["stages"].get("objects", {}).get("objects"),
        "settings": to_dict(cfg),
    }
    write_json_atomic(out / "scores.json", scores)
    return DemoResult(out, sim_dir, run, scores)
