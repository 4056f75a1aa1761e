"""Windowed resubstitution with don't cares, priced in NAND2 gates.

For every live AND node ``v`` (topological order) a *window* is grown: a
reconvergence-driven cut of at most ``cut_size`` leaves
(:func:`~nandc.synth.factor.reconvergent_cut`) and the nodes between it and
``v``.  Every window node gets its exact truth table over the leaves (one
Python int of ``2**k`` bits: all leaf patterns are simulated).  The
*divisors* are the window's nodes and leaves outside ``v``'s maximum
fanout-free cone (MFFC), plus the nodes elsewhere whose two fanins are
divisors.  ``v`` is then re-expressed over them, cheapest form first:

* 0-resub: ``v`` is a divisor (either phase);
* 1-resub: ``v`` is the NAND of two divisor literals, or its complement
  (AND and OR of any phases);
* 2-resub: ``v`` is ``NAND(a, NAND(b, c))`` (AND-OR forms) or a three-input
  AND/OR of divisor literals.

Signals are taken in their *free* phase (:meth:`Circuit.free_phase`); every
candidate is priced by :meth:`CostView.program_cost` (inverters, gates that
exist already) plus ``v``'s own inverter, against the NAND2 gates the MFFC
frees.  The best positive gain per node wins (:class:`Replacement`).

Don't cares.  Because tables are over the leaves, correlations between the
leaves' fanins inside the window are exact (the satisfiability don't cares
of the inner nodes are taken into account by construction).  With
``odc_levels``, a node ``v`` that no exact form improves, read by a single
AND node ``r1 = AND(v', s1')``, itself read only by ``r2 = AND(r1', s2')``
and so on up to ``r_d``, may also be re-expressed where it is *observable*
only: where ``s1' & ... & sd'`` is 1 (exact tables in the window of
``r_d``; the deepest chain first).  Such a change alters the functions of
``v`` and ``r1 .. r_(d-1)`` (never ``r_d``'s), so it is kept sound when
combined with all other replacements of the sweep by three rules: a changed
node is never a divisor (neither before nor after it changes), a node
already used as a divisor is never changed, and no chain passes through a
node of an earlier chain.  Every other replacement is an identity over its
window's leaves, so ``r_d`` and everything above it keep their functions.

Above :data:`~nandc.synth.compiled.MIN_NODES` AND nodes the whole sweep runs
compiled (:func:`nandc.synth.kernels.resub_decisions`: the same windows,
divisors, forms in the same order, prices and tie-breaks, and the same
don't-care rules); the Python loop below is its reference, and the tests
compare the replacements both ways.
"""

from __future__ import annotations

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.synth.compiled import use_compiled
from nandc.synth.cost import CostView
from nandc.synth.factor import reconvergent_cut
from nandc.synth.library import Program
from nandc.synth.progress import Progress, report
from nandc.synth.resynth import Replacement, select_replacements
from nandc.synth.truth import variable_table

__all__ = ["Window", "resub_replacements", "window"]


class Window:
    """The window of a root: ``leaves``, inner ``nodes`` (increasing, root last)
    and ``table[node]`` over the leaves (``2**len(leaves)`` bits, ``mask`` all ones)."""

    __slots__ = ("leaves", "mask", "nodes", "root", "table")

    def __init__(self, root: int, leaves: tuple[int, ...], nodes: list[int], table: dict[int, int], mask: int):
        self.root, self.leaves, self.nodes, self.table, self.mask = root, leaves, nodes, table, mask


def window(v: int, f0: list[int], f1: list[int], k: int) -> Window:
    """The window of AND node ``v``: a reconvergent cut of at most ``k`` leaves and exact tables."""
    leaves = reconvergent_cut(v, f0, f1, k)
    n = len(leaves)
    mask = (1 << (1 << n)) - 1
    table = {0: 0}
    for i, x in enumerate(leaves):
        table[x] = variable_table(i, n)
    inner = []
    seen = set(leaves)
    seen.add(0)
    stack = [v]
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        inner.append(u)
        stack.append(f0[u] >> 1)
        stack.append(f1[u] >> 1)
    inner.sort()
    for u in inner:
        a, b = f0[u], f1[u]
        ta = table[a >> 1] ^ (mask if a & 1 else 0)
        tb = table[b >> 1] ^ (mask if b & 1 else 0)
        table[u] = ta & tb
    return Window(v, leaves, inner, table, mask)


