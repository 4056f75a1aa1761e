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

Resubstitution's decisions (:func:`resub_decisions`): the whole sweep of
:func:`nandc.synth.resub.resub_replacements` in one loop -- per node the
window of :func:`nandc.synth.resub.window` (a reconvergent cut and exact
tables over its leaves, in 64-bit words), the divisors, the constant, divisor
and two- and three-divisor forms in the same order, priced and tie-broken the
same way, and the state the sweep keeps (pinned divisors, dead and changed
nodes, don't-care roots, the replacements so far); tests compare the
replacements with the Python loop's.

Local proofs of equivalence (:func:`pair_check`, under
:class:`nandc.synth.fraig.WindowSolver`): two literals compared by exact
tables over a reconvergent cut of both.

The ``restructure`` pass's AND-count rewriting (:func:`and_rewrite_decisions`,
the choices of :func:`nandc.synth.andopt.rewrite_choices`) and a filter of
its refactoring's nodes (:func:`and_refactor_sizes`: the nodes whose cut or
cone is too small for :func:`nandc.synth.andopt.refactor_choices` to try).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cut_arrays", "local_cut_arrays", "cut_lists", "area_flow", "direct_choices", "new_refs", "recover_round",
           "cover_gates", "canon_arrays", "rewrite_decisions", "program_arrays", "refactor_saved", "resub_decisions",
           "and_rewrite_decisions", "free_tables", "and_refactor_sizes", "pair_check", "stop_cut_diff", "needed_nodes",
           "signature_arrays"]

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


@njit(cache=True, nogil=True)
def _gate(a, b, keys_a, keys_b, vals, mask, nxt):
    """The signal of ``NAND(a, b)`` in the open-addressed table of built gates (``NAND`` is symmetric);
    a new gate takes signal ``nxt[0]``, which then moves on."""
    if a > b:
        a, b = b, a
    h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask
    while keys_a[h] >= 0:
        if keys_a[h] == a and keys_b[h] == b:
            return vals[h]
        h = (h + 1) & mask
    keys_a[h] = a
    keys_b[h] = b
    vals[h] = nxt[0]
    nxt[0] += 1
    return vals[h]


@njit(cache=True, nogil=True)
def _cover_gates_kernel(refs, nin, ins, tab, inputs, canon, perm_index, perms, prog_of, ngates, pgates,
                        wire, capacity):
    size = refs.shape[0]
    signal = np.full(size, -1, np.int64)
    signal[0] = 0
    signal[1] = 1
    nxt = np.zeros(1, np.int64)
    nxt[0] = 2
    for i in range(inputs.shape[0]):
        signal[2 * inputs[i]] = nxt[0]
        nxt[0] += 1
    first_gate = nxt[0]
    mask = 1
    while mask < 2 * capacity + 16:
        mask *= 2
    keys_a = np.full(mask, -1, np.int64)
    keys_b = np.zeros(mask, np.int64)
    vals = np.zeros(mask, np.int64)
    mask -= 1
    limit = 4 * size + 16
    stack = np.zeros(limit + 8, np.int64)
    sig = np.zeros(4 + pgates.shape[1], np.int64)
    for lit in range(size):
        if refs[lit] <= 0 or signal[lit] >= 0:
            continue
        top = 1
        stack[0] = lit
        while top:
            x = stack[top - 1]
            if signal[x] >= 0:
                top -= 1
                continue
            pending = False
            for i in range(nin[x]):
                y = ins[x, i]
                if signal[y] < 0:
                    stack[top] = y
                    top += 1
                    pending = True
            if pending:
                if top > limit:
                    return -1  # a literal read through itself
                continue
            top -= 1
            t = tab[x]
            if t < 0:
                if nin[x] != 1:
                    return -2  # a wire that is no input or constant
                s = signal[ins[x, 0]]
                signal[x] = _gate(s, s, keys_a, keys_b, vals, mask, nxt)
                continue
            if nin[x] == 0:
                signal[x] = 1 if t == _MASK else 0
                continue
            c = canon[t]
            pi = perm_index[t]
            for i in range(4):
                sig[i] = 0
            for i in range(nin[x]):
                sig[perms[pi, i]] = signal[ins[x, i]]
            if c == wire:
                signal[x] = sig[0]
                continue
            pr = prog_of[c]
            if pr < 0:
                return -2  # no program (a constant table with inputs)
            for g in range(ngates[pr]):
                sig[4 + g] = _gate(sig[pgates[pr, g, 0]], sig[pgates[pr, g, 1]], keys_a, keys_b, vals, mask, nxt)
            signal[x] = sig[3 + ngates[pr]]
    return nxt[0] - first_gate


def cover_gates(refs, choice, inputs, programs) -> int:
    """NAND2 gates of the netlist the mapper builds from a cover (choice arrays and reference
    counts), counted without building it: the same programs read in the same phases, gates hashed
    as the netlist's builder hashes them.  ``inputs``: the circuit's input nodes; ``programs``:
    :func:`program_arrays` of the shipped library.  Negative when the cover cannot be built (a
    literal read through itself, a choice without a program): the builder then says why."""
    _, nin, ins, tab = choice
    canon, perm_index, perms = canon_arrays()
    prog_of, ngates, pgates = programs
    capacity = int(choice[0][refs > 0].sum())
    return int(_cover_gates_kernel(np.asarray(refs, np.int64), nin, ins, tab, np.asarray(inputs, np.int64),
                                   canon, perm_index, perms, prog_of, ngates, pgates, _VAR0, capacity))


