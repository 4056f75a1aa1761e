"""The sequential loops of code generation, compiled with numba.

Instruction selection, liveness, depth-first ordering and the register
allocation of the assembly writer visit every gate once, in an order that
depends on earlier decisions, so they cannot be vectorized.  As plain Python
they cost tens of microseconds per gate; compiled with ``numba.njit`` (which
builds on the llvmlite nandc already uses) well under one.  These functions
take and return numpy arrays only; :mod:`.codegen` and :mod:`.asm` wrap them.
They are ordinary Python when numba is missing (slow, same results).
"""

from __future__ import annotations

import numpy as np

try:  # numba compiles these loops to machine code; cached on disk after the first use
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; keep working without it
    def njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]):
            return args[0]
        return lambda fn: fn

__all__ = ["select_loop", "live_ops", "depth_first_order", "allocate"]

# op kinds (as in .codegen) and the special selections
_AND, _ANDN, _OR, _XOR, _TERN = 0, 1, 2, 3, 4
_CONST, _LEAF = -2, -1
_FULL = 0xF


@njit(cache=True, nogil=True)
def select_loop(gate_a, gate_b, num_inputs, select_table):
    """Two-input instruction selection (the body of :func:`.codegen.select_ops`).

    ``select_table[tt] = (kind, i, j, polarity)``.  Returns ``(kinds, args,
    sig_val, sig_pol)``: the ops (``args`` has two columns) and, per netlist
    signal, the value id and polarity it became.
    """
    ng = gate_a.shape[0]
    first_op = num_inputs + 1
    base = 2 + num_inputs
    nsig = base + ng
    sig_val = np.zeros(nsig, np.int64)
    sig_pol = np.zeros(nsig, np.int64)
    sig_pol[1] = 1
    for k in range(num_inputs):
        sig_val[2 + k] = k + 1
    kinds = np.empty(ng, np.int64)
    args = np.empty((ng, 2), np.int64)
    low = np.empty(ng, np.int64)
    high = np.empty(ng, np.int64)
    own_tt = np.empty(ng, np.int64)
    existing = {-1: -1}  # typed int -> int; key -1 never occurs
    nops = 0
    for g in range(ng):
        sa = gate_a[g]
        sb = gate_b[g]
        va = sig_val[sa]
        vb = sig_val[sb]
        pa = sig_pol[sa]
        pb = sig_pol[sb]
        s = base + g
        if va == 0 or vb == 0 or va == vb:
            if (va == 0 and pa == 0) or (vb == 0 and pb == 0) or (va == vb and pa != pb):
                sig_val[s] = 0
                sig_pol[s] = 1
            elif va == 0:
                sig_val[s] = vb
                sig_pol[s] = pb ^ 1
            else:
                sig_val[s] = va
                sig_pol[s] = pa ^ 1
            continue
        ia = va - first_op
        ib = vb - first_op
        if ia >= 0 and ib >= 0 and low[ia] == low[ib] and high[ia] == high[ib]:
            l0, l1, ta, tb = low[ia], high[ia], own_tt[ia], own_tt[ib]
        elif ia >= 0 and (vb == low[ia] or vb == high[ia]):
            l0, l1, ta = low[ia], high[ia], own_tt[ia]
            tb = 0xA if vb == low[ia] else 0xC
        elif ib >= 0 and (va == low[ib] or va == high[ib]):
            l0, l1, tb = low[ib], high[ib], own_tt[ib]
            ta = 0xA if va == low[ib] else 0xC
        elif va < vb:
            l0, l1, ta, tb = va, vb, 0xA, 0xC
        else:
            l0, l1, ta, tb = vb, va, 0xC, 0xA
        ma = _FULL if pa else 0
        mb = _FULL if pb else 0
        tt = _FULL & ~((ta ^ ma) & (tb ^ mb))
        kind = select_table[tt, 0]
        pol = select_table[tt, 3]
        li = l0 if select_table[tt, 1] == 0 else l1
        lj = l0 if select_table[tt, 2] == 0 else l1
        if kind == _CONST:
            value = 0
        elif kind == _LEAF:
            value = li
        else:
            key = (kind << 60) | (li << 30) | lj
            value = existing.get(key, -1)
            if value < 0:
                value = first_op + nops
                existing[key] = value
                kinds[nops] = kind
                args[nops, 0] = li
                args[nops, 1] = lj
                low[nops] = l0
                high[nops] = l1
                own_tt[nops] = tt ^ (_FULL if pol else 0)
                nops += 1
        sig_val[s] = value
        sig_pol[s] = pol
    return kinds[:nops].copy(), args[:nops].copy(), sig_val, sig_pol


