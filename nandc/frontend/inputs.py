"""The program input: the float model input through its first quantizer, as codes.

nandc's own input quantizers (``InputBinarize``, ``InputQuant``) carry a
plain encoding.  Any other chain of elementwise layers that ends by
quantizing the float input -- ``SignActivation`` or ``torch.sign`` straight
on the input, a Brevitas ``QuantIdentity``, a ``FakeQuantize``, a QONNX
``Quant``, a normalization followed by a quantizer -- is read off torch, as
BatchNorm thresholds are: nandc finds every float32 input value at which the
chain's output changes (its *breakpoints*) by evaluating the chain itself,
and the compiled model encodes an input by counting breakpoints.  No
rounding rule is re-implemented, so the codes equal torch's on every float32
input, ``-0.0``, infinities and values at a step included (NaN is refused).

Breakpoints are found by splitting the ordered float32 line into 64 parts,
keeping the parts whose two ends differ, and splitting again; a chain whose
output is monotone in its input (every quantizer is) loses none.  The
result is checked on probe values afterwards.  Elements with different
functions (a per-channel normalization) get their own breakpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nandc.encoding import float32_keys
from nandc.errors import QuantizationError
from nandc.frontend.values import FloatInput

__all__ = ["declare_input", "program_input", "read_thresholds", "float32_keys", "InputThresholds"]

_SPLIT = 64
_MAX_BREAKPOINTS = 1 << 16
_NEG_INF_KEY = 0x007FFFFF
_POS_INF_KEY = 0xFF800000


def keys_to_float32(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.uint32)
    u = np.where(k >> 31, k & np.uint32(0x7FFFFFFF), ~k).astype(np.uint32)
    return u.view(np.float32)


@dataclass(frozen=True)
class _Fixed:
    """An input quantizer with a plain encoding (SignActivation on the input: ``x >= 0``)."""

    enc: dict
    cd: object

    def encoding(self) -> dict:
        return dict(self.enc)

    def codes(self):
        return self.cd


@dataclass(frozen=True)
class InputThresholds:
    """Breakpoints of an input chain: the encoding ``{"kind": "thresholds", ...}`` and its codes.

    ``keys[g]`` are the sorted float32 keys at which group ``g``'s code
    changes, ``codes[g]`` the code below the first key and after each one;
    ``groups`` gives each input element's group (None: one group);
    ``finite`` says infinite inputs have no code (torch's chain gives NaN).
    """

    keys: tuple[tuple[int, ...], ...]
    code_table: tuple[tuple[int, ...], ...]
    groups: tuple[int, ...] | None
    cd: object
    finite: bool = False  # torch gives NaN for an infinite input: such inputs are refused

    def encoding(self) -> dict:
        enc = {"kind": "thresholds", "bits": self.cd.bits, "keys": [list(k) for k in self.keys],
               "codes": [list(c) for c in self.code_table]}
        if self.groups is not None:
            enc["groups"] = list(self.groups)
        if self.finite:
            enc["finite"] = True
        return enc

    def codes(self):
        return self.cd


def _compose(chain):
    def fn(t):
        for step in chain:
            t = step.fn(t)
        return _plain(t)

    return fn


def _plain(t):
    """A torch tensor from a layer's output (Brevitas returns QuantTensors)."""
    value = getattr(t, "value", None)
    import torch

    if not isinstance(t, torch.Tensor) and isinstance(value, torch.Tensor):
        return value
    return t


def _evaluate(fn, points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``fn`` on samples filled with each point: ``(len(points), elements)`` float64."""
    import torch

    out = []
    rows = max(1, (1 << 22) // max(1, int(np.prod(shape, dtype=np.int64))))
    with torch.no_grad():
        for start in range(0, len(points), rows):
            p = torch.from_numpy(np.ascontiguousarray(points[start:start + rows], dtype=np.float32))
            x = p.reshape((-1,) + (1,) * len(shape)).expand((len(p),) + tuple(shape)).contiguous()
            y = fn(x)
            out.append(y.detach().to(torch.float64).reshape(len(p), -1).numpy())
    return np.concatenate(out) if out else np.zeros((0, int(np.prod(shape))))


def _probe_points(rng: np.random.Generator) -> np.ndarray:
    mags = 2.0 ** np.arange(-24, 25, 0.5)
    extra = rng.standard_normal(256) * rng.choice([0.01, 0.1, 1, 10, 100], 256)
    pts = np.concatenate([[0.0, -0.0, np.inf, -np.inf], mags, -mags, extra])
    return pts.astype(np.float32)


def _groups(fn, shape, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Elements that compute the same function of their input: ``(group of each element, one element per group)``."""
    probe = _probe_points(np.random.default_rng(0))
    out = _evaluate(fn, probe, shape)
    if out.shape[1] != int(np.prod(shape, dtype=np.int64)):
        raise QuantizationError(f"layer {layer!r}: applied to the model input it changes the input's shape")
    sig = np.where(np.isnan(out), np.inf, out).T  # one row per element
    _, first, group = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    return group.reshape(-1), first


def _breakpoints(fn, shape, reps: np.ndarray, layer: str):
    """Per representative element: sorted keys where the output changes, and the outputs."""
    def at(keys: np.ndarray) -> np.ndarray:
        vals = _evaluate(fn, keys_to_float32(keys), shape)[:, reps]  # (points, groups)
        return vals

    ends = np.array([_NEG_INF_KEY, _POS_INF_KEY], dtype=np.uint32)
    v_end = at(ends)
    finite = bool(np.isnan(v_end).any())
    if finite:  # torch gives NaN for an infinite input: search the finite floats (inf inputs are refused)
        ends = np.array([_NEG_INF_KEY + 1, _POS_INF_KEY - 1], dtype=np.uint32)
        v_end = at(ends)
    if np.isnan(v_end).any() or np.isnan(at(float32_keys(np.array([0.0], np.float32)))).any():
        raise QuantizationError(f"layer {layer!r}: quantizing the model input gives NaN for some inputs")
    found: list[list[int]] = [[] for _ in reps]
    # intervals per group: (lo, hi) keys with different outputs at the two ends
    todo = [(g, int(ends[0]), int(ends[1])) for g in range(len(reps)) if v_end[0, g] != v_end[1, g]]
    while todo:
        points, spans = [], []
        for g, lo, hi in todo:
            cuts = np.unique(np.linspace(lo, hi, _SPLIT + 1).round().astype(np.int64))
            spans.append((g, cuts))
            points.append(cuts)
        allpts = np.unique(np.concatenate(points))
        vals = at(allpts.astype(np.uint32))
        index = {int(k): i for i, k in enumerate(allpts)}
        nxt = []
        for g, cuts in spans:
            v = vals[[index[int(k)] for k in cuts], g]
            if np.isnan(v).any():
                raise QuantizationError(f"layer {layer!r}: quantizing the model input gives NaN for some inputs")
            for j in np.flatnonzero(v[1:] != v[:-1]):
                lo, hi = int(cuts[j]), int(cuts[j + 1])
                if hi - lo == 1:
                    found[g].append(hi)
                else:
                    nxt.append((g, lo, hi))
        if sum(len(f) for f in found) + len(nxt) > _MAX_BREAKPOINTS:
            raise QuantizationError(
                f"layer {layer!r}: quantizing the model input has more than {_MAX_BREAKPOINTS} steps; "
                "an input quantizer of at most 16 bits is expected"
            )
        todo = nxt
    keys = [np.array(sorted(f), dtype=np.uint32) for f in found]
    levels = []
    for g, k in enumerate(keys):
        pts = np.concatenate([[ends[0]], k]).astype(np.uint32)
        levels.append(_evaluate(fn, keys_to_float32(pts), shape)[:, reps[g]])
    return keys, levels, finite


def _codes_of_levels(levels: list[np.ndarray], step, layer: str):
    """Integer codes of every level, and the Codes they are (declared, or the grid the levels lie on)."""
    from nandc.frontend.grid import TOLERANCE, value_grid
    from nandc.nn.base import Codes

    cd = step.codes
    if cd is None:
        found = value_grid(np.concatenate(levels))
        if found is None:
            shown = ", ".join(f"{v:.6g}" for v in np.unique(np.concatenate(levels))[:8])
            raise QuantizationError(
                f"layer {step.name!r} quantizes the model input to values that lie on no grid of at most 511 "
                f"integer levels: [{shown} ...]"
            )
        bits, a, b, s = found
        cd = Codes(bits, a, b, s)
    out = []
    for lv in levels:
        q = np.rint((lv / cd.step - cd.b) / cd.a)
        if np.any(np.abs((lv / cd.step - cd.b) / cd.a - q) > TOLERANCE) or q.min() < 0 or q.max() >= (1 << cd.bits):
            raise QuantizationError(f"layer {step.name!r} does not produce codes of its declared encoding {cd}")
        out.append(q.astype(np.int64))
    return cd, out


def read_thresholds(x: FloatInput) -> InputThresholds:
    """The breakpoints of ``x``'s chain of layers, read off torch (see the module docstring)."""
    fn = _compose(x.chain)
    layer = x.chain[-1].name
    group, reps = _groups(fn, x.shape, layer)
    keys, levels, finite = _breakpoints(fn, x.shape, reps, layer)
    cd, codes = _codes_of_levels(levels, x.chain[-1], layer)
    th = InputThresholds(tuple(tuple(int(v) for v in k) for k in keys),
                         tuple(tuple(int(v) for v in c) for c in codes),
                         None if len(reps) == 1 else tuple(int(g) for g in group), cd, finite)
    _check(fn, x.shape, th, layer)
    return th


def _check(fn, shape, th: InputThresholds, layer: str) -> None:
    """The encoding must give torch's codes on probe values (catches a chain that is not monotone)."""
    from nandc.encoding import encode_input

    rng = np.random.default_rng(1)
    probe = _probe_points(rng)
    if th.finite:
        probe = probe[np.isfinite(probe)]
    keys = [np.array(k, dtype=np.uint32) for k in th.keys]
    near = [np.concatenate([k, k - 1, k + 1]) for k in keys if len(k)]
    if near:
        probe = np.concatenate([probe, keys_to_float32(np.clip(np.concatenate(near), _NEG_INF_KEY, _POS_INF_KEY))])
    n = int(np.prod(shape, dtype=np.int64))
    out = _evaluate(fn, probe, shape)
    cd = th.cd
    want = np.rint((out / cd.step - cd.b) / cd.a)
    xs = np.broadcast_to(probe.reshape(-1, 1), (len(probe), n)).reshape((len(probe),) + tuple(shape))
    got = encode_input(th.encoding(), xs).reshape(len(probe), n)
    if not np.array_equal(got, want):
        i = int(np.argwhere(got != want)[0][0])
        raise QuantizationError(
            f"layer {layer!r}: quantizing the model input is not a monotone step function of the input "
            f"(at x = {float(probe[i])!r}); nandc reads input quantizers as thresholds on each input value"
        )


def declare_input(ctx, x: FloatInput):
    """Make the program input from the float input ``x`` and its quantizing chain."""
    from nandc.nn.base import InputQuantizer
    from nandc.nn.binary import SignActivation

    step = x.chain[-1]
    if x.name in ctx.inputs:
        raise QuantizationError(
            f"input {x.name!r} is quantized twice (by {ctx.inputs[x.name][0]!r} and {step.name!r}); "
            "use one input quantizer"
        )
    if len(x.chain) == 1 and isinstance(step.fn, InputQuantizer):
        quantizer = step.fn
    elif len(x.chain) == 1 and type(step.fn) is SignActivation:
        quantizer = _Fixed({"kind": "threshold", "threshold": 0.0}, step.fn.codes())
    else:
        quantizer = read_thresholds(x)
    ctx.inputs[x.name] = (step.name, quantizer)
    return program_input(ctx, x, quantizer.codes(), step.name)


def program_input(ctx, x: FloatInput, codes, layer: str):
    """The program input tensor of ``x`` with ``codes``: declared in the model's input shape, then
    reshaped when ``forward`` reshaped the float input first (the same element order)."""
    if x.declared is None or tuple(x.declared) == tuple(x.shape):
        return ctx.builder.input_tensor(x.name, x.shape, codes, layer)
    from nandc.frontend.converters.shape import staged_reshape

    declared = ctx.builder.input_tensor(x.name, x.declared, codes, layer)
    return staged_reshape(ctx, declared, x.shape)
