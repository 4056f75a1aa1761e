"""Compiled loops of the cut-based engines: priority cuts and the NAND2 mapper's cover.

The pure-Python reference versions are :func:`nandc.synth.cuts.iter_cuts`
and the area-flow / area-recovery loops of :mod:`nandc.passes.mapper`; the
loops here compute exactly the same results (the same cuts in the same
order, the same choices, ties broken the same way; tests compare them) on
numpy arrays, compiled with ``numba.njit`` and cached on disk after the
first use.  This module imports numba, so the engines load it only when
:func:`nandc.synth.compiled.use_compiled` says so.

Cut arrays (per node ``v``, ``ncut[v]`` cuts, cut ``c`` with ``nleaf[v, c]``
leaves ``leaves[v, c, :nleaf]`` in increasing order and truth table
``table[v, c]``) are indexed by node; nodes outside ``nodes`` have no cuts.

Choice arrays of the mapper (per literal ``x``): ``gates[x]`` NAND2 gates,
``nin[x]`` inputs ``inputs[x, :nin]`` (literals), ``table[x]`` the function
over the inputs in their read phases, ``-1`` for an inverter of
``inputs[x, 0]`` or a wire (``nin == 0``).

Resubstitution's windows (:func:`resub_windows`): the reconvergent cuts of
:func:`nandc.synth.factor.reconvergent_cut`, the window nodes of
:func:`nandc.synth.resub.window`, and a verdict per window of what
:func:`nandc.synth.resub.resub_replacements` could find there (its Python
search then skips the windows with nothing to find; tests compare the
verdicts with a Python reference and the replacements both ways).

The ``restructure`` pass's AND-count rewriting (:func:`and_rewrite_decisions`,
the choices of :func:`nandc.synth.andopt.rewrite_choices`) and a filter of
its refactoring's nodes (:func:`and_refactor_sizes`: the nodes whose cut or
cone is too small for :func:`nandc.synth.andopt.refactor_choices` to try).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cut_arrays", "local_cut_arrays", "cut_lists", "area_flow", "direct_choices", "new_refs", "recover_round",
           "rewrite_decisions", "program_arrays", "refactor_saved", "resub_windows",
           "and_rewrite_decisions", "free_tables", "and_refactor_sizes"]

_MASK = 0xFFFF
_VAR0 = 0xAAAA
_INFINITE = float(1 << 20)
_MAX_CONE = 128  # nandc.synth.factor.MAX_CONE: AND nodes in a reconvergent cut's cone (tests check they agree)

from numba import njit  # callers import this module only when numba is there (see nandc.synth.compiled)


# ---------------------------------------------------------------------- cuts
@njit(cache=True, nogil=True)
def _stretch(tt, pos, n):
    """Variable ``i`` of ``tt`` moved to slot ``pos[i]`` (as truth.stretch)."""
    out = 0
    for t in range(16):
        r = 0
        for i in range(n):
            r |= ((t >> pos[i]) & 1) << i
        out |= ((tt >> r) & 1) << t
    return out


@njit(cache=True, nogil=True)
def _shrink(tt, keep):
    """Variables of mask ``keep`` renumbered 0, 1, ... (as truth.shrink)."""
    kept = np.zeros(4, np.int64)
    n = 0
    for i in range(4):
        if (keep >> i) & 1:
            kept[n] = i
            n += 1
    out = 0
    for t in range(16):
        r = 0
        for j in range(n):
            r |= ((t >> j) & 1) << kept[j]
        out |= ((tt >> r) & 1) << t
    return out


@njit(cache=True, nogil=True)
def _find(ml, mn, m, lv, n):
    """Index of the cut with leaves ``lv[:n]`` among the first ``m`` of ``ml``/``mn``, or -1."""
    for i in range(m):
        if mn[i] != n:
            continue
        same = True
        for j in range(n):
            if ml[i, j] != lv[j]:
                same = False
                break
        if same:
            return i
    return -1


@njit(cache=True, nogil=True)
def _less_leaves(ml, i, j, n):
    """Leaves of cut ``i`` before those of cut ``j`` (both ``n`` leaves), lexicographically."""
    for t in range(n):
        if ml[i, t] != ml[j, t]:
            return ml[i, t] < ml[j, t]
    return False


@njit(cache=True, nogil=True)
def _load(u, neg, leaves, nleaf, table, ncut, al, an, at):
    """The cuts of literal ``2u + neg`` with the trivial one first (as cuts.iter_cuts's with_trivial)."""
    flip = _MASK if neg else 0
    if u == 0:
        an[0] = 0
        at[0] = 0 ^ flip
        return 1
    an[0] = 1
    al[0, 0] = u
    at[0] = _VAR0 ^ flip
    c = ncut[u]
    for i in range(c):
        n = nleaf[u, i]
        an[i + 1] = n
        for j in range(n):
            al[i + 1, j] = leaves[u, i, j]
        at[i + 1] = table[u, i] ^ flip
    return c + 1


@njit(cache=True, nogil=True)
def _cut_kernel(f0, f1, nodes, k, limit, support, src_leaves, src_nleaf, src_table, src_ncut,
                leaves, nleaf, table, ncut, mem_start, mem_lit, max_members):
    """Cuts of ``nodes`` into ``leaves``/``nleaf``/``table``/``ncut`` from the fanins'
    cuts in the ``src_`` arrays (the same arrays: all cuts; the previous level: local cuts),
    and from the cuts of node ``v``'s members ``mem_lit[mem_start[v]:mem_start[v + 1]]``
    (structural choices, as cuts.iter_cuts; at most ``max_members`` per node)."""
    cap = (limit + 1) * (limit + 1) + max_members * limit
    al = np.zeros((limit + 1, 4), np.int64)
    an = np.zeros(limit + 1, np.int64)
    at = np.zeros(limit + 1, np.int64)
    bl = np.zeros((limit + 1, 4), np.int64)
    bn = np.zeros(limit + 1, np.int64)
    bt = np.zeros(limit + 1, np.int64)
    ml = np.zeros((cap, 4), np.int64)
    mn = np.zeros(cap, np.int64)
    mt = np.zeros(cap, np.int64)
    union = np.zeros(8, np.int64)
    pos = np.zeros(4, np.int64)
    sub = np.zeros(4, np.int64)
    order = np.zeros(cap, np.int64)
    taken = np.zeros(cap, np.bool_)
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        a = f0[v]
        b = f1[v]
        na = _load(a >> 1, a & 1, src_leaves, src_nleaf, src_table, src_ncut, al, an, at)
        nb = _load(b >> 1, b & 1, src_leaves, src_nleaf, src_table, src_ncut, bl, bn, bt)
        m = 0
        for i in range(na):
            for j in range(nb):
                # sorted union of the two leaf sets, abandoned beyond k leaves
                p = 0
                q = 0
                n = 0
                over = False
                while p < an[i] or q < bn[j]:
                    if q >= bn[j] or (p < an[i] and al[i, p] < bl[j, q]):
                        x = al[i, p]
                        p += 1
                    elif p >= an[i] or bl[j, q] < al[i, p]:
                        x = bl[j, q]
                        q += 1
                    else:
                        x = al[i, p]
                        p += 1
                        q += 1
                    if n >= k:
                        over = True
                        break
                    union[n] = x
                    n += 1
                if over:
                    continue
                if _find(ml, mn, m, union, n) >= 0:
                    continue
                for t in range(an[i]):
                    for s in range(n):
                        if union[s] == al[i, t]:
                            pos[t] = s
                x = _stretch(at[i], pos, an[i])
                for t in range(bn[j]):
                    for s in range(n):
                        if union[s] == bl[j, t]:
                            pos[t] = s
                y = _stretch(bt[j], pos, bn[j])
                tt = x & y
                sup = support[tt]
                if sup == (1 << n) - 1:
                    for s in range(n):
                        ml[m, s] = union[s]
                    mn[m] = n
                    mt[m] = tt
                    m += 1
                else:
                    c = 0
                    for s in range(n):
                        if (sup >> s) & 1:
                            sub[c] = union[s]
                            c += 1
                    if _find(ml, mn, m, sub, c) < 0:
                        for s in range(c):
                            ml[m, s] = sub[s]
                        mn[m] = c
                        mt[m] = _shrink(tt, sup)
                        m += 1
        for e in range(mem_start[v], mem_start[v + 1]):  # the members' cuts (choices)
            u = mem_lit[e] >> 1
            flip = _MASK if mem_lit[e] & 1 else 0
            for i in range(src_ncut[u]):
                n = src_nleaf[u, i]
                for s in range(n):
                    union[s] = src_leaves[u, i, s]
                if _find(ml, mn, m, union, n) >= 0:
                    continue
                for s in range(n):
                    ml[m, s] = union[s]
                mn[m] = n
                mt[m] = src_table[u, i] ^ flip
                m += 1
        # priority: as cuts._priority
        out = 0
        if m <= limit:
            for s in range(m):  # stable insertion sort by size
                order[s] = s
                t = s
                while t > 0 and mn[order[t - 1]] > mn[order[t]]:
                    order[t - 1], order[t] = order[t], order[t - 1]
                    t -= 1
            out = m
        else:
            for s in range(m):  # by (size, leaves)
                order[s] = s
                t = s
                while t > 0:
                    x = order[t - 1]
                    y = order[t]
                    if mn[x] > mn[y] or (mn[x] == mn[y] and _less_leaves(ml, y, x, mn[x])):
                        order[t - 1], order[t] = y, x
                        t -= 1
                    else:
                        break
            small = limit - limit // 2
            for s in range(m):
                taken[s] = False
            for s in range(small):
                taken[order[s]] = True
            rest = small
            for s in range(m):  # the others in insertion order, stable by (last leaf, -size)
                if taken[s]:
                    continue
                order[rest] = s
                t = rest
                rest += 1
                while t > small:
                    x = order[t - 1]
                    y = order[t]
                    kx = ml[x, mn[x] - 1] if mn[x] else 0
                    ky = ml[y, mn[y] - 1] if mn[y] else 0
                    if kx > ky or (kx == ky and -mn[x] > -mn[y]):
                        order[t - 1], order[t] = y, x
                        t -= 1
                    else:
                        break
            out = small + min(limit // 2, m - small)
        for s in range(out):
            src = order[s]
            nleaf[v, s] = mn[src]
            for t in range(mn[src]):
                leaves[v, s, t] = ml[src, t]
            table[v, s] = mt[src]
        ncut[v] = out


def _empty_cuts(num_nodes: int, limit: int):
    return (np.zeros((num_nodes, limit, 4), np.int32), np.zeros((num_nodes, limit), np.int8),
            np.zeros((num_nodes, limit), np.int32), np.zeros(num_nodes, np.int32))


def _support_array() -> np.ndarray:
    global _SUPPORT_ARRAY
    if _SUPPORT_ARRAY is None:
        from nandc.synth.truth import _SUPPORT

        _SUPPORT_ARRAY = np.asarray(_SUPPORT, dtype=np.int64)
    return _SUPPORT_ARRAY


_SUPPORT_ARRAY = None


def _member_arrays(num_nodes: int, members: dict[int, list[int]] | None):
    """``(start, literals, most)``: ``members`` (node -> member literals) in CSR form."""
    count = np.zeros(num_nodes + 1, np.int64)
    for v, lits in (members or {}).items():
        count[v + 1] = len(lits)
    start = np.cumsum(count)
    lits = np.zeros(max(1, int(start[-1])), np.int64)
    for v, got in (members or {}).items():
        lits[start[v]:start[v] + len(got)] = got
    return start, lits, int(count.max()) if num_nodes else 0


def cut_arrays(f0: np.ndarray, f1: np.ndarray, nodes, k: int = 4, limit: int = 8,
               members: dict[int, list[int]] | None = None):
    """``(leaves, nleaf, table, ncut)``: the cuts of :func:`nandc.synth.cuts.iter_cuts`
    (same cuts, same order, ``members`` included) of every node of ``nodes`` as arrays
    (see the module docstring)."""
    f0 = np.ascontiguousarray(f0, dtype=np.int64)
    f1 = np.ascontiguousarray(f1, dtype=np.int64)
    nodes = np.ascontiguousarray(nodes, dtype=np.int64)
    out = _empty_cuts(len(f0), int(limit))
    _cut_kernel(f0, f1, nodes, int(k), int(limit), _support_array(), *out, *out, *_member_arrays(len(f0), members))
    return out


def local_cut_arrays(f0: np.ndarray, f1: np.ndarray, ands, nodes, k: int = 4, limit: int = 8, depth: int = 3):
    """The cuts :class:`nandc.synth.cuts.LocalCuts` gives each node of ``nodes``
    (same cuts, same order) as arrays; ``ands``: every AND node the cones of
    ``nodes`` may reach, in topological order."""
    f0 = np.ascontiguousarray(f0, dtype=np.int64)
    f1 = np.ascontiguousarray(f1, dtype=np.int64)
    ands = np.ascontiguousarray(ands, dtype=np.int64)
    nodes = np.ascontiguousarray(nodes, dtype=np.int64)
    n, limit = len(f0), int(limit)
    level = _empty_cuts(n, limit)  # depth 0: the trivial cut only
    for d in range(1, max(1, depth) + 1):
        nxt = _empty_cuts(n, limit)
        _cut_kernel(f0, f1, nodes if d == depth else ands, int(k), limit, _support_array(), *level, *nxt,
                    *_member_arrays(n, None))
        level = nxt
    return level


def cut_lists(arrays, nodes):
    """``(node, [(leaves, table), ...])`` per node of ``nodes`` from :func:`cut_arrays`'s result."""
    leaves, nleaf, table, ncut = arrays
    for v in nodes:
        c = int(ncut[v])
        lv = leaves[v, :c].tolist()
        nl = nleaf[v, :c].tolist()
        tt = table[v, :c].tolist()
        yield v, [(tuple(lv[i][:nl[i]]), tt[i]) for i in range(c)]


# ---------------------------------------------------------------------- the mapper's cover
@njit(cache=True, nogil=True)
def _area_flow_kernel(ands, inputs, fanout, leaves, nleaf, table, ncut, costs, neg,
                      gates, nin, ins, tab, flow):
    _fill_inputs(inputs, gates, nin, ins, tab, flow)
    p0 = np.zeros(4)
    p1 = np.zeros(4)
    sums = np.zeros(16)
    bf = np.zeros(2)
    bg = np.zeros(2, np.int64)
    bn = np.zeros(2, np.int64)
    bi = np.zeros((2, 4), np.int64)
    bt = np.zeros(2, np.int64)
    for idx in range(ands.shape[0]):
        v = ands[idx]
        bf[0] = _INFINITE
        bf[1] = _INFINITE
        bn[0] = -1
        bn[1] = -1
        for c in range(ncut[v]):
            n = nleaf[v, c]
            tt = table[v, c]
            if n == 0:
                for ph in range(2):
                    bf[ph] = 0.0
                    bg[ph] = 0
                    bn[ph] = 0
                    bt[ph] = tt ^ (_MASK if ph else 0)
                break
            for i in range(n):
                u = leaves[v, c, i]
                p0[i] = flow[2 * u] / fanout[u]
                p1[i] = flow[2 * u + 1] / fanout[u]
            for mm in range(1 << n):
                s = 0.0
                for i in range(n):
                    s = s + (p1[i] if (mm >> i) & 1 else p0[i])
                sums[mm] = s
            for ph in range(2):
                g0 = tt ^ (_MASK if ph else 0)
                best = costs[g0, 0] + sums[0]
                bm = 0
                for mm in range(1, 1 << n):
                    t = costs[g0, mm] + sums[mm]
                    if t < best:
                        best = t
                        bm = mm
                if best >= bf[ph]:
                    continue
                bf[ph] = best
                bg[ph] = costs[g0, bm]
                bn[ph] = n
                for i in range(n):
                    bi[ph, i] = 2 * leaves[v, c, i] + ((bm >> i) & 1)
                bt[ph] = neg[g0, bm]
        for ph in range(2):
            lit = 2 * v + ph
            fl = bf[ph]
            if bf[1 - ph] + 1 < fl:
                flow[lit] = bf[1 - ph] + 1
                gates[lit] = 1
                nin[lit] = 1
                ins[lit, 0] = 2 * v + 1 - ph
                tab[lit] = -1
            else:
                flow[lit] = fl
                gates[lit] = bg[ph]
                nin[lit] = bn[ph]
                for i in range(bn[ph]):
                    ins[lit, i] = bi[ph, i]
                tab[lit] = bt[ph]


@njit(cache=True, nogil=True)
def _fill_inputs(inputs, gates, nin, ins, tab, flow):
    gates[0] = gates[1] = 0
    nin[0] = nin[1] = 0
    tab[0] = tab[1] = -1
    for idx in range(inputs.shape[0]):
        u = inputs[idx]
        gates[2 * u] = 0
        nin[2 * u] = 0
        tab[2 * u] = -1
        gates[2 * u + 1] = 1
        nin[2 * u + 1] = 1
        ins[2 * u + 1, 0] = 2 * u
        tab[2 * u + 1] = -1
        flow[2 * u + 1] = 1.0


def area_flow(num_nodes: int, ands: np.ndarray, inputs, fanout: np.ndarray, cuts, costs: np.ndarray,
              neg: np.ndarray):
    """The mapper's least-area-flow choices of both phases of every node, as choice arrays
    ``(gates, nin, inputs, table)`` (see the module docstring)."""
    leaves, nleaf, table, ncut = cuts
    gates = np.zeros(2 * num_nodes, np.int64)
    nin = np.full(2 * num_nodes, -1, np.int64)
    ins = np.zeros((2 * num_nodes, 4), np.int64)
    tab = np.full(2 * num_nodes, -1, np.int64)
    flow = np.zeros(2 * num_nodes)
    _area_flow_kernel(np.asarray(ands, np.int64), np.asarray(inputs, np.int64),
                      np.asarray(fanout, np.float64), leaves, nleaf, table, ncut, costs, neg,
                      gates, nin, ins, tab, flow)
    return gates, nin, ins, tab


def direct_choices(ands: np.ndarray, f0: np.ndarray, f1: np.ndarray, choice) -> None:
    """Literal translation's choices (``~v`` the NAND of ``v``'s fanins, ``v`` its inverter), in place."""
    gates, nin, ins, tab = choice
    ands = np.asarray(ands, np.int64)
    neg_lits = 2 * ands + 1
    gates[neg_lits] = 1
    nin[neg_lits] = 2
    ins[neg_lits, 0] = f0[ands]
    ins[neg_lits, 1] = f1[ands]
    tab[neg_lits] = _MASK ^ (0xAAAA & 0xCCCC)
    gates[2 * ands] = 1
    nin[2 * ands] = 1
    ins[2 * ands, 0] = neg_lits
    tab[2 * ands] = -1


@njit(cache=True, nogil=True)
def _count(lit, step, refs, gates, nin, ins, stack):
    changed = 0
    edge = 1 if step > 0 else 0
    top = 0
    stack[0] = lit
    top = 1
    while top:
        top -= 1
        x = stack[top]
        refs[x] += step
        if refs[x] == edge:
            changed += gates[x]
            for i in range(nin[x]):
                stack[top] = ins[x, i]
                top += 1
    return changed


@njit(cache=True, nogil=True)
def _ref_outputs(outputs, refs, gates, nin, ins, stack):
    for i in range(outputs.shape[0]):
        _count(outputs[i], 1, refs, gates, nin, ins, stack)


def new_refs(outputs, choice):
    """Reference counts of the cover of ``outputs`` (literals) under ``choice``."""
    gates, nin, ins, _ = choice
    refs = np.zeros(len(gates), np.int64)
    stack = np.zeros(4 * len(gates) + 8, np.int64)
    _ref_outputs(np.asarray(outputs, np.int64), refs, gates, nin, ins, stack)
    return refs


@njit(cache=True, nogil=True)
def _exact(x, refs, gates, nin, ins, stack, memo, stamp, now):
    if stamp[x] == now:
        return memo[x]
    if refs[x]:
        got = 0
    else:
        got = _count(x, 1, refs, gates, nin, ins, stack)
        _count(x, -1, refs, gates, nin, ins, stack)
    memo[x] = got
    stamp[x] = now
    return got


@njit(cache=True, nogil=True)
def _recover_kernel(ands, leaves, nleaf, table, ncut, costs, neg, gates, nin, ins, tab, refs):
    size = gates.shape[0]
    stack = np.zeros(4 * size + 8, np.int64)
    memo = np.zeros(size, np.int64)
    stamp = np.zeros(size, np.int64)
    now = 0
    e0 = np.zeros(4, np.int64)
    e1 = np.zeros(4, np.int64)
    sums = np.zeros(16, np.int64)
    best_in = np.zeros(4, np.int64)
    for idx in range(ands.shape[0]):
        v = ands[idx]
        for ph in range(2):
            lit = 2 * v + ph
            if not refs[lit]:
                continue
            for i in range(nin[lit]):
                _count(ins[lit, i], -1, refs, gates, nin, ins, stack)
            now += 1
            best = gates[lit]
            for i in range(nin[lit]):
                best += _exact(ins[lit, i], refs, gates, nin, ins, stack, memo, stamp, now)
            # the current choice
            bg = gates[lit]
            bn = nin[lit]
            for i in range(bn):
                best_in[i] = ins[lit, i]
            bt = tab[lit]
            other = lit ^ 1
            if tab[other] != -1 or nin[other] == 0:
                t = 1 + _exact(other, refs, gates, nin, ins, stack, memo, stamp, now)
                if t < best:
                    best = t
                    bg = 1
                    bn = 1
                    best_in[0] = other
                    bt = -1
            flip = _MASK if ph else 0
            for c in range(ncut[v]):
                n = nleaf[v, c]
                if n == 0:
                    best = 0
                    bg = 0
                    bn = 0
                    bt = table[v, c] ^ flip
                    break
                for i in range(n):
                    u = leaves[v, c, i]
                    e0[i] = _exact(2 * u, refs, gates, nin, ins, stack, memo, stamp, now)
                    e1[i] = _exact(2 * u + 1, refs, gates, nin, ins, stack, memo, stamp, now)
                for mm in range(1 << n):
                    s = 0
                    for i in range(n):
                        s += e1[i] if (mm >> i) & 1 else e0[i]
                    sums[mm] = s
                g0 = table[v, c] ^ flip
                tb = costs[g0, 0] + sums[0]
                bm = 0
                for mm in range(1, 1 << n):
                    t = costs[g0, mm] + sums[mm]
                    if t < tb:
                        tb = t
                        bm = mm
                if tb >= best:
                    continue
                best = tb
                bg = costs[g0, bm]
                bn = n
                for i in range(n):
                    best_in[i] = 2 * leaves[v, c, i] + ((bm >> i) & 1)
                bt = neg[g0, bm]
            gates[lit] = bg
            nin[lit] = bn
            for i in range(bn):
                ins[lit, i] = best_in[i]
            tab[lit] = bt
            for i in range(bn):
                _count(best_in[i], 1, refs, gates, nin, ins, stack)


def recover_round(ands, cuts, costs: np.ndarray, neg: np.ndarray, choice, refs) -> None:
    """One round of the mapper's area recovery (exact area), in place on ``choice`` and ``refs``."""
    leaves, nleaf, table, ncut = cuts
    gates, nin, ins, tab = choice
    _recover_kernel(np.asarray(ands, np.int64), leaves, nleaf, table, ncut, costs, neg,
                    gates, nin, ins, tab, refs)


# ---------------------------------------------------------------------- rewriting's decisions
@njit(cache=True, nogil=True)
def _lookup_and(a, b, htab, hmask, f0, f1):
    """As Circuit.lookup_and; -1 for None."""
    if a > b:
        a, b = b, a
    if a < 2:
        return b if a == 1 else 0
    if a == b:
        return a
    if a ^ 1 == b:
        return 0
    h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & hmask
    while True:
        n = htab[h]
        if n == 0:
            return -1
        if f0[n] == a and f1[n] == b:
            return 2 * n
        h = (h + 1) & hmask


@njit(cache=True, nogil=True)
def _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst, dec_st, dec,
                removed, stack, touched):
    """NAND2 gates freed by removing ``v``'s MFFC above the leaves marked ``stamp`` in ``leaf_st``
    (as ``CostView.mffc(v, leaves).saved`` without ``v``'s own inverter); returns ``(saved, nrem)``
    with the removed nodes in ``removed[:nrem]`` (``v`` first), each marked ``stamp`` in ``in_st``."""
    nrem = 1
    removed[0] = v
    in_st[v] = stamp
    top = 1
    stack[0] = v
    ntouch = 0
    while top:
        top -= 1
        u = stack[top]
        for side in range(2):
            lit = f0[u] if side == 0 else f1[u]
            w = lit >> 1
            if w == 0:
                continue
            if (lit & 1) != free[w]:
                if cst_st[w] != stamp:
                    cst_st[w] = stamp
                    cst[w] = 0
                    touched[ntouch] = w
                    ntouch += 1
                cst[w] += 1
            if leaf_st[w] == stamp or f0[w] == 0:
                continue
            if dec_st[w] != stamp:
                dec_st[w] = stamp
                dec[w] = 0
            dec[w] += 1
            if dec[w] == refs[w]:
                removed[nrem] = w
                nrem += 1
                in_st[w] = stamp
                stack[top] = w
                top += 1
    saved = nrem
    for i in range(1, nrem):
        if pos[removed[i]]:
            saved += 1
    for i in range(ntouch):
        w = touched[i]
        if in_st[w] != stamp:
            creads = pos[w] if free[w] else negr[w]
            if cst[w] == creads:
                saved += 1
    return saved, nrem


@njit(cache=True, nogil=True)
def _mffc_scratch(size):
    """The scratch arrays of the compiled rewriting loops, for a circuit of ``size`` nodes."""
    z = np.zeros(size, np.int64)
    return (z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), np.zeros(size + 2, np.int64),
            np.zeros(2 * size + 2, np.int64), z.copy(), z)


