"""The reference evaluators against a naive per-sample evaluator, and the bus-level API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import CircuitError
from nandc.ir.bits import pack_samples, unpack_samples
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate, input_bits, simulate_circuit, simulate_netlist
from nandc.passes import lower_to_nand
from tests.strategies import circuits, random_circuit, examples

PROPERTY = settings(max_examples=examples(100), deadline=None)
SAMPLE_COUNTS = [0, 1, 63, 64, 65, 1000]


def naive_outputs(c: Circuit, bits: np.ndarray) -> np.ndarray:
    """Output bits ``(N, outputs)`` by walking the nodes one sample at a time.

    ``bits`` is ``(N, num_inputs)`` in ``c.inputs`` order.  Uses only the
    public node accessors, one Python int per node.
    """
    fanins = [(node, c.fanins(node)) for node in c.and_nodes()]
    outs = c.output_literals()
    rows = []
    for sample in bits.tolist():
        val = [0] * c.num_nodes
        for node, v in zip(c.inputs, sample):
            val[node] = v
        for node, (f0, f1) in fanins:
            val[node] = (val[f0 >> 1] ^ (f0 & 1)) & (val[f1 >> 1] ^ (f1 & 1))
        rows.append([val[lit >> 1] ^ (lit & 1) for lit in outs])
    return np.array(rows, dtype=np.uint8).reshape(len(rows), len(outs))


def random_bits(num_samples: int, num_inputs: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(num_samples, num_inputs), dtype=np.uint8)


def simulate_bits(c: Circuit, bits: np.ndarray) -> np.ndarray:
    """``simulate_circuit`` on per-sample bits, back to per-sample bits."""
    out = simulate_circuit(c, pack_samples(bits))
    return unpack_samples(out, bits.shape[0])


# ---------------------------------------------------------------------- simulate_circuit
@PROPERTY
@given(circuits(max_inputs=10, max_ops=50), st.sampled_from([1, 63, 64, 65, 130]), st.integers(0, 2**32))
def test_simulate_circuit_matches_naive(c, num_samples, seed):
    bits = random_bits(num_samples, c.num_inputs, seed)
    assert np.array_equal(simulate_bits(c, bits), naive_outputs(c, bits))


@pytest.mark.parametrize("num_samples", SAMPLE_COUNTS)
def test_sample_count_edges(num_samples):
    c = random_circuit(3, num_inputs=12, num_ops=80)
    bits = random_bits(num_samples, c.num_inputs, num_samples)
    expected = naive_outputs(c, bits)
    assert np.array_equal(simulate_bits(c, bits), expected)
    net, _ = lower_to_nand(c)
    packed = pack_samples(bits)
    assert np.array_equal(unpack_samples(simulate_netlist(net, packed), num_samples), expected)
    # the bus API agrees too
    outs = evaluate(c, _bits_by_bus(c, bits), as_words=False)
    flat = np.concatenate([outs[name].reshape(num_samples, bus.width)
                           for name, bus in c.output_buses.items()], axis=1)
    assert np.array_equal(flat, expected)


def _bits_by_bus(c: Circuit, bits: np.ndarray) -> dict[str, np.ndarray]:
    position = {node: i for i, node in enumerate(c.inputs)}
    return {
        name: bits[:, [position[lit >> 1] for lit in bus.bits]].reshape((bits.shape[0],) + bus.shape)
        for name, bus in c.input_buses.items()
    }


def test_simulate_circuit_selected_outputs_and_constants():
    c = Circuit()
    a, b = c.add_input_bus("x", 2)
    n = c.and_(a, b)
    words = np.array([[0b1100], [0b1010]], dtype=np.uint64)
    out = simulate_circuit(c, words, outputs=[n, n ^ 1, 0, 1, a ^ 1])
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    assert out[:, 0].tolist() == [0b1000, int(~np.uint64(0b1000)), 0, int(mask), int(~np.uint64(0b1100))]


def test_simulate_wrong_input_shape_is_an_error():
    c = random_circuit(1, num_inputs=4, num_ops=5)
    with pytest.raises(CircuitError, match=r"^expected packed inputs of shape \(4, words\), found \(3, 2\)$"):
        simulate_circuit(c, np.zeros((3, 2), dtype=np.uint64))
    net, _ = lower_to_nand(c)
    with pytest.raises(CircuitError, match=r"^expected packed inputs of shape \(4, words\), found \(4,\)$"):
        simulate_netlist(net, np.zeros(4, dtype=np.uint64))


def test_many_word_blocks(monkeypatch):
    # force several sample blocks and a short last block
    import sys

    monkeypatch.setattr(sys.modules["nandc.ir.evaluate"], "_MAX_BLOCK_WORDS", 3)
    c = random_circuit(5, num_inputs=9, num_ops=60)
    bits = random_bits(64 * 7 + 5, c.num_inputs, 1)
    assert np.array_equal(simulate_bits(c, bits), naive_outputs(c, bits))
    net, _ = lower_to_nand(c)
    got = unpack_samples(simulate_netlist(net, pack_samples(bits)), bits.shape[0])
    assert np.array_equal(got, naive_outputs(c, bits))


# ---------------------------------------------------------------------- netlists
@PROPERTY
@given(circuits(max_inputs=10, max_ops=50), st.integers(0, 2**32))
def test_netlist_evaluator_matches_circuit_evaluator(c, seed):
    net, _ = lower_to_nand(c)
    words = np.random.default_rng(seed).integers(0, 2**64, size=(c.num_inputs, 3), dtype=np.uint64)
    assert np.array_equal(simulate_netlist(net, words), simulate_circuit(c, words))
    back = net.to_circuit()
    assert np.array_equal(simulate_circuit(back, words), simulate_circuit(c, words))


# ---------------------------------------------------------------------- bus-level API
def bus_circuit() -> Circuit:
    """``s = x0 + x1`` (signed 3-bit words, 4-bit signed sum), ``n = ~y`` (bits), ``k = y0`` (scalar)."""
    c = Circuit("bus")
    x = c.add_input_bus("x", (2, 3), signed=True)
    y = c.add_input_bus("y", 2)
    a, b = x[:3], x[3:]
    a = a + (a[2],)  # sign extension
    b = b + (b[2],)
    carry, total = 0, []
    for p, q in zip(a, b):
        total.append(c.xor(c.xor(p, q), carry))
        carry = c.maj(p, q, carry)
    c.set_output("s", total, signed=True)
    c.set_output("n", [y[0] ^ 1, y[1] ^ 1])
    c.set_output("k", [y[0]], shape=())
    return c


def test_evaluate_words_and_bits_agree():
    c = bus_circuit()
    xs = np.array([[-4, -4], [3, 3], [-1, 2], [0, -3]])
    ys = np.array([0, 1, 2, 3])
    words = evaluate(c, {"x": xs, "y": ys})
    assert words["s"].tolist() == [-8, 6, 1, -3]
    assert words["n"].tolist() == [3, 2, 1, 0]
    assert words["k"].tolist() == [0, 1, 0, 1]  # a scalar bus comes back as bits
    x_bits = ((xs[..., None] >> np.arange(3)) & 1).astype(np.uint8)
    y_bits = ((ys[:, None] >> np.arange(2)) & 1).astype(np.uint8)
    bits = evaluate(c, {"x": x_bits, "y": y_bits}, as_words=False)
    assert bits["s"].shape == (4, 4) and bits["n"].shape == (4, 2) and bits["k"].shape == (4,)
    assert bits["s"].tolist()[0] == [0, 0, 0, 1]  # -8 in 4-bit two's complement, LSB first
    net, _ = lower_to_nand(c)
    for key, val in evaluate(net, {"x": xs, "y": y_bits}).items():
        assert np.array_equal(val, words[key])


def test_evaluate_single_array_for_single_bus():
    c = Circuit()
    x = c.add_input_bus("x", 4)
    c.set_output("y", [x[3], x[0]])
    assert evaluate(c, np.array([1, 8, 9]))["y"].tolist() == [2, 1, 3]


def test_input_bits_follow_circuit_input_order():
    c = Circuit()
    y = c.add_input_bus("y", 1)
    x = c.add_input_bus("x", 2)
    c.set_output("o", [x[0], x[1], y[0]])
    table = input_bits(c, {"x": np.array([[1, 0]]), "y": np.array([[1]])})
    assert table.tolist() == [[1, 1, 0]]  # rows follow c.inputs: y0, x0, x1


@pytest.mark.parametrize("inputs, message", [
    ({"x": np.array([[1, 2]])},
     "inputs must name exactly the input buses ['x', 'y']; missing ['y'], unknown []"),
    ({"x": np.array([[1, 2]]), "y": np.array([3]), "z": np.array([1])},
     "inputs must name exactly the input buses ['x', 'y']; missing [], unknown ['z']"),
    ({"x": np.array([[1, 2, 3]]), "y": np.array([3])},
     "input 'x': expected bits of shape (N, 2, 3) or words of shape (N, 2), found (1, 3)"),
    ({"x": np.array([[1, 2]]), "y": np.array([3, 1])},
     "input 'y' has 2 samples, other inputs have 1"),
    ({"x": np.full((1, 2, 3), 2), "y": np.array([3])},
     "input 'x': bit arrays must hold only 0 and 1"),
    ({"x": np.array([[-5, 2]]), "y": np.array([3])},
     "input 'x': values must lie in [-4, 3] for a signed 3-bit word, found [-5, 2]"),
    ({"x": np.array([[0, 2]]), "y": np.array([4])},
     "input 'y': values must lie in [0, 3] for an unsigned 2-bit word, found [4, 4]"),
    ({"x": np.array([[1.5, 2]]), "y": np.array([3])},
     "input 'x': expected integer values, found dtype float64"),
    (np.array([[1, 2]]), "expected a dict of inputs for buses ['x', 'y'], found one array"),
])
def test_evaluate_errors(inputs, message):
    with pytest.raises(CircuitError) as err:
        evaluate(bus_circuit(), inputs)
    assert str(err.value) == message


def test_evaluate_rejects_inputs_outside_buses_and_other_objects():
    c = Circuit()
    c.add_input_bus("x", 1)
    c.add_input()
    with pytest.raises(CircuitError, match=r"^1 input\(s\) belong to no bus; name them in a bus$"):
        evaluate(c, {"x": np.array([[1]])})
    with pytest.raises(CircuitError, match="^expected a Circuit or NandNetlist, found str$"):
        evaluate("circuit", {})  # type: ignore[arg-type]
