"""Annealing schedules: a value that moves from ``start`` to ``end`` over ``steps``.

A schedule is a frozen dataclass called with a (possibly fractional) step
number: ``schedule(0) == start``, ``schedule(steps) == end``, and the value
stays at ``end`` after that (and at ``start`` before 0).  The soft-logic
trainer (:func:`nandc.nn.anneal.anneal_fit`) counts steps in epochs and
evaluates the schedule at every batch (``epoch + batch / batches``), so
``ExponentialSchedule(1.0, 0.05, steps=20)`` anneals a temperature from 1.0
to 0.05 over 20 epochs, smoothly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nandc.nn.gate_functions import LogicConfigError

__all__ = ["Schedule", "ConstantSchedule", "ExponentialSchedule", "LinearSchedule", "CosineSchedule",
           "make_schedule", "SCHEDULES"]


@dataclass(frozen=True)
class Schedule:
    """Base class: ``start`` at step 0, ``end`` at step ``steps`` (> 0), constant outside."""

    start: float
    end: float
    steps: float

    def __post_init__(self):
        for name in ("start", "end", "steps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise LogicConfigError(f"{type(self).__name__}: {name} must be a finite number, found {value!r}")
        if self.steps <= 0:
            raise LogicConfigError(f"{type(self).__name__}: steps must be positive, found {self.steps}")

    def __call__(self, step: float) -> float:
        t = min(max(float(step) / self.steps, 0.0), 1.0)
        if t == 1.0:
            return float(self.end)
        return self._interpolate(t)

    def _interpolate(self, t: float) -> float:  # pragma: no cover - interface
        """The value at fraction ``t`` in [0, 1) of the way."""
        raise NotImplementedError


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """Always ``start`` (``end`` is ignored); ``ConstantSchedule.of(v)`` is the short form."""

    @staticmethod
    def of(value: float) -> "ConstantSchedule":
        return ConstantSchedule(value, value, 1)

    def __call__(self, step: float) -> float:
        return float(self.start)


@dataclass(frozen=True)
class ExponentialSchedule(Schedule):
    """Geometric interpolation ``start * (end / start) ** t``; both ends must be positive."""

    def __post_init__(self):
        super().__post_init__()
        if self.start <= 0 or self.end <= 0:
            raise LogicConfigError(
                f"ExponentialSchedule: start and end must be positive, found start={self.start}, end={self.end}"
            )

    def _interpolate(self, t: float) -> float:
        return float(self.start * (self.end / self.start) ** t)


@dataclass(frozen=True)
class LinearSchedule(Schedule):
    """Straight line ``start + (end - start) * t``."""

    def _interpolate(self, t: float) -> float:
        return float(self.start + (self.end - self.start) * t)


@dataclass(frozen=True)
class CosineSchedule(Schedule):
    """Half cosine ``end + (start - end) * (1 + cos(pi * t)) / 2``: flat at both ends."""

    def _interpolate(self, t: float) -> float:
        return float(self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * t)))


#: schedule classes by name (``make_schedule`` and the example's ``--schedule`` flag)
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": ConstantSchedule,
    "exponential": ExponentialSchedule,
    "linear": LinearSchedule,
    "cosine": CosineSchedule,
}


def make_schedule(kind: str, start: float, end: float, steps: float) -> Schedule:
    """The schedule named ``kind`` (one of :data:`SCHEDULES`)."""
    cls = SCHEDULES.get(kind)
    if cls is None:
        raise LogicConfigError(f"unknown schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")
    return cls(start, end, steps)
