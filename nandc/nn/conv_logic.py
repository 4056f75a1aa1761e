"""Convolutional logic layers: trees of learned two-input gates over a receptive field.

After Petersen et al., "Convolutional Differentiable Logic Gate Networks"
(NeurIPS 2024).  The layers read and write 0/1 bits (floats in [0, 1] while
training) in ``(N, C, H, W)`` tensors:

* :class:`ThresholdInput` -- the float image to bits: one channel per input
  channel and threshold, ``x > t`` (a thermometer code).
* :class:`LogicConv2d` -- each output channel is a complete binary tree of
  ``2**depth - 1`` learned two-input gates (a softmax over the 16 Boolean
  functions, as :class:`~nandc.nn.soft_logic.LogicLayer`) whose ``2**depth``
  leaves read cells of a ``k x k`` receptive field of a few input channels,
  chosen at random when the layer is made and kept as buffers (they are in
  the ``state_dict``).  The same tree slides over the image with a
  convolution's stride, zero padding and dilation.
* :class:`BooleanConv2d` -- the exact layer a LogicConv2d hardens into
  (fixed truth tables, no parameters).
* :class:`OrPool2d` -- OR over each window: max pooling on bits; a
  probabilistic OR ``1 - prod(1 - x)`` may replace the max in training.

Modes: in training mode a LogicConv2d computes the soft relaxation (or,
with ``straight_through``, the hard forward with soft gradients); in eval
mode it computes the hard layer (each gate its most likely function), whose
outputs on bits are exactly 0.0 or 1.0 -- what ``nandc.compile`` builds.
Unlike :class:`~nandc.nn.soft_logic.LogicLayer` (soft until
:func:`~nandc.nn.harden.harden`), an eval-mode LogicConv2d compiles as it
is; ``harden`` still replaces it by a :class:`BooleanConv2d`.  LogicConv2d
is a :class:`~nandc.nn.soft_logic.SoftLogic`, so :func:`~nandc.nn.anneal.anneal_fit`,
:func:`~nandc.nn.soft_logic.set_temperature`, the binarization penalty and
straight-through hardening apply to it.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nandc.nn.hard_logic import gate_coefficient_table
from nandc.nn.gate_functions import NUM_FUNCTIONS, LogicConfigError
from nandc.nn.soft_logic import SoftLogic, _generator, _positive

__all__ = ["ThresholdInput", "LogicConv2d", "BooleanConv2d", "OrPool2d", "PASS_A_FN", "OR_POOL_MODES",
           "tree_forward"]

#: truth table of the gate that passes its first input through (``f(a, b) = a``)
PASS_A_FN = 12
#: how OrPool2d relaxes OR in training mode
OR_POOL_MODES = ("max", "prob")


def _pair(v, owner: str, name: str) -> tuple[int, int]:
    t = (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)
    if len(t) != 2:
        raise LogicConfigError(f"{owner}: {name} must be an int or a pair, found {v!r}")
    return t


class ThresholdInput(nn.Module):
    """Float image ``(N, C, H, W)`` -> bits ``(N, C * T, H, W)``: channel ``c * T + k`` is ``x[c] > t_k``.

    ``thresholds`` (``T`` of them, strictly increasing) are kept as a
    float32 buffer and compared with float32 inputs, so the compiled model
    (which encodes a float input by the same comparisons, see
    :mod:`nandc.encoding`) gets the same bits.  NaN inputs are refused by the
    compiled model.
    """

    def __init__(self, thresholds: Sequence[float] = (0.5,)):
        super().__init__()
        t = torch.as_tensor([float(v) for v in thresholds], dtype=torch.float32).reshape(-1)
        if not 1 <= len(t) <= 16:
            raise LogicConfigError(f"ThresholdInput: expected 1 to 16 thresholds, found {len(t)}")
        if not bool(torch.isfinite(t).all()) or bool((t[1:] <= t[:-1]).any()):
            raise LogicConfigError(f"ThresholdInput: thresholds must be finite and strictly increasing, "
                                   f"found {t.tolist()}")
        self.register_buffer("thresholds", t)

    @property
    def levels(self) -> int:
        return len(self.thresholds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise LogicConfigError(f"ThresholdInput expects images (N, C, H, W), found {tuple(x.shape)}")
        bits = x.unsqueeze(2) > self.thresholds.view(1, 1, -1, 1, 1)
        return bits.to(x.dtype if x.is_floating_point() else torch.float32).flatten(1, 2)

    def encoding(self) -> dict:
        """Plain-data input encoding: each pixel's code has bit ``k`` set when ``x > t_k``.

        A ``thresholds`` encoding (:func:`nandc.encoding.encode_input`): the
        code after the ``k``-th breakpoint is ``2**k - 1``; breakpoint ``k``
        is the smallest float32 above ``t_k``.
        """
        import numpy as np

        from nandc.encoding import float32_keys

        t = self.thresholds.detach().cpu().numpy().astype(np.float32)
        above = np.nextafter(t, np.float32(np.inf)).astype(np.float32)
        keys = [int(k) for k in float32_keys(above)]
        return {"kind": "thresholds", "bits": self.levels, "keys": [keys],
                "codes": [[(1 << k) - 1 for k in range(self.levels + 1)]]}

    def codes(self):
        """The input tensor's codes: ``T``-bit masks (bit ``k`` is channel ``k`` of the pixel)."""
        from nandc.nn.base import Codes

        return Codes(bits=self.levels, a=1, b=0, step=1.0)

    def extra_repr(self) -> str:
        return "thresholds=" + ", ".join(f"{v:.4g}" for v in self.thresholds.tolist())


