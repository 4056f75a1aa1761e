"""Rewriting and refactoring measured in AND nodes (the ``restructure`` pass's engines).

The NAND2-cost passes (rewrite, refactor, resub) accept only replacements
that lower the NAND2 cost.  These engines instead count AND nodes (complemented
edges free, as in ABC's AIG optimizations) and may accept replacements that
save nothing (``zero``): such moves change the structure without growing it,
so that later sweeps, balancing and the NAND2 passes find cuts they could
not see before.

Both engines choose replacements node by node in topological order
(:func:`~nandc.synth.resynth.select_replacements`) and price each one
DAG-aware: the AND nodes of ``v``'s maximum fanout-free cone above the cut
(:func:`mffc_nodes`) are saved, the nodes of the new structure that do not
exist yet outside that cone are paid (:func:`program_and_cost`).

* :func:`rewrite_choices`: cuts of at most 4 leaves, each rebuilt by the
  smallest known AIG of its function (:mod:`nandc.synth.aig4`).
* :func:`refactor_choices`: one reconvergence-driven cut of up to
  ``cut_size`` leaves per node, its function and complement minimized into
  sums of products and factored (:mod:`nandc.synth.factor`).

Replacements are expressed as NAND2 programs over the leaves' free phases
(:class:`~nandc.synth.resynth.Replacement`), whose inverters cost no AND
node, and applied by :func:`apply_if_fewer`, which keeps the result only if
it has no more AND nodes than the input.

Above :data:`~nandc.synth.compiled.MIN_NODES` AND nodes, rewriting's choices
are made by a compiled loop (:func:`compiled_rewrite_choices`, the same
replacements) and refactoring skips the nodes a compiled loop finds with a
cut or cone too small (:func:`refactor_candidates`).
"""

from __future__ import annotations

from functools import lru_cache

from nandc.ir.circuit import Circuit
from nandc.synth.aig4 import AigStructure, aig_structure
from nandc.synth.cost import CostView
from nandc.synth.factor import cone_table, cover_program, minimize_cover, reconvergent_cut, support_size
from nandc.synth.library import Program
from nandc.synth.progress import Progress
from nandc.synth.rebuild import rebuild
from nandc.synth.resynth import Replacement, build, select_replacements
from nandc.synth.truth import negate_inputs

__all__ = ["and_count", "mffc_nodes", "program_and_cost", "structure_program", "rewrite_choices",
           "compiled_rewrite_choices", "refactor_choices", "apply_if_fewer"]


def and_count(circuit: Circuit) -> int:
    """AND nodes reachable from the outputs."""
    f0, _, _ = circuit.arrays()
    return int((circuit.reachable() & (f0 != 0)).sum())


def mffc_nodes(ctx: CostView, v: int, leaves) -> list[int]:
    """The AND nodes that die when ``v`` is rebuilt from ``leaves``: ``v`` and the
    nodes of its cone above the leaves read only inside that cone (``v`` first)."""
    f0, f1, refs = ctx.f0, ctx.f1, ctx.refs
    leafset = set(leaves)
    dec: dict[int, int] = {}
    removed = [v]
    stack = [v]
    while stack:
        u = stack.pop()
        for lit in (f0[u], f1[u]):
            w = lit >> 1
            if not f0[w] or w in leafset:
                continue
            d = dec.get(w, 0) + 1
            dec[w] = d
            if d == refs[w]:
                removed.append(w)
                stack.append(w)
    return removed


def program_and_cost(circuit: Circuit, ctx: CostView, program: Program, signals: list[int],
                     removed: set[int]) -> tuple[int, int]:
    """``(cost, fresh)``: AND nodes ``program`` needs when built on ``signals``
    (literals of ``circuit``) that are not already live outside ``removed``, and
    how many of them do not exist in ``circuit`` at all (inverters cost nothing)."""
    sig: list[int | None] = list(signals) + [None] * (program.num_inputs - len(signals))
    refs, f0 = ctx.refs, ctx.f0
    cost = fresh = 0
    for j, k in program.gates:
        a, b = sig[j], sig[k]
        if j == k:
            sig.append(None if a is None else a ^ 1)
            continue
        out = None
        if a is not None and b is not None:
            found = circuit.lookup_and(a, b)
            if found is not None:
                out = found ^ 1
                node = found >> 1
                if f0[node] and (node in removed or not refs[node]):
                    cost += 1  # exists, but dies with the cone (or is dead): built again
                sig.append(out)
                continue
        cost += 1
        fresh += 1
        sig.append(None)
    return cost, fresh