@njit(cache=True, nogil=True)
def _covered(removed, nrem, rep_kind, rep_gain, covered):
    """``(count, gain)`` of the earlier replacements among the removed nodes ``removed[1:nrem]``
    (listed in ``covered``), whose gains a new replacement must beat."""
    ncov = 0
    inner = 0
    for i in range(1, nrem):
        u = removed[i]
        if rep_kind[u]:
            covered[ncov] = u
            ncov += 1
            inner += rep_gain[u]
    return ncov, inner


@njit(cache=True, nogil=True)
def _program_cost(pr, prog_gates, prog_ngates, sig, free, in_st, stamp, pos, negr, cst, cst_st, htab, hmask, f0, f1):
    """CostView.program_cost: NAND2 gates program ``pr`` adds over the leaf signals ``sig[:4]``
    (DAG-aware: a gate or inverter that exists outside the cone is free); fills ``sig[4:]``
    with the gates' literals (-1: a new gate)."""
    cost = 0
    ng = prog_ngates[pr]
    for gi in range(ng):
        j = prog_gates[pr, gi, 0]
        k = prog_gates[pr, gi, 1]
        a = sig[j]
        b = sig[k]
        out = -1
        if a >= 0 and b >= 0:
            if j == k:
                lt = a ^ 1
                w = lt >> 1
                present = False
                if w == 0 or (lt & 1) == free[w]:
                    present = True
                elif in_st[w] != stamp:
                    creads = pos[w] if free[w] else negr[w]
                    have = cst[w] if cst_st[w] == stamp else 0
                    present = creads > have
                if present:
                    out = lt
            else:
                fnd = _lookup_and(a, b, htab, hmask, f0, f1)
                if fnd > 1 and in_st[fnd >> 1] != stamp:
                    out = fnd ^ 1
        if out < 0:
            cost += 1
            if j == k and a >= 0:
                out = a ^ 1
        sig[4 + gi] = out
    return cost