def canon_arrays():
    """``(canon, perm_index, perms)`` of :func:`nandc.synth.truth.p_canonical` as arrays: per 4-input
    table its canonical table and the index of the permutation (a row of ``perms``) reaching it."""
    global _CANON_ARRAYS
    if _CANON_ARRAYS is None:
        from nandc.synth.truth import PERMS, _canonical_tables

        best, perm_index = _canonical_tables()
        _CANON_ARRAYS = (best.astype(np.int64), perm_index.astype(np.int64), np.array(PERMS, dtype=np.int64))
    return _CANON_ARRAYS


_CANON_ARRAYS = None


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

    canon, perm_index, perms = canon_arrays()
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


def program_arrays(programs: dict):
    """``(prog_of, ngates, gates)``: per canonical table the index of its program in
    ``programs`` (``{canon: Program}``; -1: none), each program's gate count,
    and its gates (``gates[p, i] = (j, k)``).  Remembered for the last few dicts given
    (the mapper's library and rewriting's, used in turn)."""
    key = id(programs)
    got = _PROGRAM_ARRAYS.get(key)
    if got is not None and got[0] is programs:
        return got[1]
    items = list(programs.items())
    width = max([len(p.gates) for _, p in items] + [1])
    prog_of = np.full(1 << 16, -1, np.int64)
    prog_of[[canon for canon, _ in items]] = np.arange(len(items))
    ngates = np.array([len(p.gates) for _, p in items] + [0], np.int64)
    rows = [list(p.gates) + [(0, 0)] * (width - len(p.gates)) for _, p in items] + [[(0, 0)] * width]
    gates = np.array(rows, np.int64).reshape(len(items) + 1, width, 2)
    if len(_PROGRAM_ARRAYS) >= 4:
        _PROGRAM_ARRAYS.pop(next(iter(_PROGRAM_ARRAYS)))
    _PROGRAM_ARRAYS[key] = (programs, (prog_of, ngates, gates))
    return _PROGRAM_ARRAYS[key][1]


_PROGRAM_ARRAYS: dict = {}  # id of a dict of programs -> (the dict, its arrays)


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
    return _grow(nl, 1, f0, f1, k, vis, stamp, lv)


@njit(cache=True, nogil=True)
def _pair_cut(rx, ry, f0, f1, k, vis, stamp, lv):
    """factor.pair_cut(rx, ry, f0, f1, k): its leaves in ``lv[:nl]`` (unsorted); returns ``nl``."""
    nl = 0
    for u in (rx, ry):
        if u:
            nl = _add_leaf(lv, nl, u)
            vis[u] = stamp
    return _grow(nl, 0, f0, f1, k, vis, stamp, lv)


@njit(cache=True, nogil=True)
def _grow(nl, inner, f0, f1, k, vis, stamp, lv):
    """factor._grow_cut on the leaves ``lv[:nl]`` (visited nodes marked in ``vis``); the new ``nl``."""
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
def _sort(a, n):
    """Sort ``a[:n]`` in place (by insertion when short: np.sort's copy costs more on a window's few nodes)."""
    if n > 32:
        a[:n] = np.sort(a[:n])
        return
    for i in range(1, n):
        x = a[i]
        j = i - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True, nogil=True)
def _window_tables(root, f0, f1, k, vis, mark, stamp, lv, inner, stack, tables, slot, order):
    """resub.window(root): leaves (sorted, ``lv[:nl]``), nodes (increasing, ``inner[:ni]``) and
    their tables over the leaves (``tables[j]`` for node ``order[j]``, leaves first; ``slot[node] = j``).
    Returns ``(nl, ni, words, lastmask, ok)``; no tables unless ``ok`` (fewer than 2 leaves, or
    too many nodes for the scratch arrays)."""
    nl = _reconvergent(root, f0, f1, k, vis, stamp, lv)
    _sort(lv, nl)
    ni = _collect_inner(root, 0, f0, f1, nl, mark, stamp, lv, inner, stack)
    _sort(inner, ni)
    if nl < 2 or nl > k or 17 * (nl + ni) > order.shape[0]:
        words, lastmask = _word_shape(nl)
        return nl, ni, words, lastmask, False
    words, lastmask = _fill_tables(nl, ni, lv, inner, f0, f1, tables, slot)
    for i in range(nl):
        order[i] = lv[i]
    for j in range(ni):
        order[nl + j] = inner[j]
    return nl, ni, words, lastmask, True


@njit(cache=True, nogil=True)
def _word_shape(nl):
    """``(words, lastmask)`` of a table over ``nl`` leaves: 64-bit words, and the bits of the last in use."""
    words = max(1, (1 << nl) >> 6)
    lastmask = np.uint64(_ONES) if nl >= 6 else np.uint64((1 << (1 << nl)) - 1)
    return words, lastmask


@njit(cache=True, nogil=True)
def _collect_inner(r0, r1, f0, f1, nl, mark, stamp, lv, inner, stack):
    """Mark the leaves ``lv[:nl]`` and the constant with ``stamp``, then collect in ``inner[:ni]``
    (unsorted) the AND nodes above them that ``r0`` and ``r1`` reach (``r1 = 0``: only ``r0``'s);
    returns ``ni``."""
    for i in range(nl):
        mark[lv[i]] = stamp
    mark[0] = stamp
    ni = 0
    top = 0
    for r in (r0, r1):
        if mark[r] != stamp:
            stack[top] = r
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
    return ni


