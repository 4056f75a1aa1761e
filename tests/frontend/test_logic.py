"""Hardened logic layers compile gate for gate, bit-exact; soft layers are refused."""

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import nandc  # noqa: E402
import nandc.nn as qnn  # noqa: E402
from conftest import assert_bit_exact  # noqa: E402
from nandc.errors import QuantizationError  # noqa: E402
from nandc.frontend.converters.logic import gate_literal  # noqa: E402
from nandc.ir.circuit import Circuit  # noqa: E402
from nandc.ir.evaluate import evaluate  # noqa: E402
from nandc.nn import gate_functions as gates  # noqa: E402
from nandc.nn import (  # noqa: E402
    AnnealConfig, BooleanLayer, ExponentialSchedule, GroupSum, SoftNAND, anneal_fit, harden, logic_classifier,
)
from tests.strategies import examples  # noqa: E402

PROPERTY = settings(max_examples=examples(25), deadline=None)


def sequential(**layers):
    return torch.nn.Sequential(OrderedDict(layers))


def all_bit_rows(n):
    r = np.arange(1 << n)
    return ((r[:, None] >> np.arange(n)) & 1).astype(np.float32)


# ---------------------------------------------------------------------- one gate
@pytest.mark.parametrize("t", range(16))
def test_gate_literal_computes_each_function_with_the_fewest_and_nodes(t):
    c = Circuit("gate")
    a, b = c.add_input_bus("x", (2,))
    c.set_output("y", [gate_literal(c, t, a, b)], (1,))
    got = evaluate(c, {"x": all_bit_rows(2).astype(np.uint8)})["y"].reshape(-1).tolist()
    assert got == [gates.evaluate(t, int(x0), int(x1)) for x0, x1 in all_bit_rows(2)]
    ones = sum(gates.evaluate(t, x0, x1) for x0 in (0, 1) for x1 in (0, 1))
    cost = 3 if t in (gates.XOR_FN, 9) else (1 if ones in (1, 3) else 0)
    assert c.num_ands == cost


def nand_layer(in_features, pairs):
    return BooleanLayer(in_features, [p[0] for p in pairs], [p[1] for p in pairs], [gates.NAND_FN] * len(pairs))


def test_nand_layers_compile_to_exactly_one_nand2_per_gate():
    # distinct pairs, every output read by the next layer: no gate merges or dies.  Layers read by
    # NAND gates cost one NAND2 per gate; the last one may add inverters for the popcount that reads it.
    pairs1 = [(i, j) for i in range(6) for j in range(i + 1, 6)][:12]
    pairs2 = [(2 * k, 2 * k + 1) for k in range(6)] + [(0, 11)]
    pairs3 = [(0, 1), (2, 3), (4, 5), (6, 0)]
    m = sequential(input=qnn.InputQuant(1, 1.0), nand1=nand_layer(6, pairs1), nand2=nand_layer(12, pairs2),
                   nand3=nand_layer(7, pairs3), groups=GroupSum(2))
    x = np.random.default_rng(0).random((200, 6)).astype(np.float32)
    compiled = assert_bit_exact(m, x, passes="cleanup;nand")  # no rewriting: the frontend's own gates
    counts = compiled.netlist.layer_counts()
    assert (counts["nand1"], counts["nand2"]) == (12, 7)
    assert 4 <= counts["nand3"] <= 8


# ---------------------------------------------------------------------- networks
@st.composite
def boolean_networks(draw):
    n_in = draw(st.integers(1, 6))
    layers, width = [("input", qnn.InputQuant(1, 1.0))], n_in
    for i in range(draw(st.integers(1, 3))):
        out = draw(st.integers(1, 6))
        ia = draw(st.lists(st.integers(0, width - 1), min_size=out, max_size=out))
        ib = draw(st.lists(st.integers(0, width - 1), min_size=out, max_size=out))
        ops = draw(st.lists(st.integers(0, 15), min_size=out, max_size=out))
        layer = BooleanLayer(width, ia, ib, ops, passthrough=draw(st.booleans()))
        layers.append((f"gates{i}", layer))
        width = layer.width
    if draw(st.booleans()):
        groups = draw(st.sampled_from([g for g in range(1, width + 1) if width % g == 0]))
        layers.append(("groups", GroupSum(groups, tau=draw(st.sampled_from([1.0, 0.5, 3.0, 10.0])))))
    return n_in, sequential(**OrderedDict(layers))