@njit(cache=True, nogil=True)
def live_ops(kinds, args, first_op, roots):
    """Which ops reach a root value (reverse liveness over ops in topological order)."""
    n = kinds.shape[0]
    live = np.zeros(first_op + n, np.bool_)
    for r in roots:
        live[r] = True
    for i in range(n - 1, -1, -1):
        if live[first_op + i]:
            live[args[i, 0]] = True
            live[args[i, 1]] = True
            if kinds[i] == _TERN:
                live[args[i, 2]] = True
    return live[first_op:]


@njit(cache=True, nogil=True)
def depth_first_order(kinds, args, first_op, roots):
    """Ops in depth-first post-order from the roots (see :func:`.codegen.order_depth_first`)."""
    n = kinds.shape[0]
    placed = np.zeros(n, np.bool_)
    order = np.empty(n, np.int64)
    stack = np.empty(n + 1, np.int64)
    count = 0
    for r in roots:
        if r < first_op:
            continue
        top = 0
        stack[0] = r - first_op
        while top >= 0:
            i = stack[top]
            if placed[i]:
                top -= 1
                continue
            k = 3 if kinds[i] == _TERN else 2
            pushed = False
            for t in range(k - 1, -1, -1):  # push in reverse: the first operand is visited first
                u = args[i, t] - first_op
                if u >= 0 and not placed[u]:
                    top += 1
                    stack[top] = u
                    pushed = True
            if not pushed:
                placed[i] = True
                order[count] = i
                count += 1
                top -= 1
    return order[:count].copy()


# ---------------------------------------------------------------------- register allocation
# instruction records: (code, a, b, c, d, e); memory operands are (base, index) with
# base 0 = inputs (rax), 1 = slots (r11), 2 = spill (rcx), 3 = outputs (r10); a register
# operand has base -1 and the register as index.
LOAD, STORE, OP, TERNLOG, COPY, NOT, ZERO = 0, 1, 2, 3, 4, 5, 6
_NEVER = 1 << 62
SCRATCH, ONES = 14, 15


@njit(cache=True, nogil=True)
def _next_uses(kinds, args, first_value):
    """Per op and operand use: the op of the value's next use; per op: its value's first use."""
    n = kinds.shape[0]
    nexts = np.full((n, 3), _NEVER, np.int64)
    firsts = np.full(n, _NEVER, np.int64)
    nuses = np.empty(n, np.int64)
    seen = {-1: -1}  # typed int -> int; key -1 never occurs
    for i in range(n - 1, -1, -1):
        firsts[i] = seen.get(first_value + i, _NEVER)
        x, y, z = args[i, 0], args[i, 1], args[i, 2]
        if kinds[i] == _TERN and z != x and z != y:
            nuses[i] = 3
            nexts[i, 0] = seen.get(x, _NEVER)
            nexts[i, 1] = seen.get(y, _NEVER)
            nexts[i, 2] = seen.get(z, _NEVER)
            seen[x] = i
            seen[y] = i
            seen[z] = i
        else:
            nuses[i] = 2
            if x == y:
                nexts[i, 0] = i  # the first read of x, then the second
                nexts[i, 1] = seen.get(x, _NEVER)
            else:
                nexts[i, 0] = seen.get(x, _NEVER)
                nexts[i, 1] = seen.get(y, _NEVER)
            seen[x] = i
            seen[y] = i
    return nexts, firsts, nuses


