"""Linear and convolution layers whose weights are float tensors on an integer grid.

``nn.Linear`` and ``nn.Conv2d`` modules, and ``F.linear``, ``F.conv2d`` and
``x @ W`` called in a ``forward`` with a weight computed from parameters
alone (a user's own fake quantization: abs-max, ``tanh`` clipping,
``sign()``, a ``FakeQuantize``; folded into a constant before conversion).
The weight's grid ``W = s * Q`` (per tensor or per output channel, see
:mod:`nandc.frontend.grid`) gives the integers ``Q`` the circuit multiplies
by; its input must be quantized codes ``x = s_x * q``.

The accumulation ``Y = sum(Q * q)`` is exact; the layer's float output is
the *integer view* ``Y * (s_x * s_w) + bias``, computed by torch in float32
(:class:`Epilogue`), which is what the circuit's thresholds are read from
and what :mod:`nandc.frontend.reference` computes.  When ``s_x`` and a
per-tensor ``s_w`` are powers of two and there is no bias, ``Y`` times their
product is the exact torch value and the result is exact integers.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nandc.errors import QuantizationError
from nandc.frontend.converters.linear import accumulate, conv_geometry, conv_rows, conv_window, dense_rows, record
from nandc.frontend.finite import check_finite
from nandc.frontend.grid import Grid, weight_grid
from nandc.frontend.registry import function_converter, method_converter, module_converter
from nandc.frontend.values import Const, IntTensor, Pending, is_pow2

__all__ = ["Epilogue", "ConvSpec", "grid_linear", "grid_conv2d", "const_tensor", "module_spec"]


class Epilogue:
    """``t * scale + bias`` with one scale and bias per output channel (channel axis first)."""

    def __init__(self, scale: torch.Tensor | None, bias: torch.Tensor | None, ndim: int):
        self.scale = None if scale is None else scale.detach().to(torch.float32).reshape(-1)
        self.bias = None if bias is None else bias.detach().to(torch.float32).reshape(-1)
        self.ndim = ndim

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (self.ndim - 1)
        if self.scale is not None:
            t = t * self.scale.view(shape)
        if self.bias is not None:
            t = t + self.bias.view(shape)
        return t

    def __repr__(self) -> str:
        return f"Epilogue(scale={self.scale}, bias={self.bias})"


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of a 2-D convolution (what :func:`conv_window` and :func:`conv_geometry` read)."""

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def check_groups(self, layer: str) -> "ConvSpec":
        """``self``, after checking that ``groups`` divides both channel counts."""
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise QuantizationError(
                f"layer {layer!r}: groups={self.groups} must divide in_channels={self.in_channels} and "
                f"out_channels={self.out_channels}")
        return self


def block_diagonal(grid: Grid, groups: int, in_channels: int, layer: str) -> Grid:
    """A grouped convolution's weight grid as the dense one it equals: zeros outside each group.

    ``grid.q`` is ``(out, in / groups, kh, kw)``; output channel ``o`` reads
    input channels ``g * in / groups ..`` of its group ``g = o // (out / groups)``.
    The zero weights drop out of every sum, so the circuit is that of the
    grouped convolution (a depthwise one reads one channel per output).
    """
    if groups == 1:
        return grid
    out, per_group = grid.q.shape[:2]
    if per_group * groups != in_channels:
        raise QuantizationError(f"layer {layer!r}: a weight of {per_group} input channels per group and "
                                f"groups={groups} do not make in_channels={in_channels}")
    dense = np.zeros((out, in_channels) + grid.q.shape[2:], dtype=grid.q.dtype)
    outs_per_group = out // groups
    for g in range(groups):
        rows = slice(g * outs_per_group, (g + 1) * outs_per_group)
        dense[rows, g * per_group:(g + 1) * per_group] = grid.q[rows]
    return dataclasses.replace(grid, q=dense)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[-1]))
    return (int(v), int(v))


def const_tensor(ctx, value, what: str) -> torch.Tensor | None:
    """The torch tensor of a constant argument (None stays None); an error for anything else."""
    if value is None:
        return None
    if isinstance(value, Const):
        value = value.value
    if isinstance(value, (int, float)):
        return torch.tensor(float(value))
    if isinstance(value, torch.Tensor):
        return value.detach()
    raise QuantizationError(
        f"layer {ctx.layer!r}: its {what} must be computed from parameters and buffers alone, "
        f"found a tensor computed from the model input"
    )


