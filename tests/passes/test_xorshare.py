"""xorshare (XOR sharing by Paar's greedy pair extraction): equivalence, sharing found, never larger."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate
from nandc.passes import PASSES, run_pipeline
from nandc.passes.xorshare import xor_nodes, xor_share
from nandc.synth.cost import nand_cost
from nandc.synth.equiv import check_equivalence
from tests.strategies import circuits, examples, random_circuit

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)


def _linear(num_inputs: int, rows: list[list[int]], flips: list[int] | None = None, name: str = "lin") -> Circuit:
    """Each output the XOR of its row's inputs written as a chain, one output at a time (no sharing)."""
    c = Circuit(name)
    x = c.add_input_bus("x", num_inputs)
    outs = []
    for j, row in enumerate(rows):
        acc = 0
        for i in row:
            acc = c.xor(acc, x[i])
        outs.append(acc ^ (flips[j] if flips else 0))
    c.set_output("y", outs)
    return c


def _crc32_step(data_bits: int) -> Circuit:
    """The CRC-32 register after shifting in ``data_bits`` bits (MSB-first), unrolled bit by bit."""
    c = Circuit(f"crc32d{data_bits}")
    state = list(c.add_input_bus("s", 32))
    data = c.add_input_bus("d", data_bits)
    poly = 0x04C11DB7
    for bit in data:
        fb = c.xor(state[31], bit)
        state = [fb] + [c.xor(state[i - 1], fb) if (poly >> i) & 1 else state[i - 1] for i in range(1, 32)]
    c.set_output("crc", state)
    return c


def _affine_equal(a: Circuit, b: Circuit) -> bool:
    """Two circuits made of XORs only are affine: equal iff equal on 0 and on every unit vector."""
    n = a.num_inputs
    rows = np.zeros((n + 1, n), dtype=np.uint8)
    rows[np.arange(1, n + 1), np.arange(n)] = 1
    feed, at = {}, 0
    for bus in a.input_buses.values():  # the unit vectors cut into the buses, in order
        feed[bus.name] = rows[:, at:at + bus.width]
        at += bus.width
    ra, rb = evaluate(a, feed, as_words=False), evaluate(b, feed, as_words=False)
    return all(np.array_equal(ra[k], rb[k]) for k in ra)


def _only_xors(c: Circuit) -> bool:
    inner = {u for v, _ in xor_nodes(c).items() for u in (c.fanins(v)[0] >> 1, c.fanins(v)[1] >> 1)}
    return set(c.and_nodes()) <= set(xor_nodes(c)) | inner


@EQUIVALENCE
@given(circuits(max_inputs=10, max_ops=50))
def test_xorshare_is_equivalent_and_never_costlier(c):
    new, stats = xor_share(c)
    new.verify()
    assert check_equivalence(c, new)
    assert nand_cost(new) <= nand_cost(c)
    assert list(new.output_buses) == list(c.output_buses)


def test_shared_pairs_are_found_and_the_cost_falls():
    rng = random.Random(1)
    rows = [sorted(rng.sample(range(14), 9)) for _ in range(12)]
    c = _linear(14, rows, [rng.randint(0, 1) for _ in rows])
    new, stats = xor_share(c)
    assert check_equivalence(c, new)  # 14 inputs: every input vector
    assert stats.notes["shared"] > 0 and stats.notes["targets"] == 12
    assert nand_cost(new) < 0.8 * nand_cost(c)


def test_a_crc32_step_is_rebuilt_smaller_and_equal():
    c = _crc32_step(32)
    assert _only_xors(c)
    new, stats = xor_share(c)
    assert _only_xors(new) and _affine_equal(c, new)
    assert not _affine_equal(c, _flip_one(new))  # (a check that can fail)
    assert nand_cost(new) < 0.7 * nand_cost(c)  # 1825 -> about 1050 NAND2 (ABC: 1350)


def _flip_one(c: Circuit) -> Circuit:
    """``c`` with its first output bit complemented."""
    out, input_map = c.copy_interface()
    lit = {0: 0, **input_map}
    for v in c.and_nodes():
        a, b = c.fanins(v)
        lit[v] = out.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
    for bus in c.output_buses.values():
        bits = [lit[b >> 1] ^ (b & 1) for b in bus.bits]
        bits[0] ^= 1
        out.set_output(bus.name, bits)
    return out


def test_xors_read_by_other_logic_stay_signals():
    c = Circuit("mixed")
    x = c.add_input_bus("x", 8)
    t = c.xor(c.xor(x[0], x[1]), x[2])  # read by an AND below, and inside two wider XORs
    u = c.xor(c.xor(t, x[3]), x[4])
    w = c.xor(c.xor(t, x[3]), x[5])
    c.set_output("y", [c.and_(t, x[6]), u, w, c.and_(c.fanins(c.xor(x[0], x[1]) >> 1)[0] ^ 1, x[7])])
    new, stats = xor_share(c)
    assert check_equivalence(c, new)
    assert stats.notes["targets"] >= 3


def test_an_output_may_read_the_inside_of_an_xor():
    c = _linear(8, [[3, 0, 1, 2, 6], [4, 0, 1, 2, 6], [5, 0, 1, 2, 6]])  # x0^x1^x2^x6 in all three, unshared
    inside = c.fanins(c.output_literals()[0] >> 1)[0] >> 1  # one AND node of the last XOR of y[0]
    c.set_output("m", [2 * inside, c.output_literals()[1]])
    new, stats = xor_share(c)
    assert stats.notes["shared"] > 0 and new is not c
    assert check_equivalence(c, new)


def test_a_circuit_without_xors_is_returned_as_it_is():
    plain = Circuit("and_tree")
    xs = plain.add_input_bus("x", 6)
    plain.set_output("y", [plain.and_many(xs)])
    new, stats = xor_share(plain)
    assert new is plain and stats.notes["xors"] == 0
    c = random_circuit(3, num_inputs=12, num_ops=300)  # random logic, XORs among it
    assert xor_nodes(c) and check_equivalence(c, xor_share(c)[0])


def test_o3_keeps_the_shared_xors_and_params_are_checked():
    c = _linear(12, [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 6, 7], [0, 1, 2, 3, 8, 9], [0, 1, 4, 5, 10, 11]])
    net, _ = run_pipeline(c, "O3")
    assert check_equivalence(c, net)
    assert net.num_gates < nand_cost(c)
    assert "max_leaves" in PASSES["xorshare"].param_names
    with pytest.raises(PassError, match="max_leaves must be at least 2"):
        xor_share(c, {"max_leaves": 1})