@njit(cache=True, nogil=True)
def allocate(kinds, args, imms, first_value, first_op, slot_of, out_value, out_pos, out_pol, registers):
    """Register allocation and instruction list of one chunk (see :mod:`.asm`).

    ``slot_of[v - first_op]`` is value ``v``'s slot or -1; outputs are given as
    parallel arrays sorted by value.  At most ``registers`` values are held;
    when none is free, the held value whose next use is farthest is evicted
    (Belady), stored to a spill vector first if it has no home.  Returns
    ``(instructions (m, 6), spill vectors)``.
    """
    n = kinds.shape[0]
    nexts, firsts, nuses = _next_uses(kinds, args, first_value)
    total = first_value + n
    reg_of = np.full(total, -1, np.int64)
    spill_of = np.full(total, -1, np.int64)
    next_use = np.full(total, _NEVER, np.int64)
    held = np.full(registers, -1, np.int64)  # register -> value
    free = np.empty(registers, np.int64)
    nfree = registers
    for r in range(registers):
        free[r] = registers - 1 - r
    free_spill = np.empty(total + 1, np.int64)
    nfree_spill = 0
    released = np.empty(4, np.int64)
    nreleased = 0
    spill_slots = 0
    out = np.zeros((6 * n + 2 * out_value.shape[0] + 16, 6), np.int64)
    m = 0
    operands = np.empty((3, 2), np.int64)
    # the first output entry of each value (outputs are sorted by value)
    out_first = {-1: -1}  # typed int -> int; key -1 never occurs
    for k in range(out_value.shape[0]):
        if out_value[k] not in out_first:
            out_first[out_value[k]] = k

    for i in range(n):
        x, y, z = args[i, 0], args[i, 1], args[i, 2]
        kind = kinds[i]
        pins = (x, y)
        if kind == _TERN:
            next_use[x] = i
            next_use[y] = i
        elif kind != _ANDN and reg_of[x] < 0 and reg_of[y] >= 0:
            x, y = y, x  # commutative: the held value is the register source
            next_use[x] = i
            next_use[y] = i
        else:
            next_use[x] = i
            next_use[y] = i
        # fetch the register source (x for two-input ops, y for TERN)
        src_reg_value = y if kind == _TERN else x
        if reg_of[src_reg_value] < 0:
            if nfree > 0:
                nfree -= 1
                r = free[nfree]
            else:
                r, m, nfree_spill, spill_slots = _evict(
                    held, reg_of, spill_of, next_use, slot_of, free_spill, nfree_spill, spill_slots, out, m,
                    first_op, pins[0] if kind == _TERN else -1, pins[1] if kind == _TERN else -1)
            v = src_reg_value
            reg_of[v] = r
            held[r] = v
            if v < first_op:
                mb, mi = 0, v - 1
            elif slot_of[v - first_op] >= 0:
                mb, mi = 1, slot_of[v - first_op]
            else:
                mb, mi = 2, spill_of[v]
            out[m, 0], out[m, 1], out[m, 2], out[m, 3] = LOAD, r, mb, mi
            m += 1
        # the other operands: a register if held, else their home
        for t, v in enumerate((x, y, z)):
            if reg_of[v] >= 0:
                operands[t, 0], operands[t, 1] = -1, reg_of[v]
            elif v < first_op:
                operands[t, 0], operands[t, 1] = 0, v - 1
            elif slot_of[v - first_op] >= 0:
                operands[t, 0], operands[t, 1] = 1, slot_of[v - first_op]
            else:
                operands[t, 0], operands[t, 1] = 2, spill_of[v]
        # uses done: a dead value's register is free at once, its spill vector after the op
        if kind == _TERN:
            uses = (z, x, y) if nuses[i] == 3 else (x, y, -1)
            laters = (nexts[i, 2], nexts[i, 0], nexts[i, 1]) if nuses[i] == 3 else (nexts[i, 0], nexts[i, 1], 0)
            upto = 1 if nuses[i] == 3 else 0  # z is released before the result is claimed
        else:
            uses = (x, y, -1)
            if x != args[i, 0]:  # swapped above
                laters = (nexts[i, 1], nexts[i, 0], 0)
            else:
                laters = (nexts[i, 0], nexts[i, 1], 0)
            upto = 2
        for t in range(upto):
            nfree, nreleased = _release(uses[t], laters[t], reg_of, held, spill_of, next_use, free, nfree,
                                        released, nreleased)
        # the result's register
        if nfree > 0:
            nfree -= 1
            r = free[nfree]
        else:
            r, m, nfree_spill, spill_slots = _evict(
                held, reg_of, spill_of, next_use, slot_of, free_spill, nfree_spill, spill_slots, out, m,
                first_op, pins[0] if kind == _TERN else -1, pins[1] if kind == _TERN else -1)
        if kind == _TERN:
            for t in range(upto, upto + 2):  # x and y: released after the claim (they were pinned)
                if uses[t] >= 0:
                    nfree, nreleased = _release(uses[t], laters[t], reg_of, held, spill_of, next_use, free,
                                                nfree, released, nreleased)
            # dst starts as a copy of z unless z's register became the result's
            if not (operands[2, 0] == -1 and operands[2, 1] == r):
                out[m, 0], out[m, 1], out[m, 2], out[m, 3] = COPY, r, operands[2, 0], operands[2, 1]
                m += 1
            out[m, 0], out[m, 1], out[m, 2], out[m, 3], out[m, 4], out[m, 5] = (
                TERNLOG, r, operands[0, 0], operands[0, 1], operands[1, 1], imms[i])
            m += 1
        else:
            out[m, 0], out[m, 1], out[m, 2], out[m, 3], out[m, 4], out[m, 5] = (
                OP, r, operands[1, 0], operands[1, 1], operands[0, 1], kind)
            m += 1
        for t in range(nreleased):
            free_spill[nfree_spill] = released[t]
            nfree_spill += 1
        nreleased = 0
        v = first_value + i
        s = slot_of[v - first_op]
        if s >= 0:
            out[m, 0], out[m, 1], out[m, 2], out[m, 3] = STORE, r, 1, s
            m += 1
        if v in out_first:
            m = _store_outputs(out, m, r, v, out_first[v], out_value, out_pos, out_pol)
        if firsts[i] == _NEVER:
            free[nfree] = r
            nfree += 1
        else:
            reg_of[v] = r
            held[r] = v
            next_use[v] = firsts[i]
    # outputs that are inputs or constants
    for k in range(out_value.shape[0]):
        v = out_value[k]
        if v >= first_op or (k > 0 and out_value[k - 1] == v):
            continue
        if v:
            out[m, 0], out[m, 1], out[m, 2], out[m, 3] = LOAD, SCRATCH, 0, v - 1
        else:
            out[m, 0], out[m, 1] = ZERO, SCRATCH
        m += 1
        m = _store_outputs(out, m, SCRATCH, v, k, out_value, out_pos, out_pol)
    return out[:m].copy(), spill_slots


