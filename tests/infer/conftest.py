"""Shared fixtures for the inference tests: small shell phantoms and a really trained tiny model.

The model is the real ``tiny`` network from ``sxtseg.model.build_model`` with
the paper's tanh label head (what model folders written before the logits
head hold), trained for a few dozen Adam steps on spherical shells so its
output depends on the input (an untrained network gives a nearly constant
map, which would make tiling and TTA comparisons vacuous).
"""

import os

# Tests share 2 busy cores: one OpenMP thread avoids spin-waiting on busy cores, which made
# two-thread runs 10x slower here. sxtseg.infer honours OMP_NUM_THREADS (subprocesses too).
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np
import pytest
import torch

from sxtseg.model import build_model
from sxtseg.model.checkpoint import save_model
from sxtseg.model.config import ModelConfig

torch.set_num_threads(1)


def shell_phantom(shape, *, seed, n=6, noise=0.3):
    """Tomogram (float32) with bright spherical shells and its 0/1 shell mask."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    truth = np.zeros(shape, dtype=bool)
    for _ in range(n):
        c = [rng.uniform(0, s) for s in shape]
        r = rng.uniform(4, max(5, min(shape[1:]) / 4))
        d = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        truth |= np.abs(d - r) < 1.3
    tomo = truth.astype(np.float32) + rng.normal(0, noise, shape).astype(np.float32)
    return tomo.astype(np.float32), truth.astype(np.uint8)


def train_tiny(steps=40):
    """The tiny preset after ``steps`` supervised Adam steps on shell phantoms (eval mode, CPU)."""
    from sxtseg.preprocess import normalize_slices

    torch.manual_seed(0)
    model = build_model(ModelConfig.from_preset("tiny", label_output="tanh"))
    tomo, truth = shell_phantom((24, 96, 96), seed=1, n=14)
    x_all = torch.from_numpy(normalize_slices(tomo))[:, None]
    y_all = torch.from_numpy(truth.astype(np.float32) * 2 - 1)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    model.train()
    for _ in range(steps):
        idx = rng.integers(0, tomo.shape[0], 4)
        oy, ox = rng.integers(0, 96 - 48, 2)
        xb = x_all[idx, :, oy : oy + 48, ox : ox + 48]
        yb = y_all[idx, :, oy : oy + 48, ox : ox + 48]
        loss = torch.nn.functional.huber_loss(model.predict_label(xb), yb, delta=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="session")
def trained_tiny():
    """A really trained tiny model (see :func:`train_tiny`)."""
    return train_tiny()


@pytest.fixture(scope="session")
def shells():
    """The :func:`shell_phantom` maker."""
    return shell_phantom


@pytest.fixture(scope="session")
def trained_tiny_dir(trained_tiny, tmp_path_factory):
    """The trained tiny model saved as a model folder (trained=True)."""
    out = tmp_path_factory.mktemp("model")
    save_model(trained_tiny, trained_tiny.config, out, meta={"trained": True})
    return out
