"""Staged programs: kernels compiled once, run over positions and tokens.

A flat circuit grows with image size times channels.  A :class:`Program`
instead holds *stages*: circuits (then NAND netlists) built for ONE output
position -- a convolution's receptive field, one token of a linear layer, the
whole sample of a fully connected tail -- plus explicit, exact data movement
between them.  At run time a kernel's bit-sliced sample axis is batch times
positions, so one image already fills the vectors.

Tensors between stages hold exact integers as unsigned *codes* per sample:
element ``e`` has the value ``a[e] * code + b[e]`` with ``0 <= code <= hi[e]``,
and torch's value is that integer times the tensor's power-of-two ``step``.

Ops, in execution order (each reads tensors made by earlier ops):

* :class:`Kernel` -- gathers the codes each position needs (:class:`Whole`,
  :class:`Window` with stride, zero padding and dilation, or :class:`Rows`
  for tokens), runs a stage's netlist on every (sample, position), and
  scatters the output buses into tensors;
* :class:`MaxPool`, :class:`SumPool` (average pooling: an exact sum whose
  step is divided by the window area), :class:`Reshape`, :class:`Add`,
  :class:`Concat`, :class:`Argmax` -- data movement on integers.

A flat model is the special case of one :class:`Whole` kernel.  Execution
lives in :mod:`nandc.ir.execute`; this module holds plain data and checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Union

import numpy as np

from nandc.errors import CircuitError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = [
    "Tensor", "Whole", "Window", "Rows", "Gather", "Binding", "Kernel", "MaxPool", "SumPool",
    "Reshape", "Add", "Concat", "Embed", "Attention", "Argmax", "Op", "Stage", "Program", "KERNEL_INPUT",
    "KERNEL_VALID", "KERNEL_OUTPUT", "program_to_dict", "program_from_dict", "array_keys", "flat_program",
    "describe",
]

KERNEL_INPUT = "x"
"""Input bus of a stage: the gathered codes of one position, shape ``(elements, bits)``."""
KERNEL_VALID = "valid"
"""Optional input bus of a windowed stage: 1 per window cell inside the image (``kh * kw`` bits)."""
KERNEL_OUTPUT = "y"
"""Output bus of a stage: the codes of one position, shape ``(elements, bits)``."""


def _pair(v, name: str) -> tuple[int, int]:
    t = (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(x) for x in v)
    if len(t) != 2:
        raise CircuitError(f"{name} must be an int or a pair, found {v!r}")
    return t


# ---------------------------------------------------------------------- tensors
@dataclass(frozen=True, eq=False)
class Tensor:
    """A per-sample tensor of exact integers stored as unsigned codes.

    ``a``, ``b`` and ``hi`` are int64 arrays of ``shape``: element ``e`` is
    ``a[e] * code + b[e]`` with ``0 <= code <= hi[e]`` and ``a[e] >= 1``.
    ``step`` (a power of two) scales the integers to torch's values;
    ``source`` names the layer that made the tensor.
    """

    name: str
    shape: tuple[int, ...]
    a: np.ndarray
    b: np.ndarray
    hi: np.ndarray
    step: float
    source: str = ""

    def __post_init__(self):
        for key in ("a", "b", "hi"):
            arr = np.asarray(getattr(self, key), dtype=np.int64)
            if arr.shape != tuple(self.shape):
                try:
                    arr = np.broadcast_to(arr, tuple(self.shape))
                except ValueError:
                    raise CircuitError(
                        f"tensor {self.name!r}: {key} has shape {arr.shape}, expected {tuple(self.shape)}"
                    ) from None
            object.__setattr__(self, key, np.array(arr, dtype=np.int64, order="C"))
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.a.size and (self.a.min() < 1 or self.hi.min() < 0):
            raise CircuitError(f"tensor {self.name!r}: every a must be >= 1 and every hi >= 0")

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def bits(self) -> int:
        """Width of the widest code (at least 1)."""
        return max(1, int(self.hi.max()).bit_length()) if self.hi.size else 1

    @property
    def dtype(self) -> np.dtype:
        """The smallest unsigned dtype that holds every code."""
        top = int(self.hi.max()) if self.hi.size else 0
        for dt in (np.uint8, np.uint16, np.uint32):
            if top <= np.iinfo(dt).max:
                return np.dtype(dt)
        return np.dtype(np.uint64)

    def value_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest integer of every element."""
        return self.b.copy(), self.a * self.hi + self.b

    def values(self, codes: np.ndarray) -> np.ndarray:
        """Exact integers ``a * codes + b`` (int64) of codes ``(N, *shape)``."""
        return self.a * codes.astype(np.int64) + self.b

    def renamed(self, name: str, shape: tuple[int, ...] | None = None) -> "Tensor":
        """This tensor's encoding under another name (and shape, for a reshape)."""
        shape = self.shape if shape is None else tuple(shape)
        return Tensor(name, shape, self.a.reshape(shape), self.b.reshape(shape), self.hi.reshape(shape),
                      self.step, self.source)