class _Builder:
    """A small NAND2 program over divisor signals ``0 .. n-1`` (literal ``2i + c``:
    signal ``i``, complemented if ``c``)."""

    def __init__(self, n: int):
        self.n = n
        self.gates: list[tuple[int, int]] = []

    def sig(self, lit: int) -> int:
        i = lit >> 1
        if lit & 1:
            self.gates.append((i, i))
            return self.n + len(self.gates) - 1
        return i

    def nand(self, a: int, b: int) -> int:
        self.gates.append((a, b))
        return self.n + len(self.gates) - 1

    def program(self, out: int) -> Program:
        return Program(tuple(self.gates), out, self.n)


def _forms(h: int, care: int, lits: list[int], max_gates: int, limit: int):
    """The ways of writing ``h`` (on the rows of ``care``) as ``a & b`` (``"and2"``),
    ``a & (b | c)`` (``"and_or"``) or ``a & b & c`` (``"and3"``), fewest gates
    first, as ``(form, literal indices)``.  ``lits[2i + c]``: the table of
    divisor ``i``'s free signal, complemented if ``c``; at most ``limit``
    candidate literals per position."""
    hc = h & care
    miss = care & ~h  # rows where h is 0
    covers = [j for j, t in enumerate(lits) if hc & ~t == 0]
    if not covers:
        return
    covers = covers[:limit]
    # 1-resub: h = a & b
    for x, a in enumerate(covers):
        ta = lits[a] & miss
        if not ta:
            continue  # a alone is h (a 0-resub)
        for b in covers[x + 1:]:
            if (b ^ a) != 1 and not (ta & lits[b]):
                yield "and2", (a, b)
    if max_gates < 2:
        return
    for x, a in enumerate(covers):
        ta = lits[a] & miss
        if not ta:
            continue
        # h = a & (b | c): b and c are 0 wherever a is 1 and h is 0, and together cover h
        part = [j for j, t in enumerate(lits) if not (t & ta) and t & hc and j >> 1 != a >> 1][:limit]
        for y, b in enumerate(part):
            rest = hc & ~lits[b]
            if not rest:
                continue
            for c in part[y + 1:]:
                if not (rest & ~lits[c]) and (b ^ c) != 1:
                    yield "and_or", (a, b, c)
        if max_gates < 3:
            continue
        # h = a & b & c
        for y in range(x + 1, len(covers)):
            b = covers[y]
            tab = ta & lits[b]
            if not tab:
                continue
            for c in covers[y + 1:]:
                if not (tab & lits[c]):
                    yield "and3", (a, b, c)


def _program(form: str, idx: tuple[int, ...], n: int) -> Program:
    """The NAND2 program computing ``NOT h`` for a form of :func:`_forms`."""
    b = _Builder(n)
    if form == "and2":
        out = b.nand(b.sig(idx[0]), b.sig(idx[1]))
    elif form == "and_or":
        inner = b.nand(b.sig(idx[1] ^ 1), b.sig(idx[2] ^ 1))
        out = b.nand(b.sig(idx[0]), inner)
    else:  # and3
        inner = b.nand(b.sig(idx[1]), b.sig(idx[2]))
        inv = b.nand(inner, inner)
        out = b.nand(b.sig(idx[0]), inv)
    return b.program(out)


#: resub_decisions' forms, by number.
_FORM_NAMES = (None, "and2", "and_or", "and3")


def _compiled_replacements(circuit: Circuit, ctx: CostView, cut_size: int, max_gates: int, max_divisors: int,
                           odc_levels: int, starts: np.ndarray, fan_dst: np.ndarray,
                           progress: Progress | None) -> dict[int, Replacement]:
    """:func:`resub_replacements` by the compiled loop (:func:`nandc.synth.kernels.resub_decisions`);
    ``starts``/``fan_dst``: the AND readers of every node (CSR)."""
    from nandc.synth import kernels

    report(progress, "resub", 0, len(ctx.ands))
    kind, gain, const, negated, form, leaves, lits = kernels.resub_decisions(
        ctx.ands, ctx.f0, ctx.f1, ctx.refs, ctx.pos, ctx.neg, ctx.free, circuit.hash_table(), cut_size, max_gates,
        max_divisors, odc_levels, starts, fan_dst)
    replaced: dict[int, Replacement] = {}
    for v in np.flatnonzero(kind).tolist():
        if kind[v] == 2:
            replaced[v] = Replacement((), None, (), 0, int(gain[v]), int(const[v]))
            continue
        lv = tuple(x for x in leaves[v].tolist() if x >= 0)
        if form[v] == 0:
            program = Program((), 0, 1)
        else:
            nlit = 2 if form[v] == 1 else 3
            program = _program(_FORM_NAMES[form[v]], tuple(lits[v, :nlit].tolist()), len(lv))
        replaced[v] = Replacement(lv, program, tuple(range(len(lv))), int(negated[v]), int(gain[v]))
    report(progress, "resub", len(ctx.ands), len(ctx.ands))
    return replaced


