"""Shape-only operations: Flatten, view/reshape, squeeze/unsqueeze, permute, x.size(0)."""

from __future__ import annotations

import math
import operator

import numpy as np
import torch
from torch import nn

from nandc.errors import QuantizationError
from nandc.frontend.materialize import materialize
from nandc.frontend.registry import function_converter, method_converter, module_converter
from nandc.frontend.staging import PendingInfo, ProgramTensor
from nandc.frontend.values import BatchDim, FloatInput, IntTensor, Pending
from nandc.ir.program import Reshape

__all__ = ["reshape_value", "staged_reshape", "relaid"]


def _singleton_edits(old: tuple[int, ...], new: tuple[int, ...]):
    """``(removed, added, axis map old -> new)`` when ``new`` differs from ``old`` only by axes
    of size 1 (a squeeze or an unsqueeze); None otherwise."""
    i = j = 0
    removed, added, where = [], [], {}
    while i < len(old) or j < len(new):
        if i < len(old) and j < len(new) and old[i] == new[j]:
            where[i] = j
            i, j = i + 1, j + 1
        elif i < len(old) and old[i] == 1:
            removed.append(i)
            i += 1
        elif j < len(new) and new[j] == 1:
            added.append(j)
            j += 1
        else:
            return None
    return removed, added, where


def _edit_axes(t, drop: list[int], insert: list[int]):
    """``t`` without its sample axes ``drop`` (size 1), then with size-1 axes at ``insert``."""
    for i in sorted(drop, reverse=True):
        t = t.squeeze(i + 1)
    for i in sorted(insert):
        t = t.unsqueeze(i + 1)
    return t


def relaid(dequantize, old: tuple[int, ...], new: tuple[int, ...], channel_axis: int):
    """``(dequantize, channel axis)`` of a pending accumulation whose per-sample shape goes from
    ``old`` to ``new``.  When only axes of size 1 change, the float function is wrapped to see
    the layout it was made for (a per-channel scale stays on its channel axis); any other
    reshape keeps the function and puts the channel axis first, as before."""
    edits = _singleton_edits(tuple(old), tuple(new))
    if edits is None:
        return dequantize, 0
    removed, added, where = edits
    if not removed and not added:
        return dequantize, where.get(channel_axis, 0)

    def dequantize_new(t):  # axes of t: batch, then the sample's
        return _edit_axes(dequantize(_edit_axes(t, added, removed)), removed, added)

    return dequantize_new, where.get(channel_axis, 0)


def reshape_value(ctx, value, shape: tuple[int, ...]):
    """Reshape an IntTensor or a Pending (a Pending with a chain is folded first), or the float
    model input before anything is applied to it (``x.view(-1, 1, 28, 28)`` first in ``forward``)."""
    if isinstance(value, FloatInput) and not value.chain:
        return value.reshaped(shape)
    if isinstance(value, Pending) and value.chain:
        value = materialize(ctx.circuit, value)
    if isinstance(value, Pending):
        deq, axis = relaid(value.dequantize, value.acc.shape, tuple(shape), value.channel_axis)
        return Pending(value.acc.reshape(shape), deq, value.layer, value.chain, axis, value.exact, value.uniform)
    if isinstance(value, IntTensor):
        return value.reshape(shape)
    return ctx.ints(value).reshape(shape)  # raises for float input


def staged_reshape(mctx, x: ProgramTensor, shape: tuple[int, ...]) -> ProgramTensor:
    """A :class:`~nandc.ir.program.Reshape` between stages (a pending accumulation stays pending,
    its channel axis first, as :func:`reshape_value` does)."""
    old = mctx.builder.spec(x)
    spec = old.renamed(mctx.layer, tuple(shape))
    pending = x.pending
    if pending is not None:
        deq, axis = relaid(pending.dequantize, tuple(old.shape), tuple(shape), pending.channel_axis)
        pending = PendingInfo(deq, pending.layer, pending.exact, axis, pending.uniform)
    out = mctx.builder.add_tensor(mctx.layer, spec.shape, spec.a, spec.b, spec.hi, spec.step, spec.source, pending)
    mctx.builder.add_op(Reshape(x.name, out.name, mctx.layer))
    return out


def _flatten_shape(shape, start: int, end: int) -> tuple[int, ...]:
    """Per-sample shape after torch.flatten(x, start, end) on a batched tensor."""
    full = (1,) + tuple(shape)
    nd = len(full)
    start = start % nd
    end = end % nd
    if start == 0:
        raise QuantizationError("flattening the batch dimension is not supported; use flatten(x, 1)")
    merged = full[:start] + (math.prod(full[start:end + 1]),) + full[end + 1:]
    return merged[1:]


def _flatten_module_shape(module, args):
    return _flatten_shape(args[0].shape, module.start_dim, module.end_dim)


def _flatten_function_shape(args, kwargs):
    start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
    end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
    return _flatten_shape(args[0].shape, start, end)