# ---------------------------------------------------------------------- gathers
@dataclass(frozen=True)
class Whole:
    """One position per sample: the whole tensor (flattened) is the stage input."""

    def positions(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return ()

    def describe(self) -> str:
        return "whole sample"


@dataclass(frozen=True)
class Window:
    """Receptive fields of a 2-D convolution over a ``(C, H, W)`` tensor.

    Each output position ``(y, x)`` reads the ``(C, kh, kw)`` cells at rows
    ``y * stride_h - pad_h + i * dilation_h`` (columns likewise); cells
    outside the image read code 0 and the stage's ``valid`` input says which
    cells were inside.  A 1x1 window with stride 1 is a pointwise stage.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    def __post_init__(self):
        for key in ("kernel", "stride", "padding", "dilation"):
            object.__setattr__(self, key, _pair(getattr(self, key), key))
        if min(self.kernel) < 1 or min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise CircuitError(f"invalid window {self}")

    @property
    def cells(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def pointwise(self) -> bool:
        return self.kernel == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """Output rows and columns for an ``h x w`` input (may be <= 0 if the window does not fit)."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel, self.stride, self.padding, self.dilation
        return ((h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)

    def positions(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise CircuitError(f"a window gathers from (C, H, W) tensors, found shape {shape}")
        return self.output_size(shape[1], shape[2])

    def valid_mask(self, h: int, w: int) -> np.ndarray:
        """``(OH, OW, kh, kw)`` bool: which window cells lie inside the image."""
        oh, ow = self.output_size(h, w)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel, self.stride, self.padding, self.dilation
        rows = np.arange(oh)[:, None] * sh - ph + np.arange(kh)[None, :] * dh  # (OH, kh)
        cols = np.arange(ow)[:, None] * sw - pw + np.arange(kw)[None, :] * dw  # (OW, kw)
        rin = (rows >= 0) & (rows < h)
        cin = (cols >= 0) & (cols < w)
        return rin[:, None, :, None] & cin[None, :, None, :]

    def describe(self) -> str:
        kh, kw = self.kernel
        parts = [f"{kh}x{kw} window"]
        if self.stride != (1, 1):
            parts.append(f"stride {self.stride[0]}x{self.stride[1]}")
        if self.padding != (0, 0):
            parts.append(f"zero padding {self.padding[0]}x{self.padding[1]}")
        if self.dilation != (1, 1):
            parts.append(f"dilation {self.dilation[0]}x{self.dilation[1]}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Rows:
    """Tokens: a ``(T, F)`` tensor, one position per row ``t`` reading its ``F`` codes."""

    def positions(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 2:
            raise CircuitError(f"rows gather from (tokens, features) tensors, found shape {shape}")
        return (shape[0],)

    def describe(self) -> str:
        return "one position per token"


Gather = Union[Whole, Window, Rows]


# ---------------------------------------------------------------------- ops
class _OneToOne:
    """Ops that read tensor ``input`` and make tensor ``output``."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)  # type: ignore[attr-defined]

    @property
    def produces(self) -> tuple[str, ...]:
        return (self.output,)  # type: ignore[attr-defined]


class _ManyToOne:
    """Ops that read tensors ``operands`` and make tensor ``output``."""

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.operands)  # type: ignore[attr-defined]

    @property
    def produces(self) -> tuple[str, ...]:
        return (self.output,)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Binding:
    """Output bus ``bus`` of a stage fills tensor ``tensor`` (``signed`` words: code = word - b)."""

    bus: str
    tensor: str
    signed: bool = False


@dataclass(frozen=True)
class Kernel:
    """Run stage ``stage`` on every position of ``input`` (see the module docstring).

    The output tensors have shape ``(E, OH, OW)`` for a window, ``(T, E)``
    for rows and the bus's element shape for a whole-sample stage.
    """

    stage: int
    input: str
    gather: Gather
    outputs: tuple[Binding, ...]
    layer: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)

    @property
    def produces(self) -> tuple[str, ...]:
        return tuple(b.tensor for b in self.outputs)


@dataclass(frozen=True)
class MaxPool(_OneToOne):
    """Max over each window (cells outside the image are left out, as torch pads with -inf)."""

    input: str
    output: str
    window: Window
    layer: str = ""



@dataclass(frozen=True)
class SumPool(_OneToOne):
    """Sum over each window (cells outside the image count as 0): average pooling times the area."""

    input: str
    output: str
    window: Window
    layer: str = ""



@dataclass(frozen=True)
class Reshape(_OneToOne):
    """The same codes in another per-sample shape (row-major order kept)."""

    input: str
    output: str
    layer: str = ""



@dataclass(frozen=True)
class Add(_ManyToOne):
    """Elementwise sum of integers; ``factors[i]`` scales operand ``i`` to the output step."""

    operands: tuple[str, ...]
    factors: tuple[int, ...]
    output: str
    layer: str = ""



@dataclass(frozen=True)
class Concat(_ManyToOne):
    """Concatenation along per-sample ``axis``; ``factors[i]`` scales operand ``i`` to the output step."""

    operands: tuple[str, ...]
    factors: tuple[int, ...]
    axis: int
    output: str
    layer: str = ""



@dataclass(frozen=True, eq=False)
class Embed(_OneToOne):
    """Token ids ``(T,)`` -> ``table[id] + positions[t]`` ``(T, d)`` (:func:`nandc.ir.fixedpoint.embed`)."""

    input: str
    output: str
    table: np.ndarray  # (vocab, d) int64
    positions: np.ndarray  # (context, d) int64
    layer: str = ""



@dataclass(frozen=True)
class Attention:
    """Causal fixed-point attention on int8 codes (:func:`nandc.ir.fixedpoint.attention`)."""

    query: str
    key: str
    value: str
    output: str
    heads: int
    shift: int
    frac_bits: int
    prob_bits: int
    layer: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.query, self.key, self.value)

    @property
    def produces(self) -> tuple[str, ...]:
        return (self.output,)


@dataclass(frozen=True)
class Argmax(_OneToOne):
    """Index of the first largest value of a vector (torch's tie rule)."""

    input: str
    output: str
    layer: str = "argmax"



Op = Union[Kernel, MaxPool, SumPool, Reshape, Add, Concat, Embed, Attention, Argmax]

MOVEMENT_NAMES = {MaxPool: "max pool", SumPool: "sum pool", Reshape: "reshape", Add: "add",
                  Concat: "concat", Embed: "embedding lookup", Attention: "fixed-point attention",
                  Argmax: "argmax"}


# ---------------------------------------------------------------------- stages and programs
@dataclass(frozen=True)
class Stage:
    """A kernel: the circuit of one position and, once compiled, its NAND netlist."""

    name: str
    circuit: Circuit | None = None
    netlist: NandNetlist | None = None

    def with_netlist(self, netlist: NandNetlist) -> "Stage":
        return replace(self, netlist=netlist)

    @property
    def interface(self) -> Circuit | NandNetlist:
        """The netlist if compiled, else the circuit (both have the same buses)."""
        obj = self.netlist if self.netlist is not None else self.circuit
        if obj is None:
            raise CircuitError(f"stage {self.name!r} has neither a circuit nor a netlist")
        return obj


@dataclass
class Program:
    """Stages plus the data movement between them (see the module docstring).

    ``input`` names the tensor of input codes; ``outputs`` maps roles
    (``"logits"``, ``"class"``) to tensors.  Several kernels may share a
    stage (identical kernels are compiled once).
    """

    name: str
    input: str
    tensors: dict[str, Tensor]
    ops: list[Op]
    stages: list[Stage]
    outputs: dict[str, str] = field(default_factory=dict)

    # -------------------------------------------------------------- views
    @property
    def is_flat(self) -> bool:
        """One whole-sample kernel and nothing else: the classic flat circuit."""
        return (len(self.ops) == 1 and isinstance(self.ops[0], Kernel)
                and isinstance(self.ops[0].gather, Whole) and len(self.stages) == 1)

    @property
    def kernels(self) -> list[Kernel]:
        return [op for op in self.ops if isinstance(op, Kernel)]

    def positions(self, op: Kernel) -> int:
        """Positions per sample of a kernel op."""
        return math.prod(op.gather.positions(self.tensors[op.input].shape))

    def with_stages(self, stages: list[Stage]) -> "Program":
        return Program(self.name, self.input, dict(self.tensors), list(self.ops), list(stages),
                       dict(self.outputs))

    # -------------------------------------------------------------- checks
    def verify(self) -> None:
        """Check that every op reads tensors made before it and that kernel shapes agree.

        Raises :class:`CircuitError` naming the op and what was found.
        """
        known = {self.input}
        if self.input not in self.tensors:
            raise CircuitError(f"program {self.name!r}: input tensor {self.input!r} is not declared")
        for i, op in enumerate(self.ops):
            where = f"program {self.name!r}, op {i} ({type(op).__name__} {getattr(op, 'layer', '')!r})"
            for t in op.inputs:
                if t not in known:
                    raise CircuitError(f"{where}: reads tensor {t!r} before it is made")
            for t in op.produces:
                if t not in self.tensors:
                    raise CircuitError(f"{where}: makes undeclared tensor {t!r}")
                if t in known:
                    raise CircuitError(f"{where}: tensor {t!r} is made twice")
                known.add(t)
            if isinstance(op, Kernel):
                self._verify_kernel(op, where)
            elif isinstance(op, Attention):
                self._verify_attention(op, where)
            elif isinstance(op, Embed):
                self._verify_embed(op, where)
        for role, t in self.outputs.items():
            if t not in known:
                raise CircuitError(f"program {self.name!r}: output {role!r} names unknown tensor {t!r}")

    def _verify_attention(self, op: "Attention", where: str) -> None:
        shapes = {self.tensors[t].shape for t in (*op.inputs, op.output)}
        ok = (len(shapes) == 1 and len(next(iter(shapes))) == 2 and type(op.heads) is int and op.heads >= 1
              and next(iter(shapes))[1] % op.heads == 0 and 0 <= op.shift <= 62 and 0 <= op.frac_bits <= 12
              and 1 <= op.prob_bits <= 30)
        if not ok:
            raise CircuitError(f"{where}: attention needs equal (tokens, heads * dh) tensors and heads, shift, "
                               f"table sizes in range; found shapes {sorted(shapes)}, heads {op.heads!r}, shift "
                               f"{op.shift!r}, frac_bits {op.frac_bits!r}, prob_bits {op.prob_bits!r}")

    def _verify_embed(self, op: "Embed", where: str) -> None:
        src, dst = self.tensors[op.input], self.tensors[op.output]
        table, pos = np.asarray(op.table), np.asarray(op.positions)
        ok = (len(src.shape) == 1 and table.ndim == 2 and pos.ndim == 2 and dst.shape == (src.shape[0], table.shape[1])
              and pos.shape[1] == table.shape[1] and pos.shape[0] >= src.shape[0]
              and int(src.values(src.hi[None]).max(initial=0)) < table.shape[0])
        if not ok:
            raise CircuitError(f"{where}: embedding table {table.shape} and positions {pos.shape} do not fit "
                               f"ids {src.shape} -> {dst.shape}")

    def _verify_kernel(self, op: Kernel, where: str) -> None:
        if not 0 <= op.stage < len(self.stages):
            raise CircuitError(f"{where}: stage {op.stage} does not exist (have {len(self.stages)})")
        obj = self.stages[op.stage].interface
        src = self.tensors[op.input]
        if KERNEL_INPUT not in obj.input_buses:
            raise CircuitError(f"{where}: the stage has no input bus {KERNEL_INPUT!r}")
        bus = obj.input_buses[KERNEL_INPUT]
        per_position = _elements_per_position(op.gather, src.shape)
        if math.prod(bus.shape[:-1]) != per_position or (bus.shape[-1] if bus.shape else 1) < src.bits:
            raise CircuitError(
                f"{where}: input bus {KERNEL_INPUT!r} has shape {bus.shape}, but the gather gives "
                f"{per_position} codes of {src.bits} bits per position"
            )
        extra = set(obj.input_buses) - {KERNEL_INPUT, KERNEL_VALID}
        if extra:
            raise CircuitError(f"{where}: unexpected stage input buses {sorted(extra)}")
        if KERNEL_VALID in obj.input_buses:
            if not isinstance(op.gather, Window) or obj.input_buses[KERNEL_VALID].width != op.gather.cells:
                raise CircuitError(f"{where}: the {KERNEL_VALID!r} bus does not match the gather")
        positions = op.gather.positions(src.shape)
        for binding in op.outputs:
            if binding.bus not in obj.output_buses:
                raise CircuitError(f"{where}: the stage has no output bus {binding.bus!r}")
            out = obj.output_buses[binding.bus]
            elements = math.prod(out.shape[:-1]) if len(out.shape) > 1 else 1
            dst = self.tensors[binding.tensor]
            if dst.size != elements * max(1, math.prod(positions)):
                raise CircuitError(
                    f"{where}: output bus {binding.bus!r} gives {elements} codes per position, "
                    f"tensor {binding.tensor!r} has shape {dst.shape}"
                )


def _elements_per_position(gather: Gather, shape: tuple[int, ...]) -> int:
    if isinstance(gather, Whole):
        return math.prod(shape)
    if isinstance(gather, Window):
        return shape[0] * gather.cells
    return shape[1]


# ---------------------------------------------------------------------- plain data
_OPS = {cls.__name__: cls for cls in (Kernel, MaxPool, SumPool, Reshape, Add, Concat, Embed, Attention, Argmax)}
_OP_ARRAYS = {"Embed": ("table", "positions")}  # array fields, stored beside the tensors' encodings
_GATHERS = {cls.__name__: cls for cls in (Whole, Window, Rows)}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (Whole, Window, Rows)):
        return {"kind": type(value).__name__, **{k: _plain(v) for k, v in vars(value).items()}}
    if isinstance(value, Binding):
        return {"bus": value.bus, "tensor": value.tensor, "signed": value.signed}
    return value


def program_to_dict(program: Program) -> tuple[dict, dict[str, np.ndarray]]:
    """JSON-ready structure of ``program`` (no netlists) and its encoding arrays (1-D) by key."""
    arrays: dict[str, np.ndarray] = {}
    tensors = []
    for i, t in enumerate(program.tensors.values()):
        tensors.append({"name": t.name, "shape": list(t.shape), "step": t.step, "source": t.source})
        for key in ("a", "b", "hi"):
            arrays[f"{i}.{key}"] = getattr(t, key).reshape(-1)
    ops = []
    for j, op in enumerate(program.ops):
        doc_op = {"op": type(op).__name__}
        for k, v in vars(op).items():
            if k in _OP_ARRAYS.get(type(op).__name__, ()):
                arrays[f"op{j}.{k}"] = np.asarray(v, dtype=np.int64).reshape(-1)
                doc_op[k] = list(np.shape(v))  # the shape; the values are in the arrays
            else:
                doc_op[k] = _plain(v)
        ops.append(doc_op)
    doc = {"name": program.name, "input": program.input, "outputs": dict(program.outputs),
           "tensors": tensors, "ops": ops, "stages": [s.name for s in program.stages]}
    return doc, arrays


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise CircuitError(f"program description: {what}")


def _gather_from(doc) -> Gather:
    _check(isinstance(doc, dict) and doc.get("kind") in _GATHERS, f"unknown gather {doc!r}")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items() if k != "kind"}
    try:
        return _GATHERS[doc["kind"]](**fields)
    except TypeError as exc:
        raise CircuitError(f"program description: bad gather {doc!r} ({exc})") from None


def _op_from(doc, j: int, arrays) -> Op:
    _check(isinstance(doc, dict) and doc.get("op") in _OPS, f"unknown op {doc.get('op') if isinstance(doc, dict) else doc!r}")
    fields = {}
    for k, v in doc.items():
        if k == "op":
            continue
        if k in _OP_ARRAYS.get(doc["op"], ()):
            _check(isinstance(v, list) and len(v) == 2 and all(type(d) is int and 0 <= d < 1 << 24 for d in v),
                   f"op {j}: bad shape of {k!r}")
            flat = arrays.get(f"op{j}.{k}") if hasattr(arrays, "get") else None
            _check(flat is not None and np.size(flat) == v[0] * v[1], f"op {j}: array {k!r} is missing or short")
            v = np.asarray(flat, dtype=np.int64).reshape(v)
        elif k in ("gather", "window"):
            v = _gather_from(v)
        elif k == "outputs":
            _check(isinstance(v, list) and all(isinstance(b, dict) for b in v), "kernel outputs must be a list")
            v = tuple(Binding(str(b.get("bus")), str(b.get("tensor")), bool(b.get("signed", False))) for b in v)
        elif isinstance(v, list):
            v = tuple(v)
        fields[k] = v
    try:
        return _OPS[doc["op"]](**fields)
    except TypeError as exc:
        raise CircuitError(f"program description: bad {doc['op']} op ({exc})") from None


def array_keys(doc: dict) -> tuple[str, ...]:
    """Keys of the arrays :func:`program_from_dict` needs for the description ``doc`` (unchecked)."""
    tensors = doc.get("tensors") if isinstance(doc, dict) else None
    ops = doc.get("ops") if isinstance(doc, dict) else None
    keys = [f"{i}.{k}" for i in range(len(tensors) if isinstance(tensors, list) else 0) for k in ("a", "b", "hi")]
    for j, op in enumerate(ops if isinstance(ops, list) else []):
        if isinstance(op, dict):
            keys += [f"op{j}.{k}" for k in _OP_ARRAYS.get(op.get("op"), ())]
    return tuple(keys)


def program_from_dict(doc: dict, arrays, stages: list[Stage]) -> Program:
    """Inverse of :func:`program_to_dict` (``arrays`` maps keys to arrays); verified."""
    _check(isinstance(doc, dict), "expected an object")
    for key, kind in (("name", str), ("input", str), ("outputs", dict), ("tensors", list), ("ops", list)):
        _check(isinstance(doc.get(key), kind), f"field {key!r} must be a {kind.__name__}")
    tensors: dict[str, Tensor] = {}
    for i, t in enumerate(doc["tensors"]):
        _check(isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("shape"), list)
               and len(t["shape"]) <= 8 and all(type(d) is int and 0 <= d < 1 << 31 for d in t["shape"])
               and isinstance(t.get("step", 1.0), (int, float)), f"tensor {i} is malformed")
        size = math.prod(t["shape"])
        try:
            a, b, hi = (np.asarray(arrays[f"{i}.{k}"], dtype=np.int64) for k in ("a", "b", "hi"))
        except KeyError:
            raise CircuitError(f"program description: the encoding of tensor {i} is missing") from None
        _check(a.size == b.size == hi.size == size, f"tensor {t['name']!r}: encoding arrays of {a.size}, "
               f"{b.size}, {hi.size} values for {size} elements")
        a, b, hi = (arr.reshape(t["shape"]) for arr in (a, b, hi))
        _check(not size or (a.min() >= 1 and hi.min() >= 0 and hi.max() < 1 << 62 and abs(b).max() < 1 << 62
                            and a.max() < 1 << 31), f"tensor {t['name']!r}: encoding out of range")
        tensors[t["name"]] = Tensor(t["name"], tuple(t["shape"]), a, b, hi, float(t.get("step", 1.0)),
                                    str(t.get("source", "")))
    program = Program(doc["name"], doc["input"], tensors, [_op_from(op, j, arrays) for j, op in enumerate(doc["ops"])],
                      stages,
                      {str(k): str(v) for k, v in doc["outputs"].items()})
    program.verify()
    return program


def flat_program(netlist: NandNetlist | Circuit, input_bus: str, step: float = 1.0) -> Program:
    """A program of one whole-sample stage around a flat circuit or netlist.

    ``input_bus`` names its (only) input bus; its output buses ``logits``
    (signed) and ``class`` become the program outputs.
    """
    if set(netlist.input_buses) != {input_bus}:
        raise CircuitError(f"a flat program needs exactly one input bus {input_bus!r}, found "
                           f"{sorted(netlist.input_buses)}")
    bus = netlist.input_buses[input_bus]
    tensors = {input_bus: Tensor(input_bus, bus.shape[:-1], 1, 0, (1 << bus.word_width) - 1, step, "input")}
    bindings = []
    outputs = {}
    for name, out in netlist.output_buses.items():
        width = out.word_width
        b = -(1 << (width - 1)) if out.signed else 0
        tensors[name] = Tensor(name, out.shape[:-1], 1, b, (1 << width) - 1, 1.0, name)
        bindings.append(Binding(name, name, out.signed))
        if name in ("logits", "class"):
            outputs[name] = name
    is_net = isinstance(netlist, NandNetlist)
    stage = Stage(netlist.name, None if is_net else netlist, netlist if is_net else None)
    program = Program(netlist.name, input_bus, tensors, [Kernel(0, input_bus, Whole(), tuple(bindings))],
                      [stage], outputs)
    program.verify()
    return program


def _encoding_text(t: Tensor) -> str:
    """``value = a*q + b`` of a tensor, compactly (uniform or per element)."""
    def one(arr):
        flat = arr.reshape(-1)
        return str(int(flat[0])) if flat.size and np.all(flat == flat[0]) else "per element"
    return f"{t.bits}-bit codes q, value = ({one(t.a)}*q + {one(t.b)}) * {t.step:g}"


def describe(program: Program) -> list[str]:
    """Lines that say, op by op, what the program does (for Verilog comments and READMEs)."""
    def shape(name):
        return "x".join(map(str, program.tensors[name].shape)) or "scalar"

    src = program.tensors[program.input]
    lines = [f"program {program.name}: {len(program.stages)} stage(s), {len(program.ops)} op(s)",
             f"input {program.input} [{shape(program.input)}]: {_encoding_text(src)}"]
    for i, op in enumerate(program.ops):
        if isinstance(op, Kernel):
            stage = program.stages[op.stage]
            outs = ", ".join(f"{b.bus} -> {b.tensor} [{shape(b.tensor)}]" for b in op.outputs)
            lines.append(f"{i}: kernel stage {op.stage} ({stage.name}) on {op.input} [{shape(op.input)}], "
                         f"{op.gather.describe()}, {program.positions(op)} position(s) per sample; {outs}")
        else:
            what = MOVEMENT_NAMES[type(op)]
            extra = f", {op.window.describe()}" if isinstance(op, (MaxPool, SumPool)) else ""
            if isinstance(op, (Add, Concat)):
                extra += ", factors " + ", ".join(map(str, op.factors))
            lines.append(f"{i}: {what} of {', '.join(op.inputs)}{extra} -> {op.produces[0]} "
                         f"[{shape(op.produces[0])}]")
    for role, t in program.outputs.items():
        lines.append(f"output {role} = {t}: {_encoding_text(program.tensors[t])}")
    return lines
