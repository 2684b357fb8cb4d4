"""One progress line for multi-stage jobs (tqdm), driven by progress(stage, done, total)."""

from types import TracebackType
from typing import Any

__all__ = ["StageBar"]


class StageBar:
    """A single tqdm bar that follows the current stage of a job."""

    def __init__(self, **tqdm_kw: Any) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=1, unit="step", disable=None, leave=True, **tqdm_kw)
        self._stage: str | None = None

    def update(self, stage: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` for ``stage``."""
        if stage != self._stage:
            self._stage = stage
            self._bar.reset(total=max(total, 1))
            self._bar.set_description(stage)
        self._bar.total = max(total, 1)
        self._bar.n = min(done, self._bar.total)
        self._bar.refresh()

    def __enter__(self) -> "StageBar":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.close()