@lru_cache(maxsize=1 << 16)
def structure_program(s: AigStructure) -> Program:
    """``s`` as a NAND2 program over its four variables: one NAND gate per AND node,
    inverters (free in an AIG) where a literal is read in the other phase."""
    gates: list[tuple[int, int]] = []
    # per signal: program signal of its positive / complemented value
    phase: dict[tuple[int, int], int] = {(i, 0): i for i in range(4)}

    def signal(lit: int) -> int:
        key = (lit >> 1, lit & 1)
        if key not in phase:
            other = phase[(lit >> 1, 1 - (lit & 1))]
            gates.append((other, other))
            phase[key] = 4 + len(gates) - 1
        return phase[key]

    for i, (a, b) in enumerate(s.gates):
        sa, sb = signal(a), signal(b)
        gates.append((sa, sb))
        phase[(4 + i, 1)] = 4 + len(gates) - 1  # the NAND gate carries the AND's complement
    out = signal(s.output)
    return Program(tuple(gates), out, 4)


def _better(gain: int, fresh: int, best: tuple[int, int] | None, zero: bool) -> bool:
    """Whether a candidate saving ``gain`` nodes (``fresh`` of its nodes new) beats ``best``."""
    if best is None:
        return gain > 0 or (zero and gain == 0 and fresh > 0)
    return gain > best[0]


def _rewrite_node(circuit: Circuit, ctx: CostView, v: int, cuts, replaced: dict[int, Replacement],
                  zero: bool, nand_slack: int | None) -> tuple[Replacement | None, list[int]]:
    best: Replacement | None = None
    best_key: tuple[int, int] | None = None
    best_covered: list[int] = []
    for leaves, tt in cuts:
        if not leaves or len(leaves) == 1 and leaves[0] == v:
            continue
        removed = mffc_nodes(ctx, v, leaves)
        covered = [u for u in removed[1:] if u in replaced]
        inner = sum(replaced[u].gain for u in covered)
        free = sum(ctx.free[x] << i for i, x in enumerate(leaves))
        g = negate_inputs(tt, free)
        s = aig_structure(g)
        if s is None:
            continue
        program = structure_program(s)
        signals = [2 * x + ctx.free[x] for x in leaves] + [0] * (4 - len(leaves))
        cost, fresh = program_and_cost(circuit, ctx, program, signals, set(removed))
        gain = len(removed) - cost
        if nand_slack is not None and gain - inner >= (best_key[0] if best_key else 0):
            saved, _, _, nand_removed, costly = ctx.mffc(v, leaves, {})
            nand_gain = saved + (ctx.pos[v] > 0) - (ctx.neg[v] > 0) - ctx.program_cost(
                circuit, program, signals, nand_removed, costly)
            if nand_gain < -nand_slack:
                continue
        if _better(gain - inner, fresh, best_key, zero):
            best = Replacement(tuple(leaves), program, tuple(range(4)), 0, gain)
            best_key, best_covered = (gain - inner, fresh), covered
    return best, best_covered


def rewrite_choices(circuit: Circuit, ctx: CostView, cuts, zero: bool = False,
                    progress: Progress | None = None, nand_slack: int | None = None) -> dict[int, Replacement]:
    """Rewriting replacements: per node the 4-input cut whose smallest known AIG saves
    the most AND nodes (``zero``: or none, if it builds at least one new node); with
    ``nand_slack`` (not None), only replacements that add at most that many NAND2 gates
    locally (:class:`~nandc.synth.cost.CostView`, the cone alone) are considered.
    ``cuts`` yields ``(node, [(leaves, table), ...])`` for the nodes of ``ctx.ands``."""

    def decide(v, node_cuts, replaced):
        return _rewrite_node(circuit, ctx, v, node_cuts, replaced, zero, nand_slack)

    return select_replacements(cuts, len(ctx.ands), decide, progress, "restructure: rewrite")