def _staged_flatten_module(mctx, module, args, kwargs):
    return staged_reshape(mctx, args[0], _flatten_module_shape(module, args))


def _staged_flatten_function(mctx, fn, args, kwargs):
    return staged_reshape(mctx, args[0], _flatten_function_shape(args, kwargs))


def _staged_view(mctx, name, args, kwargs):
    return staged_reshape(mctx, args[0], _view_shape(mctx.layer, name, args))


@module_converter(nn.Flatten, kind="movement", staged=_staged_flatten_module)
def convert_flatten_module(ctx, module, args, kwargs):
    return reshape_value(ctx, args[0], _flatten_module_shape(module, args))


@function_converter(torch.flatten, kind="movement", staged=_staged_flatten_function)
def convert_flatten_function(ctx, fn, args, kwargs):
    return reshape_value(ctx, args[0], _flatten_function_shape(args, kwargs))


@method_converter("flatten", kind="movement", staged=_staged_flatten_function)
def convert_flatten_method(ctx, name, args, kwargs):
    return convert_flatten_function(ctx, torch.flatten, args, kwargs)


@method_converter("view", "reshape", kind="movement", staged=_staged_view)
def convert_view(ctx, name, args, kwargs):
    return reshape_value(ctx, args[0], _view_shape(ctx.layer, name, args))


def _staged_reshape_function(mctx, fn, args, kwargs):
    return _staged_view(mctx, "reshape", _reshape_args(args, kwargs), {})


def _reshape_args(args, kwargs) -> list:
    return [args[0], args[1] if len(args) > 1 else kwargs["shape"]]


@function_converter(torch.reshape, kind="movement", staged=_staged_reshape_function)
def convert_reshape_function(ctx, fn, args, kwargs):
    """``torch.reshape(x, (n, -1))``: as ``x.reshape``."""
    return convert_view(ctx, "reshape", _reshape_args(args, kwargs), {})


def _view_shape(layer: str, name: str, args) -> tuple[int, ...]:
    x = args[0]
    dims = args[1:]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = list(dims[0])
    if not dims or not (isinstance(dims[0], BatchDim) or dims[0] == -1):
        raise QuantizationError(
            f"{layer!r}: {name}() must keep the batch dimension first, e.g. x.{name}(x.size(0), -1)"
        )
    rest = [int(d) for d in dims[1:]]
    total = int(np.prod(x.shape, dtype=np.int64))
    if rest.count(-1) > 1:
        raise QuantizationError(f"{layer!r}: {name}() has more than one -1")
    if -1 in rest:
        known = int(np.prod([d for d in rest if d != -1], dtype=np.int64))
        rest[rest.index(-1)] = total // max(known, 1)
    if int(np.prod(rest, dtype=np.int64)) != total:
        raise QuantizationError(f"{layer!r}: cannot {name} a sample of shape {x.shape} to {tuple(rest)}")
    return tuple(rest)


def _squeeze_shape(layer: str, name: str, args, kwargs) -> tuple[int, ...]:
    """Per-sample shape after ``x.unsqueeze(d)`` / ``x.squeeze(d)`` (the batch axis must stay)."""
    x = args[0]
    shape = list(x.shape)
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if name == "unsqueeze":
        d = int(dim) % (len(shape) + 2)
        if d == 0:
            raise QuantizationError(f"{layer!r}: unsqueeze(0) adds an axis before the batch; use a dim >= 1")
        return tuple(shape[:d - 1] + [1] + shape[d - 1:])
    dims = range(1, len(shape) + 1) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    drop = {int(d) % (len(shape) + 1) for d in dims}
    if 0 in drop and dim is not None:
        raise QuantizationError(f"{layer!r}: squeeze(0) would remove the batch dimension")
    return tuple(n for i, n in enumerate(shape, 1) if not (i in drop and n == 1))


def _staged_squeeze(mctx, name, args, kwargs):
    return staged_reshape(mctx, args[0], _squeeze_shape(mctx.layer, name, args, kwargs))


@method_converter("unsqueeze", "squeeze", kind="movement", staged=_staged_squeeze)
def convert_squeeze(ctx, name, args, kwargs):
    """``x.unsqueeze(1)``, ``x.squeeze(-1)``...: shape only, the batch axis stays first."""
    return reshape_value(ctx, args[0], _squeeze_shape(ctx.layer, name, args, kwargs))


def _sample_shape(x) -> tuple:
    """``x.shape`` during conversion: :class:`BatchDim` first, then the per-sample sizes."""
    return (BatchDim(),) + tuple(int(d) for d in x.shape)