@njit(cache=True, nogil=True)
def _fill_tables(nl, ni, lv, inner, f0, f1, tables, slot):
    """Exact tables over the leaves ``lv[:nl]``: row ``i`` leaf ``i``'s, row ``nl + j`` node
    ``inner[j]``'s (``inner`` increasing); ``slot[node]`` = its row.  Returns ``(words, lastmask)``:
    words per table (64-bit) and the mask of the last word's bits in use."""
    words, lastmask = _word_shape(nl)
    for i in range(nl):
        slot[lv[i]] = i
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
    return words, lastmask


# ---------------------------------------------------------------------- local proofs of equivalence
@njit(cache=True, nogil=True)
def _table_diff(x, y, w, lastmask, tables, slot):
    """Word ``w`` of the table where literals ``x`` and ``y`` differ, their nodes' rows found by
    ``slot`` (a constant node has no row: its table is 0), each complemented as its literal is."""
    tx = tables[slot[x >> 1], w] if x >> 1 else np.uint64(0)
    ty = tables[slot[y >> 1], w] if y >> 1 else np.uint64(0)
    if x & 1:
        tx = ~tx & lastmask
    if y & 1:
        ty = ~ty & lastmask
    return tx ^ ty


@njit(cache=True, nogil=True)
def pair_check(x, y, f0, f1, k, vis, mark, stamp, lv, inner, stack, tables, slot):
    """Literals ``x`` and ``y`` (``y`` may be a constant) compared as functions of a reconvergent
    cut of both (at most ``k`` leaves, sorted in ``lv[:nl]``), by exact tables.

    Returns ``(verdict, minterm, nl)``: verdict 1 when the tables are equal (then ``x == y`` for
    every value of the leaves, hence for every input: a proof); 0 when they differ on ``minterm``
    (leaf ``i`` is bit ``i`` of it) and every leaf is an input (a counterexample); -1 otherwise
    (they differ but the leaves may not take that value, or the cut is too large for the scratch
    arrays).  ``vis`` and ``mark`` hold stamps per node, ``stamp`` a value no earlier call used;
    ``tables`` has room for ``k + _MAX_CONE + 2`` rows of ``max(1, 2 ** k / 64)`` words."""
    rx = x >> 1
    ry = y >> 1
    nl = _pair_cut(rx, ry, f0, f1, k, vis, stamp, lv)
    _sort(lv, nl)
    ni = _collect_inner(rx, ry, f0, f1, nl, mark, stamp, lv, inner, stack)
    if nl > k or nl + ni + 1 > tables.shape[0]:
        return -1, 0, nl
    _sort(inner, ni)
    words, lastmask = _fill_tables(nl, ni, lv, inner, f0, f1, tables, slot)
    all_inputs = True
    for i in range(nl):
        if f0[lv[i]] != 0:
            all_inputs = False
    for w in range(words):
        d = _table_diff(x, y, w, lastmask, tables, slot)
        if d:
            if not all_inputs:
                return -1, 0, nl
            bit = 0
            while not (d >> np.uint64(bit)) & np.uint64(1):
                bit += 1
            return 0, w * 64 + bit, nl
    return 1, 0, nl


@njit(cache=True, nogil=True)
def stop_cut_diff(x, y, f0, f1, k, stops, vis, stamp, lv, inner, stack, tables, slot, minterms):
    """Literals ``x`` and ``y`` (``y`` may be a constant) as functions of the cut that stops at
    inputs and at the nodes marked in ``stops`` (not at the two roots themselves): its leaves
    sorted in ``lv[:nl]``, and in ``minterms[:nm]``, increasing, the values of the leaves (leaf
    ``i`` is bit ``i``) on which the two differ.

    Returns ``(nl, nm)``; ``nm`` is -1 when they differ on more values than ``minterms`` holds,
    and ``(-1, 0)`` comes back when the cut has more than ``k`` leaves or its cone more than
    ``_MAX_CONE`` AND nodes (or rows than ``tables`` holds).  ``vis`` holds stamps per node,
    ``stamp`` a value no earlier call used."""
    rx = x >> 1
    ry = y >> 1
    nl = 0
    ni = 0
    top = 0
    vis[0] = stamp
    for r in (rx, ry):
        if r and vis[r] != stamp:
            stack[top] = r
            top += 1
    while top:
        top -= 1
        u = stack[top]
        if vis[u] == stamp:
            continue
        vis[u] = stamp
        if f0[u] == 0 or (stops[u] and u != rx and u != ry):
            if nl == k:
                return -1, 0
            lv[nl] = u
            nl += 1
            continue
        if ni == _MAX_CONE or nl + ni + 2 > tables.shape[0]:
            return -1, 0
        inner[ni] = u
        ni += 1
        for side in range(2):
            w = (f0[u] if side == 0 else f1[u]) >> 1
            if vis[w] != stamp:
                stack[top] = w
                top += 1
    _sort(lv, nl)
    _sort(inner, ni)
    words, lastmask = _fill_tables(nl, ni, lv, inner, f0, f1, tables, slot)
    nm = 0
    for w in range(words):
        d = _table_diff(x, y, w, lastmask, tables, slot)
        bit = 0
        while d:
            if d & np.uint64(1):
                if nm == minterms.shape[0]:
                    return nl, -1
                minterms[nm] = 64 * w + bit
                nm += 1
            d >>= np.uint64(1)
            bit += 1
    return nl, nm


