"""Per-epoch records of a training run: ``metrics.csv`` and ``training_curves.png``."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from sxtseg.io.base import temp_sibling

__all__ = ["plot_curves", "write_metrics_csv"]


def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    """Write one row per epoch (atomic replace)."""
    if not history:
        return
    fields: list[str] = []
    for row in history:
        fields += [k for k in row if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    tmp = temp_sibling(path)
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def plot_curves(path: Path, history: list[dict[str, Any]]) -> None:
    """Losses (left) and validation scores (right) against epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = [r for r in history if r.get("epoch") is not None]
    if not rows:
        return
    epochs = [r["epoch"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for key, name in (("train_loss_labeled", "train labelled"),
                      ("train_loss_unlabeled", "train unlabelled"),
                      ("val_loss", "validation")):  # fmt: skip
        ys = [r.get(key, float("nan")) for r in rows]
        if any(isinstance(y, float) and not math.isnan(y) for y in ys):
            ax1.plot(epochs, ys, marker=".", label=name)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend()
    for key in ("val_boundary_f1", "val_f1", "val_precision", "val_recall",
                "val_image_accuracy"):  # fmt: skip
        ys = [r.get(key, float("nan")) for r in rows]
        ax2.plot(epochs, ys, marker=".", label=key[4:])
    ax2.set_xlabel("epoch")
    ax2.set_ylim(0, 1)
    ax2.set_title("validation (boundary F1: calibrated threshold; others: 0.9)")
    ax2.legend()
    fig.tight_layout()
    tmp = temp_sibling(path)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
