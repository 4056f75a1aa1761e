"""Refactoring: collapse a cone to a two-level cover, minimize it, factor it back.

For every AND node ``v`` whose fanout-free cone is worth it, a
*reconvergence-driven* cut of at most ``cut_size`` leaves is grown from its
fanins (always expanding the leaf that adds the fewest new leaves), the
cone's truth table over the leaves is computed by simulation (one Python int
of ``2**k`` bits per node), and both the function and its complement are
minimized into sums of products by espresso (pyeda).  Each cover is factored
algebraically (the literal shared by most cubes is pulled out, recursively),
turned into AND nodes, and priced in NAND2 gates with inverters, leaves taken
in their free phase.  The cheaper of the two is kept if it beats the cone it
replaces (:class:`~nandc.synth.cost.CostView`), and the circuit is
rebuilt with all replacements.  If the result's NAND2 cost is not lower, the
input's cleaned copy is returned: the pass never makes a circuit worse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, register, resynthesis_result
from nandc.passes.options import Progress, parse_params, check_params
from nandc.synth.factor import cone_table, cover_program, minimize_cover, reconvergent_cut, support_size
from nandc.synth.cost import CostView
from nandc.synth.resynth import Replacement, select_replacements

__all__ = ["RefactorParams", "refactor"]


@dataclass(frozen=True)
class RefactorParams:
    """``cut_size``: leaves of the collapsed cone (at most 12); ``min_saved``:
    skip nodes whose cone frees fewer NAND2 gates; ``max_cubes``: skip covers
    with more cubes (factoring them is rarely a win); ``max_nodes``: leave
    circuits with more AND nodes unchanged (0: no limit)."""

    cut_size: int = 8
    min_saved: int = 3
    max_cubes: int = 24
    max_nodes: int = 0

    def __post_init__(self):
        check_params(self, "refactor", cut_size=(2, 12))


def _refactor_node(circuit: Circuit, ctx: CostView, v: int, p: RefactorParams,
                   replaced: dict[int, Replacement],
                   cone: tuple[tuple[int, ...], int] | None = None) -> tuple[Replacement | None, list[int]]:
    """``cone``: ``v``'s reconvergent cut and its table over it, if known."""
    leaves = reconvergent_cut(v, ctx.f0, ctx.f1, p.cut_size) if cone is None else cone[0]
    if len(leaves) < 2:
        return None, []
    saved, inner, covered, _, _ = ctx.mffc(v, leaves, replaced)
    saved += ctx.pos[v] > 0
    if saved - inner < p.min_saved:
        return None, []
    k = len(leaves)
    table = cone_table(v, leaves, ctx.f0, ctx.f1) if cone is None else cone[1]
    full = (1 << (1 << k)) - 1
    if saved - inner <= support_size(table, k) - 1:
        return None, []  # a NAND2 program needs at least one gate per variable but one
    free = [ctx.free[x] for x in leaves]
    best = None
    for negated, root_inv in ((0, ctx.neg[v] > 0), (1, ctx.pos[v] > 0)):
        cubes = minimize_cover(table ^ (full if negated else 0), k)
        if len(cubes) > p.max_cubes:
            continue
        program = cover_program(cubes, k, free)
        if program is None:
            continue
        gain = saved - root_inv - program.cost
        if gain - inner > (best.gain - inner if best else 0):
            best = Replacement(leaves, program, tuple(range(k)), negated, gain)
    return best, covered


def refactor_once(circuit: Circuit, p: RefactorParams, progress: Progress | None = None) -> tuple[CostView, dict[int, Replacement]]:
    """One refactoring sweep: the chosen replacements (not yet applied)."""
    ctx = CostView(circuit)
    if p.max_nodes and len(ctx.ands) > p.max_nodes:
        return ctx, {}

    candidates, cones = _candidates(ctx, p)

    def decide(v, _, replaced):
        return _refactor_node(circuit, ctx, v, p, replaced, cones.get(v))

    return ctx, select_replacements(((v, None) for v in candidates), len(ctx.ands), decide, progress, "refactor")


def _candidates(ctx: CostView, p: RefactorParams) -> tuple[list[int], dict]:
    """``(nodes, cones)``: the nodes :func:`_refactor_node` may replace, and the cuts and
    tables of some of them: all nodes and no cones, or (by the compiled loops of
    :mod:`nandc.synth.kernels` on large circuits) the nodes whose cone frees at least
    ``min_saved`` gates before earlier replacements are subtracted (the others are
    skipped by ``_refactor_node`` whatever was replaced before them), with their cuts
    and tables (:func:`nandc.synth.kernels.cone_tables`)."""
    from nandc.synth.compiled import use_compiled

    if not use_compiled(len(ctx.ands)):
        return ctx.ands, {}
    from nandc.synth import kernels

    saved = kernels.refactor_saved(ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, p.cut_size)
    nodes = [v for v, s in zip(ctx.ands, saved[ctx.ands].tolist()) if s >= p.min_saved]
    return nodes, kernels.cone_tables(nodes, ctx.f0, ctx.f1, p.cut_size)


@register("refactor", "collapse cones to covers, minimize (espresso), factor back where smaller",
          params=RefactorParams, progress=True)
def refactor(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Re-express cones of up to ``cut_size`` leaves by factored minimized covers where that lowers the NAND2 cost.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    a NAND2 cost no higher than the input's; no dead nodes; new nodes carry
    the layer of the node they rebuild.
    """
    p = parse_params(RefactorParams, params, "refactor")
    t0 = time.perf_counter()
    ctx, replaced = refactor_once(circuit, p, progress)
    return resynthesis_result("refactor", circuit, ctx, replaced, t0, replacements=len(replaced))
