"""Cleanup: constant propagation, structural hashing and dead-node removal."""

from __future__ import annotations

import time

from nandc.ir.circuit import Circuit
from nandc.passes.base import Params, Stats, pass_stats, register
from nandc.synth.rebuild import rebuild

__all__ = ["cleanup"]


@register("cleanup", "constant propagation, structural hashing and dead-node removal")
def cleanup(circuit: Circuit, params: Params | None = None) -> tuple[Circuit, Stats]:
    """Rebuild the output cone through the hash-consing constructor.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    only nodes reachable from the outputs remain; no two nodes are
    structurally equal; no node has a constant fanin.
    """
    t0 = time.perf_counter()
    new, _ = rebuild(circuit)
    return new, pass_stats("cleanup", circuit, new, t0)
