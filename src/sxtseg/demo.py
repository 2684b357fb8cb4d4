"""The demo: simulate a tomogram the bundled model never saw, run the whole job, score it.

What ``sxtseg demo`` and ``make demo`` run. Output folder::

    simulated/   the simulated tomogram and its ground truth (sxtseg simulate)
    results/     the whole job on it (sxtseg run)
    scores.json  the mask scored against the membrane truth (sxtseg evaluate)
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

__all__ = ["DEMO_SEED", "DemoConfig", "DemoResult", "run_demo"]

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
        config=EvaluateConfig(threshold=cfg.run.segment.threshold, tolerance=cfg.tolerance),
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
