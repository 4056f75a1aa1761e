"""Model factories used by the demo, the examples and the tests.

Each returns an untrained ``torch.nn.Sequential`` built from :mod:`nandc.nn`
layers and standard torch layers, with named layers (``fc1``, ``bn1``,
``act1``, ...) so that gate reports read well; train it with
:func:`nandc.nn.training.fit`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence


def _named(layers: list[tuple[str, object]]):
    from torch import nn

    return nn.Sequential(OrderedDict(layers))

__all__ = ["binary_mlp", "ternary_mlp", "int4_cnn", "vgg_int4", "resnet_int4", "cnv_binary", "bitnet_lm", "mbok_lm",
           "float_lm", "generate_greedy", "conv_logic_mnist"]


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


def bitnet_lm(vocab: int, d_model: int = 64, layers: int = 2, heads: int = 4, context: int = 64):
    """A decoder-only BitNet b1.58 language model (ternary linear layers, fixed-point attention);
    see :mod:`nandc.nn.transformer` for its exact integer specification."""
    from nandc.nn.transformer import LanguageModel

    return LanguageModel(vocab, d_model, layers, heads, context, linear="ternary")


def mbok_lm(vocab: int, d_model: int = 64, layers: int = 2, heads: int = 4, context: int = 64, kernels: int = 2):
    """The same language model with multi-Boolean-kernel linear layers (``kernels`` kernels each)."""
    from nandc.nn.transformer import LanguageModel

    return LanguageModel(vocab, d_model, layers, heads, context, linear="mbok", kernels=kernels)


def float_lm(vocab: int, d_model: int = 64, layers: int = 2, heads: int = 4, context: int = 64):
    """A float baseline of the same shape: nn.Linear layers, LayerNorm before attention and
    feed-forward, float softmax attention (torch's ``MultiheadAttention``-free, causal)."""
    import math

    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
            self.qkv, self.proj = nn.Linear(d_model, 3 * d_model), nn.Linear(d_model, d_model)
            self.ff = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, d_model))

        def forward(self, x):
            n, t, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(n, t, 3, heads, d_model // heads).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-1, -2) / math.sqrt(d_model // heads)
            s = s.masked_fill(~torch.ones(t, t, dtype=torch.bool, device=x.device).tril(), float("-inf"))
            a = (torch.softmax(s, -1) @ v).permute(0, 2, 1, 3).reshape(n, t, d_model)
            x = x + self.proj(a)
            return x + self.ff(self.n2(x))

    class FloatLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.context, self.vocab = context, vocab
            self.token, self.position = nn.Embedding(vocab, d_model), nn.Parameter(torch.zeros(context, d_model))
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, vocab)

        def forward(self, ids):
            x = self.token(ids.long()) + self.position[: ids.shape[1]]
            return self.head(self.norm(self.blocks(x)))

    return FloatLM()


def generate_greedy(model, prompt: Sequence[int], length: int) -> list[int]:
    """Extend ``prompt`` to ``length`` tokens, each the argmax of the next-token logits.

    ``model`` is a torch language model (``model(ids) -> (N, T, vocab)`` with
    a ``context`` attribute) or a compiled one (:class:`nandc.CompiledModel`);
    the last ``context`` tokens are fed, zero-padded to the full context
    (attention is causal, so the padding never changes the position read).
    """
    import numpy as np

    compiled = hasattr(model, "program")
    context = model.interface.input_shape[0] if compiled else model.context
    tokens = list(prompt)
    while len(tokens) < length:
        window = tokens[-context:]
        ids = np.zeros((1, context), dtype=np.int64)
        ids[0, : len(window)] = window
        if compiled:
            nxt = int(model.run(ids)["class"][0, len(window) - 1])
        else:
            import torch

            model.eval()
            with torch.no_grad():
                nxt = int(model(torch.from_numpy(ids))[0, len(window) - 1].argmax())
        tokens.append(nxt)
    return tokens


def conv_logic_mnist(in_channels: int = 1, size: int = 28, thresholds: Sequence[float] = (0.25, 0.5, 0.75),
                     channels: Sequence[int] = (16, 32), depth: int = 3, dense: Sequence[int] = (4000, 4000),
                     classes: int = 10, group_tau: float | None = None, tau: float = 1.0, residual: float = 2.0,
                     seed: int = 0):
    """Convolutional logic-gate network (Petersen et al. 2024): thresholded pixels, blocks of
    (LogicConv2d 3x3 with zero padding 1, a gate tree of ``depth`` levels per channel; OrPool2d 2x2),
    then flatten, ``dense`` LogicLayer gate layers (fixed random wiring) and a GroupSum head.

    The last width (the last dense layer, or the flattened features without one) must be a multiple
    of ``classes``.  ``group_tau`` defaults to ``sqrt(features per class)``.  Train with
    :func:`nandc.nn.anneal_fit`; an eval-mode model's conv layers are hard, and
    :func:`nandc.nn.harden` makes the dense layers exact before compiling.
    """
    from torch import nn

    import nandc.nn as qnn

    layers: list = [("input", qnn.ThresholdInput(thresholds))]
    cin, side = in_channels * len(thresholds), int(size)
    for i, cout in enumerate(channels, 1):
        layers += [(f"conv{i}", qnn.LogicConv2d(cin, int(cout), 3, depth=depth, padding=1, tau=tau,
                                                residual=residual, seed=seed * 1000 + i)),
                   (f"pool{i}", qnn.OrPool2d(2))]
        cin, side = int(cout), side // 2
    layers.append(("flatten", nn.Flatten()))
    width = cin * side * side
    for j, w in enumerate(dense, 1):
        layers.append((f"gates{j}", qnn.LogicLayer(width, int(w), seed=seed * 1000 + 100 + j)))
        width = int(w)
    if width % classes:
        raise ValueError(f"conv_logic_mnist: the last width {width} is not a multiple of {classes} classes; "
                         "choose dense widths (or channels) accordingly")
    tau_out = float(group_tau) if group_tau is not None else max(1.0, (width / classes) ** 0.5)
    layers.append(("groups", qnn.GroupSum(classes, tau=tau_out)))
    return _named(layers)