@njit(cache=True, nogil=True)
def _release(v, later, reg_of, held, spill_of, next_use, free, nfree, released, nreleased):
    """One use of ``v`` is done: note its next use, or (dead) free its register at once and its
    spill vector once the op is written.  Returns ``(nfree, nreleased)``."""
    if later != _NEVER:
        next_use[v] = later
        return nfree, nreleased
    if reg_of[v] >= 0:
        free[nfree] = reg_of[v]
        nfree += 1
        held[reg_of[v]] = -1
        reg_of[v] = -1
    if spill_of[v] >= 0:
        released[nreleased] = spill_of[v]
        nreleased += 1
        spill_of[v] = -1
    return nfree, nreleased


@njit(cache=True, nogil=True)
def _evict(held, reg_of, spill_of, next_use, slot_of, free_spill, nfree_spill, spill_slots, out, m, first_op,
           pin0, pin1):
    """Free a register: the held value (not ``pin0``/``pin1``) used farthest in the future leaves it,
    stored to a spill vector first if it has no home.  Returns ``(register, m, nfree_spill, spill_slots)``."""
    victim = -1
    far = -1
    for rr in range(held.shape[0]):
        u = held[rr]
        if u >= 0 and u != pin0 and u != pin1 and next_use[u] > far:
            far = next_use[u]
            victim = u
    r = reg_of[victim]
    reg_of[victim] = -1
    held[r] = -1
    if victim >= first_op and slot_of[victim - first_op] < 0 and spill_of[victim] < 0:
        if nfree_spill > 0:
            nfree_spill -= 1
            s = free_spill[nfree_spill]
        else:
            s = spill_slots
            spill_slots += 1
        spill_of[victim] = s
        out[m, 0], out[m, 1], out[m, 2], out[m, 3] = STORE, r, 2, s
        m += 1
    return r, m, nfree_spill, spill_slots