def tree_forward(x: torch.Tensor, leaves: torch.Tensor, coef: torch.Tensor, kernel: tuple[int, int],
                 stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]) -> torch.Tensor:
    """Gate trees slid over ``x``: ``(N, C_in, H, W)`` -> ``(N, C_out, OH, OW)``.

    ``leaves`` ``(C_out, 2**d)``: receptive-field cell of each leaf (index
    into the ``(C_in, kh, kw)`` field, row-major, as ``F.unfold`` orders it);
    ``coef`` ``(C_out, 2**d - 1, 4)``: each gate's ``c0 + c1 a + c2 b + c3 ab``
    coefficients, the gates of the first level first (gate ``g`` of a level
    reads outputs ``2g`` and ``2g + 1`` of the level below).
    """
    n, _, h, w = x.shape
    cout, width = leaves.shape
    patches = F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)  # (N, C_in*kh*kw, P)
    oh = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    v = patches[:, leaves.reshape(-1)].view(n, cout, width, -1)
    offset = 0
    while width > 1:
        width //= 2
        c = coef[:, offset:offset + width].unsqueeze(-1)  # (C_out, width, 4, 1)
        a, b = v[:, :, 0::2], v[:, :, 1::2]
        v = c[:, :, 0] + c[:, :, 1] * a + c[:, :, 2] * b + c[:, :, 3] * (a * b)
        offset += width
    return v.view(n, cout, oh, ow)


class _TreeGeometry:
    """Shared geometry and checks of LogicConv2d and BooleanConv2d."""

    def _geometry(self, in_channels, out_channels, kernel_size, stride, padding, dilation, depth):
        name = type(self).__name__
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise LogicConfigError(f"{name}: in_channels and out_channels must be positive, "
                                   f"found {in_channels}, {out_channels}")
        if not 1 <= int(depth) <= 10:
            raise LogicConfigError(f"{name}: depth must be in 1..10, found {depth}")
        self.in_channels, self.out_channels, self.depth = int(in_channels), int(out_channels), int(depth)
        self.kernel_size = _pair(kernel_size, name, "kernel_size")
        self.stride = _pair(stride, name, "stride")
        self.padding = _pair(padding, name, "padding")
        self.dilation = _pair(dilation, name, "dilation")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise LogicConfigError(f"{name}: kernel_size, stride and dilation must be positive and padding "
                                   f"non-negative, found {self.kernel_size}, {self.stride}, {self.dilation}, "
                                   f"{self.padding}")

    @property
    def field(self) -> int:
        """Cells of one receptive field: ``C_in * kh * kw``."""
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]

    @property
    def gates_per_tree(self) -> int:
        return (1 << self.depth) - 1

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise LogicConfigError(f"{type(self).__name__} expects input of shape (N, {self.in_channels}, H, W), "
                                   f"found {tuple(x.shape)}")
        kh, kw = self.kernel_size
        if (x.shape[2] + 2 * self.padding[0] < self.dilation[0] * (kh - 1) + 1
                or x.shape[3] + 2 * self.padding[1] < self.dilation[1] * (kw - 1) + 1):
            raise LogicConfigError(f"{type(self).__name__}: input {tuple(x.shape[2:])} is smaller than the "
                                   f"receptive field {self.kernel_size} (padding {self.padding})")

    def _hard_coef(self, ops: torch.Tensor, dtype) -> torch.Tensor:
        return gate_coefficient_table().to(dtype)[ops]

    def _geometry_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, depth={self.depth}, "
                f"stride={self.stride}, padding={self.padding}")
        return text + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")