@njit(cache=True, nogil=True)
def _rewrite_kernel(nodes, leaves, nleaf, table, ncut, f0, f1, refs, pos, negr, free, htab, hmask,
                    negtab, canon, perm_index, perms, prog_of, prog_ngates, prog_gates, slack,
                    rep_kind, rep_cut, rep_prog, rep_perm, rep_neg, rep_gain, rep_const):
    """CostView.mffc + CostView.program_cost + rewrite._best_replacement +
    resynth.select_replacements, node by node.  ``rep_kind[v]``: 0 none, 1 a
    program, 2 a constant."""
    dec, dec_st, cst, cst_st, in_st, leaf_st, removed, stack, touched, covered, best_cov = _mffc_scratch(f0.shape[0])
    stamp = 0
    sig = np.zeros(64, np.int64)
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        found = False
        best_extra = 0
        nbest_cov = 0
        b_kind = 0
        b_cut = 0
        b_prog = 0
        b_perm = 0
        b_neg = 0
        b_gain = 0
        b_const = 0
        root_pos = 1 if pos[v] > 0 else 0
        root_neg = 1 if negr[v] > 0 else 0
        for c in range(ncut[v]):
            n = nleaf[v, c]
            # ---- mffc(v, leaves, replaced)
            stamp += 1
            for i in range(n):
                leaf_st[leaves[v, c, i]] = stamp
            saved, nrem = _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst,
                                      dec_st, dec, removed, stack, touched)
            ncov, inner = _covered(removed, nrem, rep_kind, rep_gain, covered)
            saved += root_pos
            if n == 0:
                if saved - inner > best_extra:
                    found = True
                    b_kind = 2
                    b_gain = saved
                    b_const = table[v, c] & 1
                    best_extra = saved - inner
                    nbest_cov = ncov
                    for i in range(ncov):
                        best_cov[i] = covered[i]
                continue
            if saved - min(root_pos, root_neg) - inner - best_extra - 1 + slack < 0:
                continue
            fm = 0
            for i in range(n):
                fm |= free[leaves[v, c, i]] << i
            g = negtab[table[v, c], fm]
            for negated in range(2):
                root_inv = root_neg if negated == 0 else root_pos
                bound = saved - root_inv - inner - best_extra - 1 + slack
                if bound < 0:
                    continue
                t = g ^ (_MASK if negated else 0)
                pr = prog_of[canon[t]]
                if pr < 0 or prog_ngates[pr] > bound:
                    continue
                pi = perm_index[t]
                for i in range(4):
                    sig[i] = 0
                for i in range(n):
                    x = leaves[v, c, i]
                    sig[perms[pi, i]] = 2 * x + free[x]
                # ---- program_cost (DAG-aware), -1 = unknown signal
                cost = _program_cost(pr, prog_gates, prog_ngates, sig, free, in_st, stamp, pos, negr, cst, cst_st,
                                     htab, hmask, f0, f1)
                gain = saved - root_inv - cost
                if gain - inner > best_extra:
                    found = True
                    b_kind = 1
                    b_cut = c
                    b_prog = pr
                    b_perm = pi
                    b_neg = negated
                    b_gain = gain
                    best_extra = gain - inner
                    nbest_cov = ncov
                    for i in range(ncov):
                        best_cov[i] = covered[i]
        if found:
            for i in range(nbest_cov):
                rep_kind[best_cov[i]] = 0
            rep_kind[v] = b_kind
            rep_cut[v] = b_cut
            rep_prog[v] = b_prog
            rep_perm[v] = b_perm
            rep_neg[v] = b_neg
            rep_gain[v] = b_gain
            rep_const[v] = b_const