@njit(cache=True, nogil=True)
def _store_outputs(out, m, r, v, k0, out_value, out_pos, out_pol):
    """Store register ``r`` (value ``v``) to its outputs: plain ones, then the complement made once."""
    k = k0
    negated = False
    while k < out_value.shape[0] and out_value[k] == v:
        if out_pol[k] == 0:
            out[m, 0], out[m, 1], out[m, 2], out[m, 3] = STORE, r, 3, out_pos[k]
            m += 1
        else:
            negated = True
        k += 1
    if negated:
        out[m, 0], out[m, 1] = NOT, r
        m += 1
        k = k0
        while k < out_value.shape[0] and out_value[k] == v:
            if out_pol[k]:
                out[m, 0], out[m, 1], out[m, 2], out[m, 3] = STORE, SCRATCH, 3, out_pos[k]
                m += 1
            k += 1
    return m


# ---------------------------------------------------------------------- three-input cover
@njit(cache=True, nogil=True)
def _remap3(tt, where, count):
    """Truth table ``tt`` over leaves ``i < count`` re-expressed with leaf ``i`` at position ``where[i]``."""
    out = 0
    for m in range(8):
        old = 0
        for i in range(count):
            old |= ((m >> where[i]) & 1) << i
        out |= ((tt >> old) & 1) << m
    return out


@njit(cache=True, nogil=True)
def _truth3(kind, x, y):
    if kind == _AND:
        return x & y
    if kind == _ANDN:
        return ~x & y & 0xFF
    if kind == _OR:
        return x | y
    return x ^ y


