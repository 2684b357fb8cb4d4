"""Fixtures of the training tests (data helpers live in train_synth.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_synth import write_shells


@pytest.fixture(scope="module")
def shell_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two labelled and two unlabelled synthetic tomograms (6 × 64 × 64)."""
    root = tmp_path_factory.mktemp("shells")
    return {
        name: write_shells(root / name, (6, 64, 64), seed=100 + i)
        for i, name in enumerate(["lab_a", "lab_b", "unl_a", "unl_b"])
    }