def rewrite_decisions(nodes, cuts, f0, f1, refs, pos, neg_reads, free, hash_table, programs, slack: int):
    """Rewriting's replacements (as :func:`nandc.passes.rewrite.choose_replacements`
    chooses them with a library that makes no search) for ``nodes`` with ``cuts``.

    ``programs``: ``(prog_of, ngates, gates)`` from :func:`program_arrays`.
    Returns per node ``(kind, cut, program, perm index, negated, gain, const)``
    arrays; ``kind`` 0: none, 1: a program, 2: a constant.
    """
    from nandc.synth.cost import cut_cost_arrays
    from nandc.synth.truth import PERMS, _canonical_tables

    global _CANON_ARRAYS
    if _CANON_ARRAYS is None:
        best, perm_index = _canonical_tables()
        _CANON_ARRAYS = (best.astype(np.int64), perm_index.astype(np.int64), np.array(PERMS, dtype=np.int64))
    canon, perm_index, perms = _CANON_ARRAYS
    negtab, _ = cut_cost_arrays()
    leaves, nleaf, table, ncut = cuts
    n = len(f0)
    rep = (np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
           np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64))
    prog_of, ngates, gates = programs
    htab, hmask = hash_table
    _rewrite_kernel(np.asarray(nodes, np.int64), leaves, nleaf, table, ncut,
                    np.asarray(f0, np.int64), np.asarray(f1, np.int64), np.asarray(refs, np.int64),
                    np.asarray(pos, np.int64), np.asarray(neg_reads, np.int64), np.asarray(free, np.int64),
                    htab, int(hmask), negtab, canon, perm_index, perms, prog_of, ngates, gates, int(slack), *rep)
    return rep


