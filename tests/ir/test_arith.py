"""Exact integer building blocks of the converters, checked exhaustively against Python ints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.ir.arith import divide_round_half_even
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate
from nandc.ir.words import Word
from tests.strategies import examples


def _round_half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    return q + (2 * r > den or (2 * r == den and q % 2 == 1))


@pytest.mark.parametrize("num_bits, den_bits, qbits", [(5, 3, 2), (6, 3, 3), (7, 4, 3), (4, 2, 4)])
def test_divide_round_half_even_is_exact_where_defined(num_bits, den_bits, qbits):
    c = Circuit("div")
    num = c.add_input_bus("n", num_bits)
    den = c.add_input_bus("d", den_bits)
    out = divide_round_half_even(c, Word(num, False), Word(den, False), qbits)
    assert out.width == qbits + 1
    c.set_output("q", out.bits)
    pairs = [(a, b) for a, b in itertools.product(range(1 << num_bits), range(1 << den_bits))
             if a < b << qbits or b == 0]
    got = evaluate(c, {"n": np.array([a for a, _ in pairs]), "d": np.array([b for _, b in pairs])})["q"]
    values = np.asarray(got)
    want = [_round_half_even(a, b) if b else 0 for a, b in pairs]
    assert values.tolist() == want


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(-7, 7)), min_size=1, max_size=12),
       st.integers(-20, 20))
def test_linear_form_of_weighted_codes_is_exact(codes, const):
    """``const + sum(w * x)`` over codes ``x`` of 1-3 bits with 4-bit weights, on every input."""
    from nandc.ir.arith import linear_form
    from nandc.ir.evaluate import evaluate

    c = Circuit("lf")
    buses = [c.add_input_bus(f"x{i}", bits) for i, (bits, _) in enumerate(codes)]
    terms = [(lit, w << j) for (bits, w), lits in zip(codes, buses) for j, lit in enumerate(lits)]
    form = linear_form(c, terms, const)
    c.set_output("s", form.word.bits or (0,))
    total = sum(bits for bits, _ in codes)
    rng = np.random.default_rng(total)
    samples = 1 << total if total <= 10 else 1024
    values = np.array([[(s >> sum(b for b, _ in codes[:i])) & ((1 << bits) - 1) for i, (bits, _) in enumerate(codes)]
                       for s in (range(samples) if total <= 10 else rng.integers(0, 1 << total, samples))])
    out = evaluate(c, {f"x{i}": values[:, i] for i in range(len(codes))})["s"]
    expected = const + values @ np.array([w for _, w in codes])
    assert np.array_equal(form.a * out + form.b, expected)
    assert out.min() >= 0 and out.max() <= form.hi


def test_linear_form_sums_equal_odd_weights_first():
    """Many codes times 3: one 11-bit sum of the codes times 3 instead of two rows per code bit."""
    from nandc.ir.arith import linear_form

    def nodes(weight):
        c = Circuit("lf")
        lits = c.add_input_bus("x", 4 * 128)
        linear_form(c, [(lit, weight << (j % 4)) for j, lit in enumerate(lits)])
        return c.num_ands

    # term by term, weight 3 = 4 - 1 puts two bits per code bit into the tree: about twice weight 1
    assert nodes(3) < 1.25 * nodes(1)