# ---------------------------------------------------------------------- resubstitution's decisions
#: resub_decisions' forms (rep_form): one divisor, then resub._forms' "and2", "and_or", "and3".
_DIVISOR, _AND2, _AND_OR, _AND3 = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _inverter_free(lit, free, pos, negr, in_st, stamp, cst, cst_st):
    """CostView.inverter_present(lit, removed, costly), the removed nodes marked ``stamp`` in ``in_st``."""
    w = lit >> 1
    if w == 0 or (lit & 1) == free[w]:
        return True
    if in_st[w] == stamp:
        return False
    creads = pos[w] if free[w] else negr[w]
    return creads > (cst[w] if cst_st[w] == stamp else 0)


@njit(cache=True, nogil=True)
def _nand_of(a, b, htab, hmask, f0, f1, in_st, stamp):
    """A NAND gate of CostView.program_cost on known literals: its literal if the AND node exists
    outside the removed nodes, else -1 (a new gate)."""
    fnd = _lookup_and(a, b, htab, hmask, f0, f1)
    if fnd > 1 and in_st[fnd >> 1] != stamp:
        return fnd ^ 1
    return -1


@njit(cache=True, nogil=True)
def _form_cost(form, a, b, c, sig, free, pos, negr, in_st, stamp, cst, cst_st, htab, hmask, f0, f1):
    """CostView.program_cost of resub._program(form, (a, b, c)) over the divisor signals ``sig``
    (literal ``2i + p``: divisor ``i``'s signal, complemented if ``p``, as resub._Builder.sig builds it)."""
    cost = 0
    la = sig[a >> 1] ^ (a & 1)  # a complemented signal is an inverter gate: free if present
    if a & 1 and not _inverter_free(la, free, pos, negr, in_st, stamp, cst, cst_st):
        cost += 1
    bb = b ^ 1 if form == _AND_OR else b  # and_or: h = a & (b | c) = a & NAND(~b, ~c)
    cc = c ^ 1 if form == _AND_OR else c
    lb = sig[bb >> 1] ^ (bb & 1)
    if bb & 1 and not _inverter_free(lb, free, pos, negr, in_st, stamp, cst, cst_st):
        cost += 1
    if form == _AND2:
        if _nand_of(la, lb, htab, hmask, f0, f1, in_st, stamp) < 0:
            cost += 1
        return cost
    lc = sig[cc >> 1] ^ (cc & 1)
    if cc & 1 and not _inverter_free(lc, free, pos, negr, in_st, stamp, cst, cst_st):
        cost += 1
    inner = _nand_of(lb, lc, htab, hmask, f0, f1, in_st, stamp)
    if inner < 0:
        cost += 1
    if form == _AND3:  # a & NOT NAND(b, c): the inner gate's inverter
        if inner < 0:
            cost += 1
        elif _inverter_free(inner ^ 1, free, pos, negr, in_st, stamp, cst, cst_st):
            inner ^= 1
        else:
            cost += 1
            inner ^= 1
    if inner < 0 or _nand_of(la, inner, htab, hmask, f0, f1, in_st, stamp) < 0:
        cost += 1
    return cost


@njit(cache=True, nogil=True)
def _zero(t, words):
    """Whether the table ``t[:words]`` is all zeros."""
    for w in range(words):
        if t[w]:
            return False
    return True


@njit(cache=True, nogil=True)
def _resub_divisors(v, nl, ni, words, lastmask, max_divisors, f0, f1, fan_start, fan_dst, dead, changed, in_st,
                    stamp, have, tables, slot, order, divs):
    """resub_replacements' divisors(window, v, removed) into ``divs`` (their number returned), with
    the tables of the nodes added outside the window after the window's (``tables``/``slot``/``order``
    as :func:`_window_tables` left them; ``have`` marks the divisors with ``stamp``, which also marks the
    removed nodes in ``in_st``)."""
    n = 0
    for j in range(nl + ni):
        x = order[j]
        if x and x < v and in_st[x] != stamp and not dead[x] and not changed[x]:
            divs[n] = x
            have[x] = stamp
            n += 1
    inside = n
    total = nl + ni
    for j in range(inside):
        x = divs[j]
        c0, c1 = fan_start[x], fan_start[x + 1]
        if c1 - c0 > 16:
            continue
        for c in range(c0, c1):
            u = fan_dst[c]
            if u >= v or have[u] == stamp or in_st[u] == stamp or dead[u] or changed[u]:
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
                total += 1
                have[u] = stamp
                divs[n] = u
                n += 1
    if n > max_divisors:  # keep the nodes nearest the root
        divs[:n] = np.sort(divs[:n])[::-1]
        n = max_divisors
    return n


