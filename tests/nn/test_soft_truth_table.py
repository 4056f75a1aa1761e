"""Truth tables learned with soft NAND gates, hardened, and proved exact."""

from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nandc  # noqa: E402
import nandc.nn as qnn  # noqa: E402
from nandc.nn import gate_functions as gates  # noqa: E402
from nandc.nn import FULL_ADDER, XOR, BooleanLayer, LogicConfigError, TruthTable, truth_table  # noqa: E402
from nandc.lab.experiment import learn_truth_table, prove_truth_table  # noqa: E402


def hand_built(in_features, layers):
    """A hardened network from ``(index_a, index_b, ops, passthrough)`` per layer."""
    mods, width = [("input", qnn.InputQuant(1, 1.0))], in_features
    for i, (ia, ib, ops, through) in enumerate(layers):
        layer = BooleanLayer(width, ia, ib, ops, passthrough=through)
        mods.append((f"g{i}", layer))
        width = layer.width
    return torch.nn.Sequential(OrderedDict(mods))


def test_tables_are_listed_row_by_row_with_input_i_as_bit_i():
    assert XOR.outputs == ((0,), (1,), (1,), (0,))
    assert FULL_ADDER.outputs[0b011] == (0, 1)  # a = b = 1, cin = 0: sum 0, carry 1
    assert FULL_ADDER.outputs[0b111] == (1, 1)
    assert FULL_ADDER.input_rows()[0b110].tolist() == [0.0, 1.0, 1.0]


def test_a_four_nand_xor_is_proved_and_an_or_is_refuted():
    n = gates.NAND_FN
    xor = hand_built(2, [([0], [1], [n], True), ([0, 1], [2, 2], [n, n], False), ([0], [1], [n], False)])
    compiled = nandc.compile(xor, torch.zeros(1, 2), passes="O1")
    proof = prove_truth_table(compiled, XOR)
    assert proof.equivalent and proof.method == "exhaustive"
    wrong = hand_built(2, [([0], [1], [gates.OR_FN], False)])
    proof = prove_truth_table(nandc.compile(wrong, torch.zeros(1, 2), passes="O1"), XOR)
    assert not proof.equivalent
    assert proof.counterexample["x"].reshape(-1).tolist() == [1, 1]  # OR(1, 1) = 1, XOR = 0


def test_prove_refuses_a_model_of_another_shape():
    one_output = hand_built(2, [([0], [1], [gates.NAND_FN], False)])
    with pytest.raises(LogicConfigError, match=(
            r"^the compiled model reads 2 input bits and has outputs \(1,\); table 'full_adder' has "
            r"3 inputs and 2 outputs$")):
        prove_truth_table(nandc.compile(one_output, torch.zeros(1, 2), passes="O1"), FULL_ADDER)


def test_truth_table_errors_are_pinned():
    with pytest.raises(LogicConfigError, match=r"^truth table 't': expected 4 rows, found 3$"):
        TruthTable("t", 2, ((0,), (1,), (1,)))
    with pytest.raises(LogicConfigError, match=r"^truth table 't': every row must hold the same positive "):
        truth_table("t", 1, lambda a: (a, 2))


@pytest.mark.slow
@pytest.mark.parametrize("table, widths", [(XOR, (4, 4)), (FULL_ADDER, (16,) * 7)])
def test_learned_soft_nand_circuits_are_exact(table, widths):
    fit = learn_truth_table(table, widths, attempts=6)
    assert fit.proof.equivalent, f"no exact circuit in {fit.attempts} attempts: {fit.proof}"
    assert fit.proof.method == "exhaustive"
    # the hardened torch model agrees with the table too, and is made of NAND gates only
    with torch.no_grad():
        out = fit.model(torch.from_numpy(table.input_rows()))
    assert np.array_equal(out.numpy(), table.target_rows())
    layers = [m for m in fit.model.modules() if isinstance(m, BooleanLayer)]
    assert all(set(m.ops.tolist()) == {gates.NAND_FN} for m in layers)
    assert 4 <= fit.gates <= 2 * (sum(widths) + table.num_outputs)  # a gate, at most one inverter
