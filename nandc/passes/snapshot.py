"""``snapshot``: keep the current structure of the circuit as a structural choice.

The pass changes nothing; a pipeline keeps its result (at most
:data:`~nandc.passes.pipeline.MAX_SNAPSHOTS`, the newest) and hands the kept
circuits to passes that use them: ``map[choices=true]`` covers the final
circuit *and* every kept structure, node by node whichever is cheaper
(:mod:`nandc.synth.choices`).  Take snapshots of structures that differ from
the final one, e.g. the circuit before the rewriting loops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import parse_params

__all__ = ["SnapshotParams", "snapshot"]


@dataclass(frozen=True)
class SnapshotParams:
    """snapshot takes no parameters."""


@register("snapshot", "keep the current circuit as a structural choice for a later map[choices=true]",
          params=SnapshotParams, keeps_snapshot=True)
def snapshot(circuit: Circuit, params=None) -> tuple[Circuit, Stats]:
    """Return ``circuit`` itself (unchanged); the pipeline keeps it.

    Requires: a valid Circuit.  Ensures: the result is ``circuit``.
    """
    parse_params(SnapshotParams, params, "snapshot")
    t0 = time.perf_counter()
    return circuit, pass_stats("snapshot", circuit, circuit, t0)