@njit(cache=True, nogil=True)
def _resub_best(v, nl, ni, words, lastmask, care, k_gates, max_divisors, f0, f1, refs, pos, negr, free, htab, hmask,
                fan_start, fan_dst, pinned, dead, changed, rep_kind, rep_gain, stamp, leaf_st, in_st, cst_st, cst,
                dec_st, dec, removed, stack, touched, covered, have, tables, slot, order, divs, lits, sig, covers,
                part, scratch):
    """resub_replacements' best_for(window, v, table of v, care, replaced), the window's tables as
    :func:`_window_tables` left them.  Returns ``(kind, form, gain, const, negated, a, b, c, nrem, ncov)``:
    ``kind`` 0 (none), 1 (``form`` over the divisor literals ``a, b, c``, indices into ``lits``; a divisor:
    ``a`` only) or 2 (the constant ``const``); the removed nodes in ``removed[:nrem]``, the covered
    replacements in ``covered[:ncov]``, the divisors in ``divs``."""
    none = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for i in range(nl):  # the guard: the leaves and the pinned nodes of the window
        leaf_st[order[i]] = stamp
    for j in range(nl, nl + ni):
        if pinned[order[j]]:
            leaf_st[order[j]] = stamp
    saved, nrem = _mffc_saved(v, f0, f1, refs, pos, negr, free, stamp, leaf_st, in_st, cst_st, cst, dec_st, dec,
                              removed, stack, touched)
    ncov, inner = _covered(removed, nrem, rep_kind, rep_gain, covered)
    if pos[v] > 0:
        saved += 1
    if saved - inner <= 0:
        return none
    nd = _resub_divisors(v, nl, ni, words, lastmask, max_divisors, f0, f1, fan_start, fan_dst, dead, changed, in_st,
                         stamp, have, tables, slot, order, divs)
    if nd == 0:
        return none
    for i in range(nd):
        sig[i] = 2 * divs[i] + free[divs[i]]
    sv = slot[v]
    zero = True
    full = True
    for w in range(words):
        fc = tables[sv, w] & care[w]
        if fc:
            zero = False
        if fc != care[w]:
            full = False
    if zero or full:  # (saved - inner > 0)
        return 2, 0, saved, 0 if zero else 1, 0, 0, 0, 0, nrem, ncov
    # one divisor
    found = False
    b_form, b_gain, b_neg, b_a, b_b, b_c = 0, 0, 0, 0, 0, 0
    for j in range(2 * nd):  # literal j: divisor j >> 1's signal, complemented if j & 1
        x = divs[j >> 1]
        flip = (lastmask if free[x] else np.uint64(0)) ^ (lastmask if j & 1 else np.uint64(0))
        equal = True
        for w in range(words):
            if (tables[slot[x], w] ^ flip ^ tables[sv, w]) & care[w]:
                equal = False
                break
        if not equal:
            continue
        cost = 0
        out = sig[j >> 1] ^ (j & 1)
        for phase in range(2):  # resub_replacements' root_cost with an existing literal
            reads = pos[v] if phase == 0 else negr[v]
            lt = out ^ phase
            if reads and (lt & 1) != free[lt >> 1] and not _inverter_free(lt, free, pos, negr, in_st, stamp, cst,
                                                                          cst_st):
                cost += 1
        gain = saved - cost
        if gain - inner > 0 and (not found or gain > b_gain):
            found = True
            b_form, b_gain, b_neg, b_a = _DIVISOR, gain, j & 1, j
            if cost == 0:
                break
    if found and b_gain == saved:
        return 1, b_form, b_gain, 0, b_neg, b_a, 0, 0, nrem, ncov
    if k_gates >= 1 and saved - inner > 1:
        mg = min(k_gates, saved - inner - 1)
        for i in range(nd):  # the literals' tables
            flip = lastmask if free[divs[i]] else np.uint64(0)
            for w in range(words):
                t = tables[slot[divs[i]], w] ^ flip
                lits[2 * i, w] = t
                lits[2 * i + 1, w] = t ^ lastmask
        hc = scratch[0]
        miss = scratch[1]
        ta = scratch[2]
        tab = scratch[3]
        rest = scratch[4]
        for negated in range(2):  # the output gate NAND = NOT h is v (h = NOT v) or NOT v
            root_inv = (1 if negr[v] > 0 else 0) if negated == 0 else (1 if pos[v] > 0 else 0)
            for w in range(words):
                h = tables[sv, w] ^ (lastmask if negated == 0 else np.uint64(0))
                hc[w] = h & care[w]
                miss[w] = care[w] & ~h
            nc = 0
            for j in range(2 * nd):
                if nc == 24:
                    break
                ok = True
                for w in range(words):
                    if hc[w] & ~lits[j, w]:
                        ok = False
                        break
                if ok:
                    covers[nc] = j
                    nc += 1
            if nc == 0:
                continue
            stop = False
            # h = a & b
            for x in range(nc):
                a = covers[x]
                for w in range(words):
                    ta[w] = lits[a, w] & miss[w]
                if _zero(ta, words):
                    continue
                for y in range(x + 1, nc):
                    b = covers[y]
                    if b ^ a == 1:
                        continue
                    disjoint = True
                    for w in range(words):
                        if ta[w] & lits[b, w]:
                            disjoint = False
                            break
                    if not disjoint:
                        continue
                    if found and b_gain >= saved - 1:
                        stop = True
                        break
                    gain = saved - root_inv - _form_cost(_AND2, a, b, 0, sig, free, pos, negr, in_st, stamp, cst,
                                                         cst_st, htab, hmask, f0, f1)
                    if gain - inner > 0 and (not found or gain > b_gain):
                        found = True
                        b_form, b_gain, b_neg, b_a, b_b = _AND2, gain, negated, a, b
                if stop:
                    break
            if stop or mg < 2:
                continue
            for x in range(nc):
                a = covers[x]
                for w in range(words):
                    ta[w] = lits[a, w] & miss[w]
                if _zero(ta, words):
                    continue
                # h = a & (b | c): b and c are 0 wherever a is 1 and h is 0, and together cover h
                np_ = 0
                for j in range(2 * nd):
                    if np_ == 24:
                        break
                    if j >> 1 == a >> 1:
                        continue
                    clash = False
                    meets = False
                    for w in range(words):
                        if lits[j, w] & ta[w]:
                            clash = True
                            break
                        if lits[j, w] & hc[w]:
                            meets = True
                    if not clash and meets:
                        part[np_] = j
                        np_ += 1
                for y in range(np_):
                    b = part[y]
                    for w in range(words):
                        rest[w] = hc[w] & ~lits[b, w]
                    if _zero(rest, words):
                        continue
                    for z in range(y + 1, np_):
                        c = part[z]
                        covered_all = True
                        for w in range(words):
                            if rest[w] & ~lits[c, w]:
                                covered_all = False
                                break
                        if not covered_all or b ^ c == 1:
                            continue
                        if found and b_gain >= saved - 2:
                            stop = True
                            break
                        gain = saved - root_inv - _form_cost(_AND_OR, a, b, c, sig, free, pos, negr, in_st, stamp,
                                                             cst, cst_st, htab, hmask, f0, f1)
                        if gain - inner > 0 and (not found or gain > b_gain):
                            found = True
                            b_form, b_gain, b_neg, b_a, b_b, b_c = _AND_OR, gain, negated, a, b, c
                    if stop:
                        break
                if stop:
                    break
                if mg < 3:
                    continue
                # h = a & b & c
                for y in range(x + 1, nc):
                    b = covers[y]
                    for w in range(words):
                        tab[w] = ta[w] & lits[b, w]
                    if _zero(tab, words):
                        continue
                    for z in range(y + 1, nc):
                        c = covers[z]
                        disjoint = True
                        for w in range(words):
                            if tab[w] & lits[c, w]:
                                disjoint = False
                                break
                        if not disjoint:
                            continue
                        if found and b_gain >= saved - 2:
                            stop = True
                            break
                        gain = saved - root_inv - _form_cost(_AND3, a, b, c, sig, free, pos, negr, in_st, stamp,
                                                             cst, cst_st, htab, hmask, f0, f1)
                        if gain - inner > 0 and (not found or gain > b_gain):
                            found = True
                            b_form, b_gain, b_neg, b_a, b_b, b_c = _AND3, gain, negated, a, b, c
                    if stop:
                        break
                if stop:
                    break
    if not found:
        return none
    return 1, b_form, b_gain, 0, b_neg, b_a, b_b, b_c, nrem, ncov


