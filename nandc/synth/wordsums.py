"""Adder networks read back as words: which bits of a circuit are the bits of a weighted sum of its leaves.

A tree of full and half adders -- a compressor tree, a chain of ripple-carry
adders, a multiplier's partial-product array, whoever built it -- is a sum
of bits written in a roundabout way.  Every adder is an exact identity over
the integers (any leaf or output polarity, any orientation):

* full adder over literals ``a, b, c``: ``a + b + c - s - 2 co = 0``;
* half adder: ``a + b - s - 2 co = 0``;
* a parity whose carry no node computes (the top column of a word kept
  modulo ``2**K``): ``a + b (+ c) - s - 2 u = 0`` with ``u`` a free 0/1
  variable;
* a carry whose sum no node computes (the dropped low bits of a word):
  ``a + b (+ c) - u - 2 co = 0``, taken only when it reads a computed node.

:func:`find_word_sums` finds the adders by function (the XOR, majority and
AND-type nodes over the same 2- or 3-leaf cut, as in
:mod:`nandc.synth.adders`), then gives each adder a signed power-of-two
weight ``x_A`` so that the nodes one adder computes and the next one reads
cancel in ``sum_A x_A * identity_A``: a produced node read by one adder
fixes the ratio of the two weights, a node read by two (``a + 1 = 2a + ~a``,
a constant folded into a column) is solved once all but one of its adders
have weights.  What is left is one exact identity per group of adders::

    sum_j 2**j * R_j  (+ multiples of 2**K of free variables)  ==  const + sum_v a_v * v

with the *roots* ``R_j`` (computed nodes no adder of the group consumes) on
the left and the *leaves* ``v`` (nodes the group reads but does not compute)
on the right.  When the roots' weights are exactly ``1, 2, .., 2**(K-1)``
(after scaling), root ``R_j`` is bit ``j`` of ``(const + sum a_v v) mod 2**K``:
the group is a :class:`WordSum`, which can be rebuilt from its leaves by any
compressor tree.  Groups whose identity is not of that shape (a carry
dropped in the middle, two roots of one weight) are left out.  No SAT call
and no simulation: the identity is a sum of exact ones, so a found word is
right by construction (the tests check every found word by simulation).

The idea of reading adders as algebraic identities is known from
arithmetic-circuit verification (rewriting the word-level specification
through the gate-level adders); this module runs it the other way, to find
the words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.synth.adders import adder_tables

__all__ = ["WordSum", "find_word_sums", "find_layer_word_sums", "layer_part"]


@dataclass(frozen=True)
class WordSum:
    """Literal ``roots[j]`` is bit ``j`` of ``(constant + sum_v coef[v] * v) mod 2**width`` on every
    input (-1: a bit no node holds: a dropped low bit, or a parity nothing reads between bits that
    are computed); ``coef`` maps leaf nodes (their positive phase) to nonzero integers."""

    coef: dict[int, int]
    constant: int
    width: int
    roots: tuple[int, ...]


# an adder: (input literals, sum literal, carry literal); None for a sum or carry no node computes
_Adder = tuple[tuple[int, ...], int | None, int | None]

#: The walk over an adder's gates (from its XOR or carry node down to its cut) stops after this
#: many AND nodes.  Foreign adders take ~12; a longer cone is a cut that holds by function, not
#: structure (a deep node of a narrow circuit can be XOR3 of three nodes far below it), and
#: walking it whole made the search quadratic on long chains.  The gates only steer the choice of
#: adders; every identity is exact whatever they are.
MAX_ADDER_GATES = 32


def _select_adders(circuit: Circuit, limit: int) -> tuple[list[_Adder], set[int]]:
    """The adders of each XOR node: over its best cut (full before half), one per carry node that
    something reads (words adding the same bits in other polarities share the parity), else the
    parity alone (a free carry); carries whose sum is gone; and the computed nodes read by other
    logic or outputs."""
    xors, carries, _ = adder_tables(circuit, limit, every=True)
    f0, f1 = circuit.fanin_views()
    readers: dict[int, list[int]] = defaultdict(list)
    for v in circuit.and_nodes():
        readers[f0[v] >> 1].append(v)
        readers[f1[v] >> 1].append(v)
    outputs = {lit >> 1 for lit in circuit.output_literals()}

    best: dict[int, tuple[tuple, list[_Adder]]] = {}
    for leaves, sums in xors.items():
        stop = set(leaves)
        others = {m for m, _, _ in carries.get(leaves, ())}
        for s, q in sums:
            gates = _cone(f0, f1, [s], stop)
            options = [((False, False, len(leaves)), (tuple(2 * u for u in leaves), 2 * s ^ q, None))]
            for m, pmask, r in carries.get(leaves, ()):
                # a carry read by anything but the sum's gates and the other carries over these leaves (a
                # half adder's carry may be built from the XOR's first gate), sharing gates with the sum
                used = m in outputs or any(u not in gates and u not in others for u in readers.get(m, ()))
                shares = bool(_cone(f0, f1, [m], stop) & gates)
                lits = tuple(2 * u ^ ((pmask >> i) & 1) for i, u in enumerate(leaves))
                par = bin(pmask).count("1") & 1
                options.append(((used, shares, len(leaves)), (lits, 2 * s ^ q ^ par, 2 * m ^ r)))
            key = max(k for k, _ in options)
            # every used carry: words adding the same bits in other polarities share the parity node
            # (XOR3(a, ~b, c) is XOR3(a, b, c) negated) and have their own majority nodes
            # (a tie is broken by the adders themselves, a parity alone (no carry) the lowest)
            adders = [a for k, a in options if k[0]] if key[0] else [max(options, key=_option_order)[1]]
            if s not in best or key > best[s][0]:
                best[s] = (key, adders)
    # a carry node may be two adders' too (two words adding the same two bits, their AND hashed into one)
    chosen = [adder for _, (_, adders) in sorted(best.items()) for adder in adders]
    # an XOR inside another adder's gates (the first half of a full adder's sum, whose AND is
    # inside the carry) is not an adder of its own
    inner: set[int] = set()
    for lits, s, co in chosen:
        tops = [s >> 1] + ([co >> 1] if co is not None else [])
        inner |= _cone(f0, f1, tops, {x >> 1 for x in lits}, 2 * MAX_ADDER_GATES + 2) - set(tops)
    chosen = [a for a in chosen if a[1] >> 1 not in inner]
    # a carry whose sum nobody reads (the low bits of a word that are dropped): taken when it reads
    # a computed node and an adder reads it, so that the word's low roots are not also its leaves
    produced = {x >> 1 for _, s, co in chosen for x in (s, co) if x is not None}
    more = True
    while more:
        more = False
        read = {x >> 1 for lits, _, _ in chosen for x in lits}
        # a full adder's carry over three leaves before an AND of two: the top of a ripple adder
        # whose sums are dropped computes ~MAJ(a, b, c) as AND(~g, ~(p c)), true as a half adder's
        # carry too, but that reading splits the word where the full adder's continues it
        found: dict[int, tuple[tuple[int, ...], int, int]] = {}
        for leaves, got in carries.items():
            if leaves in xors or not any(u in produced for u in leaves):
                continue
            for m, pmask, r in got:
                if ((m in read or m in outputs) and m not in produced and m not in inner
                        and len(leaves) > len(found.get(m, ((),))[0]) and not _nested(f0, f1, leaves)):
                    found[m] = (leaves, pmask, r)
        for m, (leaves, pmask, r) in sorted(found.items()):
            chosen.append((tuple(2 * u ^ ((pmask >> i) & 1) for i, u in enumerate(leaves)), None, 2 * m ^ r))
            produced.add(m)
            more = True
    # a half adder inside a full adder's carry whose sum is dropped (its parity and AND feed the
    # majority, nothing else) is a gate of that carry, not an adder of its own
    in_carries: set[int] = set()
    for lits, s, co in chosen:
        if s is None and len(lits) == 3:
            in_carries |= _cone(f0, f1, [co >> 1], {x >> 1 for x in lits}, 2 * MAX_ADDER_GATES + 2) - {co >> 1}
    if in_carries:
        chosen = [a for a in chosen if a[1] is None or a[1] >> 1 not in in_carries]
        produced = {x >> 1 for _, s, co in chosen for x in (s, co) if x is not None}
    gates: set[int] = set()
    for lits, s, co in chosen:
        gates |= _cone(f0, f1, [x >> 1 for x in (s, co) if x is not None], {x >> 1 for x in lits},
                       2 * MAX_ADDER_GATES + 2)
    outside = {v for v in produced if v in outputs or any(u not in gates for u in readers.get(v, ()))}
    return chosen, outside


def _option_order(option: tuple) -> tuple:
    """The order of an XOR node's adder options: their keys, then their literals (a missing carry,
    None, below every literal: comparing None with an int raised on an edge-case circuit)."""
    key, (lits, s, co) = option
    return key, lits, s, -1 if co is None else co


def _cone(f0, f1, tops: list[int], stop: set[int], cap: int = MAX_ADDER_GATES) -> set[int]:
    """The AND nodes from ``tops`` (included) down to the ``stop`` nodes; the walk ends once it
    has more than ``cap`` nodes (``len`` of the result then tells the cone is larger)."""
    seen = set(tops)
    stack = list(tops)
    while stack and len(seen) <= cap:
        v = stack.pop()
        for u in (f0[v] >> 1, f1[v] >> 1):
            if u not in stop and u not in seen and f0[u]:
                seen.add(u)
                stack.append(u)
    return seen


def _nested(f0, f1, leaves: tuple[int, ...]) -> bool:
    """Whether one of ``leaves`` reads another within :data:`MAX_ADDER_GATES` AND nodes (a cut
    through a majority's own gates: its function is a majority of dependent leaves, which splits the
    word where the cut over the adder's true inputs continues it)."""
    others = set(leaves)
    for x in leaves:
        for v in _cone(f0, f1, [x], others):
            if f0[v] and (f0[v] >> 1 in others or f1[v] >> 1 in others):
                return True
    return False


def _identity(adder: _Adder) -> tuple[int, dict[int, int], int]:
    """``(constant, {node: coefficient}, free)`` of ``inputs - sum - 2 carry`` over node variables;
    ``free``: the weight of the free variable standing for a sum (1) or carry (2) no node computes."""
    lits, s, co = adder
    coef: dict[int, int] = defaultdict(int)
    const = 0
    terms = [(x, 1) for x in lits] + [(y, c) for y, c in ((s, -1), (co, -2)) if y is not None]
    for lit, c in terms:
        if lit & 1:  # c * (1 - v)
            const += c
            coef[lit >> 1] -= c
        else:
            coef[lit >> 1] += c
    return const, {v: c for v, c in coef.items() if c}, (1 if s is None else 2 if co is None else 0)


class _Groups:
    """Weighted union-find: every adder's weight relative to its group's root, as ``(sign, exponent)``."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.rel = [(1, 0)] * n  # weight of i == rel[i] * weight of parent[i]

    def find(self, i: int) -> tuple[int, int, int]:
        """``(root, sign, exponent)`` with ``weight(i) == sign * 2**exponent * weight(root)``."""
        path = []
        while self.parent[i] != i:
            path.append(i)
            i = self.parent[i]
        root, sign, exp = i, 1, 0
        for j in reversed(path):  # compress: every node on the path points at the root
            s, e = self.rel[j]
            p = self.parent[j]
            if p != root:
                ps, pe = self.rel[p]
                s, e = s * ps, e + pe
            self.parent[j], self.rel[j] = root, (s, e)
        if path:
            sign, exp = self.rel[path[0]]
        return root, sign, exp

    def union(self, a: int, b: int, sign: int, exp: int) -> bool:
        """Record ``weight(b) == sign * 2**exp * weight(a)``; False if it contradicts what is known."""
        ra, sa, ea = self.find(a)
        rb, sb, eb = self.find(b)
        # weight(b) = sb 2^eb W(rb) and weight(a) = sa 2^ea W(ra):  W(rb) = sign sa sb 2^(exp + ea - eb) W(ra)
        s, e = sign * sa * sb, exp + ea - eb
        if ra == rb:
            return s == 1 and e == 0
        self.parent[rb], self.rel[rb] = ra, (s, e)
        return True


def _power_of_two(x: int) -> int | None:
    x = abs(x)
    return x.bit_length() - 1 if x and not x & (x - 1) else None


def find_word_sums(circuit: Circuit, limit: int = 10, min_width: int = 2, expand: bool = True) -> list[WordSum]:
    """The words of ``circuit``'s adder networks (module docstring), in increasing order of their first root.

    ``limit``: cuts kept per node when looking for adders; ``min_width``: smaller words are left out;
    ``expand``: read every word back through the adders it shares with other words (:func:`_expand`),
    so that its leaves are the network's inputs."""
    adders, outside = _select_adders(circuit, limit)
    ids = [_identity(a) for a in adders]
    producers: dict[int, list[int]] = defaultdict(list)
    for i, (_, s, co) in enumerate(adders):
        for x in (s, co):
            if x is not None:
                producers[x >> 1].append(i)
    users: dict[int, set[int]] = defaultdict(set)  # the adders whose identity names a produced node
    for i, (_, coef, _) in enumerate(ids):
        for v in coef:
            if v in producers:
                users[v].add(i)
    groups = _Groups(len(adders))
    # a produced node named by exactly two identities fixes their ratio; by more, one equation
    # solved once all but one of its adders are in one group (repeated until nothing changes)
    # a node read by other logic too is a bit of the word (or a constant folded into the next column:
    # a + 1 == 2a + ~a): it need not cancel, so it says nothing about the weights
    pending = []
    for v, who in users.items():
        who = sorted(who)
        if v in outside:
            continue
        if len(who) == 2:
            a, b = who
            ca, cb = ids[a][1][v], ids[b][1][v]
            # x_a ca + x_b cb == 0: x_b == -(ca / cb) x_a (|ca|, |cb| are 1 or 2)
            groups.union(a, b, -1 if (ca > 0) == (cb > 0) else 1, _power_of_two(ca) - _power_of_two(cb))
        elif len(who) > 2:
            pending.append((v, who))
    changed = True
    while changed and pending:
        changed = False
        rest = []
        for v, who in pending:
            found = [groups.find(i) for i in who]
            roots = {f[0] for f in found}
            if len(roots) == 1:
                continue  # checked with the group
            by_root = defaultdict(list)
            for i, f in zip(who, found):
                by_root[f[0]].append((i, f))
            if len(by_root) != 2:
                rest.append((v, who))
                continue
            (r1, m1), (r2, m2) = sorted(by_root.items(), key=lambda kv: -len(kv[1]))
            # sum over group 1 (weights relative to r1) + t * sum over group 2 (relative to r2) == 0
            s1 = sum(f[1] * ids[i][1][v] * Fraction(2) ** f[2] for i, f in m1)
            s2 = sum(f[1] * ids[i][1][v] * Fraction(2) ** f[2] for i, f in m2)
            t = -s1 / s2 if s1 and s2 else Fraction(0)
            e = _power_of_two(t.numerator) if t.denominator == 1 else (
                -_power_of_two(t.denominator) if abs(t.numerator) == 1 else None)
            if e is None:
                rest.append((v, who))
                continue
            groups.union(r1, r2, 1 if t > 0 else -1, e)  # weight(r2) == t * weight(r1)
            changed = True
        pending = rest
    members: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for i in range(len(adders)):
        r, s, e = groups.find(i)
        members[r].append((i, s, e))
    out = []
    for group in members.values():
        word = _word_of(group, adders, ids, producers, outside)
        if word is not None and sum(r >= 0 for r in word.roots) >= min_width:
            out.append(_expand(word, adders, ids, producers) if expand else word)
    out.sort(key=lambda w: min(r for r in w.roots if r >= 0) >> 1)
    return out


def _word_of(group, adders, ids, producers, outside) -> WordSum | None:
    """The group's identity as a :class:`WordSum`, or None if it is not one word."""
    low = min(e for _, _, e in group)
    const = 0
    coef: dict[int, int] = defaultdict(int)
    free: list[int] = []
    inside = {i for i, _, _ in group}
    for i, s, e in group:
        w = s << (e - low)
        c0, cv, cfree = ids[i]
        const += w * c0
        for v, c in cv.items():
            coef[v] += w * c
        if cfree:  # on the left with the roots: w cfree u, or |w cfree| ~u - |w cfree| if negative
            free.append(abs(w * cfree))
            const += max(0, -w * cfree)
    produced = {v for v in coef if any(p in inside for p in producers.get(v, ()))}
    # move the roots to the left: -c v == |c| v if c < 0, else |c| ~v - |c|
    roots = {v: -c for v, c in coef.items() if c and v in produced}
    if not roots:
        return None
    weights = {v: abs(w) for v, w in roots.items()}
    const += sum(-w for w in roots.values() if w < 0)
    lo = min(weights.values())
    levels: dict[int, list[int]] = defaultdict(list)
    for v, w in weights.items():
        j = _power_of_two(w // lo) if w % lo == 0 else None
        if j is None:
            return None
        levels[j].append(v)
    # a free variable at a level with no root is a bit no node computes (a parity whose sum the
    # circuit dropped because nothing reads it, between bits it does compute): one per level, it
    # holds that bit as well as a root would
    holes = Counter(f // lo for f in free if f >= lo and not levels.get((f // lo).bit_length() - 1))
    # the word ends below the first level with no root or two; a root above it that nothing but
    # adder gates reads (a top carry inside the last parity) counts modulo the word's top weight
    width = 0
    while len(levels.get(width, ())) + holes.get(1 << width, 0) == 1:
        width += 1
    while width and not levels.get(width - 1):
        width -= 1  # no word ends in bits no node holds
    if any(v in outside for j, vs in levels.items() if j >= width for v in vs):
        return None
    for j in [j for j in levels if j >= width]:
        free.append(lo << j)
        del levels[j]
    by_bit = {j: 2 * vs[0] + (roots[vs[0]] < 0) for j, vs in levels.items()}
    # free variables below the roots are the word's dropped low bits, one per weight; inside it,
    # its holes; above, they are carries out of the word, which count modulo its top weight
    below = sorted((f for f in free if f < lo), reverse=True)
    if below != [lo >> (i + 1) for i in range(len(below))] or (below and below[-1] == 0):
        return None
    top = lo << width
    if any(f >= lo and f % top and not (f < top and holes.get(f // lo)) for f in free):
        return None  # a free variable inside the word, where a root is too
    base, low_bits = lo >> len(below), len(below)
    if base << low_bits != lo:
        return None
    leaves = {}
    for v, c in coef.items():
        if c and v not in produced:
            if c % base:
                return None
            leaves[v] = c // base
    if const % base:
        return None
    # sum_j 2^j R_j == (const + sum a_v v) / base  (mod 2^width): the identity read with roots on the left
    const //= base
    width += low_bits
    roots = [-1] * low_bits + [by_bit.get(j, -1) for j in range(width - low_bits)]
    if sum(a < 0 for a in leaves.values()) * 2 > len(leaves):  # ~R_j: the bits of -1 - (const + sum a_v v)
        leaves = {v: -a for v, a in leaves.items()}
        const = -1 - const
        roots = [r ^ 1 if r >= 0 else r for r in roots]
    return WordSum(leaves, const % (1 << width), width, tuple(roots))



def _expand(word: WordSum, adders: list[_Adder], ids: list, producers: dict[int, list[int]]) -> WordSum:
    """``word`` with the adders it shares with other words substituted back, as far as they go.

    Structural hashing shares adders between sums over common inputs (a dense layer's outputs
    all add ``x_1 + x_2 + x_3``, in their own polarities, and the parity node is common), so a
    word found alone may read other words' bits.  Here any adder both of whose outputs the word
    reads in the ratio of the adder's identity (``s`` with weight ``w``, ``co`` with ``2w``) is
    replaced by its inputs: ``value -= lam * identity``, exact modulo ``2**width``.  Repeated from
    the latest node down; a parity whose carry no node computes is taken when that carry
    counts only modulo ``2**width``."""
    mod = 1 << word.width
    coef = {v: a % mod for v, a in word.coef.items() if a % mod}
    const = word.constant
    todo = sorted((v for v in coef if v in producers), reverse=True)
    seen: set[int] = set()
    while todo:
        v = todo.pop(0)
        if v in seen or v not in coef:
            continue
        seen.add(v)
        for i in producers[v]:
            c0, cv, cfree = ids[i]
            if cv.get(v, 0) not in (1, -1):
                continue
            lam = coef[v] * cv[v]  # cv[v] is +-1: lam * cv[v] == coef[v]
            if cfree and (lam * cfree) % mod:
                continue  # a free sum, or a free carry that counts inside the word
            if any((coef.get(u, 0) - lam * c) % mod for u, c in cv.items() if _is_output(adders[i], u)):
                continue  # the word does not read both outputs in the adder's ratio
            const -= lam * c0
            for u, c in cv.items():
                a = (coef.get(u, 0) - lam * c) % mod
                if a:
                    coef[u] = a
                else:
                    coef.pop(u, None)
                if a and u in producers and u not in seen:
                    todo.append(u)
            todo.sort(reverse=True)
            break
    # coefficients back to the smallest magnitude (fewest signed digits)
    coef = {v: a - mod if a > mod // 2 else a for v, a in coef.items()}
    return WordSum(coef, const % mod, word.width, word.roots)


def _is_output(adder: _Adder, node: int) -> bool:
    return any(x is not None and x >> 1 == node for x in adder[1:])


def find_layer_word_sums(circuit: Circuit, limit: int = 10, min_width: int = 2,
                         expand: bool = True) -> list[WordSum]:
    """:func:`find_word_sums` layer by layer, each layer's inputs taken as leaves; the words in
    ``circuit``'s node numbers.  A circuit of one layer is searched whole.

    Why: where a layer's inputs are another adder network's outputs (a requantized activation,
    the bits of the previous layer's sums), a whole-circuit search chains the two networks
    through those bits, and the chained group is no word at all: in a whole ternary MLP no
    output word of its two dense layers was found, against all of them layer by layer."""
    f0, f1, lay = circuit.arrays()
    live = circuit.reachable()
    ands = np.flatnonzero(live & (f0 != 0))
    layer_ids = np.unique(lay[ands])
    if len(layer_ids) <= 1:
        return find_word_sums(circuit, limit, min_width, expand)
    out: list[WordSum] = []
    for lid in layer_ids.tolist():
        sub, origin = layer_part(circuit, circuit.layer_names[lid], (f0, f1, lay, live))
        for w in find_word_sums(sub, limit, min_width, expand):
            out.append(WordSum({origin[v]: a for v, a in w.coef.items()}, w.constant, w.width,
                               tuple(r if r < 0 else 2 * origin[r >> 1] ^ (r & 1) for r in w.roots)))
    out.sort(key=lambda w: min(r for r in w.roots if r >= 0) >> 1)
    return out


def layer_part(circuit: Circuit, layer: str, tables: tuple | None = None) -> tuple[Circuit, list[int]]:
    """The live AND nodes tagged ``layer`` as a circuit of their own, and the node of ``circuit``
    each of its nodes is (``origin[sub_node]``).

    Its inputs (bus ``x``) are the nodes outside the layer that it reads; its outputs (bus ``y``)
    are its nodes read outside it or by the circuit's outputs.  ``tables``: ``(f0, f1, layers,
    live)`` of ``circuit`` when the caller has them already."""
    f0, f1, lay, live = tables if tables is not None else (*circuit.arrays(), circuit.reachable())
    lid = circuit.layer_names.index(layer)
    nodes = np.flatnonzero(live & (f0 != 0) & (lay == lid))
    inside = np.zeros(len(f0), dtype=bool)
    inside[nodes] = True
    fanins = np.concatenate([f0[nodes] >> 1, f1[nodes] >> 1])
    sources = np.unique(fanins[~inside[fanins]])
    sources = sources[sources != 0]
    others = np.flatnonzero(live & (f0 != 0) & ~inside)
    read = np.concatenate([f0[others] >> 1, f1[others] >> 1,
                           np.array([lit >> 1 for lit in circuit.output_literals()], dtype=np.int64)])
    sinks = np.unique(read[inside[read]])
    sub = Circuit(f"{circuit.name}_{layer}".replace(".", "_"))
    lit = {0: 0}
    origin = [0]
    for v, new in zip(sources.tolist(), sub.add_input_bus("x", len(sources))):
        lit[v] = new
        origin.append(v)
    for v, a, b in zip(nodes.tolist(), f0[nodes].tolist(), f1[nodes].tolist()):
        new = sub.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
        lit[v] = new
        if new >> 1 == len(origin):  # a node of its own (not folded or hashed into an earlier one)
            origin.append(v)
    if sinks.size:
        sub.set_output("y", [lit[v] for v in sinks.tolist()])
    return sub, origin