def _epilogue(x: IntTensor, grid: Grid, bias: torch.Tensor | None, ndim: int):
    """``(acc step, dequantize, exact, uniform)`` of an accumulation of ``x`` with ``grid``'s integers."""
    s_w = torch.from_numpy(grid.scale)
    if bias is None and grid.pow2 and is_pow2(x.step):
        return x.step * float(grid.scale[0]), (lambda t: t), True, True
    if is_pow2(x.step):
        step, scale = x.step, s_w
    else:  # the float32 product s_x * s_w, once; Y is multiplied by it
        step, scale = 1.0, torch.tensor(x.step, dtype=torch.float32) * s_w
    uniform = not grid.per_channel and bias is None
    return step, Epilogue(scale, bias, ndim), False, uniform


def _then(first, second):
    def both(t):
        return second(first(t))

    return both


def _check_bias(ctx, bias, out: int):
    if bias is None:
        return None
    check_finite(bias, ctx.layer, "bias")
    if bias.numel() != out:
        raise QuantizationError(f"layer {ctx.layer!r}: bias of {bias.numel()} values for {out} outputs")
    return bias


def _finish(ctx, x: IntTensor, acc: IntTensor, grid: Grid, bias, ndim: int, op: str, window=None,
            post=None, post_step=None, pre=None) -> Pending:
    """The Pending value of an accumulation: its epilogue, its record for the integer reference."""
    if callable(bias):
        bias = bias(x.step)
    bias = _check_bias(ctx, bias, grid.q.shape[0])
    step, deq, exact, uniform = _epilogue(x, grid, bias, ndim)
    if post is not None:
        deq, exact, uniform = _then(deq, post), False, False
    acc = IntTensor(acc.q, acc.a, acc.b, acc.hi, step, ctx.layer)
    whole = deq if post_step is None else _then(deq, post_step.fn)
    record(ctx, op, grid.q, x.step, step, whole, window, pre)
    out = Pending(acc, deq, ctx.layer, (), 0, exact, uniform)
    return out.then(post_step) if post_step is not None else out


def grid_linear(ctx, value, weight: torch.Tensor | None, bias=None, grid: Grid | None = None,
                post_step=None, pre=None) -> Pending:
    """``F.linear(value, weight, bias)`` with ``weight`` on an integer grid (or its ``grid`` given);
    ``bias`` may be a function of the input step; ``post_step`` (a quantizer) follows the layer;
    ``pre`` is the layer's own input quantizer, already applied to ``value`` (for the reference)."""
    if grid is None:
        if weight.dim() != 2:
            raise QuantizationError(f"layer {ctx.layer!r}: expected a 2-D weight, found shape {tuple(weight.shape)}")
        grid = weight_grid(weight, ctx.layer)
    out, fan_in = grid.q.shape
    x = ctx.ints(value)
    if len(x.shape) != 1 or x.shape[0] != fan_in:
        raise QuantizationError(
            f"layer {ctx.layer!r} expects {fan_in} input features per sample, "
            f"found shape {x.shape}; flatten the input first"
        )
    with ctx.circuit.layer(ctx.layer):
        acc = accumulate(ctx.circuit, x, dense_rows(grid.q), (out,))
    return _finish(ctx, x, acc, grid, bias, 1, "linear", post_step=post_step, pre=pre)


def grid_conv2d(ctx, value, weight: torch.Tensor | None, bias, spec: ConvSpec, post=None,
                grid: Grid | None = None, post_step=None, pre=None) -> Pending:
    """``F.conv2d`` with ``weight`` on an integer grid (one output position inside a window stage);
    ``post`` (a float function) follows the layer's own epilogue when given."""
    if grid is None:
        grid = weight_grid(weight, ctx.layer)
    grid = block_diagonal(grid, spec.groups, spec.in_channels, ctx.layer)
    x = ctx.ints(value)
    if len(x.shape) != 3 or x.shape[0] != spec.in_channels:
        raise QuantizationError(
            f"layer {ctx.layer!r} expects input of shape ({spec.in_channels}, H, W) per sample, found {x.shape}"
        )
    stride, padding, gates = conv_geometry(ctx, spec)
    rows, out_shape = conv_rows(ctx, grid.q, x.shape, stride, padding)
    with ctx.circuit.layer(ctx.layer):
        acc = accumulate(ctx.circuit, x, rows, out_shape, gates)
    return _finish(ctx, x, acc, grid, bias, 3, "conv2d", conv_window(spec), post, post_step, pre)


# ---------------------------------------------------------------------- modules
@module_converter(nn.Linear)
def convert_nn_linear(ctx, module, args, kwargs):
    return grid_linear(ctx, args[0], module.weight.detach(), None if module.bias is None else module.bias.detach())


