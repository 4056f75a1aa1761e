"""Adder-tree certificates: a proof that a node is a threshold of a sum of literals, by local identities.

A tree of adders (ripple-carry, carry-save, Wallace, whatever shape) sums
bits by full adders and half adders.  Each is a local identity between
integers that holds on every input vector:

* full adder over literals ``a, b, c``: ``a + b + c = xor3(a, b, c) + 2 maj(a, b, c)``;
* half adder: ``a + b = xor(a, b) + 2 (a & b)``.

:func:`adder_certificate` finds them by function, not by structure: the
3- and 2-leaf cuts of every node (:mod:`nandc.synth.cuts`) name the nodes that
are an XOR3, a majority, an XOR2 or an AND of their leaves (any leaf and
output polarity).  Starting from the linear form ``L = sum_i (x_i ^ p_i)``
written over node variables (``x ^ 1 = 1 - x``), it repeatedly replaces
``w * (a + b + c)`` by ``w * sum + 2w * carry`` (and likewise for a half
adder): every step is an exact identity checked on the cut's truth table,
so ``L = const + sum_j w_j z_j`` holds throughout, for every input.  When no
step applies, the remaining signals ``z_j`` must cut the root from the
inputs; the root is then a function ``h`` of them, evaluated exhaustively
over all ``2^m`` assignments (a sound over-approximation of the reachable
ones).  If ``h(z) == [v(z) >= T]`` wherever ``v(z) = const + sum_j w_j z_j``
lies in ``0 .. k`` (the only values ``L`` takes), then ``root == [L >= T]``
on every input: a proof, with no SAT call, linear in the size of the tree.

A subtly wrong circuit (an input counted twice, a full adder with one gate
flipped, a comparator wrong at one count) leaves a form that either does
not cut the root or disagrees with the threshold at some value: no
certificate, and the caller falls back to other proofs.  The certificate
never refutes (a disagreement may be at an unreachable assignment).

The same idea (algebraic rewriting of the adder network instead of
bit-level reasoning) is known from arithmetic-circuit verification and
adder extraction; this is a small forward variant for counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.synth.compiled import use_compiled
from nandc.synth.cuts import enumerate_cuts
from nandc.synth.truth import MASK, VAR, negate_inputs

__all__ = ["adder_certificate", "adder_tables", "find_adders", "sum_form"]

_XOR3 = VAR[0] ^ VAR[1] ^ VAR[2]
_XOR2 = VAR[0] ^ VAR[1]
_MAJ = (VAR[0] & VAR[1]) | (VAR[0] & VAR[2]) | (VAR[1] & VAR[2])
_AND = VAR[0] & VAR[1]


def _polarity_tables(base: int, leaves: int) -> dict[int, tuple[int, int]]:
    """``table -> (input mask, output negation)`` of ``base`` under every leaf/output polarity (first found)."""
    out: dict[int, tuple[int, int]] = {}
    for mask in range(1 << leaves):
        for r in (0, 1):
            out.setdefault(negate_inputs(base, mask) ^ (MASK if r else 0), (mask, r))
    return out


_MAJ_TABLES = _polarity_tables(_MAJ, 3)
_AND_TABLES = _polarity_tables(_AND, 2)
#: Per leaf count, every table :func:`adder_tables` notes a cut of.
_ADDER_TABLES = {3: sorted({_XOR3, _XOR3 ^ MASK} | set(_MAJ_TABLES)),
                 2: sorted({_XOR2, _XOR2 ^ MASK} | set(_AND_TABLES))}

# an adder: (leaves, sum node, sum negation q, carry node, leaf mask p, carry negation r), meaning
# sum == xor(leaves) ^ q and carry == maj/and(leaf_i ^ p_i) ^ r as functions of the plain leaf nodes
Adder = tuple[tuple[int, ...], int, int, int, int, int]

#: The sum "node" of an adder whose sum no node computes.
VIRTUAL = -1


def adder_tables(circuit: Circuit, limit: int = 10, every: bool = False
                 ) -> tuple[dict[tuple[int, ...], tuple[int, int]],
                            dict[tuple[int, ...], list[tuple[int, int, int]]], dict[int, int]]:
    """``(xors, carries, constants)`` from the 2- and 3-leaf cuts of every AND node (``limit`` cuts kept per node).

    ``xors[leaves] = (node, q)``: the first node equal to the XOR of the leaves, negated if ``q``
    (``every``: the list of all such nodes);
    ``carries[leaves]``: ``(node, p, r)`` of every node equal to the majority (3 leaves) or AND
    (2 leaves) of ``leaf_i ^ p_i``, negated if ``r``; ``constants``: ``{node: value}`` of nodes a cut
    proves constant.
    """
    f0, f1, _ = circuit.arrays()
    ands = list(circuit.and_nodes())
    if use_compiled(len(ands)):  # the same cuts by the compiled loops
        cuts = _adder_cuts(f0, f1, ands, limit)
    else:
        cuts = enumerate_cuts(f0.tolist(), f1.tolist(), ands, k=3, limit=limit).items()
    xors: dict[tuple[int, ...], tuple[int, int]] = {}
    carries: dict[tuple[int, ...], list[tuple[int, int, int]]] = {}
    constants: dict[int, int] = {}
    for v, vcuts in cuts:
        for leaves, tt in vcuts:
            n = len(leaves)
            if n == 0:
                constants[v] = int(tt != 0)
            elif n == 3:
                if tt in (_XOR3, _XOR3 ^ MASK):
                    _note_xor(xors, leaves, (v, int(tt != _XOR3)), every)
                elif tt in _MAJ_TABLES:
                    carries.setdefault(leaves, []).append((v,) + _MAJ_TABLES[tt])
            elif n == 2:
                if tt in (_XOR2, _XOR2 ^ MASK):
                    _note_xor(xors, leaves, (v, int(tt != _XOR2)), every)
                elif tt in _AND_TABLES:
                    carries.setdefault(leaves, []).append((v,) + _AND_TABLES[tt])
    return xors, carries, constants


def _adder_cuts(f0, f1, ands: list[int], limit: int):
    """``(node, [(leaves, table), ...])`` as :func:`enumerate_cuts` gives them (3 leaves at most,
    ``limit`` per node, by the compiled loops), of only the cuts :func:`adder_tables` reads: no
    leaf, or 2 or 3 leaves under an XOR, majority or AND-type table; in the same order (most cuts
    are none of these, and making Python tuples of them all was most of the time)."""
    from nandc.synth import kernels

    leaves, nleaf, table, ncut = kernels.cut_arrays(f0, f1, ands, 3, limit)
    rows = np.asarray(ands, dtype=np.int64)
    nl, tt = nleaf[rows], table[rows]
    keep = np.arange(nl.shape[1])[None, :] < ncut[rows][:, None]
    keep &= (nl == 0) | ((nl == 3) & np.isin(tt, _ADDER_TABLES[3])) | ((nl == 2) & np.isin(tt, _ADDER_TABLES[2]))
    out: dict[int, list] = {}
    for i, c in zip(*(a.tolist() for a in np.nonzero(keep))):
        v = ands[i]
        n = int(nl[i, c])
        out.setdefault(v, []).append((tuple(leaves[v, c, :n].tolist()), int(tt[i, c])))
    return out.items()


def _note_xor(xors: dict, leaves: tuple[int, ...], found: tuple[int, int], every: bool) -> None:
    if every:
        xors.setdefault(leaves, []).append(found)
    else:
        xors.setdefault(leaves, found)


def find_adders(circuit: Circuit, limit: int = 10
                ) -> tuple[list[Adder], list[Adder], list[Adder], dict[int, int]]:
    """The adders of ``circuit`` by function: ``(full, half, carry_only, constants)``.

    A full (half) adder is an XOR node and a majority (an AND-type) node over
    the same 3 (2) cut leaves; ``carry_only`` are majority and AND-type nodes
    with no XOR over their leaves (an adder whose sum nobody reads: its sum
    is :data:`VIRTUAL`, a free variable of the certificate).  Each list in
    increasing node order; half adders whose carry is an AND of the literals
    before those where it is an OR.  ``constants``: the AND nodes a cut
    proves constant (``{node: value}``), which an adder may read (a ripple
    adder's top carry that can never be set).
    """
    xors, carries, constants = adder_tables(circuit, limit)
    full, half, carry_only = [], [], []
    for leaves, got in carries.items():
        s, q = xors.get(leaves, (VIRTUAL, 0))
        for carry in got:
            adder = (leaves, s, q) + carry
            (carry_only if s == VIRTUAL else full if len(leaves) == 3 else half).append(adder)
    return (sorted(full, key=lambda a: max(a[1], a[3])), sorted(half, key=lambda a: (a[5], max(a[1], a[3]))),
            sorted(carry_only, key=lambda a: (-len(a[0]), a[5], a[3])), constants)


def sum_form(circuit: Circuit, phases: Sequence[int], max_steps: int | None = None,
             adders: tuple | None = None) -> tuple[dict[int, int], int, int]:
    """``(coefficients {node: w}, constant, steps)`` with ``sum_i (x_i ^ phases[i]) ==
    constant + sum w * node`` on every input, reduced by the adders of :func:`find_adders`.

    Full adders first; a half adder only over two leaves no full adder
    (or majority node) shares; a carry-only adder last, one at a time, when nothing else
    applies.  Its sum gets a fresh negative id (a free variable: no node
    of the circuit).  ``adders``: the result of :func:`find_adders` on ``circuit``, if known."""
    coef: dict[int, int] = {}
    const = 0
    for node, p in zip(circuit.inputs, phases):
        coef[node] = coef.get(node, 0) + (1 - 2 * p)
        const += p
    full, half, carry_only, constants = adders if adders is not None else find_adders(circuit)
    by_leaf: dict[int, list[int]] = {}
    for i, (leaves, *_rest) in enumerate(full):
        for u in leaves:
            by_leaf.setdefault(u, []).append(i)
    carry_by_leaf: dict[int, list[int]] = {}
    for i, (leaves, *_rest) in enumerate(carry_only):
        carry_by_leaf.setdefault(leaves[0], []).append(i)
    fa_pairs = {(lv[i], lv[j]) for lv, *_ in full + carry_only if len(lv) == 3
                for i, j in ((0, 1), (0, 2), (1, 2))}
    half = [h for h in half if h[0] not in fa_pairs]
    steps = 0
    virtual = VIRTUAL
    limit = max_steps if max_steps is not None else 4 * (len(full) + len(half)) + 64

    def apply(adder: Adder) -> list[int] | None:
        """Replace ``w * sum(leaf literals)`` by sum and carry if the form holds it; the changed nodes."""
        nonlocal const, virtual
        leaves, s, q, m, pmask, r = adder
        signs = [1 - 2 * ((pmask >> i) & 1) for i in range(len(leaves))]
        first = next((i for i, u in enumerate(leaves) if coef.get(u, 0)), None)
        if first is None:
            return None
        w = coef[leaves[first]] * signs[first]
        missing = []
        for u, sign in zip(leaves, signs):
            c = coef.get(u, 0)
            if c != w * sign:
                if c or u not in constants:
                    return None
                missing.append((u, w * sign))
        for u, c in missing:  # a constant node: c * u - c * value == 0
            coef[u] = c
            const -= c * constants[u]
        if s == VIRTUAL:
            virtual -= 1
            s = virtual
        # w * (sum_i s_i x_i) = w * (sum_i l_i - sum_i p_i), l_i = x_i ^ p_i = p_i + s_i x_i
        pbits = [(pmask >> i) & 1 for i in range(len(leaves))]
        e = q ^ (sum(pbits) & 1)  # the xor of the literals is s ^ e
        for u in leaves:
            del coef[u]
        const -= w * sum(pbits)
        const += w * e + 2 * w * r
        for node, c in ((s, w * (1 - 2 * e)), (m, 2 * w * (1 - 2 * r))):
            c += coef.get(node, 0)
            if c:
                coef[node] = c
            else:
                coef.pop(node, None)
        return list(leaves) + [s, m]

    queue = list(range(len(full)))
    queued = set(queue)

    def requeue(changed: list[int]) -> None:
        for u in changed:
            for j in by_leaf.get(u, ()):
                if j not in queued:
                    queued.add(j)
                    queue.append(j)

    while steps < limit:
        while queue and steps < limit:
            i = queue.pop()
            queued.discard(i)
            changed = apply(full[i])
            if changed is not None:
                steps += 1
                requeue(changed)
        progress = False
        for h in half:
            if steps >= limit:
                break
            changed = apply(h)
            if changed is not None:
                steps += 1
                progress = True
                requeue(changed)
        if not progress and not queue:
            for i in sorted({i for u in coef for i in carry_by_leaf.get(u, ())}):
                changed = apply(carry_only[i])
                if changed is not None:
                    steps += 1
                    progress = True
                    requeue(changed)
                    break
        if not progress and not queue:
            break
    return coef, const, steps


def _in_range(weights: list[int], const: int, lo: int, hi: int, limit: int) -> list[int] | None:
    """Every assignment (bitmask over ``weights``) with ``lo <= const + sum w_j z_j <= hi``,
    or None if there are more than ``limit``.  Depth-first, largest weights first, a branch
    cut as soon as the rest cannot reach the range."""
    order = sorted(range(len(weights)), key=lambda j: -abs(weights[j]))
    ws = [weights[j] for j in order]
    n = len(ws)
    low = [0] * (n + 1)  # the least and most the signals from position i on can add
    high = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        low[i] = low[i + 1] + min(ws[i], 0)
        high[i] = high[i + 1] + max(ws[i], 0)
    # first count them (partial sums that can still reach the range, with their multiplicities):
    # many more than ``limit`` would cost a long enumeration for nothing
    counts = {const: 1}
    for i in range(n):
        nxt: dict[int, int] = {}
        for acc, c in counts.items():
            for a in (acc, acc + ws[i]):
                if a + high[i + 1] >= lo and a + low[i + 1] <= hi:
                    nxt[a] = min(nxt.get(a, 0) + c, limit + 1)
        counts = nxt
        if len(counts) > 4 * limit:  # too many distinct sums to count cheaply: enumerate
            break
    else:
        if sum(c for a, c in counts.items() if lo <= a <= hi) > limit:
            return None
    out: list[int] = []
    stack = [(0, const, 0)]
    while stack:
        i, acc, mask = stack.pop()
        if acc + high[i] < lo or acc + low[i] > hi:
            continue
        if i == n:
            out.append(mask)
            if len(out) > limit:
                return None
            continue
        stack.append((i + 1, acc, mask))
        stack.append((i + 1, acc + ws[i], mask | (1 << order[i])))
    return out


def adder_certificate(circuit: Circuit, root: int, phases: Sequence[int], threshold: int,
                      max_rows: int = 1 << 14, adders: tuple | None = None) -> bool | None:
    """True if literal ``root`` of ``circuit`` provably equals ``[sum_i (x_i ^ phases[i]) >= threshold]``
    (``x_i`` the inputs of ``circuit``) by an adder-tree certificate (module docstring), else None.

    The root is evaluated on every assignment of the remaining signals whose
    weighted sum lies in ``0 .. k`` (none outside that range is reachable),
    at most ``max_rows`` of them.  ``adders``: :func:`find_adders` of ``circuit``, if known."""
    k = circuit.num_inputs
    if len(phases) != k:
        return None
    coef, const, _ = sum_form(circuit, phases, adders=adders)
    f0, f1, _ = circuit.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    # the nodes between the root and the cut, which must separate the root from every input
    top, seen, stack = [], set(), [root >> 1]
    while stack:
        v = stack.pop()
        if v in seen or v in coef or v == 0:
            continue
        seen.add(v)
        if not f0l[v]:
            return None  # an input the remaining signals do not cover
        top.append(v)
        stack += (f0l[v] >> 1, f1l[v] >> 1)
    zs = sorted(coef)
    masks = _in_range([coef[z] for z in zs], const, 0, k, max_rows)
    if masks is None:
        return None
    # weighted sums fit int64 unless the weights are huge (then Python ints)
    wide = len(zs) > 62 or abs(const) + sum(abs(c) for c in coef.values()) >= 1 << 62
    rows = np.array(masks, dtype=object if wide else np.int64)
    val: dict[int, np.ndarray] = {0: np.zeros(len(masks), dtype=bool)}
    v_sum = np.full(len(masks), const, dtype=object if wide else np.int64)
    for j, z in enumerate(zs):
        bit = ((rows >> j) & 1).astype(bool)
        val[z] = bit
        v_sum = v_sum + coef[z] * (bit.astype(np.int64).astype(object) if wide else bit.astype(np.int64))
    for v in sorted(top):
        a, b = f0l[v], f1l[v]
        va = val[a >> 1] if not a & 1 else ~val[a >> 1]
        vb = val[b >> 1] if not b & 1 else ~val[b >> 1]
        val[v] = va & vb
    h = val[root >> 1] ^ bool(root & 1)
    want = np.array([int(x) >= threshold for x in v_sum], dtype=bool) if wide else v_sum >= threshold
    return True if np.array_equal(h, want) else None
