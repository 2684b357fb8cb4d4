"""Fixtures of the training tests (data helpers live in train_synth.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from train_synth import write_shells


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread per test (restored afterwards): the machine is shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def shell_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two labelled and two unlabelled synthetic tomograms (6 × 64 × 64)."""
    root = tmp_path_factory.mktemp("shells")
    return {
        name: write_shells(root / name, (6, 64, 64), seed=100 + i)
        for i, name in enumerate(["lab_a", "lab_b", "unl_a", "unl_b"])
    }
