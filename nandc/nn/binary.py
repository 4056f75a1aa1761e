"""Binary (XNOR-Net / BNN) layers: weights and activations in {-1, +1}."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nandc.nn.base import Codes, InputQuantizer, QuantAccumulator, QuantActivation, QuantConv2dBase
from nandc.nn.ste import sign_ste

__all__ = ["BinaryLinear", "BinaryConv2d", "SignActivation", "InputBinarize"]

_SIGN = Codes(bits=1, a=2, b=-1, step=1.0)


class BinaryLinear(QuantAccumulator):
    """Fully connected layer with weights ``sign(W)`` in {-1, +1} and no bias.

    Expects +-1 inputs (from :class:`SignActivation` or :class:`InputBinarize`);
    ``dot = 2 * popcount(xnor(x, w)) - n`` in the compiled circuit.
    Follow it with ``BatchNorm1d`` and :class:`SignActivation`: the pair folds
    into one integer threshold per neuron.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def int_weight(self) -> torch.Tensor:
        return torch.where(self.weight >= 0, 1, -1).to(torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, sign_ste(self.weight))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class BinaryConv2d(QuantConv2dBase):
    """2-D convolution with weights in {-1, +1}, no bias; zero padding adds nothing to the sum."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation)
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def int_weight(self) -> torch.Tensor:
        return torch.where(self.weight >= 0, 1, -1).to(torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, sign_ste(self.weight), stride=self.stride, padding=self.padding,
                        dilation=self.dilation)


class SignActivation(QuantActivation):
    """``+1 if x >= 0 else -1`` with a hardtanh straight-through gradient."""

    def codes(self) -> Codes:
        return _SIGN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_ste(x)


class InputBinarize(InputQuantizer):
    """Binarize raw inputs: ``+1 if x >= threshold else -1`` (e.g. pixels in [0, 1])."""

    def __init__(self, threshold: float = 0.5):
        super().__init__()
        self.threshold = float(threshold)

    def codes(self) -> Codes:
        return _SIGN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= self.threshold, 1.0, -1.0).to(x.dtype if x.is_floating_point() else torch.float32)

    def encoding(self) -> dict:
        return {"kind": "threshold", "threshold": self.threshold}

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}"
