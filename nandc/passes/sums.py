"""Weighted sums recovered from adder networks and rebuilt with a shared base.

:mod:`nandc.synth.wordsums` reads the adder networks of a circuit back as
words: ``bit j of (c + sum_v a_v * v) mod 2**K`` over their leaves ``v``.
The outputs of a dense layer are such words over the same inputs, each with
its own coefficients (``+-1`` for a binary layer, ``-1/0/+1`` ternary).  Each
was built as its own compressor tree, and none can share much with another:
two sums that add ``x_1`` with opposite signs have no full adder in common.

This pass writes every word of a group over (mostly) the same leaves as a
shared *base* plus its own difference::

    V_k = B + sum_v (a_kv - b_v) * v,      B = sum_v b_v * v

with ``b_v`` the coefficient most words give leaf ``v`` (chosen to minimize
the signed digits of all differences).  ``B`` is one compressor tree; each
word then adds only ``B``'s few bits and the leaves where it differs from
the base -- for a binary layer, the inputs where its sign is the minority
one, under half of them instead of all (binary_mlp.out, 10 neurons over 256
inputs: 13,679 NAND2 after ``-O3`` without this pass, 10,465 with it).  (For threshold neurons the same idea is
:func:`~nandc.ir.words.shared_threshold` in :mod:`recover <nandc.passes.recover>`.)
A word may also take the base negated, ``V_k = -B + sum_v (a_kv + b_v) v``
(``-B`` is ``B``'s bits complemented and a constant), when it agrees with
``-B`` on more leaves: in a wide binary layer with random signs every word
then adds the smaller of its two sides.

Groups are priced one at a time (:func:`~nandc.synth.cost.nand_cost`): one is
kept only if the whole circuit gets cheaper, so the pass never makes a
circuit worse.  The words are exact by construction; the rebuilt circuit is
also compared with the input by random simulation, a check that a wrong
rebuild cannot pass silently.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from nandc.errors import PassError
from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.passes.options import check_params, parse_params
from nandc.synth.cost import nand_cost
from nandc.synth.rebuild import start_copy
from nandc.synth.simulation import PatternPool
from nandc.synth.wordsums import WordSum, find_layer_word_sums

__all__ = ["SumsParams", "sums", "plan_base", "rebuild_words", "MIN_LEAVES"]

#: Words over fewer leaves are not grouped (a base's bits would cost more than it saves).
MIN_LEAVES = 4


@dataclass(frozen=True)
class SumsParams:
    """``max_nodes``: larger circuits are returned unchanged; ``overlap``: percent of a word's
    leaves that a group's first word must share with it to join the group; ``groups``: at most
    this many groups are priced (largest estimated saving first); ``sweep``: SAT-sweep the input
    and the rebuilt circuit both and keep the smaller (the result is swept either way).

    Why ``sweep``: sweeping merges equal partial sums of different words (two neurons adding the
    same three inputs in the same polarities), and on a wide layer that sharing can beat a base
    that covers only some of the words: binary_mlp.fc2 (256 neurons over 256 inputs) sweeps to
    221k AND nodes by itself, and its rebuild had 250k while the word finder read 66 of its
    neurons only in pieces; with all 256 words it has 211k.  On a narrow layer (10 words) the
    base wins by far (binary_mlp.out: 10.4k against 13.2k)."""

    max_nodes: int = 2000000
    overlap: int = 50
    groups: int = 8
    sweep: bool = False

    def __post_init__(self):
        check_params(self, "sums", overlap=(1, 100), groups=(1, None))


# ---------------------------------------------------------------------- planning
def _digits(a: int) -> int:
    return len(words.csd_digits(abs(a)))


def _clusters(found: list[WordSum], overlap: int) -> list[list[WordSum]]:
    """Words grouped by their leaves: a word joins the first group whose first word shares at least
    ``overlap`` percent of the larger leaf set with it (an index from leaves to groups keeps this
    near linear in the words' leaves)."""
    firsts: list[set[int]] = []
    members: list[list[WordSum]] = []
    index: dict[int, list[int]] = defaultdict(list)
    for w in found:
        leaves = set(w.coef)
        shared = Counter(g for v in leaves for g in index.get(v, ()))
        join = next((g for g in sorted(shared)
                     if 100 * shared[g] >= overlap * max(len(leaves), len(firsts[g]))), None)
        if join is None:
            for v in leaves:
                index[v].append(len(firsts))
            firsts.append(leaves)
            members.append([w])
        else:
            members[join].append(w)
    return members


def plan_base(group: list[WordSum], sides: bool = False) -> tuple[dict[int, int], int, tuple[int, ...]]:
    """``(base, saving, signs)``: the base coefficients ``{leaf: b}`` of a group of words, the
    signed digits (bits into compressor trees) it saves, net of adding the base's bits to every
    word, and the sign (+-1) each word takes the base with.

    A word takes ``-B`` (the base's bits complemented, and a constant) when that leaves it fewer
    digits: in a binary layer with random signs each word agrees with the majority base on about
    half its leaves, and the side it agrees less with is the smaller difference (binary_mlp.fc2:
    about 6% fewer difference leaves).  Base and signs are improved in turn until they settle, from
    every word taking ``+B`` or (``sides``) from each word's side of the first word: two local optima
    of a digit count, which the pass prices by the circuits they give.  (Leaving out the words the
    base saves no digit made ternary_mlp.fc1 1% larger: the count only ranks plans.)"""
    leaves = sorted({v for w in group for v in w.coef})
    full = np.array([[w.coef.get(v, 0) for v in leaves] for w in group], dtype=np.int64).reshape(len(group), -1)
    top = 2 * int(np.abs(full).max(initial=0)) + 1
    table = np.array([_digits(k) for k in range(top + 1)], dtype=np.int64)

    def digits(x):  # signed digits of every entry (|x| <= top)
        return table[np.abs(x)]

    base, signs, own = _settle(full, digits, sides)
    lo, hi = int(np.minimum(base, 0).sum()), int(np.maximum(base, 0).sum())
    after = int(own.sum() + digits(base).sum()) + len(group) * words.word_type_for_range(lo, hi)[0]
    plan = {v: int(b) for v, b in zip(leaves, base.tolist()) if b}
    return plan, int(digits(full).sum()) - after, tuple(int(x) for x in signs.tolist())


def _settle(a: np.ndarray, digits, sides: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(base, signs, digits)`` of the words (rows of ``a``): base and signs improved in turn
    until they settle, and each word's difference digits under them."""
    # ``sides``: start from each word's side of the first one (the word finder reads a word with
    # mostly negative coefficients negated, so a group may hold both orientations of one pattern)
    signs = np.where(a @ a[0] < 0, -1, 1) if sides else np.ones(len(a), dtype=np.int64)
    for _ in range(4):
        signed = a * signs[:, None]
        base = np.zeros(a.shape[1], dtype=np.int64)
        for j in range(a.shape[1]):
            col = signed[:, j]
            options = sorted(set(col.tolist()) | {0})
            base[j] = min(options, key=lambda b: (int(digits(col - b).sum()) + _digits(b), b != 0))
        plus, minus = digits(a - base).sum(axis=1), digits(a + base).sum(axis=1)
        new = np.where(minus < plus, -1, 1)
        if np.array_equal(new, signs):
            break
        signs = new
    return base, np.where(minus < plus, -1, 1), np.minimum(plus, minus)


# ---------------------------------------------------------------------- building
def _signed_columns(coef: dict[int, int], lit_of, width: int | None) -> tuple[list[list[int]], int]:
    """``sum_v coef[v] * v`` as a list of columns of literals and a constant."""
    columns, const = words.signed_digit_columns([(lit_of(2 * v), a) for v, a in sorted(coef.items())], width)
    return [columns.get(p, []) for p in range(max(columns, default=-1) + 1)], const


def _build_group(c: Circuit, group: list[WordSum], base: dict[int, int], lit_of,
                 signs: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """The bits of every word of ``group``: the base once, then each word as its sign times the
    base plus its difference."""
    signs = signs or (1,) * len(group)
    base_word = None
    if base:
        cols, const = _signed_columns(base, lit_of, None)
        base_word = words.column_sum(c, cols, const)
    out = []
    for w, sign in zip(group, signs):
        diff = {v: w.coef.get(v, 0) - sign * base.get(v, 0) for v in set(w.coef) | set(base)}
        cols, const = _signed_columns({v: a for v, a in diff.items() if a}, lit_of, w.width)
        cols += [[] for _ in range(w.width - len(cols))]
        if base_word is not None:
            terms, base_const = words.word_terms(base_word, sign)
            const += base_const
            for lit, col in terms:
                if col < w.width:
                    cols[col].append(lit)
        out.append(words.column_sum_mod(c, cols, w.constant + const, w.width))
    return out


class _Cycle(Exception):
    """A group whose leaves depend on its own roots (through logic outside the adders)."""


def rebuild_words(circuit: Circuit, groups: list[tuple]) -> Circuit:
    """``circuit`` with the roots of every word of ``groups`` (``(words, base)``, or ``(words, base,
    signs)`` as :func:`plan_base` gives them) rebuilt from their
    leaves; a group whose leaves need its own roots is left as it was."""
    groups = list(groups)
    while True:
        try:
            return _rebuild(circuit, groups)
        except _Cycle as e:
            del groups[e.args[0]]


def _rebuild(circuit: Circuit, groups: list[tuple]) -> Circuit:
    f0, f1, lay = circuit.arrays()
    f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
    names = circuit.layer_names
    group_of: dict[int, int] = {}
    for g, (ws, *_) in enumerate(groups):
        for w in ws:
            for r in w.roots:
                if r >= 0:
                    group_of[r >> 1] = g
    leaves_of = [sorted({v for w in ws for v in w.coef}) for ws, *_ in groups]
    new, lit = start_copy(circuit)

    def deps(v: int) -> list[int]:
        g = group_of.get(v)
        return leaves_of[g] if g is not None else [f0l[v] >> 1, f1l[v] >> 1]

    def lit_of(x: int) -> int:
        return lit[x >> 1] ^ (x & 1)

    # depth first from the outputs; a root's fanins are its group's leaves
    open_nodes: set[int] = set()
    for out in circuit.output_literals():
        if lit[out >> 1] >= 0:
            continue
        stack = [(out >> 1, iter(deps(out >> 1)))]
        open_nodes.add(out >> 1)
        while stack:
            v, it = stack[-1]
            for d in it:
                if lit[d] < 0:
                    if d in open_nodes:
                        raise _Cycle(next(group_of[u] for u, _ in reversed(stack) if u in group_of))
                    open_nodes.add(d)
                    stack.append((d, iter(deps(d))))
                    break
            else:
                stack.pop()
                open_nodes.discard(v)
                new.current_layer = names[layl[v]]
                g = group_of.get(v)
                if g is None:
                    a, b = f0l[v], f1l[v]
                    lit[v] = new.and_(lit_of(a), lit_of(b))
                    continue
                ws, base, *signs = groups[g]
                for w, bits in zip(ws, _build_group(new, ws, base, lit_of, *signs)):
                    for j, r in enumerate(w.roots):
                        if r >= 0:
                            lit[r >> 1] = bits[j] ^ (r & 1)
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit_of(b) for b in bus.bits], bus.shape, bus.signed)
    return new


def _same_outputs(a: Circuit, b: Circuit, words_: int = 32, seed: int = 0) -> bool:
    """Equal outputs on ``64 * words_`` random vectors of 16 densities of ones."""
    from nandc.ir.evaluate import simulate_circuit
    from nandc.synth.simulation import random_patterns

    x = random_patterns(a.num_inputs, words_, np.random.default_rng(seed))
    return np.array_equal(simulate_circuit(a, x), simulate_circuit(b, x))


# ---------------------------------------------------------------------- the pass
@register("sums", "recover weighted sums from adder networks; words over the same inputs share a base sum",
          params=SumsParams, uses_patterns=True)
def sums(circuit: Circuit, params=None, patterns: PatternPool | None = None) -> tuple[Circuit, Stats]:
    """Rebuild groups of words over common leaves as a shared base plus differences.

    ``patterns``: counterexamples for its sweeps (``sweep=true``), as :func:`~nandc.passes.sweep.sweep` takes them.

    Requires: a valid Circuit.  Ensures: the same function on every output; a
    NAND2 cost no higher than the input's; new nodes carry the layer of the
    node they rebuild.
    """
    p = parse_params(SumsParams, params, "sums")
    t0 = time.perf_counter()
    notes: dict = {"words": 0, "groups": 0, "retried": 0}
    result = circuit
    before = best_cost = nand_cost(circuit)
    kept: list[tuple[list[WordSum], dict[int, int], tuple[int, ...]]] = []
    if circuit.num_ands <= p.max_nodes:
        found = find_layer_word_sums(circuit)
        # a word whose bits another word of its layer adds is part of that one; another layer's
        # words reading it (the next layer, a requantizer) leave it a word of its own
        lay = circuit.arrays()[2]
        layer = [_layer_of(lay, w) for w in found]
        read = {(layer[i], v) for i, w in enumerate(found) for v in w.coef}
        top = [w for i, w in enumerate(found) if not any(r >= 0 and (layer[i], r >> 1) in read for r in w.roots)]
        top = [w for w in top if len(w.coef) >= MIN_LEAVES]  # a 3-leaf word is one full adder
        notes["words"] = len(top)
        planned = [(saving, group, plans) for group in _clusters(top, p.overlap)
                   for saving, plans in [_plans(group)] if plans]
        planned.sort(key=lambda item: -item[0])
        for _, group, plans in planned[: p.groups]:
            # a group the circuit does not pay for is tried once more without its first word: the
            # word that gathered it (binary 64x16 layer of Yosys, neurons proved by recover: the
            # layer's shared count heads a group of five that costs 4,848 NAND2 against 4,746, the
            # four others alone 4,694)
            for attempt in range(2):
                chosen = None
                for signs, (_, base) in plans.items():
                    cand = rebuild_words(circuit, kept + [(group, base, signs)])
                    cost = nand_cost(cand)
                    if cost < best_cost:
                        result, best_cost, chosen = cand, cost, (group, base, signs)
                if chosen:
                    kept.append(chosen)
                    notes["retried"] += attempt
                    break
                if attempt or len(group) < 3:
                    break
                group = group[1:]
                plans = _plans(group)[1]
        notes["groups"] = len(kept)
        if kept:
            _checked(circuit, result)
    if p.sweep:
        result, best_cost = _swept_choice(circuit, result, kept, notes, patterns)
    return result, pass_stats("sums", circuit, result, t0, before, best_cost, **notes)


def _plans(group: list[WordSum]) -> tuple[int, dict[tuple[int, ...], tuple[int, dict[int, int]]]]:
    """``(saving, {signs: (saving, base)})``: the group's plans from both starts of
    :func:`plan_base` that save digits, and the larger saving (no plans: a lone word)."""
    plans = {}
    if len(group) > 1:
        for sides in (False, True):
            base, saving, signs = plan_base(group, sides)
            if base and saving > 0:
                plans[signs] = (saving, base)
    return max((sv for sv, _ in plans.values()), default=0), plans


def _checked(circuit: Circuit, rebuilt: Circuit) -> Circuit:
    """``rebuilt``, once random simulation finds it equal to ``circuit`` (else a :class:`PassError`)."""
    if not _same_outputs(circuit, rebuilt):
        raise PassError("sums: the rebuilt circuit differs from its input on a random vector "
                        "(an internal error; please report it with the circuit)")
    return rebuilt


def _swept_choice(circuit: Circuit, rebuilt: Circuit, kept: list, notes: dict,
                  patterns: PatternPool | None = None) -> tuple[Circuit, int]:
    """The smaller of ``circuit`` and ``rebuilt``, each SAT-swept (only ``circuit`` when they are one;
    not ``circuit`` when a sweep made it).

    Layer by layer: a layer's groups are kept only where the layer has fewer AND nodes in the swept
    rebuild than in the swept input (in a whole MLP, the base wins on a narrow layer and sweeping
    on a wide one); the circuit is rebuilt and swept once more when that leaves some groups out."""
    from nandc.passes.sweep import sweep, swept

    plain = circuit if swept(circuit) else sweep(circuit, patterns=patterns)[0]  # swept just before: as it is
    plain_cost = nand_cost(plain)
    if rebuilt is circuit:
        return plain, plain_cost
    swept = sweep(rebuilt, patterns=patterns)[0]
    before, after = _layer_sizes(plain), _layer_sizes(swept)
    lay, names = circuit.arrays()[2], circuit.layer_names
    layers = [names[_layer_of(lay, words_[0])] for words_, *_ in kept]
    better = [g for g, name in zip(kept, layers) if after.get(name, 0) < before.get(name, 0)]
    if better and len(better) < len(kept):
        swept = sweep(_checked(circuit, rebuild_words(circuit, better)), patterns=patterns)[0]
    if better:
        cost = nand_cost(swept)
        if cost < plain_cost:
            notes["groups"] = len(better)
            return swept, cost
    notes["groups"] = 0
    notes["swept_input_smaller"] = True
    return plain, plain_cost


def _layer_of(lay, w: WordSum) -> int:
    """The layer (index) of a word: its first root's."""
    return int(lay[next(r for r in w.roots if r >= 0) >> 1])


def _layer_sizes(circuit: Circuit) -> dict[str, int]:
    """Live AND nodes per layer name."""
    f0, _, lay = circuit.arrays()
    counts = np.bincount(lay[circuit.reachable() & (f0 != 0)], minlength=len(circuit.layer_names))
    return {name: int(n) for name, n in zip(circuit.layer_names, counts.tolist())}
