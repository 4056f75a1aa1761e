"""Parameters and progress reporting shared by the optimization passes.

Every pass takes ``params`` as a mapping (what pipelines pass) or as its own
frozen dataclass; :func:`parse_params` turns either into the dataclass and
rejects unknown names.  Long passes report progress through an optional
callback ``progress(stage, done, total)`` found under the key ``progress``
(never by printing).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, TypeVar

from nandc.errors import PassError

__all__ = ["Progress", "parse_params", "check_choice", "report", "ProgressBars"]

#: ``progress(stage, done, total)``: ``stage`` names the pass (and its phase).
Progress = Callable[[str, int, int], Any]

P = TypeVar("P")


def parse_params(cls: type[P], params: Mapping[str, Any] | P | None, pass_name: str) -> P:
    """``params`` as an instance of the frozen dataclass ``cls``.

    ``None`` gives the defaults; a mapping may set any subset of the fields.
    Raises :class:`PassError` naming the unknown keys and the known ones.
    """
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise PassError(
            f"pass {pass_name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"expected some of: {', '.join(known)}"
        )
    return cls(**dict(params))


def check_choice(pass_name: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise :class:`PassError` unless parameter ``name`` of ``pass_name`` is one of ``allowed``."""
    if value not in allowed:
        raise PassError(f"pass {pass_name!r}: {name} must be one of {', '.join(map(repr, allowed))}, "
                        f"found {value!r}")


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