def _random_leaves(in_channels: int, out_channels: int, kernel: tuple[int, int], depth: int,
                   channels_per_tree: int, gen: torch.Generator) -> torch.Tensor:
    """``(C_out, 2**depth)`` leaf cells: each tree reads ``channels_per_tree`` random input channels,
    each leaf a random cell of them; the two leaves of a first-level gate differ when they can."""
    kh, kw = kernel
    area = kh * kw
    k = min(int(channels_per_tree), in_channels)
    width = 1 << depth
    leaves = torch.empty(out_channels, width, dtype=torch.int64)
    for o in range(out_channels):
        chans = torch.randperm(in_channels, generator=gen)[:k]
        cells = chans.repeat_interleave(area) * area + torch.arange(area).repeat(k)  # candidate field cells
        for g in range(width // 2):
            pair = torch.randperm(len(cells), generator=gen)[:2]
            a = cells[pair[0]]
            b = cells[pair[1]] if len(pair) > 1 else a
            leaves[o, 2 * g], leaves[o, 2 * g + 1] = a, b
    return leaves


class LogicConv2d(_TreeGeometry, SoftLogic):
    """A convolution whose kernel is a tree of learned two-input gates (see the module docstring).

    ``depth``: levels of the tree (``2**depth`` leaves, ``2**depth - 1``
    gates per output channel and position).  ``channels_per_tree``: how many
    (random) input channels a tree reads (2, as in the paper).  ``tau``:
    softmax temperature of the gate functions.  Function logits start as
    ``N(0, init_std)`` plus ``residual`` on the pass-through gate ``f(a, b) = a``
    (a tree of pass-through gates starts as a copy of one input cell, which
    helps deep networks train).  ``seed`` fixes the wiring and the initial
    logits.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, depth: int = 3, stride=1,
                 padding=0, dilation=1, channels_per_tree: int = 2, tau: float = 1.0, init_std: float = 1.0,
                 residual: float = 0.0, seed: int | None = None):
        nn.Module.__init__(self)  # SoftLogic's own wiring is for feature vectors; a tree has its own
        self._geometry(in_channels, out_channels, kernel_size, stride, padding, dilation, depth)
        if int(channels_per_tree) < 1:
            raise LogicConfigError(f"LogicConv2d: channels_per_tree must be at least 1, found {channels_per_tree}")
        self.channels_per_tree = int(channels_per_tree)
        gen = _generator(seed)
        self.register_buffer("leaves", _random_leaves(self.in_channels, self.out_channels, self.kernel_size,
                                                      self.depth, self.channels_per_tree, gen))
        logits = torch.randn(self.out_channels, self.gates_per_tree, NUM_FUNCTIONS, generator=gen) * float(init_std)
        logits[..., PASS_A_FN] += float(residual)
        self.function_logits = nn.Parameter(logits)
        self.tau = _positive("LogicConv2d", "tau", tau)
        self._select_tau = 1.0
        self.passthrough = False
        self.straight_through = False
        self._last_output: torch.Tensor | None = None  # SoftLogic.last_penalty reads it

    # the wiring is fixed: a wiring temperature is accepted (set_temperature) and ignored
    @property
    def select_tau(self) -> float:
        return self._select_tau

    @select_tau.setter
    def select_tau(self, value: float) -> None:
        self._select_tau = _positive("LogicConv2d", "select_tau", value)

    @property
    def width(self) -> int:
        return self.out_channels

    def hard_ops(self) -> torch.Tensor:
        """``(C_out, 2**depth - 1)`` truth tables of the hardened gates (first maximum wins)."""
        return self.function_logits.detach().argmax(-1)

    def _tree(self, x: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
        return tree_forward(x, self.leaves, coef, self.kernel_size, self.stride, self.padding, self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if not self.training:
            self._last_output = None
            return self._tree(x, self._hard_coef(self.hard_ops(), x.dtype))
        p = torch.softmax(self.function_logits / self.tau, -1)
        y = self._tree(x, p @ gate_coefficient_table().to(p.dtype))
        self._last_output = y.flatten(1)  # penalty sum_j y_j (1 - y_j), computed only when asked for
        if self.straight_through:
            y = self._tree(x, self._hard_coef(self.hard_ops(), x.dtype)) + (y - y.detach())
        return y

    def hardened(self) -> "BooleanConv2d":
        return BooleanConv2d(self.in_channels, self.out_channels, self.kernel_size, self.leaves, self.hard_ops(),
                             self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (self._geometry_repr() + f", channels_per_tree={self.channels_per_tree}, tau={self.tau:.4g}, "
                f"straight_through={self.straight_through}")


class BooleanConv2d(_TreeGeometry, nn.Module):
    """Fixed gate trees slid over the image: what :class:`LogicConv2d` hardens into.

    ``leaves`` ``(C_out, 2**depth)`` and ``ops`` ``(C_out, 2**depth - 1)``
    truth tables (see :func:`tree_forward`), stored as buffers.  On 0/1
    inputs the output is exactly 0.0/1.0.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, leaves, ops, stride=1, padding=0,
                 dilation=1):
        super().__init__()
        leaves = torch.as_tensor(leaves, dtype=torch.int64)
        ops = torch.as_tensor(ops, dtype=torch.int64)
        width = leaves.shape[-1] if leaves.dim() == 2 else 0
        depth = max(width, 1).bit_length() - 1
        if leaves.dim() != 2 or width < 2 or width != 1 << depth:
            raise LogicConfigError(f"BooleanConv2d: leaves must have shape (out_channels, 2**depth), "
                                   f"found {tuple(leaves.shape)}")
        self._geometry(in_channels, out_channels, kernel_size, stride, padding, dilation, depth)
        if leaves.shape[0] != self.out_channels or tuple(ops.shape) != (self.out_channels, width - 1):
            raise LogicConfigError(f"BooleanConv2d: expected leaves {(self.out_channels, width)} and ops "
                                   f"{(self.out_channels, width - 1)}, found {tuple(leaves.shape)}, "
                                   f"{tuple(ops.shape)}")
        if int(leaves.min()) < 0 or int(leaves.max()) >= self.field:
            raise LogicConfigError(f"BooleanConv2d: leaves must lie in 0..{self.field - 1}, found "
                                   f"{int(leaves.min())}..{int(leaves.max())}")
        if int(ops.min()) < 0 or int(ops.max()) >= NUM_FUNCTIONS:
            raise LogicConfigError("BooleanConv2d: ops must be truth tables in 0..15")
        self.register_buffer("leaves", leaves.clone())
        self.register_buffer("ops", ops.clone())

    def hard_ops(self) -> torch.Tensor:
        return self.ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return tree_forward(x, self.leaves, self._hard_coef(self.ops, x.dtype), self.kernel_size, self.stride,
                            self.padding, self.dilation)

    def extra_repr(self) -> str:
        return self._geometry_repr()


