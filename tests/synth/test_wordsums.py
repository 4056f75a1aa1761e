"""wordsums: adder networks read back as words, checked against simulation of the circuit.

Every found word is a claim ``bit j of (const + sum a_v v) mod 2**K == root j`` on every input;
:func:`_check_words` evaluates both sides on random vectors, so a wrong constant, coefficient,
weight or root polarity fails.  The structural tests then ask that the words of known sums
(nandc's own trees, textbook ripple adders, a dense layer whose adders structural hashing
shares) are found whole, over the circuit's inputs.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from nandc.ir import words
from nandc.ir.arith import linear_form
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import simulate_circuit
from nandc.ir.words import Word
from nandc.synth.wordsums import find_word_sums
from tests.dense import layered_sums
from tests.foreign import ripple_add, tree_count


def _values(c: Circuit, nodes: list[int], samples: int = 512, seed: int = 0):
    """Random input rows and the 0/1 value of every node of ``nodes`` on them."""
    x = np.random.default_rng(seed).integers(0, 1 << 63, size=(c.num_inputs, samples // 64), dtype=np.uint64)
    got = simulate_circuit(c, x, outputs=[2 * v for v in nodes])
    bits = np.unpackbits(got.view(np.uint8), axis=1, bitorder="little")
    return {v: bits[i].astype(np.int64) for i, v in enumerate(nodes)}


def _check_words(c: Circuit, found) -> None:
    """Every word's roots are the bits of its formula on random inputs."""
    nodes = sorted({v for w in found for v in w.coef} | {r >> 1 for w in found for r in w.roots if r >= 0})
    val = _values(c, nodes)
    n = len(next(iter(val.values()))) if val else 0
    for w in found:
        total = np.full(n, w.constant, dtype=object)
        for v, a in w.coef.items():
            total = total + a * val[v].astype(object)
        for j, r in enumerate(w.roots):
            if r < 0:
                continue
            want = np.array([(int(t) % (1 << w.width)) >> j & 1 for t in total])
            assert np.array_equal(val[r >> 1] ^ (r & 1), want), (w, j)


def _word_of_outputs(found, bits):
    """The found word whose roots are the nodes of the output literals ``bits`` (low bits first;
    the word may hold their complements: the bits of ``-1 - value``)."""
    want = [b >> 1 for b in bits]
    for w in found:  # a top carry that only the last parity reads may be one more root
        if [r >> 1 for r in w.roots if r >= 0][: len(want)] == want:
            return w
    return None


@pytest.mark.parametrize("seed", range(6))
def test_weighted_sums_of_words_are_found_whole(seed):
    rng = random.Random(seed)
    c = Circuit("ws")
    x = c.add_input_bus("x", 24)
    terms = [(rng.randint(-8, 7), Word(tuple(x[2 * i: 2 * i + 2]), bool(rng.getrandbits(1))))
             for i in range(12)]
    out = words.weighted_sum(c, terms, rng.randint(-40, 40))
    c.set_output("y", list(out.bits))
    found = find_word_sums(c)
    _check_words(c, found)
    w = _word_of_outputs(found, out.bits)
    assert w is not None
    assert set(w.coef) <= set(c.inputs)


@pytest.mark.parametrize("n", [20, 64, 100])
def test_linear_forms_of_many_inputs(n):
    rng = random.Random(n)
    c = Circuit("lf")
    x = c.add_input_bus("x", n)
    form = linear_form(c, [(lit, rng.choice((-1, 1, 2, -3))) for lit in x], rng.randint(-9, 9))
    c.set_output("y", list(form.word.bits))
    found = find_word_sums(c)
    _check_words(c, found)
    w = _word_of_outputs(found, form.word.bits)
    assert w is not None and set(w.coef) == set(c.inputs)


