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

__all__ = ["binary_mlp", "ternary_mlp", "int4_cnn", "vgg_int4", "resnet_int4", "cnv_binary"]


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


def vgg_int4(in_channels: int = 3, size: int = 32, channels: Sequence[int] = (64, 64, 128, 128, 256, 256),
             hidden: Sequence[int] = (512,), classes: int = 10, act_bits: int = 4, input_bits: int = 8):
    """The 4-bit VGG of CPU-training papers: pairs of 3x3 Int4Conv2d (padding 1) + BatchNorm2d +
    ReLUQuant, a 2x2 max pool after every pair, then Int4Linear layers (4096 -> 512 -> 10 at 32x32)."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.InputQuant(input_bits, 1.0 / (1 << input_bits)))]
    cin, side = in_channels, size
    for i, cout in enumerate(channels, 1):
        layers += [(f"conv{i}", qnn.Int4Conv2d(cin, cout, 3, padding=1)), (f"bn{i}", nn.BatchNorm2d(cout)),
                   (f"act{i}", qnn.ReLUQuant(act_bits, 0.25))]
        if i % 2 == 0:
            layers.append((f"pool{i // 2}", nn.MaxPool2d(2)))
            side //= 2
        cin = cout
    layers.append(("flatten", nn.Flatten()))
    width = cin * side * side
    for j, h in enumerate(hidden, 1):
        layers += [(f"fc{j}", qnn.Int4Linear(width, h)), (f"bnf{j}", nn.BatchNorm1d(h)),
                   (f"actf{j}", qnn.ReLUQuant(act_bits, 0.25))]
        width = h
    layers.append(("out", qnn.Int4Linear(width, classes)))
    return _named(layers)


def cnv_binary(in_channels: int = 3, size: int = 32, channels: Sequence[int] = (64, 64, 128, 128, 256, 256),
               hidden: Sequence[int] = (512, 512), classes: int = 10, input_bits: int = 8):
    """FINN's CNV shape, binary: 3x3 BinaryConv2d without padding + BatchNorm2d + sign, a 2x2 max
    pool after the 2nd and 4th convolution, BinaryLinear layers; 8-bit input codes feed the first layer."""
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.InputQuant(input_bits, 1.0 / (1 << input_bits)))]
    cin, side = in_channels, size
    for i, cout in enumerate(channels, 1):
        layers += [(f"conv{i}", qnn.BinaryConv2d(cin, cout, 3)), (f"bn{i}", nn.BatchNorm2d(cout)),
                   (f"act{i}", qnn.SignActivation())]
        side -= 2
        if i in (2, 4):
            layers.append((f"pool{i // 2}", nn.MaxPool2d(2)))
            side //= 2
        cin = cout
    layers.append(("flatten", nn.Flatten()))
    width = cin * side * side
    for j, h in enumerate(hidden, 1):
        layers += [(f"fc{j}", qnn.BinaryLinear(width, h)), (f"bnf{j}", nn.BatchNorm1d(h)),
                   (f"actf{j}", qnn.SignActivation())]
        width = h
    layers.append(("out", qnn.BinaryLinear(width, classes)))
    return _named(layers)


def resnet_int4(in_channels: int = 3, size: int = 32, widths: Sequence[int] = (16, 32, 64),
                classes: int = 10, act_bits: int = 4, input_bits: int = 8):
    """A ResNet-style 4-bit CNN: a 3x3 stem, one residual block per width (stride 2 from the second,
    with a 1x1 strided projection), ``relu(quant(block(x) + shortcut(x)))``, global average pooling
    over the last map (its area must be a power of two), and an Int4Linear head."""
    import torch
    from torch import nn

    import nandc.nn as qnn

    def act():
        return qnn.ReLUQuant(act_bits, 0.25)

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = qnn.Int4Conv2d(cin, cout, 3, stride=stride, padding=1)
            self.bn1, self.act1 = nn.BatchNorm2d(cout), act()
            self.conv2 = qnn.Int4Conv2d(cout, cout, 3, padding=1)
            self.bn2, self.act2 = nn.BatchNorm2d(cout), act()
            self.project = None
            if stride != 1 or cin != cout:
                self.project = nn.Sequential(qnn.Int4Conv2d(cin, cout, 1, stride=stride), nn.BatchNorm2d(cout),
                                             act())
            self.act_out = act()

        def forward(self, x):
            y = self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))
            skip = x if self.project is None else self.project(x)
            return self.act_out(y + skip)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.input = qnn.InputQuant(input_bits, 1.0 / (1 << input_bits))
            self.stem = qnn.Int4Conv2d(in_channels, widths[0], 3, padding=1)
            self.bn, self.act = nn.BatchNorm2d(widths[0]), act()
            blocks, cin = [], widths[0]
            for i, w in enumerate(widths):
                blocks.append(Block(cin, w, 1 if i == 0 else 2))
                cin = w
            self.blocks = nn.Sequential(*blocks)
            side = size // (2 ** (len(widths) - 1))
            self.pool = nn.AvgPool2d(side)
            self.fc = qnn.Int4Linear(cin, classes)

        def forward(self, x):
            x = self.act(self.bn(self.stem(self.input(x))))
            x = self.pool(self.blocks(x))
            return self.fc(torch.flatten(x, 1))

    return ResNet()