class OrPool2d(nn.Module):
    """OR over each window of a bit tensor (max pooling; cells outside the image are left out).

    ``soft``: what training mode computes on values in [0, 1]: ``"max"``
    (default) or ``"prob"``, the probabilistic OR ``1 - prod(1 - x)`` (padded
    cells count as 0).  Both equal OR on bits; eval mode always computes the
    max.
    """

    def __init__(self, kernel_size=2, stride=None, padding=0, soft: str = "max"):
        super().__init__()
        if soft not in OR_POOL_MODES:
            raise LogicConfigError(f"OrPool2d: soft must be one of {', '.join(OR_POOL_MODES)}, found {soft!r}")
        self.kernel_size = _pair(kernel_size, "OrPool2d", "kernel_size")
        self.stride = _pair(self.kernel_size if stride is None else stride, "OrPool2d", "stride")
        self.padding = _pair(padding, "OrPool2d", "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0 or any(
                2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise LogicConfigError(f"OrPool2d: needs positive kernel_size and stride and padding at most half the "
                                   f"kernel, found {self.kernel_size}, {self.stride}, {self.padding}")
        self.soft = soft

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.soft == "prob":
            n, c, h, w = x.shape
            cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # padded cells: 0
            oh = (h + 2 * self.padding[0] - self.kernel_size[0]) // self.stride[0] + 1
            ow = (w + 2 * self.padding[1] - self.kernel_size[1]) // self.stride[1] + 1
            return 1.0 - (1.0 - cols.view(n, c, -1, oh * ow)).prod(2).view(n, c, oh, ow)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, soft={self.soft!r}"
