"""Pipeline strings (``"cleanup;nand"``) and the ``-O`` presets."""

from __future__ import annotations

from typing import Any, Callable

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist
from nandc.passes.base import PassInfo, Stats, get_pass

__all__ = ["PRESETS", "parse_pipeline", "run_pipeline"]

#: Optimization levels; each is a pipeline string.
PRESETS: dict[str, str] = {
    "O0": "nand",
    "O1": "cleanup;nand",
    "O2": "cleanup;nand",
    "O3": "cleanup;nand",
}


def parse_pipeline(text: str) -> list[PassInfo]:
    """Split a pipeline string into registered passes, checking the order.

    A preset name (``O0`` .. ``O3`` or ``-O2``) stands for its pipeline.  Only
    the last pass may produce a netlist.
    """
    key = text.strip().lstrip("-")
    if key in PRESETS:
        text = PRESETS[key]
    names = [p.strip() for p in text.split(";") if p.strip()]
    if not names:
        raise PassError(f"empty pipeline {text!r}; expected pass names separated by ';'")
    passes = [get_pass(name) for name in names]
    for p in passes[:-1]:
        if p.produces != "circuit":
            raise PassError(
                f"pipeline {text!r}: pass {p.name!r} produces a netlist and must come last"
            )
    return passes


def run_pipeline(circuit: Circuit, pipeline: str,
                 on_stats: Callable[[Stats], Any] | None = None) -> tuple[Circuit | NandNetlist, list[Stats]]:
    """Run the passes of ``pipeline`` in order; returns the result and each pass's Stats."""
    result: Circuit | NandNetlist = circuit
    history: list[Stats] = []
    for p in parse_pipeline(pipeline):
        result, stats = p.run(result, {})
        history.append(stats)
        if on_stats is not None:
            on_stats(stats)
    return result, history
