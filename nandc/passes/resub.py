"""Resubstitution: re-express nodes by existing logic of their window, with don't cares.

For every live AND node a window (a reconvergent cut of at most ``cut_size``
leaves) is simulated exhaustively; the node is rebuilt from *divisors*
(window nodes outside its fanout-free cone, and nodes elsewhere computed from
them) as one divisor, an AND/OR of two, or an AND-OR of three, wherever that
frees more NAND2 gates than it adds (phase-aware: inverters and gates that
already exist are counted, see :mod:`nandc.synth.resub`).  With
``odc_levels`` a node read by a single AND node (read by a single AND node,
... up to ``odc_levels`` readers) only has to agree with its old function where
those readers' other fanins let it through (observability don't cares).  The
circuit is rebuilt with all replacements; if its NAND2 cost is not lower,
the input's cleaned copy is returned: the pass never makes a circuit worse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, register, resynthesis_result
from nandc.passes.options import Progress, parse_params, check_params
from nandc.synth.cost import CostView
from nandc.synth.resub import resub_replacements

__all__ = ["ResubParams", "resub"]


@dataclass(frozen=True)
class ResubParams:
    """``cut_size``: window leaves (2..12); ``max_gates``: NAND2 gates of a new
    expression before inverters (0..3: one divisor, AND/OR of two, AND-OR of
    three, three-input AND/OR); ``max_divisors``: divisors per window;
    ``odc_levels``: observability don't cares through up to this many single
    readers (0: none); ``max_nodes``: leave circuits
    with more AND nodes unchanged (0: no limit)."""

    cut_size: int = 10
    max_gates: int = 2
    max_divisors: int = 80
    odc_levels: int = 2
    max_nodes: int = 0

    def __post_init__(self):
        check_params(self, "resub")


@register("resub", "re-express nodes by divisors of their window (0/1/2-resub) with don't cares where smaller",
          params=ResubParams, progress=True)
def resub(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Resubstitute nodes by existing logic of their windows where that lowers the NAND2 cost.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    a NAND2 cost no higher than the input's; no dead nodes; new nodes carry
    the layer of the node they rebuild.
    """
    p = parse_params(ResubParams, params, "resub")
    if not 2 <= p.cut_size <= 12:
        raise PassError(f"pass 'resub': cut_size must be between 2 and 12, found {p.cut_size}")
    if not 0 <= p.max_gates <= 3:
        raise PassError(f"pass 'resub': max_gates must be between 0 and 3, found {p.max_gates}")
    if p.max_divisors < 1:
        raise PassError(f"pass 'resub': max_divisors must be positive, found {p.max_divisors}")
    if p.odc_levels < 0:
        raise PassError(f"pass 'resub': odc_levels must not be negative, found {p.odc_levels}")
    t0 = time.perf_counter()
    ctx = CostView(circuit)
    replaced = {}
    if not (p.max_nodes and len(ctx.ands) > p.max_nodes):
        replaced = resub_replacements(circuit, ctx, p.cut_size, p.max_gates, p.max_divisors, p.odc_levels, progress)
    return resynthesis_result("resub", circuit, ctx, replaced, t0, replacements=len(replaced))