@njit(cache=True, nogil=True)
def _resub_kernel(nodes, f0, f1, refs, pos, negr, free, htab, hmask, k, max_gates, max_divisors, odc, fan_start,
                  fan_dst, rep_kind, rep_gain, rep_const, rep_neg, rep_form, rep_leaves, rep_lits):
    """resub_replacements' decide + resynth.select_replacements, node by node (see
    :func:`resub_decisions`)."""
    size = f0.shape[0]
    dec, dec_st, cst, cst_st, in_st, leaf_st, removed, stack2, touched, covered, _ = _mffc_scratch(size)
    vis = np.zeros(size, np.int64)
    mark = np.zeros(size, np.int64)
    slot = np.zeros(size, np.int64)
    have = np.zeros(size, np.int64)
    lv = np.zeros(size + 4, np.int64)
    stack = np.zeros(size + 2, np.int64)
    inner = np.zeros(size + 1, np.int64)
    pinned = np.zeros(size, np.bool_)  # divisors of chosen replacements: they must stay
    dead = np.zeros(size, np.bool_)  # nodes freed by chosen replacements
    changed = np.zeros(size, np.bool_)  # nodes re-expressed with don't cares
    odc_root = np.zeros(size, np.bool_)  # readers one of whose fanins changed
    width = max(1, (1 << k) >> 6)
    cap = 4096
    tables = np.zeros((cap, width), np.uint64)
    order = np.zeros(cap, np.int64)
    divs = np.zeros(cap, np.int64)
    lits = np.zeros((2 * max_divisors, width), np.uint64)
    sig = np.zeros(max_divisors, np.int64)
    care = np.zeros(width, np.uint64)
    scratch = np.zeros((5, width), np.uint64)
    covers = np.zeros(24, np.int64)
    part = np.zeros(24, np.int64)
    chain = np.zeros(odc + 1, np.int64)
    stamp = 0
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        nc = 0  # the single readers above v: v, chain[:nc - 1] may change, chain[nc - 1] may not
        r = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for depth in range(odc + 1):
            if depth == 1:  # no exact form: the chain of single readers, tried deepest first
                x = v
                while nc < odc and refs[x] == 1 and not pinned[x] and not odc_root[x]:
                    if fan_start[x + 1] - fan_start[x] != 1 or odc_root[fan_dst[fan_start[x]]]:
                        break
                    x = fan_dst[fan_start[x]]
                    chain[nc] = x
                    nc += 1
            if depth > 0 and nc == 0:
                break
            root = v if depth == 0 else chain[nc - 1]
            while True:
                stamp += 1
                nl, ni, words, lastmask, ok = _window_tables(root, f0, f1, k, vis, mark, stamp, lv, inner, stack,
                                                             tables, slot, order)
                if ok or nl < 2 or 17 * (nl + ni) <= order.shape[0]:
                    break
                cap = 2 * 17 * (nl + ni)  # a window too large for the tables: grow them
                tables = np.zeros((cap, width), np.uint64)
                order = np.zeros(cap, np.int64)
                divs = np.zeros(cap, np.int64)
            if depth == 0 and nl < 2:
                break  # (no chain either)
            for w in range(words):
                care[w] = lastmask
            if depth > 0:
                if nl < 2 or mark[v] != stamp or slot[v] < nl:  # v is no node of the root's window
                    nc -= 1
                    continue
                for j in range(nc):
                    y = chain[j]
                    a, b = f0[y], f1[y]
                    lit = a
                    if (a >> 1) == v:
                        lit = b
                    for t in range(nc):
                        if (a >> 1) == chain[t]:
                            lit = b
                    for w in range(words):
                        t = tables[slot[lit >> 1], w] if (lit >> 1) else np.uint64(0)
                        if lit & 1:
                            t = ~t & lastmask
                        care[w] &= t
                proper = False
                for w in range(words):
                    if care[w] != lastmask:
                        proper = True
                if not proper:
                    nc -= 1
                    continue
            stamp += 1
            r = _resub_best(v, nl, ni, words, lastmask, care, max_gates, max_divisors, f0, f1, refs, pos, negr,
                            free, htab, hmask, fan_start, fan_dst, pinned, dead, changed, rep_kind, rep_gain,
                            stamp, leaf_st, in_st, cst_st, cst, dec_st, dec, removed, stack2, touched, covered,
                            have, tables, slot, order, divs, lits, sig, covers, part, scratch)
            if r[0] or depth == odc:
                break
            if depth > 0:
                nc -= 1
        kind, form, gain, const, negated, a, b, c, nrem, ncov = r
        if kind == 0:
            continue
        # the replacement: its divisors stay, its cone goes, the chain below the root changes
        for i in range(ncov):
            rep_kind[covered[i]] = 0
        rep_kind[v] = kind
        rep_gain[v] = gain
        rep_const[v] = const
        rep_neg[v] = negated
        rep_form[v] = form
        rep_leaves[v, :] = -1
        if kind == 1:
            nlit = 1 if form == _DIVISOR else (2 if form == _AND2 else 3)
            used = np.array([a, b, c])[:nlit]
            ids = np.unique(used >> 1)  # the divisors in their order, as resub._program's program inputs
            for i in range(ids.shape[0]):
                rep_leaves[v, i] = divs[ids[i]]
                pinned[divs[ids[i]]] = True
            for i in range(nlit):
                rep_lits[v, i] = 2 * np.searchsorted(ids, used[i] >> 1) + (used[i] & 1)
        for i in range(nrem):
            dead[removed[i]] = True
        if nc:
            changed[v] = True
            for i in range(nc):
                odc_root[chain[i]] = True
                if i < nc - 1:
                    changed[chain[i]] = True


