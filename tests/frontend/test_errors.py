"""Clear errors: every unsupported node at once, float tensors reaching the circuit."""

import pytest
import torch
from torch import nn

import nandc
import nandc.nn as qnn
from nandc.errors import QuantizationError, UnsupportedLayer


def test_all_unsupported_nodes_reported_at_once():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputBinarize()
            self.fc = nn.Linear(4, 4)
            self.conv = nn.Conv3d(1, 1, 1)

        def forward(self, x):
            return torch.cumsum(self.conv(self.fc(self.q(x))), -1)

    with pytest.raises(UnsupportedLayer) as info:
        nandc.compile(Net(), torch.zeros(1, 4))
    msg = str(info.value)
    assert msg.startswith("2 node(s) of the model have no nandc converter:\n")
    assert "  - conv: torch.nn.modules.conv.Conv3d\n" in msg
    assert "  - cumsum: torch.cumsum\n" in msg
    assert [n for n, _ in info.value.nodes] == ["conv", "cumsum"]


def test_float_input_into_a_binary_layer_names_the_quantizer():
    m = nn.Sequential(qnn.BinaryLinear(4, 2))
    with pytest.raises(QuantizationError) as info:
        nandc.compile(m, torch.zeros(1, 4))
    assert str(info.value) == (
        "layer '0' receives the float model input 'x'; quantize it first with "
        "nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
    )


def test_batchnorm_output_without_quantizer():
    m = nn.Sequential(qnn.InputBinarize(), qnn.BinaryLinear(4, 3), nn.BatchNorm1d(3), qnn.BinaryLinear(3, 2))
    with pytest.raises(QuantizationError) as info:
        nandc.compile(m, torch.zeros(1, 4))
    assert str(info.value) == (
        "layer '1' produces float values (followed by: 2) that reach the circuit; add a quantizer "
        "after it, e.g. nandc.nn.SignActivation() or nandc.nn.ReLUQuant(bits, step)"
    )


def test_int4_output_into_binary_layer_needs_quantizer():
    m = nn.Sequential(qnn.InputBinarize(), qnn.Int4Linear(4, 3), qnn.BinaryLinear(3, 2))
    with pytest.raises(QuantizationError) as info:
        nandc.compile(m, torch.zeros(1, 4))
    assert "layer '2' receives the float output of '1'" in str(info.value)


def test_compile_does_not_leave_the_model_in_eval_mode():
    m = nn.Sequential(qnn.InputBinarize(), qnn.BinaryLinear(4, 2))
    m.train()
    nandc.compile(m, torch.zeros(1, 4))
    assert m.training


# ---------------------------------------------------------------------- non-finite parameters, odd arguments
NON_FINITE = ("a NaN or infinite parameter has no integer equivalent in a circuit: retrain or repair the layer")


def _poisoned(kind: str):
    if kind == "binary":
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(16, 3))
        target, name, index, value = m[1].weight, "weight", (0, 0), float("nan")
    elif kind == "int4":
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.Int4Linear(16, 3))
        target, name, index, value = m[1].weight, "weight", (2, 1), float("-inf")
    elif kind == "conv":
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryConv2d(1, 2, 3))
        target, name, index, value = m[1].weight, "weight", (1, 0, 2, 2), float("inf")
    elif kind == "mbok":
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.MBOKLinear(16, 3, kernels=2))
        target, name, index, value = m[1].s_in, "s_in", (0, 3), float("nan")
    else:  # batchnorm statistics
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(16, 3), nn.BatchNorm1d(3), qnn.SignActivation(),
                          qnn.BinaryLinear(3, 2))
        target, name, index, value = m[2].running_var, "running_var", (1,), float("nan")
    with torch.no_grad():
        target[index] = value
    layer = "2" if kind == "batchnorm" else "1"
    return m.eval(), f"layer {layer!r}: {name} holds 1 non-finite value(s) (first {value} at index {index}); "


@pytest.mark.parametrize("kind", ["binary", "int4", "conv", "mbok", "batchnorm"])
def test_non_finite_parameters_are_refused(kind):
    model, start = _poisoned(kind)
    shape = (1, 1, 6, 6) if kind == "conv" else (1, 16)
    with pytest.raises(QuantizationError) as info:
        nandc.compile(model, torch.zeros(shape), passes="O0")
    assert str(info.value) == start + NON_FINITE


def test_layers_without_weights_and_odd_arguments():
    with pytest.raises(QuantizationError) as info:
        nandc.compile(nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(16, 0)), torch.zeros(1, 16))
    assert str(info.value) == "layer '1' has no weights (shape (0, 16)): give it at least one input and one output"
    model = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(4, 2))
    with pytest.raises(QuantizationError) as info:
        nandc.compile(model, None)
    assert str(info.value) == "example_input must be a numeric batch (N, ...), found NoneType"
    with pytest.raises(nandc.NandcError) as info:
        nandc.compile(lambda x: x, torch.zeros(1, 4))
    assert str(info.value) == "expected the model to be a torch.nn.Module, found function"