def test_dense_layer_words_read_the_inputs_through_shared_adders():
    # ten +-1 sums over the same 48 inputs: hashing shares parities and carries between them
    rng = random.Random(3)
    c = Circuit("dense")
    x = c.add_input_bus("x", 48)
    outs = []
    for k in range(10):
        form = linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], k)
        outs.append(form.word.bits)
    c.set_output("y", [b for bits in outs for b in bits])
    found = find_word_sums(c)
    _check_words(c, found)
    for bits in outs:
        w = _word_of_outputs(found, bits)
        assert w is not None and set(w.coef) == set(c.inputs), bits
        assert set(abs(a) for a in w.coef.values()) == {1}
    unexpanded = find_word_sums(c, expand=False)
    _check_words(c, unexpanded)
    assert sum(1 for w in unexpanded if set(w.coef) == set(c.inputs)) < 10  # what expansion is for


def test_dropped_low_bits_are_virtual_roots():
    # a dense word whose two low bits nobody reads: their sums are gone after a rebuild, the
    # carries out of them stay, and the word's low roots are free variables
    rng = random.Random(5)
    c = Circuit("hi")
    x = c.add_input_bus("x", 16)
    form = linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], 0)
    c.set_output("y", list(form.word.bits[2:]))
    from nandc.synth.rebuild import rebuild

    c = rebuild(c)[0]
    found = find_word_sums(c)
    _check_words(c, found)
    w = _word_of_outputs(found, c.output_literals())
    assert w is not None and w.roots[:2] == (-1, -1) and set(w.coef) == set(c.inputs)


@pytest.mark.parametrize("n", [12, 24, 40, 64, 100, 256])
@pytest.mark.parametrize("seed", range(3))
def test_a_word_whose_reader_needs_some_bits_is_found_whole(n, seed):
    # a threshold reads only some bits of a dense word (the others depend on its constant's
    # trailing zeros): the parities of the bits nobody reads are gone after a rebuild and their
    # carries stay, so the word has holes, the carries of its ripple adder are majorities whose
    # sums are dropped, and its top bit is a carry no adder reads; it is found whole all the same
    # (binary_mlp.fc2: 66 of its 256 neurons were found only in pieces)
    rng = random.Random(1000 * n + seed)
    c = Circuit("holes")
    x = c.add_input_bus("x", n)
    form = linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], rng.randint(-5, 5))
    bits = form.word.bits
    keep = sorted(rng.sample(range(len(bits)), rng.randint(2, len(bits) - 1)))
    c.set_output("y", [bits[j] for j in keep])
    from nandc.synth.rebuild import rebuild

    c = rebuild(c)[0]
    found = find_word_sums(c)
    _check_words(c, found)
    outs = [lit >> 1 for lit in c.output_literals()]
    w = next((w for w in found if {r >> 1 for r in w.roots if r >= 0} >= set(outs)), None)
    assert w is not None and set(w.coef) == set(c.inputs), keep
    assert [j for j, r in enumerate(w.roots) if r >= 0 and r >> 1 in outs] == keep


def test_tied_adder_options_with_and_without_a_carry_are_ordered():
    # found by benchmarks/synth_fuzz.py (edge seed 104, 300 outputs over 18 inputs): two options of
    # one XOR node tied on their keys and literals, one without a carry (None), and the tie-break
    # compared None with a literal
    from tests.synth_shapes import edge_circuit

    _, c = edge_circuit(104)
    _check_words(c, find_word_sums(c))


def _count_by_chain(c, lits):
    acc = [lits[0]]
    for lit in lits[1:]:
        acc = ripple_add(c, acc, [lit])
    return acc


@pytest.mark.parametrize("shape", ["skewed", "chain", "dense256"])
def test_words_found_in_other_shapes_are_true(shape):
    # shapes whose words are not always found whole (a carry read through another adder's cut
    # leaves two roots of one weight): whatever is found must still hold
    rng = random.Random(11)
    c = Circuit(shape)
    x = c.add_input_bus("x", 256 if shape == "dense256" else 29)
    if shape == "skewed":
        bits = tree_count(c, list(x), shape="skewed")
    elif shape == "chain":
        bits = _count_by_chain(c, list(x))
    else:
        bits = linear_form(c, [(lit, rng.choice((-1, 1, 2, -3))) for lit in x], 5).word.bits
    c.set_output("y", list(bits))
    from nandc.synth.rebuild import rebuild

    c = rebuild(c)[0]
    found = find_word_sums(c)
    # the rebuilt dense sum's adders hold over cuts that are functional, not structural (the walk
    # over their gates is capped): little or nothing of it is found, and nothing false
    assert found or shape == "dense256"
    _check_words(c, found)


