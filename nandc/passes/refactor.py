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
replaces (:class:`~nandc.passes.resynth.Context`), and the circuit is
rebuilt with all replacements.  If the result's NAND2 cost is not lower, the
input's cleaned copy is returned: the pass never makes a circuit worse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, register, size_of
from nandc.passes.library import Program
from nandc.passes.options import Progress, parse_params
from nandc.passes.resynth import Context, Replacement, program_from_circuit, resynthesis_result, select_replacements
from nandc.passes.truth import variable_table

__all__ = ["RefactorParams", "refactor", "reconvergent_cut", "cone_table", "minimize_cover", "factor",
           "build_form", "cover_program"]

Cube = tuple[int, ...]  # per variable: 0 (complemented), 1 (positive), 2 (absent)


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
    progress: Progress | None = None


def reconvergent_cut(v: int, f0: list[int], f1: list[int], k: int) -> tuple[int, ...]:
    """Leaves (increasing) of a cut of AND node ``v`` with at most ``k`` leaves,
    grown by expanding the leaf that adds the fewest new leaves."""
    leaves = {f0[v] >> 1, f1[v] >> 1}
    leaves.discard(0)
    visited = {v} | leaves
    while True:
        best, best_cost = -1, k + 1
        for x in leaves:
            if not f0[x]:
                continue
            new = [u for u in (f0[x] >> 1, f1[x] >> 1) if u and u not in visited]
            cost = len(new) - 1
            if cost < best_cost or (cost == best_cost and x > best):
                best, best_cost = x, cost
        if best < 0 or len(leaves) + best_cost > k:
            return tuple(sorted(leaves))
        leaves.discard(best)
        for u in (f0[best] >> 1, f1[best] >> 1):
            if u:
                leaves.add(u)
                visited.add(u)


def cone_table(v: int, leaves: tuple[int, ...], f0: list[int], f1: list[int]) -> int:
    """Truth table of node ``v`` over ``leaves`` (variable ``i`` = ``leaves[i]``), ``2**k`` bits."""
    k = len(leaves)
    rows = 1 << k
    mask = (1 << rows) - 1
    value = {0: 0}
    for i, x in enumerate(leaves):
        value[x] = variable_table(i, k)
    stack = [v]
    while stack:
        u = stack[-1]
        if u in value:
            stack.pop()
            continue
        pending = [w for w in (f0[u] >> 1, f1[u] >> 1) if w not in value]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        a, b = f0[u], f1[u]
        va = value[a >> 1] ^ (mask if a & 1 else 0)
        vb = value[b >> 1] ^ (mask if b & 1 else 0)
        value[u] = va & vb
    return value[v]


@lru_cache(maxsize=1 << 16)
def minimize_cover(table: int, k: int) -> tuple[Cube, ...]:
    """A near-minimal sum of products of ``table`` (espresso; remembered, since
    the cones of a neural network repeat the same functions many times)."""
    from pyeda.boolalg import espresso

    rows = [t for t in range(1 << k) if (table >> t) & 1]
    if not rows:
        return ()
    if len(rows) == 1 << k:
        return ((2,) * k,)
    onset = {(tuple(2 if (t >> i) & 1 else 1 for i in range(k)), (1,)) for t in rows}
    espresso.set_config(single_expand=False, remove_essential=True, force_irredundant=True,
                        unwrap_onset=True, recompute_onset=False, use_super_gasp=False,
                        skip_make_sparse=False)
    out = espresso.espresso(k, 1, onset, intype=espresso.FTYPE)
    # pyeda's positional notation: 1 = complemented, 2 = positive, 3 = absent
    return tuple(sorted(tuple({1: 0, 2: 1, 3: 2}[x] for x in cube) for cube, _ in out))


