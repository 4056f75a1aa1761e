"""Model factories used by the demo, the examples and the tests.

Each returns an untrained ``torch.nn.Sequential`` built from :mod:`nandc.nn`
layers and standard torch layers, with named layers (``fc1``, ``bn1``,
``act1``, ...) so that gate reports read well; train it with
:func:`nandc.training.fit`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence


def _named(layers: list[tuple[str, object]]):
    from torch import nn

    return nn.Sequential(OrderedDict(layers))

__all__ = ["binary_mlp", "ternary_mlp", "int4_cnn"]


def binary_mlp(in_features: int, hidden: Sequence[int] = (256, 256), classes: int = 10,
               threshold: float = 0.5):
    """XNOR-Net style MLP: binarized pixels, BinaryLinear + BatchNorm + sign per hidden layer."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.InputBinarize(threshold))]
    width = in_features
    for i, h in enumerate(hidden, 1):
        layers += [(f"fc{i}", qnn.BinaryLinear(width, h)), (f"bn{i}", nn.BatchNorm1d(h)),
                   (f"act{i}", qnn.SignActivation())]
        width = h
    layers.append(("out", qnn.BinaryLinear(width, classes)))
    return _named(layers)


def ternary_mlp(in_features: int, hidden: Sequence[int] = (64,), classes: int = 10,
                input_bits: int = 4):
    """BitNet b1.58 style MLP: n-bit input codes, TernaryLinear + ReLU per hidden layer."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.InputQuant(input_bits, 1.0 / (1 << input_bits)))]
    width = in_features
    for i, h in enumerate(hidden, 1):
        layers += [(f"fc{i}", qnn.TernaryLinear(width, h)), (f"relu{i}", nn.ReLU())]
        width = h
    layers.append(("out", qnn.TernaryLinear(width, classes)))
    return _named(layers)


def int4_cnn(in_channels: int = 1, size: int = 8, channels: Sequence[int] = (8, 16), classes: int = 10,
             act_bits: int = 2, input_bits: int = 2):
    """VGG-style 4-bit CNN: (Int4Conv2d, BatchNorm2d, ReLUQuant, MaxPool2d) blocks, then Int4Linear."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.InputQuant(input_bits, 1.0 / (1 << input_bits)))]
    cin, side = in_channels, size
    for i, cout in enumerate(channels, 1):
        layers += [(f"conv{i}", qnn.Int4Conv2d(cin, cout, 3, padding=1)), (f"bn{i}", nn.BatchNorm2d(cout)),
                   (f"act{i}", qnn.ReLUQuant(act_bits, 0.5)), (f"pool{i}", nn.MaxPool2d(2))]
        cin, side = cout, side // 2
    layers += [("flatten", nn.Flatten()), ("out", qnn.Int4Linear(cin * side * side, classes))]
    return _named(layers)
