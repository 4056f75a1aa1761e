"""The pass protocol: what every optimization or lowering pass looks like.

A pass is a pure function ``run(circuit, params) -> (result, Stats)``.  It never
mutates its input.  ``result`` is a new :class:`~nandc.ir.Circuit` (for
circuit-to-circuit passes) or a :class:`~nandc.ir.NandNetlist` (for the final
lowering).  Each pass documents what it *requires* of its input and what it
*ensures* of its output; its tests check equivalence before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = ["Params", "Stats", "PassInfo", "PASSES", "register", "get_pass", "size_of"]

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Stats:
    """What one pass did: sizes before and after, time taken, pass-specific notes.

    Sizes are AND nodes reachable from the outputs for circuits and NAND2
    gates for netlists.
    """

    pass_name: str
    before: int
    after: int
    seconds: float
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self.notes.items())
        return f"{self.pass_name}: {self.before} -> {self.after} ({self.seconds:.3f}s{extra})"


@dataclass(frozen=True)
class PassInfo:
    """A registered pass: name, one-line description, function, output kind."""

    name: str
    description: str
    run: Callable[[Circuit, Params], tuple[Any, Stats]]
    produces: str  # "circuit" or "netlist"
    param_names: tuple[str, ...] = ()


PASSES: dict[str, PassInfo] = {}


def register(name: str, description: str, produces: str = "circuit", params: tuple[str, ...] = ()):
    """Decorator that adds a pass function to :data:`PASSES`."""

    def deco(fn):
        if name in PASSES:
            raise PassError(f"pass {name!r} is registered twice")
        PASSES[name] = PassInfo(name, description, fn, produces, tuple(params))
        return fn

    return deco


def get_pass(name: str) -> PassInfo:
    try:
        return PASSES[name]
    except KeyError:
        raise PassError(
            f"unknown pass {name!r}; expected one of: {', '.join(sorted(PASSES))}"
        ) from None


def size_of(obj: Circuit | NandNetlist) -> int:
    """AND nodes reachable from the outputs, or NAND2 gates."""
    if isinstance(obj, NandNetlist):
        return obj.num_gates
    mask = obj.reachable()
    f0, _, _ = obj.arrays()
    return int((mask & (f0 != 0)).sum())