# A factored form: ("lit", var, positive) | ("and", parts) | ("or", parts) | ("const", value)
def factor(cubes: list[Cube]) -> tuple:
    """An algebraically factored form of a sum of ``cubes``."""
    if not cubes:
        return ("const", 0)
    if any(all(x == 2 for x in c) for c in cubes):
        return ("const", 1)
    if len(cubes) == 1:
        lits = [("lit", i, x) for i, x in enumerate(cubes[0]) if x != 2]
        return lits[0] if len(lits) == 1 else ("and", lits)
    counts: dict[tuple[int, int], int] = {}
    for c in cubes:
        for i, x in enumerate(c):
            if x != 2:
                counts[(i, x)] = counts.get((i, x), 0) + 1
    (var, phase), n = max(counts.items(), key=lambda item: (item[1], -item[0][0]))
    if n == 1:
        return ("or", [factor([c]) for c in cubes])
    with_lit = [c[:var] + (2,) + c[var + 1:] for c in cubes if c[var] == phase]
    rest = [c for c in cubes if c[var] != phase]
    term = ("and", [("lit", var, phase), factor(with_lit)])
    return term if not rest else ("or", [term, factor(rest)])


def build_form(c: Circuit, form: tuple, variables: list[int]) -> int:
    """Build a factored form in ``c``; variable ``i`` is literal ``variables[i]``."""
    kind = form[0]
    if kind == "const":
        return form[1]
    if kind == "lit":
        _, i, positive = form
        return variables[i] ^ (0 if positive else 1)
    parts = [build_form(c, f, variables) for f in form[1]]
    if kind == "or":
        return c.or_many(parts)
    return c.and_many(parts)


@lru_cache(maxsize=1 << 16)
def _cached_cover_program(cubes: tuple[Cube, ...], k: int, free: tuple[int, ...]) -> Program | None:
    scratch = Circuit("cover")
    signals = [scratch.add_input() for _ in range(k)]
    root = build_form(scratch, factor(list(cubes)), [s ^ f for s, f in zip(signals, free)])
    return program_from_circuit(scratch, root)


def cover_program(cubes, k: int, free: list[int]) -> Program | None:
    """The NAND program of the factored cover over free-phase leaf signals
    (variable ``i`` is signal ``i`` complemented if ``free[i]``); None if constant."""
    return _cached_cover_program(tuple(cubes), k, tuple(free))


def _support_size(table: int, k: int) -> int:
    """How many of the ``k`` variables the ``2**k``-bit ``table`` depends on."""
    count = 0
    for i in range(k):
        var = variable_table(i, k)
        if (table & var) >> (1 << i) != table & (var >> (1 << i)):
            count += 1
    return count


def _refactor_node(circuit: Circuit, ctx: Context, v: int, p: RefactorParams,
                   replaced: dict[int, Replacement]) -> tuple[Replacement | None, list[int]]:
    leaves = reconvergent_cut(v, ctx.f0, ctx.f1, p.cut_size)
    if len(leaves) < 2:
        return None, []
    saved, inner, covered, _, _ = ctx.mffc(v, leaves, replaced)
    saved += ctx.pos[v] > 0
    if saved - inner < p.min_saved:
        return None, []
    k = len(leaves)
    table = cone_table(v, leaves, ctx.f0, ctx.f1)
    full = (1 << (1 << k)) - 1
    if saved - inner <= _support_size(table, k) - 1:
        return None, []  # a NAND2 program needs at least one gate per variable but one
    free = [1 if ctx.f0[x] else 0 for x in leaves]
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


def refactor_once(circuit: Circuit, p: RefactorParams) -> tuple[Context, dict[int, Replacement]]:
    """One refactoring sweep: the chosen replacements (not yet applied)."""
    ctx = Context(circuit)
    if p.max_nodes and len(ctx.ands) > p.max_nodes:
        return ctx, {}

    def decide(v, _, replaced):
        return _refactor_node(circuit, ctx, v, p, replaced)

    return ctx, select_replacements(((v, None) for v in ctx.ands), len(ctx.ands), decide, p.progress, "refactor")


@register("refactor", "collapse cones to covers, minimize (espresso), factor back where smaller",
          params=tuple(RefactorParams.__dataclass_fields__))
def refactor(circuit: Circuit, params=None) -> tuple[Circuit, Stats]:
    """Re-express cones of up to ``cut_size`` leaves by factored minimized covers where that lowers the NAND2 cost.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    a NAND2 cost no higher than the input's; no dead nodes; new nodes carry
    the layer of the node they rebuild.
    """
    p = parse_params(RefactorParams, params, "refactor")
    t0 = time.perf_counter()
    before = size_of(circuit)
    ctx, replaced = refactor_once(circuit, p)
    return resynthesis_result("refactor", circuit, ctx, replaced, before, t0, replacements=len(replaced))
