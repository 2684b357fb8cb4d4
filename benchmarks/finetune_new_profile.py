"""Fine-tune the bundled model on 5 labelled slices of a tomogram from an unseen instrument.

    python benchmarks/finetune_new_profile.py [--minutes 5] [--work /tmp/sxtseg_finetune]

The instrument is ``lab-25nm`` (500 eV, 40 nm zone plate, 25 nm voxels, ±55°),
which no training tomogram of the bundled model came from. One tomogram
(48×256×256, seed 4242, yeast-like cell) is simulated; 5 evenly spaced slices
are labelled (visible membranes 1, background 0, flat membranes and every other
slice 255) and the model is fine-tuned from ``--init default`` with the
tomogram also given unlabelled, the paper's protocol for a new instrument.
Visible boundary-F1 (tolerance 2 voxels) is measured on the other 43 slices
before and after, at each model's own threshold; the result is printed as a
markdown row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sxtseg_finetune"))
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=4242)
    args = ap.parse_args()

    import sxtseg
    from sxtseg.evaluate import EvaluateConfig, evaluate_arrays
    from sxtseg.io import write_volume
    from sxtseg.simulate import simulate
    from sxtseg.types import Volume

    sim = simulate("lab-25nm", shape=(48, 256, 256), seed=args.seed, recipe="yeast")
    tomo = sim.tomogram
    truth, flat = np.asarray(sim.membranes.data) > 0, np.asarray(sim.flat.data) > 0
    zs = np.linspace(0, 47, 7)[1:-1].round().astype(int)
    rest = np.setdiff1d(np.arange(48), zs)
    labels = np.full(truth.shape, 255, dtype=np.uint8)
    labels[zs] = np.where(flat[zs], 255, truth[zs].astype(np.uint8))
    folder = args.work / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    write_volume(folder / "tomogram.mrc", tomo, overwrite=True)
    write_volume(folder / "membranes.mrc", Volume(labels, voxel_size=tomo.voxel_size),
                 overwrite=True)  # fmt: skip

    def score(model: str | Path) -> dict[str, float]:
        seg = sxtseg.segment(tomo, model=model, device="cpu", postprocess=False)
        ev = evaluate_arrays(seg.mask[rest], truth[rest], ignore=flat[rest],
                             config=EvaluateConfig(tolerance=2.0)).to_dict()  # fmt: skip
        return {k: float(ev[f"visible_boundary_{k}"]) for k in ("f1", "precision", "recall")} | {
            "threshold": seg.threshold
        }

    before = score("default")
    t0 = time.perf_counter()
    out = args.work / "tuned"
    result = sxtseg.train_model(folder, out, unlabeled=folder / "tomogram.mrc", init="default",
                                max_minutes=args.minutes, crop=128, batch_size=8, seed=0,
                                device="cpu", overwrite=True)  # fmt: skip
    minutes = (time.perf_counter() - t0) / 60
    after = score(out)
    record = {"before": before, "after": after, "minutes": minutes, "steps": result.steps,
              "labelled_slices": zs.tolist(), "machine": platform.processor() or platform.machine(),
              "date": date.today().isoformat()}  # fmt: skip
    (args.work / "result.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    print(f"| lab-25nm, 5 labelled slices, {minutes:.1f} min ({result.steps} steps) "
          f"| {before['f1']:.3f} | {after['f1']:.3f} | {after['f1'] - before['f1']:+.3f} |")


if __name__ == "__main__":
    main()
