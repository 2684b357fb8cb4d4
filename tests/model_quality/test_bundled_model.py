"""The bundled model's quality floors: the demo's tomogram and fine-tuning on a new instrument.

These run the real bundled model (``src/sxtseg/weights/default``) on tomograms
the simulator makes here, so a regression of the shipped weights, of the
inference path or of the simulator's truth fails CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sxtseg
from sxtseg.demo import DemoConfig
from sxtseg.evaluate import EvaluateConfig, evaluate_arrays
from sxtseg.io import write_volume
from sxtseg.simulate import load_profile, simulate
from sxtseg.types import Volume

#: The floor under the demo's visible boundary-F1 (the model card reports the value).
DEMO_FLOOR = 0.80


def _visible_boundary_f1(mask: np.ndarray, truth: np.ndarray, flat: np.ndarray) -> float:
    config = EvaluateConfig(tolerance=2.0)
    scores = evaluate_arrays(mask, truth, ignore=flat, config=config).to_dict()
    return float(scores["visible_boundary_f1"])


def test_bundled_model_meets_the_floor_on_the_demo_tomogram() -> None:
    cfg = DemoConfig()
    sim = simulate(cfg.profile, shape=cfg.shape, seed=cfg.seed, recipe=cfg.recipe)
    seg = sxtseg.segment(sim.tomogram, device="cpu")  # the same post-processing as sxtseg run
    truth, flat = np.asarray(sim.membranes.data) > 0, np.asarray(sim.flat.data) > 0
    score = _visible_boundary_f1(seg.mask, truth, flat)
    assert score >= DEMO_FLOOR, f"visible boundary-F1 {score:.3f} < {DEMO_FLOOR}"
    # the mask stays thin: no more than 1.5x the truth's membrane fraction
    assert seg.mask.mean() <= 1.5 * truth.mean()


def _sparse_labels(membranes: np.ndarray, flat: np.ndarray, zs: np.ndarray) -> np.ndarray:
    labels = np.full(membranes.shape, 255, dtype=np.uint8)
    labels[zs] = (membranes[zs] > 0).astype(np.uint8)
    labels[zs] = np.where(flat[zs] > 0, 255, labels[zs])  # flat membranes stay unlabelled
    return labels


def test_fine_tuning_on_five_slices_of_a_new_instrument_helps(tmp_path: Path) -> None:
    """lab-25nm (25 nm voxels, ±55°, 40 nm zone plate) is no training profile."""
    profile = load_profile("lab-25nm")
    sim = simulate(profile, shape=(24, 128, 128), seed=31337, recipe="yeast")
    tomo, vs = np.asarray(sim.tomogram.data), sim.tomogram.voxel_size
    membranes, flat = np.asarray(sim.membranes.data) > 0, np.asarray(sim.flat.data) > 0
    zs = np.array([3, 8, 12, 16, 20])
    rest = np.setdiff1d(np.arange(tomo.shape[0]), zs)
    folder = tmp_path / "labels"
    folder.mkdir()
    write_volume(folder / "tomogram.mrc", Volume(tomo, voxel_size=vs))
    write_volume(folder / "membranes.mrc",
                 Volume(_sparse_labels(membranes, flat, zs), voxel_size=vs))  # fmt: skip

    def score(model: str | Path) -> float:
        seg = sxtseg.segment(Volume(tomo, voxel_size=vs), model=model,
                             device="cpu", postprocess=False)  # fmt: skip
        return _visible_boundary_f1(seg.mask[rest], membranes[rest], flat[rest])

    before = score("default")
    out = tmp_path / "tuned"
    sxtseg.train_model(folder, out, unlabeled=folder / "tomogram.mrc", init="default",
                       max_steps=60, steps_per_epoch=20, crop=96, batch_size=4, seed=0,
                       device="cpu", threads=2)  # fmt: skip
    after = score(out)
    assert after > before + 0.01, f"fine-tuning: {before:.3f} -> {after:.3f}"
