"""Word arithmetic against Python integers: exhaustive for small widths, hypothesis above."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import CircuitError
from nandc.ir.circuit import FALSE, TRUE, Circuit
from nandc.ir.evaluate import evaluate
from nandc.ir.words import (
    COMPARISONS,
    Word,
    add,
    add_many,
    align,
    column_sum,
    argmax,
    compare,
    compare_const,
    csd_digits,
    extend,
    full_adder,
    half_adder,
    maximum,
    maximum_many,
    minimum,
    mul_const,
    mux,
    negate,
    popcount,
    shift_left,
    sub,
    to_signed,
    truncate,
    weighted_sum,
    word_type_for_range,
)
from nandc.passes import lower_to_nand
from tests.strategies import examples

PY_OPS = {
    ">=": lambda x, y: x >= y,
    ">": lambda x, y: x > y,
    "<=": lambda x, y: x <= y,
    "<": lambda x, y: x < y,
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
}
TYPES = [(w, s) for w in range(1, 5) for s in (False, True)]


# ---------------------------------------------------------------------- helpers
def input_word(c: Circuit, name: str, width: int, signed: bool) -> Word:
    return Word(c.add_input_bus(name, (width,), signed=signed), signed)


def all_values(width: int, signed: bool) -> np.ndarray:
    lo = -(1 << (width - 1)) if signed else 0
    return np.arange(lo, lo + (1 << width), dtype=np.int64)


def grid(*ranges: np.ndarray) -> list[np.ndarray]:
    """Every combination of the given value lists, one column per list."""
    mesh = np.meshgrid(*ranges, indexing="ij")
    return [m.ravel() for m in mesh]


def run(c: Circuit, inputs: dict[str, np.ndarray], outputs: dict[str, Word | int],
        netlist: bool = False) -> dict[str, np.ndarray]:
    """Declare ``outputs`` (words or single literals) and evaluate the circuit on ``inputs``."""
    for name, out in outputs.items():
        if isinstance(out, Word):
            c.set_output(name, out.bits, (out.width,), out.signed)
        else:
            c.set_output(name, [out], (1,))
    c.verify()
    obj = lower_to_nand(c)[0] if netlist else c
    return evaluate(obj, inputs)


# ---------------------------------------------------------------------- Word
def test_const_minimal_width_and_signedness():
    assert Word.const(0) == Word((FALSE,), False)
    assert Word.const(5) == Word((TRUE, FALSE, TRUE), False)
    assert Word.const(-1) == Word((TRUE,), True)
    assert Word.const(-4) == Word((FALSE, FALSE, TRUE), True)
    assert Word.const(3, signed=True) == Word((TRUE, TRUE, FALSE), True)
    assert Word.const(3, width=4) == Word((TRUE, TRUE, FALSE, FALSE), False)
    for v in range(-70, 70):
        w = Word.const(v)
        assert w.const_value() == v
        assert w.value_range() == (v, v)
        assert w.width == word_type_for_range(v, v)[0]


def test_word_properties_and_ranges():
    c = Circuit()
    x = c.add_input_bus("x", 3)
    u, s = Word(x), Word(x, True)
    assert (u.width, len(u), u.msb) == (3, 3, x[2])
    assert u.value_range() == (0, 7)
    assert s.value_range() == (-4, 3)
    assert u.const_value() is None
    assert Word((x[0], TRUE, FALSE)).value_range() == (2, 3)
    assert Word((x[0], FALSE, TRUE), True).value_range() == (-4, -3)
    assert Word((x[0], x[1], FALSE), True).value_range() == (0, 3)


def test_word_errors():
    with pytest.raises(CircuitError, match=r"^a signed Word needs at least one bit \(its sign\), found none$"):
        Word((), True)
    with pytest.raises(CircuitError, match=r"^a Word's bits must be literals \(>= 0\), found -2$"):
        Word((4, -2))
    with pytest.raises(CircuitError, match=r"^constant 8 needs 4 bits as an unsigned word, found width 3$"):
        Word.const(8, width=3)
    with pytest.raises(CircuitError, match=r"^constant -5 needs 4 bits as a signed word, found width 3$"):
        Word.const(-5, width=3)
    with pytest.raises(CircuitError, match=r"^an unsigned word cannot hold -1$"):
        Word.const(-1, signed=False)


def test_empty_unsigned_word_holds_zero():
    c = Circuit()
    a = input_word(c, "a", 2, True)
    empty = Word(())
    assert (empty.width, empty.msb, empty.value_range(), empty.const_value()) == (0, FALSE, (0, 0), 0)
    assert extend(empty, 2) == Word((FALSE, FALSE)) and to_signed(empty) == Word((FALSE,), True)
    outs = {"s": add_many(c, [a, empty]), "d": sub(c, empty, a), "g": compare(c, a, empty, ">")}
    va = all_values(2, True)
    res = run(c, {"a": va}, outs)
    assert np.array_equal(res["s"], va) and np.array_equal(res["d"], -va)
    assert np.array_equal(res["g"], (va > 0).astype(int))


def test_word_type_for_range():
    assert word_type_for_range(0, 0) == (1, False)
    assert word_type_for_range(0, 8) == (4, False)
    assert word_type_for_range(-1, 0) == (1, True)
    assert word_type_for_range(-8, 7) == (4, True)
    assert word_type_for_range(-9, 7) == (5, True)
    assert word_type_for_range(-8, 8) == (5, True)


def test_reshaping():
    c = Circuit()
    x = c.add_input_bus("x", 3)
    assert extend(Word(x), 5).bits == x + (FALSE, FALSE)
    assert extend(Word(x, True), 5).bits == x + (x[2], x[2])
    assert to_signed(Word(x)) == Word(x + (FALSE,), True)
    assert to_signed(Word(x, True)) == Word(x, True)
    assert truncate(Word(x, True), 2) == Word(x[:2], True)
    assert truncate(Word(x), 2, signed=True) == Word(x[:2], True)
    assert shift_left(Word(x, True), 2) == Word((FALSE, FALSE) + x, True)
    a, b = align(Word(x[:2]), Word(x, True))
    assert a == Word(x[:2] + (FALSE,), True) and b == Word(x, True)
    a, b = align(Word(x), Word(x[:2], True))
    assert a == Word(x + (FALSE,), True) and b == Word(x[:2] + (x[1], x[1]), True)
    with pytest.raises(CircuitError, match=r"^extend: target width 2 is smaller than the word's width 3$"):
        extend(Word(x), 2)
    with pytest.raises(CircuitError, match=r"^truncate: width must lie in \[1, 3\], found 4$"):
        truncate(Word(x), 4)
    with pytest.raises(CircuitError, match=r"^shift_left: shift must be >= 0, found -1$"):
        shift_left(Word(x), -1)


# ---------------------------------------------------------------------- adders
def _phase_literals(c: Circuit) -> list[list[int]]:
    """For each of three operands: an input and an AND node, each in both phases."""
    x = c.add_input_bus("x", 6)
    out = []
    for i in range(3):
        node = c.and_(x[2 * i], x[2 * i + 1])
        out.append([x[2 * i], x[2 * i] ^ 1, node, node ^ 1])
    return out


def _free_phase(c: Circuit, lit: int) -> int:
    """The phase of ``lit`` that NAND lowering provides without an inverter."""
    node = lit >> 1
    return lit | 1 if c.is_and(node) else lit & ~1


def _nand_cost(build) -> int:
    """NAND2 gates that ``build(c, operands)`` adds, every output taken in its free phase.

    ``operands`` is what :func:`_phase_literals` returns; the operands' own
    nodes are outputs in both circuits, in their free phase, so any inverter
    the adder needs on them is counted.
    """
    costs = []
    for with_adder in (False, True):
        c = Circuit()
        lits = _phase_literals(c)
        outs = [_free_phase(c, ls[2]) for ls in lits]
        if with_adder:
            outs += [_free_phase(c, o) for o in build(c, lits)]
        c.set_output("y", outs)
        costs.append(lower_to_nand(c)[0].num_gates)
    return costs[1] - costs[0]


@pytest.mark.parametrize("pa,pb,pc", list(itertools.product(range(4), repeat=3)))
def test_full_adder_every_phase(pa, pb, pc):
    c = Circuit()
    lits = _phase_literals(c)
    a, b, cin = lits[0][pa], lits[1][pb], lits[2][pc]
    s, co = full_adder(c, a, b, cin)
    res = run(c, {"x": np.array(list(itertools.product((0, 1), repeat=6)))},
              {"a": a, "b": b, "cin": cin, "s": s, "co": co})
    assert np.array_equal(res["a"] + res["b"] + res["cin"], res["s"] + 2 * res["co"])
    assert _nand_cost(lambda c, ls: full_adder(c, ls[0][pa], ls[1][pb], ls[2][pc])) == 9


@pytest.mark.parametrize("pa,pb", list(itertools.product(range(4), repeat=2)))
def test_half_adder_every_phase(pa, pb):
    c = Circuit()
    lits = _phase_literals(c)
    a, b = lits[0][pa], lits[1][pb]
    s, co = half_adder(c, a, b)
    res = run(c, {"x": np.array(list(itertools.product((0, 1), repeat=6)))},
              {"a": a, "b": b, "s": s, "co": co})
    assert np.array_equal(res["a"] + res["b"], res["s"] + 2 * res["co"])
    both_costly = pa in (1, 2) and pb in (1, 2)  # ~input and AND node are the costly phases
    assert _nand_cost(lambda c, ls: half_adder(c, ls[0][pa], ls[1][pb])) == (6 if both_costly else 4)


@pytest.mark.parametrize("wa,sa", TYPES)
def test_binary_ops_exhaustive(wa, sa):
    """add, sub, every comparison, mux, maximum and minimum for all operand pairs."""
    for wb, sb in TYPES:
        c = Circuit()
        a, b = input_word(c, "a", wa, sa), input_word(c, "b", wb, sb)
        sel = c.add_input_bus("s", 1)[0]
        outs = {"add": add(c, a, b), "sub": sub(c, a, b), "mux": mux(c, sel, a, b),
                "max": maximum(c, a, b), "min": minimum(c, a, b)}
        outs.update({f"cmp{i}": compare(c, a, b, op) for i, op in enumerate(COMPARISONS)})
        va, vb, vs = grid(all_values(wa, sa), all_values(wb, sb), np.arange(2))
        res = run(c, {"a": va, "b": vb, "s": vs}, outs)
        aligned = max(wa + (sb and not sa), wb + (sa and not sb))
        assert outs["add"].width == aligned + 1 and outs["add"].signed == (sa or sb)
        assert outs["sub"].width == aligned + 1 and outs["sub"].signed
        assert np.array_equal(res["add"], va + vb)
        assert np.array_equal(res["sub"], va - vb)
        assert np.array_equal(res["mux"], np.where(vs == 1, va, vb))
        assert np.array_equal(res["max"], np.maximum(va, vb))
        assert np.array_equal(res["min"], np.minimum(va, vb))
        for i, op in enumerate(COMPARISONS):
            assert np.array_equal(res[f"cmp{i}"], PY_OPS[op](va, vb).astype(int)), op


@pytest.mark.parametrize("widths", [(2,), (2, 2), (1, 3, 2), (2, 1, 2, 2)])
def test_maximum_many_exhaustive(widths):
    c = Circuit()
    ws = [input_word(c, f"w{i}", w, False) for i, w in enumerate(widths)]
    values = grid(*[all_values(w, False) for w in widths])
    res = run(c, {f"w{i}": v for i, v in enumerate(values)}, {"max": maximum_many(c, ws)})
    assert np.array_equal(res["max"], np.max(np.stack(values), axis=0))


def test_maximum_many_errors():
    c = Circuit()
    with pytest.raises(CircuitError, match=r"^maximum_many: expected at least one word, found none$"):
        maximum_many(c, [])
    with pytest.raises(CircuitError, match=r"^maximum_many: expected unsigned words, found a signed one$"):
        maximum_many(c, [input_word(c, "a", 2, True)])


def test_add_unknown_method():
    c = Circuit()
    a = input_word(c, "a", 2, False)
    with pytest.raises(CircuitError, match=r"^add: unknown adder method 'kogge'; expected one of: 'ripple'$"):
        add(c, a, a, method="kogge")


@pytest.mark.parametrize("width,signed", [(w, s) for w in range(1, 6) for s in (False, True)])
def test_negate_exhaustive(width, signed):
    c = Circuit()
    a = input_word(c, "a", width, signed)
    n = negate(c, a)
    assert n.signed and n.width == width + 1
    va = all_values(width, signed)
    assert np.array_equal(run(c, {"a": va}, {"n": n})["n"], -va)


def test_add_and_sub_with_constants():
    c = Circuit()
    a = input_word(c, "a", 3, True)
    outs = {"p": add(c, a, Word.const(5)), "m": sub(c, Word.const(-3), a), "k": add(c, Word.const(2), Word.const(-7))}
    va = all_values(3, True)
    res = run(c, {"a": va}, outs)
    assert np.array_equal(res["p"], va + 5)
    assert np.array_equal(res["m"], -3 - va)
    assert np.all(res["k"] == -5)


# ---------------------------------------------------------------------- sums and products
def test_add_many_mixed_exhaustive():
    c = Circuit()
    a, b, d = input_word(c, "a", 3, False), input_word(c, "b", 4, True), input_word(c, "d", 2, False)
    e = input_word(c, "e", 1, True)
    words = [a, b, Word.const(-5), d, Word.const(9), b, e]
    total = add_many(c, words)
    va, vb, vd, ve = grid(all_values(3, False), all_values(4, True), all_values(2, False), all_values(1, True))
    res = run(c, {"a": va, "b": vb, "d": vd, "e": ve}, {"t": total})
    assert np.array_equal(res["t"], va + 2 * vb + vd + ve + 4)
    lo, hi = 0 - 16 - 5 + 0 + 9 - 1, 7 + 14 - 5 + 3 + 9
    assert (total.width, total.signed) == word_type_for_range(lo, hi)


def test_add_many_of_nothing_and_of_constants():
    c = Circuit()
    assert add_many(c, []) == Word.const(0)
    assert add_many(c, [Word.const(3), Word.const(-10)]).const_value() == -7
    assert c.num_ands == 0


@pytest.mark.parametrize("constant", [0, 5, -37])
def test_column_sum_exhaustive(constant):
    c = Circuit()
    x = c.add_input_bus("x", 8)
    columns = [[x[0], x[1], TRUE], [], [x[2], x[3] ^ 1, x[4], FALSE], [x[5], x[0]], [x[6], x[7], TRUE, TRUE]]
    total = column_sum(c, columns, constant)
    bits = np.array(list(itertools.product((0, 1), repeat=8)))
    b = bits.T
    values = (b[0] + b[1] + 1) + 4 * (b[2] + (1 - b[3]) + b[4]) + 8 * (b[5] + b[0]) + 16 * (b[6] + b[7] + 2)
    res = run(c, {"x": bits}, {"t": total})
    assert np.array_equal(res["t"], values + constant)
    assert (total.width, total.signed) == word_type_for_range(constant + 33, constant + 33 + 2 + 12 + 16 + 32)


def test_csd_digits():
    for k in range(-300, 301):
        digits = csd_digits(k)
        assert sum(d << p for d, p in digits) == k
        positions = [p for _, p in digits]
        assert all(q - p >= 2 for p, q in zip(positions, positions[1:]))
        assert all(d in (-1, 1) for d, _ in digits)
    assert csd_digits(0) == []
    assert csd_digits(7) == [(-1, 0), (1, 3)]


@pytest.mark.parametrize("width,signed", [(4, False), (4, True), (5, False), (5, True)])
def test_mul_const_exhaustive(width, signed):
    c = Circuit()
    a = input_word(c, "a", width, signed)
    ks = range(-40, 41)
    outs = {f"k{i}": mul_const(c, a, k) for i, k in enumerate(ks)}
    va = all_values(width, signed)
    res = run(c, {"a": va}, outs)
    lo, hi = a.value_range()
    for i, k in enumerate(ks):
        w = outs[f"k{i}"]
        assert np.array_equal(res[f"k{i}"], k * va), k
        assert (w.width, w.signed) == word_type_for_range(min(k * lo, k * hi), max(k * lo, k * hi))


def test_mul_const_by_powers_of_two_is_wiring():
    c = Circuit()
    a = input_word(c, "a", 4, True)
    for k in (0, 1, 2, 8, 64):
        mul_const(c, a, k)
    assert c.num_ands == 0
    assert mul_const(c, a, 4).bits == (FALSE, FALSE) + a.bits


def _random_words(draw, c: Circuit, count: int) -> tuple[list[Word], list[tuple[str, int, bool]]]:
    """Random input and constant words; returns the words and the input buses made."""
    words, buses = [], []
    for i in range(count):
        if draw(st.booleans()) and i:
            words.append(Word.const(draw(st.integers(-100, 100))))
            continue
        width, signed = draw(st.integers(1, 8)), draw(st.booleans())
        words.append(input_word(c, f"w{i}", width, signed))
        buses.append((f"w{i}", width, signed))
    return words, buses


def _random_inputs(rng: np.random.Generator, buses, n: int = 200) -> dict[str, np.ndarray]:
    return {name: rng.choice(all_values(width, signed), n) for name, width, signed in buses}


@settings(max_examples=examples(40), deadline=None)
@given(st.data())
def test_weighted_sum_random(data):
    c = Circuit()
    count = data.draw(st.integers(1, 6))
    words, buses = _random_words(data.draw, c, count)
    coeffs = [data.draw(st.integers(-50, 50)) for _ in words]
    constant = data.draw(st.integers(-1000, 1000))
    total = weighted_sum(c, list(zip(coeffs, words)), constant)
    many = add_many(c, words)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    inputs = _random_inputs(rng, buses)  # the first word is always an input
    res = run(c, inputs, {"t": total, "m": many})
    by_bits = {c.input_buses[name].bits: name for name, _, _ in buses}
    values = [np.full(len(res["t"]), w.const_value()) if w.const_value() is not None else inputs[by_bits[w.bits]]
              for w in words]
    assert np.array_equal(res["t"], constant + sum(k * v for k, v in zip(coeffs, values)))
    assert np.array_equal(res["m"], sum(values))


@settings(max_examples=examples(40), deadline=None)
@given(st.integers(1, 10), st.booleans(), st.integers(-10**4, 10**4), st.integers(0, 2**32 - 1))
def test_mul_const_random(width, signed, k, seed):
    c = Circuit()
    a = input_word(c, "a", width, signed)
    p = mul_const(c, a, k)
    va = np.random.default_rng(seed).choice(all_values(width, signed), 200)
    assert np.array_equal(run(c, {"a": va}, {"p": p})["p"], k * va)


# ---------------------------------------------------------------------- popcount
@pytest.mark.parametrize("n", range(11))
def test_popcount_exhaustive(n):
    c = Circuit()
    x = c.add_input_bus("x", max(n, 1))[:n]
    p = popcount(c, x)
    assert p.width == max(1, n.bit_length()) and not p.signed
    bits = np.array(list(itertools.product((0, 1), repeat=max(n, 1))))
    res = run(c, {"x": bits}, {"p": p})
    assert np.array_equal(res["p"], bits[:, :n].sum(axis=1))


@pytest.mark.parametrize("n", [16, 17, 33, 64])
def test_popcount_random_and_nand_lowering(n):
    c = Circuit()
    x = c.add_input_bus("x", n)
    lits = [lit ^ (i % 3 == 0) for i, lit in enumerate(x)] + [TRUE, FALSE]
    p = popcount(c, lits)
    bits = np.random.default_rng(n).integers(0, 2, (500, n))
    expected = (bits ^ (np.arange(n) % 3 == 0)).sum(axis=1) + 1
    assert np.array_equal(run(c, {"x": bits}, {"p": p})["p"], expected)
    assert np.array_equal(evaluate(lower_to_nand(c)[0], {"x": bits})["p"], expected)


def test_popcount_is_a_compressor_tree():
    """n - width full adders (9 nodes each) plus one half adder per column at most, log depth."""
    n = 1024
    c = Circuit()
    p = popcount(c, c.add_input_bus("x", n))
    c.set_output("p", p.bits)
    assert c.num_ands <= 9 * (n - p.width) + 4 * p.width
    assert c.depth() < 8 * 2 * n.bit_length()


# ---------------------------------------------------------------------- comparisons
@pytest.mark.parametrize("signed", [False, True])
def test_compare_const_exhaustive(signed):
    c = Circuit()
    a = input_word(c, "a", 5, signed)
    ks = range(-40, 41)
    outs = {f"c{i}_{j}": compare_const(c, a, k, op) for i, k in enumerate(ks) for j, op in enumerate(COMPARISONS)}
    va = all_values(5, signed)
    res = run(c, {"a": va}, outs)
    lo, hi = a.value_range()
    for i, k in enumerate(ks):
        for j, op in enumerate(COMPARISONS):
            got = res[f"c{i}_{j}"]
            assert np.array_equal(got, PY_OPS[op](va, k).astype(int)), (k, op)
            if not lo <= k <= hi:
                assert outs[f"c{i}_{j}"] in (FALSE, TRUE), (k, op)


def test_compare_const_folds_on_constant_bits_and_ge_is_a_chain():
    c = Circuit()
    x = c.add_input_bus("x", 6)
    assert compare_const(c, Word((x[0], x[1], FALSE)), 4, ">=") == FALSE
    assert compare_const(c, Word((x[0], x[1], TRUE)), 4, ">=") == TRUE
    before = c.num_ands
    compare_const(c, Word(x), 0b101011, ">=")
    assert c.num_ands - before == 5  # one node per bit above the lowest set bit of k
    before = c.num_ands
    compare_const(c, Word(x), 0b101000, ">=")
    assert c.num_ands - before == 2


def test_compare_folds_when_ranges_decide():
    c = Circuit()
    x = c.add_input_bus("x", 4)
    low, high = Word((x[0], x[1], FALSE)), Word((x[2], TRUE, TRUE))  # [0, 3] and [6, 7]
    expected = {">=": FALSE, ">": FALSE, "<=": TRUE, "<": TRUE, "==": FALSE, "!=": TRUE}
    for op, answer in expected.items():
        assert compare(c, low, high, op) == answer
        assert compare(c, high, low, op) == expected[{"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)]
    touching = Word((x[3], TRUE, FALSE))  # [2, 3]
    assert compare(c, Word((TRUE, TRUE, FALSE)), touching, ">=") == TRUE
    assert c.num_ands == 0  # decided comparisons build nothing
    assert compare(c, touching, low, ">=") not in (FALSE, TRUE)


def test_compare_unknown_op():
    c = Circuit()
    a = input_word(c, "a", 2, False)
    msg = r"^unknown comparison '=>'; expected one of: >=, >, <=, <, ==, !=$"
    with pytest.raises(CircuitError, match=msg):
        compare_const(c, a, 1, "=>")
    with pytest.raises(CircuitError, match=msg):
        compare(c, a, a, "=>")


def test_compare_with_constant_words_both_sides():
    c = Circuit()
    a = input_word(c, "a", 3, True)
    outs = {}
    for j, op in enumerate(COMPARISONS):
        outs[f"r{j}"] = compare(c, a, Word.const(2), op)
        outs[f"l{j}"] = compare(c, Word.const(-1), a, op)
    va = all_values(3, True)
    res = run(c, {"a": va}, outs)
    for j, op in enumerate(COMPARISONS):
        assert np.array_equal(res[f"r{j}"], PY_OPS[op](va, 2).astype(int))
        assert np.array_equal(res[f"l{j}"], PY_OPS[op](-1, va).astype(int))


# ---------------------------------------------------------------------- argmax
@pytest.mark.parametrize("count,width,signed", [(1, 3, False), (2, 3, True), (3, 3, False), (5, 2, True)])
def test_argmax_exhaustive_with_ties(count, width, signed):
    c = Circuit()
    words = [input_word(c, f"w{i}", width, signed) for i in range(count)]
    idx = argmax(c, words)
    assert idx.width == max(1, (count - 1).bit_length()) and not idx.signed
    values = grid(*[all_values(width, signed)] * count)
    res = run(c, {f"w{i}": v for i, v in enumerate(values)}, {"i": idx}, netlist=True)
    assert np.array_equal(res["i"], np.argmax(np.stack(values, axis=1), axis=1))


def test_argmax_mixed_types_and_errors():
    c = Circuit()
    words = [input_word(c, "a", 2, False), Word.const(1), input_word(c, "b", 3, True)]
    idx = argmax(c, words)
    va, vb = grid(all_values(2, False), all_values(3, True))
    res = run(c, {"a": va, "b": vb}, {"i": idx})
    assert np.array_equal(res["i"], np.argmax(np.stack([va, np.ones_like(va), vb], axis=1), axis=1))
    with pytest.raises(CircuitError, match=r"^argmax: expected at least one word, found none$"):
        argmax(c, [])