_CANON_ARRAYS = None


def program_arrays(programs: dict):
    """``(prog_of, ngates, gates)``: per canonical table the index of its program in
    ``programs`` (``{canon: Program}``; -1: none), each program's gate count,
    and its gates (``gates[p, i] = (j, k)``).  Remembered for the last dict given."""
    global _PROGRAM_ARRAYS
    if _PROGRAM_ARRAYS is not None and _PROGRAM_ARRAYS[0] is programs:
        return _PROGRAM_ARRAYS[1]
    items = list(programs.items())
    width = max([len(p.gates) for _, p in items] + [1])
    prog_of = np.full(1 << 16, -1, np.int64)
    prog_of[[canon for canon, _ in items]] = np.arange(len(items))
    ngates = np.array([len(p.gates) for _, p in items] + [0], np.int64)
    rows = [list(p.gates) + [(0, 0)] * (width - len(p.gates)) for _, p in items] + [[(0, 0)] * width]
    gates = np.array(rows, np.int64).reshape(len(items) + 1, width, 2)
    _PROGRAM_ARRAYS = (programs, (prog_of, ngates, gates))
    return _PROGRAM_ARRAYS[1]


_PROGRAM_ARRAYS = None


# ---------------------------------------------------------------------- refactoring's candidates
@njit(cache=True, nogil=True)
def _add_leaf(lv, nl, u):
    """Append node ``u`` to the first ``nl`` leaves ``lv`` unless it is there; the new count."""
    for i in range(nl):
        if lv[i] == u:
            return nl
    lv[nl] = u
    return nl + 1


@njit(cache=True, nogil=True)
def _reconvergent(v, f0, f1, k, vis, stamp, lv):
    """factor.reconvergent_cut(v, f0, f1, k): its leaves in ``lv[:nl]`` (unsorted); returns ``nl``.
    ``vis`` marks the visited nodes with ``stamp`` (a value no earlier call used); at most ``k``
    leaves (or the two fanins of ``v``, when ``k`` < 2), and at most ``_MAX_CONE`` AND nodes in the cone."""
    nl = 0
    for side in range(2):
        u = (f0[v] if side == 0 else f1[v]) >> 1
        if u:
            nl = _add_leaf(lv, nl, u)
    vis[v] = stamp
    for i in range(nl):
        vis[lv[i]] = stamp
    inner = 1
    while inner < _MAX_CONE:
        best = -1
        best_cost = k + 1
        for i in range(nl):
            x = lv[i]
            if f0[x] == 0:
                continue
            cnt = 0
            for side in range(2):
                u = (f0[x] if side == 0 else f1[x]) >> 1
                if u and vis[u] != stamp:
                    cnt += 1
            cost = cnt - 1
            if cost < best_cost or (cost == best_cost and x > best):
                best = x
                best_cost = cost
        if best < 0 or nl + best_cost > k:
            return nl
        for i in range(nl):
            if lv[i] == best:
                lv[i] = lv[nl - 1]
                nl -= 1
                break
        inner += 1
        for side in range(2):
            u = (f0[best] if side == 0 else f1[best]) >> 1
            if u and vis[u] != stamp:  # (a visited fanin is a leaf already or inside the cone)
                lv[nl] = u
                nl += 1
                vis[u] = stamp
    return nl


_VAR_WORDS = np.array([0xAAAAAAAAAAAAAAAA, 0xCCCCCCCCCCCCCCCC, 0xF0F0F0F0F0F0F0F0, 0xFF00FF00FF00FF00,
                       0xFFFF0000FFFF0000, 0xFFFFFFFF00000000], dtype=np.uint64)
