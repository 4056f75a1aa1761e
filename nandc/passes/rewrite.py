"""Cut-based rewriting for NAND2 cost: replace small cones by the smallest known NAND programs.

For every AND node ``v`` (topological order) and every cut of at most 4
leaves (:mod:`nandc.synth.cuts`), the cone between the cut and ``v`` is
priced in NAND2 gates as lowering will build it (:mod:`nandc.synth.cost`):
the AND nodes of its maximum fanout-free part (MFFC: the nodes that die if
``v`` is rebuilt from the leaves), the inverters only those nodes need, and
``v``'s own inverter.  The replacement is a NAND program from the library
(:mod:`nandc.synth.library`, exact synthesis by SAT) for the cut's function
expressed over the *free* phase of each leaf (the phase lowering provides
without an inverter: an input's positive literal, an AND node's complement),
with its output in whichever phase ``v``'s readers need.  The best positive
gain per node wins; when a replaced cone contains earlier replacements, only
the gain beyond theirs counts.

The rewritten circuit is rebuilt through the hash-consing constructor; if its
NAND2 cost is not lower than the input's, the input's cleaned copy is
returned instead, so the pass never makes a circuit worse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, register, resynthesis_result
from nandc.synth.cuts import LocalCuts, iter_cuts
from nandc.synth.library import DEFAULT_LIBRARY, NandLibrary
from nandc.passes.options import Progress, check_choice, parse_params, report, check_params
from nandc.synth.cost import CostView
from nandc.synth.resynth import Replacement, apply_if_cheaper, select_replacements
from nandc.synth.truth import MASK, negate_inputs

__all__ = ["RewriteParams", "rewrite", "rewrite_once", "choose_replacements", "inverter_nodes"]

SCOPES = ("all", "inverters")

#: Programs up to this many gates above the break-even size are still priced
#: (some of their gates may exist already).
SHARING_SLACK = 2


@dataclass(frozen=True)
class RewriteParams:
    """``cut_size``: leaves per cut (at most 4); ``cuts_per_node``: priority cuts kept;
    ``conflicts`` / ``max_gates``: budget of the library's SAT search per
    function at run time (``max_gates=0``, the default: no search, the
    shipped table has a program for every function, and searching it again
    cost minutes on large circuits without finding smaller ones);
    ``scope``: ``"all"`` nodes, or only ``"inverters"`` (nodes that need an
    inverter or read a literal that does, with cuts at most ``cut_depth``
    levels deep: fast on large, mostly NAND-shaped circuits); ``max_nodes``:
    circuits with more AND nodes are rewritten with scope ``"inverters"``
    (0: no limit)."""

    cut_size: int = 4
    cuts_per_node: int = 8
    conflicts: int = 3000
    max_gates: int = 0
    scope: str = "all"
    cut_depth: int = 3
    max_nodes: int = 0

    def __post_init__(self):
        check_choice("rewrite", "scope", self.scope, SCOPES)
        check_params(self, "rewrite", cuts_per_node=(1, None))


def _best_replacement(circuit: Circuit, ctx: CostView, v: int, cuts, library: NandLibrary,
                      replaced: dict[int, Replacement]) -> tuple[Replacement | None, list[int]]:
    """The replacement of ``v`` with the largest gain over the current state
    (earlier replacements included), and the earlier replacements it covers."""
    best: Replacement | None = None
    best_covered: list[int] = []
    best_extra = 0  # gain beyond the covered replacements' gains
    root_pos, root_neg = ctx.pos[v] > 0, ctx.neg[v] > 0
    for leaves, tt in cuts:
        saved, inner, covered, removed, costly = ctx.mffc(v, leaves, replaced)
        saved += root_pos
        if not leaves:
            if saved - inner > best_extra:
                best, best_covered, best_extra = Replacement((), None, (), 0, saved, tt & 1), covered, saved - inner
            continue
        if saved - min(root_pos, root_neg) - inner - best_extra - 1 + SHARING_SLACK < 0:
            continue  # no program can pay off in either phase
        free = sum(ctx.free[x] << i for i, x in enumerate(leaves))
        g = negate_inputs(tt, free)
        free_lits = [2 * x + ctx.free[x] for x in leaves]
        for negated, root_inv in ((0, root_neg), (1, root_pos)):
            bound = saved - root_inv - inner - best_extra - 1 + SHARING_SLACK
            found = library.lookup(g ^ (MASK if negated else 0), bound)
            if found is None:
                continue
            program, perm = found
            signals = [0] * 4
            for i, lit in enumerate(free_lits):
                signals[perm[i]] = lit
            cost = ctx.program_cost(circuit, program, signals, removed, costly)
            gain = saved - root_inv - cost
            if gain - inner > best_extra:
                best, best_covered, best_extra = Replacement(leaves, program, perm, negated, gain), covered, gain - inner
    return best, best_covered



def inverter_nodes(ctx: CostView) -> list[int]:
    """Live AND nodes that lowering gives an inverter, or that read a literal needing one."""
    f0, f1 = ctx.f0, ctx.f1
    out = []
    for v in ctx.ands:
        if ctx.pos[v]:
            out.append(v)
            continue
        for lit in (f0[v], f1[v]):
            if ctx.is_costly(lit):
                out.append(v)
                break
    return out


def _compiled_cuts(ctx: CostView) -> bool:
    """Whether the cuts come from the compiled loops (:mod:`nandc.synth.kernels`; the same cuts)."""
    from nandc.synth.compiled import use_compiled

    return use_compiled(len(ctx.ands))


def choose_replacements(circuit: Circuit, p: RewriteParams, library: NandLibrary = DEFAULT_LIBRARY,
                        progress: Progress | None = None) -> tuple[CostView, dict[int, Replacement]]:
    """One rewriting sweep: the chosen replacements (not yet applied)."""
    ctx = CostView(circuit)
    k = min(4, p.cut_size)
    focused = p.scope == "inverters" or (p.max_nodes and len(ctx.ands) > p.max_nodes)
    compiled = _compiled_cuts(ctx)
    library.conflicts, library.max_gates = p.conflicts, p.max_gates
    stage = "rewrite (inverters)" if focused else "rewrite"
    if compiled and p.max_gates <= 0:  # no search: the compiled decisions are the same
        return ctx, _compiled_replacements(circuit, ctx, p, k, focused, library, progress, stage)
    if focused:
        nodes = inverter_nodes(ctx)
        if compiled:
            from nandc.synth import kernels

            f0, f1, _ = circuit.arrays()
            work = kernels.cut_lists(kernels.local_cut_arrays(f0, f1, ctx.ands, nodes, k, p.cuts_per_node,
                                                              p.cut_depth), nodes)
        else:
            local = LocalCuts(ctx.f0, ctx.f1, k, p.cuts_per_node, p.cut_depth)
            work = ((v, local.cuts(v)) for v in nodes)
        total = len(nodes)
    else:
        if compiled:
            from nandc.synth import kernels

            f0, f1, _ = circuit.arrays()
            work = kernels.cut_lists(kernels.cut_arrays(f0, f1, ctx.ands, k, p.cuts_per_node), ctx.ands)
        else:
            work = iter_cuts(ctx.f0, ctx.f1, ctx.ands, k, p.cuts_per_node)
        total = len(ctx.ands)

    def decide(v, cuts, replaced):
        return _best_replacement(circuit, ctx, v, cuts, library, replaced)

    return ctx, select_replacements(work, total, decide, progress, stage)


def _compiled_replacements(circuit: Circuit, ctx: CostView, p: RewriteParams, k: int, focused: bool,
                           library: NandLibrary, progress: Progress | None, stage: str) -> dict[int, Replacement]:
    """The replacements :func:`_best_replacement` and :func:`select_replacements` choose,
    by the compiled loops of :mod:`nandc.synth.kernels` (for a library that makes no search)."""
    import numpy as np

    from nandc.synth import kernels
    from nandc.synth.truth import PERMS

    f0, f1, _ = circuit.arrays()
    nodes = inverter_nodes(ctx) if focused else ctx.ands
    report(progress, stage, 0, len(nodes))
    if focused:
        cuts = kernels.local_cut_arrays(f0, f1, ctx.ands, nodes, k, p.cuts_per_node, p.cut_depth)
    else:
        cuts = kernels.cut_arrays(f0, f1, ctx.ands, k, p.cuts_per_node)
    programs = library.known_programs()
    canons = list(programs)
    kind, cut, prog, perm, negated, gain, const = kernels.rewrite_decisions(
        nodes, cuts, f0, f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, circuit.hash_table(),
        kernels.program_arrays(programs), SHARING_SLACK)
    leaves, nleaf, _, _ = cuts
    replaced: dict[int, Replacement] = {}
    for v in np.flatnonzero(kind).tolist():
        if kind[v] == 2:
            replaced[v] = Replacement((), None, (), 0, int(gain[v]), int(const[v]))
        else:
            c = int(cut[v])
            lv = tuple(leaves[v, c, :nleaf[v, c]].tolist())
            replaced[v] = Replacement(lv, programs[canons[prog[v]]], PERMS[perm[v]], int(negated[v]), int(gain[v]))
    report(progress, stage, len(nodes), len(nodes))
    return replaced


def rewrite_once(circuit: Circuit, p: RewriteParams, progress: Progress | None = None) -> tuple[Circuit, int]:
    """One rewriting sweep applied if it lowers the NAND2 cost; and the replacements made."""
    ctx, replaced = choose_replacements(circuit, p, progress=progress)
    new, before, after = apply_if_cheaper(circuit, ctx, replaced)
    return new, len(replaced) if after < before else 0


@register("rewrite", "cut-based rewriting: cones of <= 4 leaves replaced by smaller NAND2 programs",
          params=RewriteParams, progress=True)
def rewrite(circuit: Circuit, params=None, progress: Progress | None = None) -> tuple[Circuit, Stats]:
    """Replace 4-input cones by the smallest known NAND2 programs where that lowers the NAND2 cost.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    a NAND2 cost (:func:`~nandc.synth.cost.nand_cost`) no higher than the
    input's; no dead nodes; new nodes carry the layer of the node they
    rebuild.
    """
    p = parse_params(RewriteParams, params, "rewrite")
    t0 = time.perf_counter()
    searches = DEFAULT_LIBRARY.searches
    ctx, replaced = choose_replacements(circuit, p, progress=progress)
    return resynthesis_result("rewrite", circuit, ctx, replaced, t0, replacements=len(replaced),
                              synthesized=DEFAULT_LIBRARY.searches - searches)
