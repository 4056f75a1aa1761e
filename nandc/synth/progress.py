"""Progress reporting of long engines and passes: a callback, never printing.

A long computation takes an optional ``progress(stage, done, total)``
callback and calls it through :func:`report`; :class:`ProgressBars` is the
callback the command line hands in.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["Progress", "report", "ProgressBars"]

#: ``progress(stage, done, total)``: ``stage`` names the pass (and its phase).
Progress = Callable[[str, int, int], Any]


def report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    """Call ``progress(stage, done, total)`` if a callback was given."""
    if progress is not None:
        progress(stage, done, total)


class ProgressBars:
    """A :data:`Progress` callback that draws one tqdm bar per stage.

    A bar opens when a stage first reports and closes when another stage
    starts or :meth:`close` is called; bars are left off the terminal once
    closed.  tqdm is imported on first use.
    """

    def __init__(self, disable: bool = False):
        self.disable = disable
        self._stage: str | None = None
        self._bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.disable:
            return
        if stage != self._stage:
            from tqdm.auto import tqdm

            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, unit="node", leave=False, unit_scale=True)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = self._stage = None