_ONES = 0xFFFFFFFFFFFFFFFF


@njit(cache=True, nogil=True)
def _window_tables(root, f0, f1, k, vis, mark, stamp, lv, inner, stack, tables, slot, order):
    """resub.window(root): leaves (sorted, ``lv[:nl]``), nodes (increasing, ``inner[:ni]``) and
    their tables over the leaves (``tables[j]`` for node ``order[j]``, leaves first; ``slot[node] = j``).
    Returns ``(nl, ni, words, lastmask, ok)``; no tables unless ``ok`` (fewer than 2 leaves, or
    too many nodes for the scratch arrays)."""
    nl = _reconvergent(root, f0, f1, k, vis, stamp, lv)
    lv[:nl] = np.sort(lv[:nl])
    for i in range(nl):
        mark[lv[i]] = stamp
    mark[0] = stamp
    ni = 0
    top = 0
    stack[top] = root
    top += 1
    while top:
        top -= 1
        u = stack[top]
        if mark[u] == stamp:
            continue
        mark[u] = stamp
        inner[ni] = u
        ni += 1
        stack[top] = f0[u] >> 1
        stack[top + 1] = f1[u] >> 1
        top += 2
    inner[:ni] = np.sort(inner[:ni])
    words = max(1, (1 << nl) >> 6)
    lastmask = np.uint64(_ONES) if nl >= 6 else np.uint64((1 << (1 << nl)) - 1)
    if nl < 2 or nl > k or 17 * (nl + ni) > order.shape[0]:
        return nl, ni, words, lastmask, False
    for i in range(nl):
        x = lv[i]
        slot[x] = i
        order[i] = x
        for w in range(words):
            if i < 6:
                tables[i, w] = _VAR_WORDS[i] & lastmask
            else:
                tables[i, w] = np.uint64(_ONES) if (w >> (i - 6)) & 1 else np.uint64(0)
    for j in range(ni):
        u = inner[j]
        a, b = f0[u], f1[u]
        for w in range(words):
            ta = tables[slot[a >> 1], w] if (a >> 1) else np.uint64(0)
            tb = tables[slot[b >> 1], w] if (b >> 1) else np.uint64(0)
            if a & 1:
                ta = ~ta & lastmask
            if b & 1:
                tb = ~tb & lastmask
            tables[nl + j, w] = ta & tb
        slot[u] = nl + j
        order[nl + j] = u
    return nl, ni, words, lastmask, True


@njit(cache=True, nogil=True)
def _may_resub0(v, nl, ni, words, lastmask, care, f0, f1, fan_start, fan_dst, have, stamp, tables, slot, order):
    """With the window tables of :func:`_window_tables` (the window holds ``v``): whether ``v`` may be a
    constant or a divisor (either phase) where ``care`` is 1, over the divisors of
    resub_replacements.divisors with nothing excluded (window nodes below ``v``, then the readers of
    those, read by at most 16, whose fanins are divisors)."""
    n_div = nl + ni
    for j in range(n_div):
        if order[j] < v:
            have[order[j]] = stamp
    total = n_div
    for j in range(n_div):
        x = order[j]
        if x >= v:
            continue
        c0, c1 = fan_start[x], fan_start[x + 1]
        if c1 - c0 > 16:
            continue
        for c in range(c0, c1):
            u = fan_dst[c]
            if u >= v or have[u] == stamp:
                continue
            a, b = f0[u], f1[u]
            if have[a >> 1] == stamp and have[b >> 1] == stamp:
                for w in range(words):
                    ta = tables[slot[a >> 1], w]
                    tb = tables[slot[b >> 1], w]
                    if a & 1:
                        ta = ~ta & lastmask
                    if b & 1:
                        tb = ~tb & lastmask
                    tables[total, w] = ta & tb
                slot[u] = total
                order[total] = u
                have[u] = stamp
                total += 1
    sv = slot[v]
    zero = True
    full = True
    for w in range(words):
        fc = tables[sv, w] & care[w]
        if fc != 0:
            zero = False
        if fc != care[w]:
            full = False
    if zero or full:
        return True
    for j in range(total):
        if order[j] >= v:
            continue
        same = True
        comp = True
        for w in range(words):
            d = (tables[j, w] ^ tables[sv, w]) & care[w]
            if d != 0:
                same = False
            if d != care[w]:
                comp = False
        if same or comp:
            return True
    return False


#: resub_windows' verdicts: nothing can be found; only a form may be (never a constant or one divisor);
#: anything may be.
_NOTHING, _FORMS, _MAYBE = 0, 1, 2


@njit(cache=True, nogil=True)
def _small_or_forms(v, nl, lv, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst, dec_st, dec,
                    removed, stack, touched):
    """For a ``v`` with no 0-resubstitution in a window with leaves ``lv[:nl]``: _NOTHING if ``v``'s
    cone above those leaves frees at most one gate with its own inverter (any more guard nodes, and
    earlier replacements inside, only lower what resub_replacements' best_for counts: no form is
    tried), else _FORMS."""
    for i in range(nl):
        leaf_st[lv[i]] = stamp
    saved, _ = _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst, dec_st, dec,
                           removed, stack, touched)
    if pos[v] > 0:
        saved += 1
    return _NOTHING if saved <= 1 else _FORMS