def resub_decisions(nodes, f0, f1, refs, pos, neg_reads, free, hash_table, k: int, max_gates: int, max_divisors: int,
                    odc: int, fan_start, fan_dst):
    """The replacements :func:`nandc.synth.resub.resub_replacements` chooses for ``nodes`` (its
    arguments; ``hash_table`` is :meth:`Circuit.hash_table`, ``fan_start``/``fan_dst`` the AND
    readers of each node, CSR).  Per node, arrays ``(kind, gain, const, negated, form, leaves,
    lits)``: ``kind`` 0 none, 1 a form over ``leaves[v]`` (-1 padded, divisor order), 2 the constant
    ``const``; ``form`` 0 one divisor, 1 ``and2``, 2 ``and_or``, 3 ``and3`` of resub._forms, with the
    literal indices ``lits[v]`` over the leaves (resub._program's ``idx``)."""
    n = len(f0)
    out = tuple(np.zeros(n, np.int64) for _ in range(5)) + (np.full((n, 3), -1, np.int64), np.zeros((n, 3), np.int64))
    htab, hmask = hash_table
    _resub_kernel(np.asarray(nodes, np.int64), np.asarray(f0, np.int64), np.asarray(f1, np.int64),
                  np.asarray(refs, np.int64), np.asarray(pos, np.int64), np.asarray(neg_reads, np.int64),
                  np.asarray(free, np.int64), htab, int(hmask), int(k), int(max_gates), int(max_divisors), int(odc),
                  np.asarray(fan_start, np.int64), np.asarray(fan_dst, np.int64), *out)
    return out


@njit(cache=True, nogil=True)
def _cone_table_kernel(nodes, f0, f1, k, leaves_out, nleaf_out, table_out):
    """Per node of ``nodes``: its reconvergent cut of at most ``k`` leaves (sorted) and its
    truth table over them, by :func:`_window_tables`; ``nleaf_out`` -1 where those give none."""
    size = f0.shape[0]
    vis = np.zeros(size, np.int64)
    mark = np.zeros(size, np.int64)
    slot = np.zeros(size, np.int64)
    lv = np.zeros(size + 4, np.int64)
    stack = np.zeros(size + 2, np.int64)
    inner = np.zeros(size + 1, np.int64)
    cap = 4096
    tables = np.zeros((cap, max(1, (1 << k) >> 6)), np.uint64)
    order = np.zeros(cap, np.int64)
    stamp = 0
    for idx in range(nodes.shape[0]):
        v = nodes[idx]
        stamp += 1
        nl, ni, words, lastmask, ok = _window_tables(v, f0, f1, k, vis, mark, stamp, lv, inner, stack, tables,
                                                     slot, order)
        if not ok:
            nleaf_out[idx] = -1
            continue
        nleaf_out[idx] = nl
        leaves_out[idx, :nl] = lv[:nl]
        table_out[idx, :words] = tables[slot[v], :words]


