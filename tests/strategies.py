"""Random circuits for property tests: a hypothesis strategy and a seeded generator.

Both go through one builder, :func:`build_random_circuit`, which takes its
choices from a ``pick(lo, hi)`` function (an integer in ``[lo, hi]``): drawn by
hypothesis in :func:`circuits` (so failures shrink), or from
``random.Random(seed)`` in :func:`random_circuit` (for large circuits).

A random circuit has 1..3 input buses (names ``x``, ``y``, ``z``; 1-D, or 2-D
when the width allows; some signed), a sequence of random ``and_`` / ``or_`` /
``xor`` / ``mux`` / ``maj`` operations on random (possibly complemented)
earlier literals, the constants included, each tagged with a random layer
(``""``, ``"L1"`` or ``"L2"``), and 1..2 output buses of random literals, so
outputs may be constants, inputs, complemented, and many nodes are dead.

:func:`rare_detector` is a circuit random simulation cannot tell from a constant.
"""

from __future__ import annotations

import os
import random
from typing import Callable

from hypothesis import strategies as st

from nandc.ir.circuit import Circuit

__all__ = ["OPS", "OP_NAMES", "LAYERS", "build_random_circuit", "circuits", "random_circuit", "Pick", "examples"]


def examples(n: int) -> int:
    """Hypothesis examples for a property test that draws ``n`` in the full run:
    scaled by ``NANDC_TEST_EXAMPLES_SCALE`` (the fast lane, ``-m "not slow"``,
    sets 0.1; see tests/conftest.py), at least 5."""
    scale = float(os.environ.get("NANDC_TEST_EXAMPLES_SCALE", "1"))
    return n if scale >= 1 else max(5, int(n * scale))

Pick = Callable[[int, int], int]

# operation name -> (arity, builder)
OPS: dict[str, tuple[int, Callable[..., int]]] = {
    "and": (2, Circuit.and_),
    "or": (2, Circuit.or_),
    "xor": (2, Circuit.xor),
    "mux": (3, Circuit.mux),
    "maj": (3, Circuit.maj),
}
OP_NAMES = tuple(OPS)
LAYERS = ("", "L1", "L2")
BUS_NAMES = ("x", "y", "z")
OUTPUT_NAMES = ("out", "aux")


def _add_inputs(c: Circuit, pick: Pick, num_inputs: int) -> list[int]:
    """Split ``num_inputs`` into 1..3 buses with random shapes and signedness."""
    num_buses = pick(1, min(len(BUS_NAMES), num_inputs))
    remaining = num_inputs
    lits: list[int] = []
    for i, name in enumerate(BUS_NAMES[:num_buses]):
        last = i == num_buses - 1
        width = remaining if last else pick(1, remaining - (num_buses - 1 - i))
        remaining -= width
        shape = (2, width // 2) if width % 2 == 0 and width >= 4 and pick(0, 3) == 0 else (width,)
        lits.extend(c.add_input_bus(name, shape, signed=bool(pick(0, 1))))
    return lits


def _operand(pool: list[int], pick: Pick, recent: int) -> int:
    """A random literal of ``pool``, half the time from its last ``recent`` entries."""
    lo = 0 if pick(0, 1) else max(0, len(pool) - recent)
    return pool[pick(lo, len(pool) - 1)] ^ pick(0, 1)


def build_random_circuit(pick: Pick, num_inputs: int, num_ops: int, max_output_width: int = 6,
                         recent: int = 8, name: str = "random") -> Circuit:
    """A random circuit whose every choice comes from ``pick(lo, hi)``.

    ``recent`` biases operands towards the latest results, which makes the
    circuit deep rather than wide.  Requires ``num_inputs >= 1``.
    """
    c = Circuit(name)
    pool = [0, 1] + _add_inputs(c, pick, num_inputs)
    for _ in range(num_ops):
        c.current_layer = LAYERS[pick(0, len(LAYERS) - 1)]
        arity, build = OPS[OP_NAMES[pick(0, len(OP_NAMES) - 1)]]
        pool.append(build(c, *(_operand(pool, pick, recent) for _ in range(arity))))
    c.current_layer = ""
    for out_name in OUTPUT_NAMES[: pick(1, len(OUTPUT_NAMES))]:
        width = pick(1, max_output_width)
        c.set_output(out_name, [_operand(pool, pick, recent) for _ in range(width)],
                     signed=bool(pick(0, 1)))
    return c


@st.composite
def circuits(draw, max_inputs: int = 10, max_ops: int = 40, min_inputs: int = 1,
             min_ops: int = 0, max_output_width: int = 6) -> Circuit:
    """Hypothesis strategy: a random circuit (see the module docstring)."""

    def pick(lo: int, hi: int) -> int:
        return draw(st.integers(lo, hi))

    num_inputs = pick(min_inputs, max_inputs)
    num_ops = pick(min_ops, max_ops)
    return build_random_circuit(pick, num_inputs, num_ops, max_output_width)


def random_circuit(seed: int, num_inputs: int, num_ops: int, max_output_width: int = 8,
                   recent: int = 64) -> Circuit:
    """A reproducible random circuit from ``seed`` (for circuits too big to draw)."""
    rng = random.Random(seed)
    return build_random_circuit(rng.randint, num_inputs, num_ops, max_output_width, recent,
                                name=f"random{seed}")


def rare_detector(n: int = 24) -> Circuit:
    """A chain of AND nodes that is 1 on one input pattern of ``2 ** n`` only (input ``i``
    is 1 when ``i % 3 == 0``): on random patterns its upper nodes look like the constant 0,
    until SAT disproves it with a counterexample."""
    c = Circuit("rare")
    xs = c.add_input_bus("x", n)
    out = xs[0]
    for i, x in enumerate(xs[1:], 1):
        out = c.and_(out, x if i % 3 == 0 else x ^ 1)
    c.set_output("y", [out])
    return c