def module_spec(module: nn.Conv2d, layer: str) -> ConvSpec:
    """The geometry of a conv module (padding modes other than zeros refused)."""
    if module.padding_mode != "zeros":
        raise QuantizationError(f"layer {layer!r}: padding_mode={module.padding_mode!r} is not supported; "
                                "use zero padding")
    padding = module.padding
    if isinstance(padding, str):
        padding = _string_padding(layer, padding, module.kernel_size, module.stride, module.dilation)
    return ConvSpec(module.in_channels, module.out_channels, _pair(module.kernel_size), _pair(module.stride),
                    _pair(padding), _pair(module.dilation), int(module.groups)).check_groups(layer)


def _string_padding(layer: str, padding: str, kernel, stride, dilation) -> tuple[int, int]:
    if padding == "valid":
        return (0, 0)
    kernel, stride, dilation = _pair(kernel), _pair(stride), _pair(dilation)
    if stride != (1, 1) or any((d * (k - 1)) % 2 for k, d in zip(kernel, dilation)):
        raise QuantizationError(f"layer {layer!r}: padding='same' is supported for stride 1 and an even total "
                                "padding only; give the padding as numbers")
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))


def _module_window(module, args=(), kwargs=None):
    return conv_window(module_spec(module, ""))


@module_converter(nn.Conv2d, kind="window", window=_module_window)
def convert_nn_conv2d(ctx, module, args, kwargs):
    spec = module_spec(module, ctx.layer)
    return grid_conv2d(ctx, args[0], module.weight.detach(), None if module.bias is None else module.bias.detach(),
                       spec)


# ---------------------------------------------------------------------- functions
def _arg(args, kwargs, i: int, name: str, default=None):
    return args[i] if len(args) > i else kwargs.get(name, default)


@function_converter(F.linear)
def convert_linear_function(ctx, fn, args, kwargs):
    weight = const_tensor(ctx, _arg(args, kwargs, 1, "weight"), "weight")
    bias = const_tensor(ctx, _arg(args, kwargs, 2, "bias"), "bias")
    return grid_linear(ctx, args[0], weight, bias)


def _function_spec(layer: str, args, kwargs) -> ConvSpec:
    weight = _arg(args, kwargs, 1, "weight")
    w = weight.value if isinstance(weight, Const) else weight
    if not isinstance(w, torch.Tensor) or w.dim() != 4:
        raise QuantizationError(f"layer {layer!r}: conv2d needs a constant 4-D weight computed from parameters")
    groups = int(_arg(args, kwargs, 6, "groups", 1))
    kernel = (int(w.shape[2]), int(w.shape[3]))
    stride = _pair(_arg(args, kwargs, 3, "stride", 1))
    dilation = _pair(_arg(args, kwargs, 5, "dilation", 1))
    padding = _arg(args, kwargs, 4, "padding", 0)
    padding = _string_padding(layer, padding, kernel, stride, dilation) if isinstance(padding, str) else _pair(padding)
    return ConvSpec(int(w.shape[1]) * groups, int(w.shape[0]), kernel, stride, padding, dilation,
                    groups).check_groups(layer)


def _function_window(fn, args, kwargs):
    return conv_window(_function_spec("", args, kwargs))


@function_converter(F.conv2d, torch.conv2d, kind="window", window=_function_window)
def convert_conv2d_function(ctx, fn, args, kwargs):
    spec = _function_spec(ctx.layer, args, kwargs)
    weight = const_tensor(ctx, _arg(args, kwargs, 1, "weight"), "weight")
    bias = const_tensor(ctx, _arg(args, kwargs, 2, "bias"), "bias")
    return grid_conv2d(ctx, args[0], weight, bias, spec)


@function_converter(operator.matmul, torch.matmul, torch.mm)
def convert_matmul(ctx, fn, args, kwargs):
    x, w = args[0], args[1]
    if isinstance(x, Const) and not isinstance(w, Const):
        raise QuantizationError(f"layer {ctx.layer!r}: a constant times a tensor (W @ x) is not supported; "
                                "write x @ W or F.linear(x, W)")
    weight = const_tensor(ctx, w, "weight (the right operand of @)")
    if weight.dim() != 2:
        raise QuantizationError(f"layer {ctx.layer!r}: x @ W needs a 2-D W, found shape {tuple(weight.shape)}")
    return grid_linear(ctx, x, weight.t(), None)


@method_converter("matmul", "mm")
def convert_matmul_method(ctx, name, args, kwargs):
    return convert_matmul(ctx, operator.matmul, args, kwargs)