# per 4-input table (free phases applied): the row of its structure's program in
# _ROWS (-1: none); the arrays of the compiled loop, grown in place as rows are added
_ROW_OF: dict[int, int] = {}
_ROWS: list[Program] = []
_ARRAYS: list | None = None  # [prog_of, ngates, gates]: row capacity doubles, the rows past _ROWS are empty


def _program_arrays(tables) -> tuple:
    """``(prog_of, ngates, gates)`` for :func:`nandc.synth.kernels.and_rewrite_decisions`,
    covering at least ``tables`` (the programs of :func:`structure_program`); row ``len(_ROWS)``
    is an empty program.  Only the new tables' rows are written (once the table holds thousands
    of rows, rebuilding all of them for each new one cost more than the rewriting)."""
    import numpy as np

    global _ARRAYS
    if _ARRAYS is None:
        _ARRAYS = [np.full(1 << 16, -1, np.int64), np.zeros(64, np.int64), np.zeros((64, 16, 2), np.int64)]
    prog_of, ngates, gates = _ARRAYS
    for t in tables:
        if t in _ROW_OF:
            continue
        s = aig_structure(t)
        if s is None:
            _ROW_OF[t] = -1
            continue
        program = structure_program(s)
        row = len(_ROWS)
        if row + 1 >= len(ngates) or len(program.gates) > gates.shape[1]:
            grown = np.zeros((2 * len(ngates) if row + 1 >= len(ngates) else len(ngates),
                              max(gates.shape[1], len(program.gates)), 2), np.int64)
            grown[:len(ngates), :gates.shape[1]] = gates
            ngates = np.concatenate([ngates, np.zeros(len(grown) - len(ngates), np.int64)])
            gates = grown
            _ARRAYS[1:] = [ngates, gates]
        _ROW_OF[t] = row
        _ROWS.append(program)
        prog_of[t] = row
        ngates[row] = len(program.gates)
        if program.gates:
            gates[row, :len(program.gates)] = program.gates
    n = len(_ROWS) + 1
    return prog_of, ngates[:n], gates[:n]


def compiled_rewrite_choices(circuit: Circuit, ctx: CostView, cuts, zero: bool = False,
                             progress: Progress | None = None,
                             nand_slack: int | None = None) -> dict[int, Replacement]:
    """:func:`rewrite_choices` by the compiled loop (:mod:`nandc.synth.kernels`, the same
    replacements); ``cuts``: :func:`nandc.synth.kernels.cut_arrays` of ``ctx.ands``."""
    import numpy as np

    from nandc.synth import kernels
    from nandc.synth.progress import report

    stage = "restructure: rewrite"
    report(progress, stage, 0, len(ctx.ands))
    f0, f1, _ = circuit.arrays()
    programs = _program_arrays(kernels.free_tables(ctx.ands, cuts, ctx.free).tolist())
    kind, cut, tab, gain = kernels.and_rewrite_decisions(
        ctx.ands, cuts, f0, f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, circuit.hash_table(), programs,
        zero, nand_slack)
    leaves, nleaf, _, _ = cuts
    replaced: dict[int, Replacement] = {}
    for v in np.flatnonzero(kind).tolist():
        c = int(cut[v])
        lv = tuple(leaves[v, c, :nleaf[v, c]].tolist())
        program = _ROWS[_ROW_OF[int(tab[v])]]
        replaced[v] = Replacement(lv, program, tuple(range(4)), 0, int(gain[v]))
    report(progress, stage, len(ctx.ands), len(ctx.ands))
    return replaced