def resub_replacements(circuit: Circuit, ctx: CostView, cut_size: int = 10, max_gates: int = 2,
                       max_divisors: int = 80, odc_levels: int = 1, progress: Progress | None = None,
                       ) -> dict[int, Replacement]:
    """The resubstitutions chosen for ``circuit`` (not yet applied; see the module docstring).

    ``cut_size``: window leaves (2..12); ``max_gates``: NAND2 gates of a new
    expression before inverters (0: 0-resub only, 1: AND/OR of two, 2:
    AND-OR of three, 3: three-input AND/OR too); ``max_divisors``: divisors
    per window; ``odc_levels``: use observability don't cares through up to
    this many single readers (0: none).
    """
    f0, f1, free, refs = ctx.f0, ctx.f1, ctx.free, ctx.refs
    pair_limit = 24
    n_nodes = len(f0)
    # AND fanouts of every node (live readers only)
    ands = np.asarray(ctx.ands, dtype=np.int64)
    fan_src = np.concatenate([np.asarray(f0)[ands] >> 1, np.asarray(f1)[ands] >> 1]) if len(ands) else ands
    fan_dst = np.concatenate([ands, ands]) if len(ands) else ands
    order = np.argsort(fan_src, kind="stable")
    fan_src, fan_dst = fan_src[order], fan_dst[order]
    starts = np.searchsorted(fan_src, np.arange(n_nodes + 1))
    if use_compiled(len(ctx.ands)):
        return _compiled_replacements(circuit, ctx, cut_size, max_gates, max_divisors, odc_levels, starts, fan_dst,
                                      progress)
    starts, fan_dst = starts.tolist(), fan_dst.tolist()

    pinned: set[int] = set()  # divisors of chosen replacements: they must stay
    dead: set[int] = set()  # nodes freed by chosen replacements
    changed: set[int] = set()  # nodes re-expressed with don't cares (function changed)
    odc_roots: set[int] = set()  # readers one of whose fanins changed

    def fanouts(x: int) -> list[int]:
        return fan_dst[starts[x]:starts[x + 1]]

    def divisors(w: Window, v: int, removed: set[int]) -> list[int]:
        inside = [x for x in (*w.leaves, *w.nodes) if x < v and x not in removed and x not in dead
                  and x not in changed and x]
        have = set(inside)
        table = w.table
        sides = []
        for x in inside:
            outs = fanouts(x)
            if len(outs) > 16:
                continue
            for u in outs:
                if u >= v or u in have or u in removed or u in dead or u in changed:
                    continue
                a, b = f0[u], f1[u]
                if (a >> 1) in have and (b >> 1) in have:
                    mask = w.mask
                    table[u] = (table[a >> 1] ^ (mask if a & 1 else 0)) & (table[b >> 1] ^ (mask if b & 1 else 0))
                    have.add(u)
                    sides.append(u)
        out = inside + sides
        if len(out) > max_divisors:  # keep the nodes nearest the root
            out = sorted(out, reverse=True)[:max_divisors]
        return out

    def root_cost(v: int, negated: int, out_lit: int | None, removed, costly) -> int:
        """Inverters ``v``'s readers need: the new gate's (``out_lit`` None) or an existing literal's."""
        if out_lit is None:
            return int(ctx.neg[v] > 0) if not negated else int(ctx.pos[v] > 0)
        cost = 0
        for phase, reads in ((0, ctx.pos[v]), (1, ctx.neg[v])):
            lit = out_lit ^ negated ^ phase
            if reads and ctx.is_costly(lit) and not ctx.inverter_present(lit, removed, costly):
                cost += 1
        return cost

    def best_for(w: Window, v: int, f: int, care: int, replaced):
        """``(replacement or None, covered replacements, divisors it uses, MFFC nodes)``."""
        inner_set = set(w.nodes)
        guard = tuple(set(w.leaves) | (pinned & inner_set))
        saved, inner, covered, removed, costly = ctx.mffc(v, guard, replaced)
        saved += ctx.pos[v] > 0
        if saved - inner <= 0:
            return None, [], [], removed
        divs = divisors(w, v, removed)
        if not divs:
            return None, [], [], removed
        mask = w.mask
        table = w.table
        lits: list[int] = []
        for x in divs:
            t = table[x] ^ (mask if free[x] else 0)
            lits.append(t)
            lits.append(t ^ mask)
        signals = [2 * x + free[x] for x in divs]
        best: tuple[int, Replacement, list[int]] | None = None
        fc = f & care
        # constants
        if not fc or fc == care:
            const = 0 if not fc else 1
            gain = saved
            if gain - inner > 0:
                return Replacement((), None, (), 0, gain, const), covered, [], removed
        # 0-resub
        for j, t in enumerate(lits):
            if (t ^ f) & care == 0:
                i = j >> 1
                cost = root_cost(v, j & 1, signals[i], removed, costly)
                gain = saved - cost
                if gain - inner > 0 and (best is None or gain > best[0]):
                    best = (gain, Replacement((divs[i],), Program((), 0, 1), (0,), j & 1, gain), [divs[i]])
                    if cost == 0:
                        break
        if best is not None and best[0] == saved:
            return best[1], covered, best[2], removed
        if max_gates >= 1 and saved - inner > 1:
            for h, negated in ((f ^ mask, 0), (f, 1)):  # the output gate NAND = NOT h is f (h = NOT f) or NOT f
                for form, idx in _forms(h, care, lits, min(max_gates, saved - inner - 1), pair_limit):
                    nodes = sorted({i >> 1 for i in idx})
                    if best is not None and best[0] >= saved - len(idx) + 1:
                        break  # cannot beat the best found: every form costs at least its gates
                    local = {i: p for p, i in enumerate(nodes)}
                    ridx = tuple(2 * local[i >> 1] + (i & 1) for i in idx)
                    program = _program(form, ridx, len(nodes))
                    sigs = [signals[i] for i in nodes]
                    cost = ctx.program_cost(circuit, program, sigs, removed, costly)
                    cost += root_cost(v, negated, None, removed, costly)
                    gain = saved - cost
                    if gain - inner > 0 and (best is None or gain > best[0]):
                        leaves = tuple(divs[i] for i in nodes)
                        best = (gain, Replacement(leaves, program, tuple(range(len(nodes))), negated, gain),
                                list(leaves))
        if best is None:
            return None, [], [], removed
        return best[1], covered, best[2], removed

    def decide(v: int, _item, replaced):
        w = window(v, f0, f1, cut_size)
        if len(w.leaves) < 2:
            return None, []
        r, covered, used, removed = best_for(w, v, w.table[v], w.mask, replaced)
        chain: list[int] = []  # the single readers above v: v, chain[:-1] may change, chain[-1] may not
        if r is None and odc_levels:
            x = v
            while len(chain) < odc_levels and refs[x] == 1 and x not in pinned and x not in odc_roots:
                outs = fanouts(x)
                if len(outs) != 1 or outs[0] in odc_roots:
                    break
                x = outs[0]
                chain.append(x)
        while chain:
            root = chain[-1]
            wr = window(root, f0, f1, cut_size)
            if len(wr.leaves) >= 2 and v in set(wr.nodes):
                care = wr.mask
                for x in chain:
                    a, b = f0[x], f1[x]
                    lit = b if (a >> 1) in (v, *chain) else a  # the reader's other fanin
                    care &= wr.table[lit >> 1] ^ (wr.mask if lit & 1 else 0)
                if care != wr.mask:
                    r, covered, used, removed = best_for(wr, v, wr.table[v], care, replaced)
                    if r is not None:
                        break
            chain.pop()
        if r is None:
            return None, []
        pinned.update(used)
        dead.update(removed)
        if chain:  # v and the readers below the root change their functions
            changed.add(v)
            changed.update(chain[:-1])
            odc_roots.update(chain)
        return r, covered

    return select_replacements(((v, None) for v in ctx.ands), len(ctx.ands), decide, progress, "resub")
