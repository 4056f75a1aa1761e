"""Dense layers of +-1 linear forms, for the tests of word recovery and of the sums pass."""

from __future__ import annotations

import random

from nandc.ir.arith import linear_form
from nandc.ir.circuit import Circuit


def layered_sums(seed: int, n_inputs: int, n_first: int, n_second: int, skip_low: int = 0):
    """Two layers, ``fc1`` and ``fc2``: ``n_first`` words ``sum_i (+-1) x_i + b`` (``b`` in -3..3)
    over ``n_inputs`` inputs, then ``n_second`` words ``sum (+-1) bit`` over the first layer's bits
    from bit ``skip_low`` up.  ``(circuit, first words, second words, those bits)``; no outputs set."""
    rng = random.Random(seed)
    c = Circuit("layers")
    x = c.add_input_bus("x", n_inputs)
    with c.layer("fc1"):
        first = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in x], rng.randint(-3, 3)).word
                 for _ in range(n_first)]
    with c.layer("fc2"):
        bits = [b for w in first for b in w.bits[skip_low:]]
        second = [linear_form(c, [(lit, rng.choice((-1, 1))) for lit in bits], 0).word for _ in range(n_second)]
    return c, first, second, bits
