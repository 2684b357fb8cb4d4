"""Tables and validation curves of ``experiment_semisupervised.py`` (markdown on stdout).

    python benchmarks/experiment_report.py [--work /tmp/sxtseg_experiment]
        [--curves benchmarks/results_experiment_curves.png]

Means are over the test tomograms of a profile within a seed, then mean ± SD
over seeds. Semisupervised minus supervised-only differences are paired by
seed. The paper's number is the median over test slices of the per-slice
precision at threshold 0.9; here the visible voxel precision (predicted voxels
on flat truth not counted), pooled over the test slices of a group of profiles.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

NAMES = {
    "semi": "semisupervised",
    "sup": "supervised-only",
    "rf": "random forest",
    "otsu": "Otsu",
    "bundled": "bundled model, not tuned",
}
TRAIN_PROFILE = "bessy-u41"
OTHER = ("alba-mistral", "diamond-b24", "lab-25nm")


def _ms(values: list[float], signed: bool = False, digits: int = 3) -> str:
    """Mean ± SD (sample SD over seeds; 0 for one value)."""
    if not values:
        return "—"
    m = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:+.{digits}f} ± {sd:.{digits}f}" if signed else f"{m:.{digits}f} ± {sd:.{digits}f}"


def per_seed(rows: list[dict[str, Any]], key: str) -> dict[tuple[Any, ...], float]:
    """(group, method, n, threshold kind, profile, seed) -> mean of ``key`` over test tomograms."""
    acc: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in rows:
        acc[
            (r["group"], r["method"], r["n_labelled"], r["threshold_kind"], r["profile"], r["seed"])
        ].append(r[key])
    return {k: statistics.fmean(v) for k, v in acc.items()}


def main_tables(rows: list[dict[str, Any]]) -> list[str]:
    main = [r for r in rows if r["group"] == "main"]
    profiles = list(dict.fromkeys(r["profile"] for r in main))
    f1, p, rc = (
        per_seed(main, k)
        for k in ("visible_boundary_f1", "visible_boundary_precision", "visible_boundary_recall")
    )
    out = []
    for n in sorted({r["n_labelled"] for r in main}):
        out += [
            f"### {n} labelled slices (bessy-u41, one tomogram)",
            "",
            "Visible boundary-F1 ± SD over seeds (precision / recall ± SD below it).",
            "",
            "| method | threshold | "
            + " | ".join(p_ + (" (train)" if p_ == TRAIN_PROFILE else "") for p_ in profiles)
            + " |",
            "|---|---|" + "---|" * len(profiles),
        ]
        combos = sorted(
            {(r["method"], r["threshold_kind"]) for r in main if r["n_labelled"] == n},
            key=lambda mk: (list(NAMES).index(mk[0]), mk[1]),
        )
        for method, kind in combos:
            cells = []
            for prof in profiles:
                sel = [k for k in f1 if k[:5] == ("main", method, n, kind, prof)]
                cells.append(
                    f"{_ms([f1[k] for k in sel])}<br>"
                    f"P {_ms([p[k] for k in sel], digits=2)} / "
                    f"R {_ms([rc[k] for k in sel], digits=2)}"
                )
            out.append(f"| {NAMES[method]} | {kind} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def delta_table(rows: list[dict[str, Any]], group: str) -> list[str]:
    sel = [r for r in rows if r["group"] == group and r["method"] in ("semi", "sup")]
    keys = (
        "visible_boundary_f1",
        "visible_boundary_precision",
        "visible_boundary_recall",
        "visible_precision",
    )
    tabs = {k: per_seed(sel, k) for k in keys}
    out = [
        f"Semisupervised minus supervised-only ({group}; paired by seed, mean ± SD):",
        "",
        "| labelled | threshold | test | Δ vis. boundary-F1 | Δ precision | Δ recall "
        "| Δ voxel precision |",
        "|---:|---|---|---|---|---|---|",
    ]
    combos = sorted({(k[2], k[3], k[4]) for k in tabs[keys[0]]})
    for n, kind, prof in combos:
        seeds = sorted({k[5] for k in tabs[keys[0]] if k[2:5] == (n, kind, prof)})
        cells = []
        for key in keys:
            t = tabs[key]
            d = [
                t[(group, "semi", n, kind, prof, s)] - t[(group, "sup", n, kind, prof, s)]
                for s in seeds
                if (group, "semi", n, kind, prof, s) in t and (group, "sup", n, kind, prof, s) in t
            ]
            cells.append(_ms(d, signed=True))
        out.append(f"| {n} | {kind} | {prof} | " + " | ".join(cells) + " |")
    return [*out, ""]


def median_precision(rows: list[dict[str, Any]]) -> list[str]:
    """The paper's statistic: median per-slice precision at 0.9, semi vs sup, per seed."""
    out = [
        "Median per-slice visible voxel precision at threshold 0.9 (the paper's statistic), "
        "pooled over test slices:",
        "",
        "| group | labelled | test profiles | seed | semisupervised | supervised-only "
        "| difference | relative |",
        "|---|---:|---|---:|---|---|---|---|",
    ]
    groups = {
        "training profile": (TRAIN_PROFILE,),
        "other instruments": OTHER,
        "fine-tune tomogram": ("finetune-tomogram",),
    }
    for group in ("main", "finetune"):
        sel = [r for r in rows if r["group"] == group and r["threshold_kind"] == "0.9"]
        for n in sorted({r["n_labelled"] for r in sel}):
            for label, profs in groups.items():
                for seed in sorted({r["seed"] for r in sel}):
                    med = {}
                    for m in ("semi", "sup"):
                        vals = [
                            v
                            for r in sel
                            if r["method"] == m
                            and r["n_labelled"] == n
                            and r["seed"] == seed
                            and r["profile"] in profs
                            for v in r["slice_precision"]
                        ]
                        med[m] = statistics.median(vals) if vals else None
                    if med["semi"] is None or med["sup"] is None:
                        continue
                    d = med["semi"] - med["sup"]
                    rel = d / med["sup"] if med["sup"] else float("nan")
                    out.append(
                        f"| {group} | {n} | {label} | {seed} | {med['semi']:.3f} "
                        f"| {med['sup']:.3f} | {d:+.3f} | {rel:+.1%} |"
                    )
    return [*out, ""]


