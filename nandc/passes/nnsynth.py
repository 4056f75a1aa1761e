"""Neural-network-aware synthesis: popcount thresholds rebuilt from scratch.

A binarized neuron computes ``popcount(x XNOR w) >= T``: a symmetric
threshold function of its input literals.  The frontend builds it as a
compressor tree (a popcount word) followed by a comparison with a constant
(:func:`compare_threshold`); two other constructions are sometimes cheaper,
and this module provides all three as builders and a pass that finds such
functions in any circuit:

* :func:`popcount_at_least` adds the constant ``2**k - T`` into the
  compressor tree (constants are absorbed for free) and returns only the
  carry into bit ``k``: no comparator, and the sum bits of the final columns
  are never built;
* :func:`sorting_threshold` keeps only the comparators of an odd-even merge
  sorting network that the ``T``-th output depends on, which is smaller for
  a handful of inputs.

The pass :func:`nnsynth` looks at every node that depends on at most
``cut_size`` inputs while a reader depends on more (the largest cones of
small support: whole neurons), computes its truth table over those inputs,
and if the node is a symmetric threshold of them (each in a fixed phase),
prices the three constructions in NAND2 gates over the inputs' free phases
and keeps the cheapest if it beats the cone.  Popcounts shared across
neurons are merged by :mod:`sweep <nandc.passes.sweep>` (equal partial sums
up to complement); building every neuron's tree with the same grouping, as
:func:`shared_popcounts` does, lets hash-consing share them for free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.ir.words import compare_threshold, popcount_at_least, shared_popcounts, sorting_threshold
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, register, resynthesis_result
from nandc.synth.library import Program
from nandc.passes.options import Progress, parse_params, check_params
from nandc.synth.factor import cone_table
from nandc.synth.cost import CostView
from nandc.synth.resynth import Replacement, program_from_circuit, select_replacements
from nandc.synth.truth import variable_table, weight_tables

__all__ = [
    "NNSynthParams",
    "nnsynth",
    "popcount_at_least",
    "sorting_threshold",
    "compare_threshold",
    "small_supports",
    "shared_popcounts",
    "symmetric_threshold",
]


# ---------------------------------------------------------------------- recognition
def symmetric_threshold(table: int, k: int) -> tuple[tuple[int, ...], int] | None:
    """``(phases, T)`` with ``f(x) == [sum(x_i ^ phases[i]) >= T]`` for the ``2**k``-bit
    ``table``, if ``f`` is such a function depending on all ``k`` variables; else None."""
    rows = 1 << k
    phases = []
    for i in range(k):
        var = variable_table(i, k)
        low = table & ~var & ((1 << rows) - 1)
        high = (table & var) >> (1 << i)
        if low == high:
            return None  # does not depend on x_i
        if low & ~high == 0:
            phases.append(0)  # positive unate
        elif high & ~low == 0:
            phases.append(1)  # negative unate
        else:
            return None
    for i, p in enumerate(phases):  # the table of f over the inputs in their phases
        if p:
            var, s = variable_table(i, k), 1 << i
            table = ((table & var) >> s) | ((table << s) & var)
    value_at = []
    for weight in weight_tables(k):  # f must be constant on the rows of each count
        part = table & weight
        if part and part != weight:
            return None
        value_at.append(1 if part else 0)
    first_one = next((i for i, v in enumerate(value_at) if v == 1), None)
    if first_one is None or any(v == 0 for v in value_at[first_one:]):
        return None
    return tuple(phases), first_one


# ---------------------------------------------------------------------- the pass
@dataclass(frozen=True)
class NNSynthParams:
    """``cut_size``: leaves of the examined cones (at most 16); ``min_saved``:
    NAND2 gates a cone must free to be examined."""

    cut_size: int = 16
    min_saved: int = 20

    def __post_init__(self):
        check_params(self, "nnsynth", cut_size=(2, 16))


BUILDERS = (compare_threshold, popcount_at_least, sorting_threshold)


def _candidates(k: int, literals: list[tuple[int, int]], threshold: int) -> list[Program]:
    """Programs of every construction of ``popcount(literals) >= threshold`` over ``k`` free signals."""
    out = []
    for builder in BUILDERS:
        scratch = Circuit("threshold")
        signals = [scratch.add_input() for _ in range(k)]
        root = builder(scratch, [signals[i] ^ flip for i, flip in literals], threshold)
        prog = program_from_circuit(scratch, root)
        if prog is not None:
            out.append(prog)
    return out


def small_supports(ctx: CostView, limit: int) -> dict[int, tuple[int, ...]]:
    """The inputs (increasing) of every live AND node that depends on at most
    ``limit`` inputs while some reader of it depends on more (or is an
    output): the largest cones of small support, such as whole neurons of few
    inputs."""
    f0, f1 = ctx.f0, ctx.f1
    support: dict[int, frozenset] = {}
    for v in ctx.ands:
        parts = []
        for lit in (f0[v], f1[v]):
            u = lit >> 1
            if not f0[u]:
                parts.append(frozenset((u,)) if u else frozenset())
            elif u in support:
                parts.append(support[u])
            else:
                break
        else:
            merged = parts[0] | parts[1]
            if len(merged) <= limit:
                support[v] = merged
    small_reads: dict[int, int] = {}
    for w in support:
        for lit in (f0[w], f1[w]):
            small_reads[lit >> 1] = small_reads.get(lit >> 1, 0) + 1
    return {v: tuple(sorted(sup)) for v, sup in support.items() if ctx.refs[v] > small_reads.get(v, 0)}


def _resynthesize(ctx: CostView, v: int, leaves: tuple[int, ...], p: NNSynthParams,
                  replaced: dict[int, Replacement]) -> tuple[Replacement | None, list[int]]:
    k = len(leaves)
    if k < 3:
        return None, []
    saved, inner, covered, _, _ = ctx.mffc(v, leaves, replaced)
    saved += ctx.pos[v] > 0
    if saved - inner < p.min_saved:
        return None, []
    found = symmetric_threshold(cone_table(v, leaves, ctx.f0, ctx.f1), k)
    if found is None:
        return None, []
    phases, threshold = found
    best = None
    for negated, root_inv in ((0, ctx.neg[v] > 0), (1, ctx.pos[v] > 0)):
        # not [count >= T] == [count of the complemented literals >= k - T + 1]
        flip, thr = (1, k - threshold + 1) if negated else (0, threshold)
        # literal i is leaf i in phase phases[i]; the program reads free signals s_i = x_i ^ free_i
        literals = [(i, phases[i] ^ flip ^ ctx.free[x]) for i, x in enumerate(leaves)]
        for prog in _candidates(k, literals, thr):
            gain = saved - root_inv - prog.cost
            if gain - inner > (best.gain - inner if best else 0):
                best = Replacement(leaves, prog, tuple(range(k)), negated, gain)
    return best, covered


@register("nnsynth", "neural-network-aware synthesis: popcount thresholds rebuilt (carry-only or sorting network)",
          params=NNSynthParams, progress=True)
def nnsynth(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Rebuild symmetric threshold functions (binarized neurons) by the cheapest known construction.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    a NAND2 cost no higher than the input's; no dead nodes; new nodes carry
    the layer of the node they rebuild.
    """
    p = parse_params(NNSynthParams, params, "nnsynth")
    t0 = time.perf_counter()
    ctx = CostView(circuit)
    candidates = small_supports(ctx, p.cut_size)

    def decide(v, leaves, replaced):
        return _resynthesize(ctx, v, leaves, p, replaced)

    replaced = select_replacements(sorted(candidates.items()), len(candidates), decide, progress, "nnsynth")
    return resynthesis_result("nnsynth", circuit, ctx, replaced, t0, thresholds=len(replaced))
