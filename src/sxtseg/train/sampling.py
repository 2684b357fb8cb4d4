"""Reproducible, resumable sample streams for the DataLoaders."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

__all__ = ["KeySampler", "StepPlan", "plan_epoch"]


class KeySampler(Sampler[tuple[int, ...]]):
    """An endless stream of keys for :class:`~sxtseg.train.data.SliceDataset`.

    Keys are ``(item, seed)``, or ``(item, seed, centred)`` when
    ``centre_fraction`` is given. Items come in seeded random permutations
    (every item once per cycle); each key carries its own augmentation seed.
    ``centred`` (0/1) is set on exactly ``ceil(n · centre_fraction)`` of the
    first n keys of the stream (for every n), so at least that share of crops
    is centred on membrane. The stream is a pure function of ``(seed, stream,
    position)``, so ``start`` resumes it exactly.

    Parameters
    ----------
    n_items : int
    seed : int
    stream : int
        Separates streams with the same seed (labelled = 0, unlabelled = 1).
    start : int
        Number of keys already consumed.
    centre_fraction : float or None
        Share of keys flagged ``centred`` (None: two-element keys).
    """

    def __init__(
        self,
        n_items: int,
        *,
        seed: int,
        stream: int,
        start: int = 0,
        centre_fraction: float | None = None,
    ) -> None:
        if n_items < 1:
            raise ValueError("KeySampler needs at least one item")
        if centre_fraction is not None and not 0 <= centre_fraction <= 1:
            raise ValueError("centre_fraction must be in [0, 1]")
        self.n_items, self.seed, self.stream, self.start = n_items, seed, stream, start
        self.centre_fraction = centre_fraction

    def _centred(self, pos: int) -> int:
        f = self.centre_fraction
        assert f is not None
        return int(math.ceil((pos + 1) * f - 1e-9) > math.ceil(pos * f - 1e-9))

    def __len__(self) -> int:  # pragma: no cover - endless; DataLoader only asks for warnings
        return 2**62

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        pos = self.start
        while True:
            cycle, offset = divmod(pos, self.n_items)
            perm = np.random.default_rng([self.seed, self.stream, cycle]).permutation(self.n_items)
            seeds = np.random.default_rng([self.seed, self.stream, cycle, 1]).integers(
                0, 2**31 - 1, size=self.n_items
            )
            for i in range(offset, self.n_items):
                if self.centre_fraction is None:
                    yield int(perm[i]), int(seeds[i])
                else:
                    yield int(perm[i]), int(seeds[i]), self._centred(cycle * self.n_items + i)
            pos = (cycle + 1) * self.n_items


class StepPlan(list[str]):
    """The kinds of the steps of one epoch, in order: "L" (labelled) or "U" (unlabelled)."""


def plan_epoch(n_labeled: int, n_unlabeled: int, *, alternation: str) -> StepPlan:
    """Order ``n_labeled`` labelled and ``n_unlabeled`` unlabelled steps.

    ``alternation="step"`` spreads the unlabelled steps evenly after the
    labelled ones (L U L U ... for a ratio of 1); ``"epoch"`` runs all
    labelled steps first.
    """
    if alternation == "epoch" or n_labeled == 0:
        return StepPlan(["L"] * n_labeled + ["U"] * n_unlabeled)
    plan = StepPlan()
    done_u = 0
    for i in range(1, n_labeled + 1):
        plan.append("L")
        due = (i * n_unlabeled) // n_labeled
        plan += ["U"] * (due - done_u)
        done_u = due
    return plan