@pytest.mark.parametrize("shape", ["balanced"])
def test_textbook_ripple_adder_trees(shape):
    c = Circuit("tree")
    x = c.add_input_bus("x", 37)
    bits = tree_count(c, list(x), shape=shape)
    c.set_output("y", bits)
    found = find_word_sums(c)
    _check_words(c, found)
    w = _word_of_outputs(found, [b for b in bits])
    assert w is not None and w.coef == {v: 1 for v in c.inputs}


def test_multiplier_partial_products_are_leaves():
    c = Circuit("mul")
    a, b = c.add_input_bus("a", 5), c.add_input_bus("b", 5)
    acc = [c.and_(a[0], bj) for bj in b]
    for i in range(1, 5):
        row = [0] * i + [c.and_(a[i], bj) for bj in b]
        acc = ripple_add(c, acc, row)
    c.set_output("p", acc)
    found = find_word_sums(c)
    _check_words(c, found)
    w = _word_of_outputs(found, acc[1:])  # bit 0 is a partial product, no adder's output
    assert w is not None and len(w.coef) == 24


def test_random_logic_gives_only_true_words():
    rng = random.Random(7)
    c = Circuit("rnd")
    lits = list(c.add_input_bus("x", 10))
    for _ in range(300):
        a, b = rng.sample(lits, 2)
        lits.append(c.and_(a ^ rng.getrandbits(1), b ^ rng.getrandbits(1)))
    c.set_output("y", lits[-20:])
    _check_words(c, find_word_sums(c))


def test_a_long_narrow_chain_is_searched_in_linear_time():
    # every node of a chain over 5 inputs is a function of those 5: deep nodes are XOR3s of
    # cuts far below them, and walking each such cone whole made the search quadratic
    c = Circuit("chain")
    x = c.add_input_bus("x", 5)
    rng = random.Random(3)
    t = x[0]
    for i in range(6000):
        t = words._xor(c, t, x[rng.randrange(5)] ^ rng.randrange(2)) if i % 3 else c.and_(t, x[i % 5])
    c.set_output("y", [t])
    from nandc.synth import wordsums

    calls = []
    real = wordsums._cone

    def counted(*args, **kw):
        out = real(*args, **kw)
        calls.append(len(out))
        return out

    wordsums._cone, saved = counted, wordsums._cone
    try:
        found = find_word_sums(c)
    finally:
        wordsums._cone = saved
    assert max(calls) <= 2 * wordsums.MAX_ADDER_GATES + 4
    _check_words(c, found)


def test_words_are_found_layer_by_layer_in_node_numbers_of_the_whole_circuit():
    # the second layer adds the bits of the first layer's words: searched whole, the two networks
    # chain through those bits and a first-layer word is lost; layer by layer every word is found
    from nandc.synth.wordsums import find_layer_word_sums

    c, first, second, leaves = layered_sums(5, 12, 6, 3)
    for k, w in enumerate(second):
        c.set_output(f"y{k}", list(w.bits))
    found = find_layer_word_sums(c)
    _check_words(c, found)
    assert sorted(len(w.coef) for w in found if len(w.coef) > 3) == [12] * 6 + [24] * 3
    inputs = set(c.inputs)
    assert all(set(w.coef) <= inputs for w in found if len(w.coef) == 12)
    assert all(set(w.coef) == {b >> 1 for b in leaves} for w in found if len(w.coef) == 24)
    assert len([w for w in find_word_sums(c) if len(w.coef) == 12]) < 6