@njit(cache=True, nogil=True)
def cover3(first_value, kinds, args, external, select_table):
    """Three-input cover of two-input ops (the body of :func:`.codegen._cover3`; same rules).

    Returns ``(kinds, args (k, 3), imms, kept)`` of the kept ops.
    """
    n = kinds.shape[0]
    fanout = external.astype(np.float64).copy()
    for i in range(n):
        for t in range(2):
            u = args[i, t]
            if u >= first_value:
                fanout[u - first_value] += 1.0
    cut = np.zeros((n, 3), np.int64)
    cut_len = np.zeros(n, np.int64)
    cut_tt = np.zeros(n, np.int64)
    flow = np.zeros(n, np.float64)
    opt = np.zeros((2, 3), np.int64)  # an operand's options: itself, or its cut
    leaves = np.zeros(3, np.int64)
    best_leaves = np.zeros(3, np.int64)
    best_x = np.zeros(3, np.int64)
    best_y = np.zeros(3, np.int64)
    where = np.zeros(3, np.int64)
    for i in range(n):
        kind = kinds[i]
        x = args[i, 0]
        y = args[i, 1]
        ix = x - first_value
        iy = y - first_value
        # the trivial cut first
        nb = 2
        if x < y:
            best_leaves[0], best_leaves[1] = x, y
        else:
            best_leaves[0], best_leaves[1] = y, x
        best_cost = 1.0 + (flow[ix] if ix >= 0 else 0.0) + (flow[iy] if iy >= 0 else 0.0)
        nbx = 1
        nby = 1
        best_x[0] = x
        best_y[0] = y
        if ix >= 0 or iy >= 0:
            for ox in range(2 if ix >= 0 else 1):
                if ox == 0:
                    lx = 1
                    opt[0, 0] = x
                else:
                    lx = cut_len[ix]
                    for t in range(lx):
                        opt[0, t] = cut[ix, t]
                for oy in range(2 if iy >= 0 else 1):
                    if oy == 0:
                        ly = 1
                        opt[1, 0] = y
                    else:
                        ly = cut_len[iy]
                        for t in range(ly):
                            opt[1, t] = cut[iy, t]
                    if lx == 1 and ly == 1:
                        continue
                    # merged, sorted set of leaves (at most 3)
                    nl = 0
                    ok = True
                    for side in range(2):
                        ls = lx if side == 0 else ly
                        for t in range(ls):
                            v = opt[side, t]
                            dup = False
                            for q in range(nl):
                                if leaves[q] == v:
                                    dup = True
                            if not dup:
                                if nl == 3:
                                    ok = False
                                    break
                                leaves[nl] = v
                                nl += 1
                        if not ok:
                            break
                    if not ok:
                        continue
                    # insertion sort
                    for a in range(1, nl):
                        v = leaves[a]
                        b = a - 1
                        while b >= 0 and leaves[b] > v:
                            leaves[b + 1] = leaves[b]
                            b -= 1
                        leaves[b + 1] = v
                    cost = 1.0
                    for q in range(nl):
                        if leaves[q] >= first_value:
                            cost += flow[leaves[q] - first_value]
                    if cost < best_cost or (cost == best_cost and leaves[nl - 1] < best_leaves[nb - 1]):
                        best_cost = cost
                        nb = nl
                        for q in range(nl):
                            best_leaves[q] = leaves[q]
                        nbx = lx
                        for q in range(lx):
                            best_x[q] = opt[0, q]
                        nby = ly
                        for q in range(ly):
                            best_y[q] = opt[1, q]
        for q in range(nbx):
            for p in range(nb):
                if best_leaves[p] == best_x[q]:
                    where[q] = p
        tx = _remap3(0xAA if nbx == 1 else cut_tt[ix], where, nbx)
        for q in range(nby):
            for p in range(nb):
                if best_leaves[p] == best_y[q]:
                    where[q] = p
        ty = _remap3(0xAA if nby == 1 else cut_tt[iy], where, nby)
        cut_len[i] = nb
        for q in range(nb):
            cut[i, q] = best_leaves[q]
        cut_tt[i] = _truth3(kind, tx, ty)
        flow[i] = best_cost / max(1.0, fanout[i])
    needed = external > 0
    for i in range(n - 1, -1, -1):
        if needed[i]:
            for q in range(cut_len[i]):
                leaf = cut[i, q]
                if leaf >= first_value:
                    needed[leaf - first_value] = True
    count = 0
    for i in range(n):
        if needed[i]:
            count += 1
    new_kinds = np.zeros(count, np.int64)
    new_args = np.zeros((count, 3), np.int64)
    imms = np.zeros(count, np.int64)
    kept = np.zeros(count, np.int64)
    k = 0
    for i in range(n):
        if not needed[i]:
            continue
        nl = cut_len[i]
        tt = cut_tt[i]
        two = False
        if nl == 2:
            sk = select_table[tt & _FULL, 0]
            if sk >= 0 and select_table[tt & _FULL, 3] == 0:
                two = True
                new_kinds[k] = sk
                la = cut[i, select_table[tt & _FULL, 1]]
                new_args[k, 0] = la
                new_args[k, 1] = cut[i, select_table[tt & _FULL, 2]]
                new_args[k, 2] = la
        if not two:
            new_kinds[k] = _TERN
            for q in range(3):
                new_args[k, q] = cut[i, q] if q < nl else cut[i, 0]
            imms[k] = tt
        kept[k] = i
        k += 1
    return new_kinds, new_args, imms, kept