def finetune_table(rows: list[dict[str, Any]]) -> list[str]:
    sel = [r for r in rows if r["group"] == "finetune"]
    if not sel:
        return []
    f1, p, rc = (
        per_seed(sel, k)
        for k in ("visible_boundary_f1", "visible_boundary_precision", "visible_boundary_recall")
    )
    out = [
        "### Fine-tuning the bundled model on 5 labelled slices of lab-25nm",
        "",
        "| method | threshold | fine-tune tomogram, other slices | lab-25nm test tomograms |",
        "|---|---|---|---|",
    ]
    combos = sorted(
        {(r["method"], r["threshold_kind"]) for r in sel},
        key=lambda mk: (list(NAMES).index(mk[0]), mk[1]),
    )
    for method, kind in combos:
        cells = []
        for prof in ("finetune-tomogram", "lab-25nm"):
            ks = [k for k in f1 if k[1] == method and k[3] == kind and k[4] == prof]
            cells.append(
                f"{_ms([f1[k] for k in ks])} (P {_ms([p[k] for k in ks], digits=2)}"
                f" / R {_ms([rc[k] for k in ks], digits=2)})"
            )
        out.append(f"| {NAMES[method]} | {kind} | " + " | ".join(cells) + " |")
    return [*out, ""]


def read_curve(model: Path) -> tuple[list[float], list[float], list[int]]:
    """(cumulative minutes, validation visible boundary-F1, step) per epoch of a run."""
    minutes, score, steps, t = [], [], [], 0.0
    with (model / "metrics.csv").open() as fh:
        for row in csv.DictReader(fh):
            t += float(row["seconds"] or 0)
            minutes.append(t / 60)
            score.append(float(row["val_boundary_f1"] or "nan"))
            steps.append(int(row["step"]))
    return minutes, score, steps


def curves(work: Path, png: Path | None) -> list[str]:
    models = sorted(p for p in (work / "models").glob("*") if (p / "metrics.csv").exists())
    out = [
        "Validation curves (visible boundary-F1 on the validation slices, model pixel size):",
        "",
        "| run | steps | minutes | best | best at min | gain in the last third |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in models:
        mins, score, steps = read_curve(m)
        best = max(score)
        early = [s for t, s in zip(mins, score, strict=True) if t <= 2 / 3 * mins[-1]]
        at = mins[score.index(best)]
        out.append(
            f"| {m.name} | {steps[-1]} | {mins[-1]:.1f} | {best:.3f} | {at:.1f} "
            f"| {best - max(early):+.3f} |"
        )
    if png is not None and models:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        panels = sorted(
            {
                m.name.rsplit("_s", 1)[0].split("_", 2)[0]
                + " "
                + m.name.rsplit("_s", 1)[0].split("_", 2)[2]
                for m in models
            }
        )
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
        for ax, panel in zip(axes[0], panels, strict=True):
            group, n = panel.split(" ")
            for m in models:
                g, method, rest = m.name.split("_", 2)
                if g != group or not rest.startswith(n + "_"):
                    continue
                mins, score, _ = read_curve(m)
                ax.plot(
                    mins,
                    score,
                    color="C0" if method == "semi" else "C1",
                    ls="-" if rest.endswith("s0") else "--",
                    label=f"{method} {rest[-2:]}",
                )
            ax.set_title(f"{group}, {n[1:]} labelled slices")
            ax.set_xlabel("wall-clock minutes")
            ax.set_ylabel("validation visible boundary-F1")
            ax.set_ylim(0, 1)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(png, dpi=80)
    return [*out, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sxtseg_experiment"))
    ap.add_argument("--curves", type=Path, default=None, help="write the curves figure here")
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results file (default WORK/results.jsonl; the 2026-12-02 run: "
        "benchmarks/results_experiment.jsonl)",
    )
    args = ap.parse_args()
    path = args.results or args.work / "results.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    text = [
        *main_tables(rows),
        *delta_table(rows, "main"),
        *median_precision(rows),
        *finetune_table(rows),
        *delta_table(rows, "finetune"),
        *curves(args.work, args.curves),
    ]
    print("\n".join(text))


if __name__ == "__main__":
    main()
