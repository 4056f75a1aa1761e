"""Model factories used by the demo, the examples and the tests.

Each returns an untrained ``torch.nn.Sequential`` built from :mod:`nandc.nn`
layers and standard torch layers; train it with :func:`nandc.training.fit`.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["binary_mlp", "ternary_mlp", "int4_cnn"]


def binary_mlp(in_features: int, hidden: Sequence[int] = (256, 256), classes: int = 10,
               threshold: float = 0.5):
    """XNOR-Net style MLP: binarized pixels, BinaryLinear + BatchNorm + sign per hidden layer."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [qnn.InputBinarize(threshold)]
    width = in_features
    for h in hidden:
        layers += [qnn.BinaryLinear(width, h), nn.BatchNorm1d(h), qnn.SignActivation()]
        width = h
    layers.append(qnn.BinaryLinear(width, classes))
    return nn.Sequential(*layers)


def ternary_mlp(in_features: int, hidden: Sequence[int] = (64,), classes: int = 10,
                input_bits: int = 4):
    """BitNet b1.58 style MLP: n-bit input codes, TernaryLinear + ReLU per hidden layer."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [qnn.InputQuant(input_bits, 1.0 / (1 << input_bits))]
    width = in_features
    for h in hidden:
        layers += [qnn.TernaryLinear(width, h), nn.ReLU()]
        width = h
    layers.append(qnn.TernaryLinear(width, classes))
    return nn.Sequential(*layers)


def int4_cnn(in_channels: int = 1, size: int = 8, channels: Sequence[int] = (8, 16), classes: int = 10,
             act_bits: int = 2, input_bits: int = 2):
    """VGG-style 4-bit CNN: (Int4Conv2d, BatchNorm2d, ReLUQuant, MaxPool2d) blocks, then Int4Linear."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [qnn.InputQuant(input_bits, 1.0 / (1 << input_bits))]
    cin, side = in_channels, size
    for cout in channels:
        layers += [qnn.Int4Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                   qnn.ReLUQuant(act_bits, 0.5), nn.MaxPool2d(2)]
        cin, side = cout, side // 2
    layers += [nn.Flatten(), qnn.Int4Linear(cin * side * side, classes)]
    return nn.Sequential(*layers)