@njit(cache=True, nogil=True)
def _resub_window_kernel(nodes, f0, f1, refs, pos, negr, free, k, odc, fan_start, fan_dst, nleaf_out, inner_start,
                         inner_out, maybe_out):
    size = f0.shape[0]
    leaf_st = np.zeros(size, np.int64)
    in_st = np.zeros(size, np.int64)
    cst_st = np.zeros(size, np.int64)
    cst = np.zeros(size, np.int64)
    dec_st = np.zeros(size, np.int64)
    dec = np.zeros(size, np.int64)
    removed = np.zeros(size + 1, np.int64)
    stack2 = np.zeros(size + 2, np.int64)
    touched = np.zeros(2 * size + 2, np.int64)
    vis = np.zeros(size, np.int64)
    mark = np.zeros(size, np.int64)
    slot = np.zeros(size, np.int64)
    have = np.zeros(size, np.int64)
    lv = np.zeros(size + 4, np.int64)
    stack = np.zeros(size + 2, np.int64)
    width = max(1, (1 << k) >> 6)
    cap = 4096
    tables = np.zeros((cap, width), np.uint64)
    care = np.zeros(width, np.uint64)
    inner = np.zeros(size + 1, np.int64)
    order = np.zeros(cap, np.int64)
    chain = np.zeros(odc + 1, np.int64)
    total = 0
    stamp = 0
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        stamp += 1
        nl, ni, words, lastmask, ok = _window_tables(v, f0, f1, k, vis, mark, stamp, lv, inner, stack, tables,
                                                     slot, order)
        nleaf_out[idx] = nl
        inner_start[idx] = total
        if total + nl + ni > inner_out.shape[0]:
            grown = np.zeros(2 * (total + nl + ni), np.int64)
            grown[:total] = inner_out[:total]
            inner_out = grown
        inner_out[total:total + nl] = lv[:nl]  # the leaves, then the window's nodes
        inner_out[total + nl:total + nl + ni] = inner[:ni]
        total += nl + ni
        # flag 0: v's own window, everywhere; flag d: the window of the d-th single reader above v, where
        # the readers' other fanins let v through (resub_replacements' observability don't cares)
        for d in range(odc + 1):
            maybe_out[idx, d] = _MAYBE
        if ok:  # (else fewer than 2 leaves, or too large for the scratch arrays: no claim)
            for w in range(words):
                care[w] = lastmask
            stamp += 1
            if not _may_resub0(v, nl, ni, words, lastmask, care, f0, f1, fan_start, fan_dst, have, stamp, tables,
                               slot, order):
                stamp += 1
                maybe_out[idx, 0] = _small_or_forms(v, nl, lv, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st,
                                                    cst_st, cst, dec_st, dec, removed, stack2, touched)
        x = v
        nc = 0
        while nc < odc and refs[x] == 1 and fan_start[x + 1] - fan_start[x] == 1:
            x = fan_dst[fan_start[x]]
            chain[nc] = x
            nc += 1
            root = x
            stamp += 1
            rl, ri, words, lastmask, ok = _window_tables(root, f0, f1, k, vis, mark, stamp, lv, inner, stack,
                                                         tables, slot, order)
            if rl < 2:  # nothing is tried
                maybe_out[idx, nc] = _NOTHING
                continue
            if not ok:
                continue
            if mark[v] != stamp or slot[v] < rl:  # v is no node of the root's window: nothing is tried
                maybe_out[idx, nc] = _NOTHING
                continue
            for w in range(words):
                care[w] = lastmask
            for j in range(nc):
                y = chain[j]
                a, b = f0[y], f1[y]
                on_chain = (a >> 1) == v
                for t in range(nc):
                    if (a >> 1) == chain[t]:
                        on_chain = True
                lit = b if on_chain else a
                for w in range(words):
                    t = tables[slot[lit >> 1], w] if (lit >> 1) else np.uint64(0)
                    if lit & 1:
                        t = ~t & lastmask
                    care[w] &= t
            proper = False
            for w in range(words):
                if care[w] != lastmask:
                    proper = True
            if not proper:  # no don't care: nothing is tried
                maybe_out[idx, nc] = _NOTHING
                continue
            stamp += 1
            if not _may_resub0(v, rl, ri, words, lastmask, care, f0, f1, fan_start, fan_dst, have, stamp, tables,
                               slot, order):
                stamp += 1
                maybe_out[idx, nc] = _small_or_forms(v, rl, lv, f0, f1, refs, pos, negr, free, stamp, leaf_st,
                                                     in_st, cst_st, cst, dec_st, dec, removed, stack2, touched)
    inner_start[nodes.shape[0]] = total
    return inner_out


def resub_windows(nodes, f0, f1, refs, pos, neg_reads, free, k: int, odc: int, fan_start, fan_dst):
    """Per AND node ``v`` of ``nodes``: ``(leaves, inner nodes, verdicts)``: the cut and the nodes of
    :func:`nandc.synth.resub.window` (increasing, ``v`` last), and per ``d`` in ``0 .. odc`` what
    ``resub_replacements`` may find for ``v`` in the window of ``v`` itself (``d = 0``, exact) or of
    its ``d``-th single reader (don't cares where the other fanins of the chain of readers block
    ``v``; the chain as long as the readers are single, ``refs`` 1): 0 (nothing: no constant, no
    divisor -- of ``resub_replacements``'s ``divisors`` with no node excluded, a superset of any
    call's -- equal to ``v`` in either phase on the care rows, and ``v``'s cone above the
    window's leaves frees at most one gate, ``CostView.mffc`` with ``v``'s inverter), 1 (no
    constant or divisor, but a form may be) or 2 (anything may be).  ``fan_start``/``fan_dst``:
    the AND readers of each node (CSR); ``pos``, ``neg_reads``, ``free``: ``CostView``'s."""
    nodes = np.asarray(nodes, np.int64)
    nleaf = np.zeros(len(nodes), np.int64)
    starts = np.zeros(len(nodes) + 1, np.int64)
    maybe = np.zeros((len(nodes), odc + 1), np.int64)
    flat = _resub_window_kernel(nodes, np.asarray(f0, np.int64), np.asarray(f1, np.int64),
                                np.asarray(refs, np.int64), np.asarray(pos, np.int64), np.asarray(neg_reads, np.int64),
                                np.asarray(free, np.int64), int(k), int(odc), np.asarray(fan_start, np.int64),
                                np.asarray(fan_dst, np.int64), nleaf, starts,
                                np.zeros(32 * len(nodes) + 16, np.int64), maybe)
    return ResubWindows(nleaf.tolist(), flat.tolist(), starts.tolist(), maybe.tolist())


class ResubWindows:
    """The result of :func:`resub_windows`: ``self[i]`` is ``(leaves, inner nodes, maybe)`` of
    ``nodes[i]`` (``maybe[d]`` for ``d`` in ``0 .. odc``), made into Python objects when asked for."""

    def __init__(self, nleaf, flat, starts, maybe):
        self._nleaf, self._flat, self._starts, self._maybe = nleaf, flat, starts, maybe

    def __len__(self) -> int:
        return len(self._nleaf)

    def __getitem__(self, i: int):
        start, mid = self._starts[i], self._starts[i] + self._nleaf[i]
        return tuple(self._flat[start:mid]), self._flat[mid:self._starts[i + 1]], self._maybe[i]


@njit(cache=True, nogil=True)
def _cut_mffc_kernel(ands, f0, f1, refs, pos, negr, free, k, nleaf_out, saved_out, nrem_out):
    """Per node of ``ands``: the leaves of its reconvergent cut of at most ``k`` leaves, and what
    its fanout-free cone above them frees (``CostView.mffc``'s saved, and its AND nodes)."""
    size = f0.shape[0]
    vis = np.zeros(size, np.int64)
    leaf_st = np.zeros(size, np.int64)
    dec = np.zeros(size, np.int64)
    dec_st = np.zeros(size, np.int64)
    cst = np.zeros(size, np.int64)
    cst_st = np.zeros(size, np.int64)
    in_st = np.zeros(size, np.int64)
    stack = np.zeros(size + 2, np.int64)
    touched = np.zeros(2 * size + 2, np.int64)
    removed = np.zeros(size, np.int64)
    lv = np.zeros(size + 4, np.int64)
    stamp = 0
    for idx in range(ands.shape[0]):
        v = ands[idx]
        stamp += 1
        nl = _reconvergent(v, f0, f1, k, vis, stamp, lv)
        nleaf_out[v] = nl
        for i in range(nl):
            leaf_st[lv[i]] = stamp
        saved, nrem = _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst,
                                  dec_st, dec, removed, stack, touched)
        saved_out[v] = saved
        nrem_out[v] = nrem


def _cut_mffc(ands, f0, f1, refs, pos, neg_reads, free, k: int):
    """``(nleaf, saved, nrem)`` arrays of :func:`_cut_mffc_kernel`."""
    f0 = np.asarray(f0, np.int64)
    out = tuple(np.zeros(len(f0), np.int64) for _ in range(3))
    _cut_mffc_kernel(np.asarray(ands, np.int64), f0, np.asarray(f1, np.int64), np.asarray(refs, np.int64),
                     np.asarray(pos, np.int64), np.asarray(neg_reads, np.int64), np.asarray(free, np.int64),
                     int(k), *out)
    return out


