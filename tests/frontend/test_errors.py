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
            self.conv = nn.Conv1d(1, 1, 1)

        def forward(self, x):
            return torch.sigmoid(self.fc(self.q(x)))

    with pytest.raises(UnsupportedLayer) as info:
        nandc.compile(Net(), torch.zeros(1, 4))
    msg = str(info.value)
    assert msg.startswith("2 node(s) of the model have no nandc converter:\n")
    assert "  - fc: torch.nn.modules.linear.Linear\n" in msg
    assert "  - sigmoid: torch.sigmoid\n" in msg
    assert [n for n, _ in info.value.nodes] == ["fc", "sigmoid"]


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