def _unflatten_shape(layer: str, x, dim, sizes) -> tuple[int, ...]:
    """Per-sample shape after ``x.unflatten(dim, sizes)`` (one size may be -1)."""
    shape = list(x.shape)
    d = int(dim) % (len(shape) + 1)
    if d == 0:
        raise QuantizationError(f"{layer!r}: unflatten(0, ...) would split the batch dimension")
    sizes = [int(v) for v in sizes]
    n = shape[d - 1]
    if sizes.count(-1) == 1:
        known = int(np.prod([v for v in sizes if v != -1], dtype=np.int64))
        sizes[sizes.index(-1)] = n // max(known, 1)
    if int(np.prod(sizes, dtype=np.int64)) != n:
        raise QuantizationError(f"{layer!r}: cannot unflatten a dimension of {n} into {tuple(sizes)}")
    return tuple(shape[:d - 1] + sizes + shape[d:])


def _unflatten_args(args, kwargs) -> tuple:
    return (args[1] if len(args) > 1 else kwargs["dim"]), (args[2] if len(args) > 2 else kwargs["sizes"])


def _staged_unflatten_module(mctx, module, args, kwargs):
    return staged_reshape(mctx, args[0], _unflatten_shape(mctx.layer, args[0], module.dim, module.unflattened_size))


def _staged_unflatten(mctx, target, args, kwargs):
    return staged_reshape(mctx, args[0], _unflatten_shape(mctx.layer, args[0], *_unflatten_args(args, kwargs)))


@module_converter(nn.Unflatten, kind="movement", staged=_staged_unflatten_module)
def convert_unflatten_module(ctx, module, args, kwargs):
    return reshape_value(ctx, args[0], _unflatten_shape(ctx.layer, args[0], module.dim, module.unflattened_size))


@method_converter("unflatten", kind="movement", staged=_staged_unflatten)
@function_converter(torch.unflatten, kind="movement", staged=_staged_unflatten)
def convert_unflatten(ctx, target, args, kwargs):
    """``x.unflatten(1, (C, H, W))``, ``nn.Unflatten``: shape only."""
    return reshape_value(ctx, args[0], _unflatten_shape(ctx.layer, args[0], *_unflatten_args(args, kwargs)))


@method_converter("size", kind="meta")
def convert_size(ctx, name, args, kwargs):
    """``x.size(0)`` is the batch (:class:`BatchDim`), ``x.size(d)`` a number, ``x.size()`` the whole shape."""
    x = args[0]
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    full = _sample_shape(x)
    return full if dim is None else full[int(dim)]


@function_converter(getattr, kind="meta")
def convert_getattr(ctx, fn, args, kwargs):
    """``x.shape`` (and ``x.ndim``) of a tensor computed from the input."""
    x, attr = args[0], args[1]
    if attr == "shape":
        return _sample_shape(x)
    if attr == "ndim":
        return len(x.shape) + 1
    raise QuantizationError(f"{ctx.layer!r}: the attribute {attr!r} of a tensor computed from the input is not "
                            "supported (x.shape and x.size() are)")


@function_converter(operator.getitem, kind="meta")
def convert_getitem(ctx, fn, args, kwargs):
    """Indexing a shape (``x.shape[0]``, ``x.size()[1:]``); indexing tensors is refused."""
    seq, index = args[0], args[1]
    if isinstance(seq, tuple):
        return seq[index]
    raise QuantizationError(f"{ctx.layer!r}: indexing or slicing a tensor computed from the input is not "
                            "supported; reshape it (view, flatten) instead")


@method_converter("transpose")
def convert_transpose(ctx, name, args, kwargs):
    """``x.transpose(a, b)`` (neither the batch axis): a permute that swaps two axes."""
    a = args[1] if len(args) > 1 else kwargs["dim0"]
    b = args[2] if len(args) > 2 else kwargs["dim1"]
    nd = len(args[0].shape) + 1
    order = list(range(nd))
    order[int(a) % nd], order[int(b) % nd] = order[int(b) % nd], order[int(a) % nd]
    return convert_permute(ctx, "permute", [args[0]] + order, {})


@method_converter("permute")
def convert_permute(ctx, name, args, kwargs):
    """``x.permute(0, ...)``: the batch axis stays first; a pending accumulation's channel axis moves."""
    dims = args[1:]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = list(dims[0])
    value = args[0]
    if isinstance(value, Pending) and value.chain:
        value = materialize(ctx.circuit, value)
    x = value.acc if isinstance(value, Pending) else ctx.ints(value)
    nd = len(x.shape) + 1
    dims = [int(d) % nd for d in dims]
    if sorted(dims) != list(range(nd)) or dims[0] != 0:
        raise QuantizationError(f"{ctx.layer!r}: permute{tuple(dims)} must keep the batch dimension first")
    order = [d - 1 for d in dims[1:]]
    moved = IntTensor(x.q.transpose(order), x.a.transpose(order), x.b.transpose(order), x.hi.transpose(order),
                      x.step, x.source)
    if isinstance(value, Pending):
        return value.with_acc(moved, order.index(value.channel_axis))
    return moved