def refactor_saved(ands, f0, f1, refs, pos, neg_reads, free, k: int) -> np.ndarray:
    """Per AND node of ``ands``: the NAND2 gates its fanout-free cone above its
    reconvergent cut of at most ``k`` leaves (:func:`nandc.synth.factor.reconvergent_cut`)
    frees, its own inverter included (``CostView.mffc``'s ``saved`` with no
    earlier replacement, plus one if ``v`` is read positively); -1 where the
    cut has fewer than 2 leaves."""
    nleaf, saved, _ = _cut_mffc(ands, f0, f1, refs, pos, neg_reads, free, k)
    ands = np.asarray(ands, np.int64)
    out = np.zeros(len(saved), np.int64)
    out[ands] = np.where(nleaf[ands] < 2, -1, saved[ands] + (np.asarray(pos, np.int64)[ands] > 0))
    return out


# ---------------------------------------------------------------------- restructure's rewriting (AND count)
@njit(cache=True, nogil=True)
def _and_rewrite_kernel(nodes, leaves, nleaf, table, ncut, f0, f1, refs, pos, negr, free, htab, hmask,
                        negtab, prog_of, prog_ngates, prog_gates, zero, slack,
                        rep_kind, rep_cut, rep_tab, rep_gain):
    """andopt.mffc_nodes + andopt.program_and_cost + andopt._rewrite_node (with
    CostView.mffc + CostView.program_cost for ``slack >= 0``; ``slack < 0``: None) +
    resynth.select_replacements, node by node.  ``prog_of[t]``: the program of
    ``aig_structure(t)`` (-1: none); ``rep_tab[v]``: the table (free phases applied)
    of the chosen cut."""
    dec, dec_st, cst, cst_st, in_st, leaf_st, removed, stack, touched, covered, best_cov = _mffc_scratch(f0.shape[0])
    stamp = 0
    sig = np.zeros(64, np.int64)
    sig2 = np.zeros(64, np.int64)
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        found = False
        best_extra = 0
        nbest_cov = 0
        b_cut = 0
        b_tab = 0
        b_gain = 0
        root_pos = 1 if pos[v] > 0 else 0
        root_neg = 1 if negr[v] > 0 else 0
        for c in range(ncut[v]):
            n = nleaf[v, c]
            if n == 0 or (n == 1 and leaves[v, c, 0] == v):
                continue
            stamp += 1
            for i in range(n):
                leaf_st[leaves[v, c, i]] = stamp
            saved, nrem = _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst,
                                      dec_st, dec, removed, stack, touched)
            ncov, inner = _covered(removed, nrem, rep_kind, rep_gain, covered)
            fm = 0
            for i in range(n):
                fm |= free[leaves[v, c, i]] << i
            g = negtab[table[v, c], fm]
            pr = prog_of[g]
            if pr < 0:
                continue
            for i in range(4):
                sig[i] = 0
            for i in range(n):
                x = leaves[v, c, i]
                sig[i] = 2 * x + free[x]
            for i in range(4):
                sig2[i] = sig[i]
            # ---- program_and_cost, -1 = a signal that does not exist
            cost = 0
            fresh = 0
            ng = prog_ngates[pr]
            for gi in range(ng):
                j = prog_gates[pr, gi, 0]
                k = prog_gates[pr, gi, 1]
                a = sig[j]
                b = sig[k]
                if j == k:
                    sig[4 + gi] = -1 if a < 0 else a ^ 1
                    continue
                if a >= 0 and b >= 0:
                    fnd = _lookup_and(a, b, htab, hmask, f0, f1)
                    if fnd >= 0:
                        w = fnd >> 1
                        if f0[w] != 0 and (in_st[w] == stamp or refs[w] == 0):
                            cost += 1
                        sig[4 + gi] = fnd ^ 1
                        continue
                cost += 1
                fresh += 1
                sig[4 + gi] = -1
            gain = nrem - cost
            if slack >= 0 and gain - inner >= (best_extra if found else 0):
                # ---- CostView.program_cost (NAND2 gates, DAG-aware)
                ncost = _program_cost(pr, prog_gates, prog_ngates, sig2, free, in_st, stamp, pos, negr, cst, cst_st,
                                      htab, hmask, f0, f1)
                if saved + root_pos - root_neg - ncost < -slack:
                    continue
            extra = gain - inner
            if found:
                better = extra > best_extra
            else:
                better = extra > 0 or (zero and extra == 0 and fresh > 0)
            if better:
                found = True
                best_extra = extra
                b_cut = c
                b_tab = g
                b_gain = gain
                nbest_cov = ncov
                for i in range(ncov):
                    best_cov[i] = covered[i]
        if found:
            for i in range(nbest_cov):
                rep_kind[best_cov[i]] = 0
            rep_kind[v] = 1
            rep_cut[v] = b_cut
            rep_tab[v] = b_tab
            rep_gain[v] = b_gain


def and_rewrite_decisions(nodes, cuts, f0, f1, refs, pos, neg_reads, free, hash_table, programs, zero: bool,
                          slack: int | None):
    """Restructure's rewriting replacements (as :func:`nandc.synth.andopt.rewrite_choices`
    chooses them) for ``nodes`` with ``cuts``.

    ``programs``: ``(prog_of, ngates, gates)``, per 4-input table (free phases
    applied) the index of the program of its smallest known AIG (-1: none).
    Returns per node ``(kind, cut, table, gain)`` arrays; ``kind`` 1: replaced.
    """
    from nandc.synth.cost import cut_cost_arrays

    negtab, _ = cut_cost_arrays()
    leaves, nleaf, table, ncut = cuts
    n = len(f0)
    rep = (np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64))
    prog_of, ngates, gates = programs
    htab, hmask = hash_table
    _and_rewrite_kernel(np.asarray(nodes, np.int64), leaves, nleaf, table, ncut,
                        np.asarray(f0, np.int64), np.asarray(f1, np.int64), np.asarray(refs, np.int64),
                        np.asarray(pos, np.int64), np.asarray(neg_reads, np.int64), np.asarray(free, np.int64),
                        htab, int(hmask), negtab, prog_of, ngates, gates, bool(zero),
                        -1 if slack is None else int(slack), *rep)
    return rep


def free_tables(nodes, cuts, free) -> np.ndarray:
    """The distinct tables of the cuts of ``nodes`` with each leaf read in its free phase
    (``negtab[table, mask of free leaves]``), the tables :func:`and_rewrite_decisions` looks up."""
    from nandc.synth.cost import cut_cost_arrays

    negtab, _ = cut_cost_arrays()
    leaves, nleaf, table, ncut = cuts
    nodes = np.asarray(nodes, np.int64)
    if not len(nodes):
        return np.zeros(0, np.int64)
    fr = np.asarray(free, np.int64)
    lv = leaves[nodes]  # (m, limit, 4)
    used = np.arange(lv.shape[2]) < nleaf[nodes][..., None]
    mask = ((fr[lv] * used) << np.arange(lv.shape[2])).sum(axis=2)
    valid = np.arange(lv.shape[1]) < ncut[nodes][:, None]
    return np.unique(negtab[table[nodes][valid], mask[valid]])


def and_refactor_sizes(ands, f0, f1, refs, pos, neg_reads, free, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(nleaf, nrem)`` per AND node of ``ands``: the leaves of its reconvergent cut of
    at most ``k`` leaves (:func:`nandc.synth.factor.reconvergent_cut`) and the AND nodes
    of its fanout-free cone above them (:func:`nandc.synth.andopt.mffc_nodes`, ``v``
    included), with no earlier replacement."""
    nleaf, _, nrem = _cut_mffc(ands, f0, f1, refs, pos, neg_reads, free, k)
    return nleaf, nrem
