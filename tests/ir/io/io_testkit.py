"""Random circuits and comparisons shared by the netlist file format tests."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from nandc.ir import Circuit, NandNetlist, evaluate

INPUT_NAMES = ("x", "img", "w_1", "in", "bias")
OUTPUT_NAMES = ("out", "logits", "y2", "s")
LAYERS = ("", "conv1", "fc.2", "head")
EXHAUSTIVE_LIMIT = 12
RANDOM_SAMPLES = 3000


@st.composite
def shapes(draw, max_bits: int = 6) -> tuple[int, ...]:
    kind = draw(st.sampled_from(["1d", "2d", "scalar"]))
    if kind == "scalar":
        return ()
    if kind == "1d":
        return (draw(st.integers(1, max_bits)),)
    rows = draw(st.integers(1, 3))
    return (rows, draw(st.integers(1, max(1, max_bits // rows))))


@st.composite
def random_circuits(draw, max_ops: int = 40) -> Circuit:
    """A random AIG: a few input buses, random and/xor/mux/maj/or nodes in a few
    layers, dead nodes, outputs with constants, complemented and input bits."""
    c = Circuit(draw(st.sampled_from(["net", "my model", "c"])))
    names = draw(st.lists(st.sampled_from(INPUT_NAMES), min_size=1, max_size=3, unique=True))
    lits: list[int] = []
    for name in names:
        lits += c.add_input_bus(name, draw(shapes()), signed=draw(st.booleans()))
    lit = st.integers(0, 10**6)

    def pick(k: int) -> int:
        return lits[k % len(lits)] ^ (k & 1)

    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(st.sampled_from(["and", "or", "xor", "mux", "maj"]))
        a, b, s = pick(draw(lit)), pick(draw(lit)), pick(draw(lit))
        c.current_layer = draw(st.sampled_from(LAYERS))
        if op == "and":
            lits.append(c.and_(a, b))
        elif op == "or":
            lits.append(c.or_(a, b))
        elif op == "xor":
            lits.append(c.xor(a, b))
        elif op == "mux":
            lits.append(c.mux(s, a, b))
        else:
            lits.append(c.maj(a, b, s))
    c.current_layer = ""
    out_names = draw(st.lists(st.sampled_from(OUTPUT_NAMES), min_size=1, max_size=3, unique=True))
    for name in out_names:
        shape = draw(shapes())
        choices = st.one_of(st.integers(0, 1), lit.map(pick))
        bits = [draw(choices) for _ in range(math.prod(shape))]
        c.set_output(name, bits, shape, signed=draw(st.booleans()))
    c.verify()
    return c


def interface(obj: Circuit | NandNetlist) -> tuple:
    """Bus names, shapes and signedness, in order."""
    return (
        [(b.name, b.shape, b.signed) for b in obj.input_buses.values()],
        [(b.name, b.shape, b.signed) for b in obj.output_buses.values()],
    )


def bus_inputs(obj: Circuit | NandNetlist, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-bus input bits: every combination for up to 12 inputs, random samples above."""
    widths = [b.width for b in obj.input_buses.values()]
    n = sum(widths)
    if n <= EXHAUSTIVE_LIMIT:
        table = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    else:
        table = np.random.default_rng(seed).integers(0, 2, size=(RANDOM_SAMPLES, n), dtype=np.uint8)
    out = {}
    col = 0
    for bus in obj.input_buses.values():
        out[bus.name] = table[:, col:col + bus.width].reshape((len(table),) + bus.shape)
        col += bus.width
    return out


def assert_same_function(a: Circuit | NandNetlist, b: Circuit | NandNetlist) -> None:
    """Same interface and the same output bits on every input (or many random ones)."""
    assert interface(a) == interface(b)
    inputs = bus_inputs(a)
    ya = evaluate(a, inputs, as_words=False)
    yb = evaluate(b, inputs, as_words=False)
    assert list(ya) == list(yb)
    for name in ya:
        np.testing.assert_array_equal(ya[name], yb[name], err_msg=f"output bus {name}")


def live_ands(c: Circuit) -> list[int]:
    """AND nodes in the output cone, in node order."""
    live = c.reachable()
    return [n for n in c.and_nodes() if live[n]]


def seeded_circuit(seed: int, ops: int = 300) -> Circuit:
    """A reproducible random circuit (numpy seed) with three buses, four layers,
    dead nodes, and outputs that include constants, inputs and complements."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"seeded{seed}")
    lits = list(c.add_input_bus("x", (3, 4), signed=True)) + list(c.add_input_bus("w", 5))
    lits += c.add_input_bus("b", ())
    builders = (c.and_, c.or_, c.xor, c.mux, c.maj)
    for k in range(ops):
        c.current_layer = LAYERS[k * len(LAYERS) // ops]
        op = builders[int(rng.integers(len(builders)))]
        args = [lits[int(i)] ^ int(rng.integers(2)) for i in rng.integers(len(lits), size=3)]
        lits.append(op(*args[:3 if op in (c.mux, c.maj) else 2]))
    c.current_layer = ""
    picks = [lits[int(i)] ^ int(rng.integers(2)) for i in rng.integers(len(lits) // 2, len(lits), size=14)]
    c.set_output("logits", picks[:12], (3, 4), signed=True)
    c.set_output("s", [picks[12], 0, 1, lits[0] ^ 1, picks[13]], (5,))
    return c