def cone_tables(nodes, f0, f1, k: int) -> dict[int, tuple[tuple[int, ...], int]]:
    """``{v: (leaves, table)}`` for the AND nodes ``nodes``: :func:`nandc.synth.factor.reconvergent_cut`
    of at most ``k`` leaves and :func:`nandc.synth.factor.cone_table` over it, computed at once
    (nodes whose cut has fewer than 2 leaves, or whose cone is too large for the scratch arrays,
    are left out: the caller computes those itself)."""
    nodes = np.asarray(nodes, np.int64)
    words = max(1, (1 << k) >> 6)
    leaves = np.zeros((len(nodes), k), np.int64)
    nleaf = np.zeros(len(nodes), np.int64)
    table = np.zeros((len(nodes), words), np.uint64)
    _cone_table_kernel(nodes, np.asarray(f0, np.int64), np.asarray(f1, np.int64), int(k), leaves, nleaf, table)
    out = {}
    for v, lv, nl, row in zip(nodes.tolist(), leaves.tolist(), nleaf.tolist(), table):
        if nl >= 0:
            out[v] = (tuple(lv[:nl]), int.from_bytes(row[:max(1, (1 << nl) >> 6)].tobytes(), "little"))
    return out


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


# ---------------------------------------------------------------------- the nodes a rebuild with replacements keeps
@njit(cache=True, nogil=True)
def _needed_kernel(f0, f1, roots, replaced, start, flat):
    n = f0.shape[0]
    mark = np.zeros(n, np.bool_)
    for i in range(roots.shape[0]):
        mark[roots[i] >> 1] = True
    for v in range(n - 1, 0, -1):
        if not mark[v] or f0[v] == 0:
            continue
        if replaced[v]:
            for j in range(start[v], start[v + 1]):
                mark[flat[j]] = True
        else:
            mark[f0[v] >> 1] = True
            mark[f1[v] >> 1] = True
    return mark


def needed_nodes(f0, f1, outputs, replaced_leaves: dict[int, tuple[int, ...]]) -> np.ndarray | None:
    """The AND nodes (increasing) that a copy of a circuit of fanins ``f0``/``f1`` from the literals
    ``outputs`` uses when each node ``v`` of ``replaced_leaves`` is rebuilt from its leaves (nodes)
    instead of its fanins: one sweep from the last node down.  None when some leaf does not come
    before its node (then a search from the outputs must find them)."""
    f0 = np.asarray(f0, np.int64)
    n = len(f0)
    counts = np.zeros(n + 1, np.int64)
    replaced = np.zeros(n, np.bool_)
    for v, leaves in replaced_leaves.items():
        if leaves and max(leaves) >= v:
            return None
        counts[v + 1] = len(leaves)
        replaced[v] = True
    start = np.cumsum(counts)
    flat = np.zeros(max(1, int(start[-1])), np.int64)
    for v, leaves in replaced_leaves.items():
        flat[start[v]:start[v + 1]] = leaves
    mark = _needed_kernel(f0, np.asarray(f1, np.int64), np.asarray(outputs, np.int64).reshape(-1), replaced,
                          start, flat)
    return np.flatnonzero(mark & (f0 != 0))


# ---------------------------------------------------------------------- simulation signatures
@njit(cache=True, nogil=True)
def _signature_kernel(nodes, f0, f1, inputs, input_words, mult, size, keys, phase):
    words = input_words.shape[1]
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    zero = np.uint64(0)
    vals = np.zeros((size, words), np.uint64)
    for i in range(inputs.shape[0]):
        for w in range(words):
            vals[inputs[i], w] = input_words[i, w]
    for j in range(nodes.shape[0]):
        v = nodes[j]
        a = f0[v]
        b = f1[v]
        ca = ones if a & 1 else zero
        cb = ones if b & 1 else zero
        for w in range(words):
            vals[v, w] = (vals[a >> 1, w] ^ ca) & (vals[b >> 1, w] ^ cb)
    for v in range(size):
        ph = vals[v, 0] & np.uint64(1)
        flip = ones if ph else zero
        s = zero
        nonzero = False
        for w in range(words):
            x = vals[v, w] ^ flip
            if x:
                nonzero = True
            s += x * mult[w]
        phase[v] = 1 if ph else 0
        if nonzero:
            s = (s ^ (s >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
            keys[v] = s | np.uint64(1)


def signature_arrays(nodes, f0, f1, inputs, input_words, mult) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nandc.synth.simulation.signature_keys` of :func:`~nandc.synth.simulation.simulate_nodes`
    (the same keys and phases) for the AND nodes ``nodes`` (increasing, closed under fanins among
    AND nodes) of a circuit of fanins ``f0``/``f1``, simulated in node order; ``mult`` the keys'
    word multipliers."""
    f0 = np.asarray(f0, np.int64)
    size = len(f0)
    keys = np.zeros(size, np.uint64)
    phase = np.zeros(size, np.int64)
    nodes = np.asarray(nodes, np.int64)
    _signature_kernel(nodes[f0[nodes] != 0], f0, np.asarray(f1, np.int64), np.asarray(inputs, np.int64),
                      np.ascontiguousarray(input_words, dtype=np.uint64), np.asarray(mult, np.uint64), size, keys,
                      phase)
    return keys, phase
