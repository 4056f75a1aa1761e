"""Exact integer building blocks of the converters, checked exhaustively against Python ints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nandc.frontend.arith import divide_round_half_even
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate
from nandc.ir.words import Word


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