def _refactor_node(circuit: Circuit, ctx: CostView, v: int, cut_size: int, max_cubes: int,
                   replaced: dict[int, Replacement], zero: bool,
                   cone: tuple[tuple[int, ...], int] | None = None) -> tuple[Replacement | None, list[int]]:
    """``cone``: ``v``'s reconvergent cut and its table over it, if known."""
    leaves = reconvergent_cut(v, ctx.f0, ctx.f1, cut_size) if cone is None else cone[0]
    if len(leaves) < 3:
        return None, []
    removed = mffc_nodes(ctx, v, leaves)
    if len(removed) < 3:
        return None, []
    covered = [u for u in removed[1:] if u in replaced]
    inner = sum(replaced[u].gain for u in covered)
    k = len(leaves)
    table = cone_table(v, leaves, ctx.f0, ctx.f1) if cone is None else cone[1]
    if len(removed) - inner - (support_size(table, k) - 1) < (0 if zero else 1):
        return None, []  # a function of s variables needs at least s - 1 AND nodes
    full = (1 << (1 << k)) - 1
    free = [ctx.free[x] for x in leaves]
    signals = [2 * x + f for x, f in zip(leaves, free)]
    removed_set = set(removed)
    best: Replacement | None = None
    best_key: tuple[int, int] | None = None
    for negated in (0, 1):
        cubes = minimize_cover(table ^ (full if negated else 0), k)
        if len(cubes) > max_cubes:
            continue
        program = cover_program(cubes, k, free)
        if program is None:
            continue
        cost, fresh = program_and_cost(circuit, ctx, program, signals, removed_set)
        gain = len(removed) - cost
        if _better(gain - inner, fresh, best_key, zero):
            best = Replacement(leaves, program, tuple(range(k)), negated, gain)
            best_key = (gain - inner, fresh)
    return best, covered if best is not None else []


def refactor_choices(circuit: Circuit, ctx: CostView, cut_size: int = 10, max_cubes: int = 24, zero: bool = False,
                     progress: Progress | None = None) -> dict[int, Replacement]:
    """Refactoring replacements: per node, its reconvergence-driven cut of at most
    ``cut_size`` leaves rebuilt from the factored minimized cover of its function or
    its complement, where that saves AND nodes (``zero``: or none, building new ones)."""

    candidates, cones = refactor_candidates(ctx, cut_size)

    def decide(v, _, replaced):
        return _refactor_node(circuit, ctx, v, cut_size, max_cubes, replaced, zero, cones.get(v))

    return select_replacements(((v, None) for v in candidates), len(ctx.ands), decide,
                               progress, "restructure: refactor")


def refactor_candidates(ctx: CostView, cut_size: int) -> tuple[list[int], dict]:
    """``(nodes, cones)``: the nodes of ``ctx.ands`` (in order) for which :func:`_refactor_node`
    may find a replacement, and the cuts and tables of some of them.  Below
    :data:`~nandc.synth.compiled.MIN_NODES` AND nodes, all nodes and no cones; above, by
    compiled loops, the nodes whose reconvergent cut has at least 3 leaves and whose cone
    above it at least 3 AND nodes (the others it rejects before anything else, and earlier
    replacements change neither number), with their cuts and tables
    (:func:`nandc.synth.kernels.cone_tables`)."""
    from nandc.synth.compiled import use_compiled

    if not use_compiled(len(ctx.ands)):
        return ctx.ands, {}
    from nandc.synth import kernels

    nleaf, nrem = kernels.and_refactor_sizes(ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free,
                                             cut_size)
    nodes = [v for v, a, b in zip(ctx.ands, nleaf[ctx.ands].tolist(), nrem[ctx.ands].tolist()) if a >= 3 and b >= 3]
    return nodes, kernels.cone_tables(nodes, ctx.f0, ctx.f1, cut_size)


def apply_if_fewer(circuit: Circuit, ctx: CostView, replaced: dict[int, Replacement],
                   allow_equal: bool = False) -> tuple[Circuit, int, int]:
    """``(result, ands_before, ands_after)``: the circuit rebuilt with ``replaced`` if
    that leaves fewer AND nodes (or as many, with ``allow_equal``), else its cleaned copy."""
    before = and_count(circuit)
    if replaced:
        new = build(circuit, ctx, replaced)
        after = and_count(new)
        if after < before or (allow_equal and after == before):
            return new, before, after
    new = rebuild(circuit)[0]
    return new, before, and_count(new)