@PROPERTY
@given(net=boolean_networks())
def test_random_boolean_networks_are_bit_exact_on_every_input(net):
    n_in, model = net
    rows = all_bit_rows(n_in)
    x = np.concatenate([rows, np.random.default_rng(n_in).random((20, n_in), dtype=np.float32)])
    assert_bit_exact(model, x, passes="O1")


def test_group_sum_ties_go_to_the_first_group_like_torch():
    m = sequential(input=qnn.InputQuant(1, 1.0), groups=GroupSum(3, tau=7.0))
    x = np.array([[1, 0, 0, 1, 1, 0], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=np.float32)
    compiled = assert_bit_exact(m, x)
    out = compiled.run(x, backend="reference")
    assert out["logits"].tolist() == [[1, 1, 1], [0, 2, 2], [0, 0, 0]]
    assert out["class"].tolist() == [0, 1, 0]


@pytest.mark.slow
def test_trained_and_hardened_nand_classifier_is_bit_exact():
    from nandc.lab.datasets import load_digits

    ds = load_digits(limit=300)
    model = logic_classifier(64, (40, 30), ds.classes, gate="nand", group_tau=2.0)
    cfg = AnnealConfig(epochs=2, batch_size=64, tau=ExponentialSchedule(0.2, 0.05, 2), hard_epochs=1)
    anneal_fit(model, ds.x_train, ds.y_train, cfg)
    hard = harden(model)
    assert_bit_exact(hard, np.concatenate([ds.x_train, ds.x_test]), passes="O1")


# ---------------------------------------------------------------------- errors
def test_compiling_a_soft_layer_says_to_harden_first():
    m = sequential(input=qnn.InputQuant(1, 1.0), soft1=SoftNAND(4, 6), soft2=SoftNAND(6, 2), groups=GroupSum(2))
    with pytest.raises(QuantizationError, match=(
            r"^layer 'soft1' is a soft SoftNAND whose output is a float, not a bit \(soft layers in the model: "
            r"soft1, soft2\); harden the model before compiling: model = nandc.nn.harden\(model\)$")):
        nandc.compile(m, torch.zeros(1, 4), passes="O1")


def test_logic_layers_refuse_inputs_that_are_not_bits():
    m = sequential(input=qnn.InputBinarize(0.5), gates=BooleanLayer(3, [0], [1], [gates.NAND_FN]))
    with pytest.raises(QuantizationError, match=(
            r"^layer 'gates' reads 0/1 bits, but the output of 'input' is not 0/1 \(step 1.0, values "
            r"\(2 \* q \+ -1\) with q <= 1\); feed it nandc.nn.InputQuant\(bits=1, step=1.0\) or another "
            r"logic layer$")):
        nandc.compile(m, torch.zeros(1, 3), passes="O1")


def test_group_sum_errors_are_pinned():
    m = sequential(input=qnn.InputQuant(1, 1.0), groups=GroupSum(4))
    with pytest.raises(QuantizationError, match=(
            r"^layer 'groups': GroupSum: 6 input features cannot be split into 4 equal groups$")):
        nandc.compile(m, torch.zeros(1, 6), passes="O1")
    m = sequential(input=qnn.InputQuant(1, 1.0), groups=GroupSum(2, tau=1e46))
    with pytest.raises(QuantizationError, match=(
            r"^layer 'groups': GroupSum\(tau=1e\+46\) maps different counts in 0\.\.3 to equal floats, so the "
            r"predicted class could differ from the circuit's; use a smaller tau$")):
        nandc.compile(m, torch.zeros(1, 6), passes="O1")
