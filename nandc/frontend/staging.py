"""Building a :class:`~nandc.ir.program.Program` while the converters run.

The conversion driver (:mod:`nandc.frontend.convert`) sees three kinds of
tensor values between fx nodes:

* :class:`~nandc.frontend.values.FloatInput` -- the float model input;
* :class:`ProgramTensor` -- a tensor of the program (codes between stages,
  made by data movement or exported from a stage);
* :class:`StageValue` -- a value still inside an open stage's circuit (an
  ``IntTensor`` or ``Pending`` of ONE position), with the layout that maps the
  position's shape to the program-level shape.

Converters only ever see the inner ``IntTensor``/``Pending`` values, exactly
as in a flat circuit: a window stage hands a convolution converter the
``(C, kh, kw)`` cells of one receptive field (with ``ctx.window`` set), and it
builds one output position.  :class:`ProgramBuilder` opens stages (adding the
input buses), exports values (adding output buses, a :class:`Kernel` op and
a program tensor) and builds the output head.

Zero padding: a window cell outside the image reads code 0; when some input
encoding has ``b != 0`` (0 is then not code 0, e.g. +-1 bits) the stage gets
a ``valid`` bus with one bit per window cell, and the accumulation multiplies
each cell's constant ``b`` by its valid bit, so a padded cell adds exactly 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.materialize import materialize, ordinal
from nandc.frontend.values import IntTensor, Pending
from nandc.interface import ARGMAX_LAYER, HEAD_LAYER
from nandc.ir import words
from nandc.ir.circuit import FALSE, Circuit
from nandc.ir.program import (
    KERNEL_INPUT, KERNEL_OUTPUT, KERNEL_VALID, Argmax, Binding, Gather, Kernel, Program, Rows, Stage, Tensor,
    Whole, Window,
)
from nandc.ir.words import Word

__all__ = ["PendingInfo", "ProgramTensor", "StageValue", "OpenStage", "WindowInput", "ProgramBuilder"]


@dataclass(frozen=True)
class PendingInfo:
    """A program tensor holding a raw accumulation ``Y`` whose torch value is ``dequantize(Y * step)``."""

    dequantize: Callable[[Any], Any]
    layer: str
    exact: bool
    channel_axis: int = 0
    uniform: bool = True


@dataclass(frozen=True)
class ProgramTensor:
    """A tensor of the program, by name; ``shape`` is per sample."""

    name: str
    shape: tuple[int, ...]
    pending: PendingInfo | None = None


@dataclass(frozen=True)
class WindowInput:
    """What a convolution converter needs inside a window stage.

    ``gates[c, i, j]`` is the literal multiplying cell ``(c, i, j)``'s constant
    ``b`` (its valid bit), or None when every cell's ``b`` is 0 or there is
    no padding.
    """

    gates: np.ndarray | None = None


@dataclass(eq=False)
class OpenStage:
    """A stage under construction: its circuit, gather, input and exports so far."""

    index: int
    name: str
    circuit: Circuit
    gather: Gather
    input: str
    positions: tuple[int, ...]  # (OH, OW) for a window, (T,) for rows, () for whole
    op_index: int | None = None
    bindings: list[Binding] = field(default_factory=list)
    exported: dict[int, ProgramTensor] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class StageValue:
    """A value of one position inside an open stage (see the module docstring)."""

    stage: OpenStage
    value: Any  # IntTensor or Pending

    @property
    def shape(self) -> tuple[int, ...]:
        """The program-level per-sample shape."""
        return program_shape(self.stage, tuple(self.value.shape))

    @property
    def whole(self) -> bool:
        return isinstance(self.stage.gather, Whole)


def _needs_ordinal(p) -> bool:
    """Whether an output value ends in float layers whose order the integers do not show."""
    chain = getattr(p, "chain", ())
    if chain:  # a declared quantizer gives codes; anything else is ranked
        return chain[-1].codes is None
    return not (p.exact or p.uniform)


def program_shape(stage: OpenStage, inner: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape of a value whose one-position shape is ``inner``."""
    if isinstance(stage.gather, Window):
        return (inner[0],) + stage.positions
    if isinstance(stage.gather, Rows):
        return stage.positions + (math.prod(inner),)
    return inner


def _spread(stage: OpenStage, arr: np.ndarray) -> np.ndarray:
    """A per-position array of one position's elements, laid out at program level."""
    if isinstance(stage.gather, Window):
        c = arr.shape[0]
        return np.broadcast_to(arr.reshape(c, 1, 1), (c,) + stage.positions)
    if isinstance(stage.gather, Rows):
        flat = arr.reshape(-1)
        return np.broadcast_to(flat[None, :], stage.positions + flat.shape)
    return arr


class ProgramBuilder:
    """Collects tensors, ops and stages while the converters run."""

    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.ops: list = []
        self.stages: list[OpenStage] = []
        self.input: str | None = None
        self.outputs: dict[str, str] = {}
        self.token_tensors: set[str] = set()  # (T, F) tensors whose rows are tokens: a class per token
        self._opened: dict[tuple[str, Gather], tuple[OpenStage, Any, WindowInput | None]] = {}
        self.records: dict[str, Any] = {}  # fx node -> what its accumulation computes (for the reference)
        self.output_values = None  # torch's float per code of an ordinal output head
        self.output_function = ""  # a final softmax / log_softmax, applied by torch

    # -------------------------------------------------------------- tensors
    def unique_name(self, base: str) -> str:
        base = base or "t"
        name, k = base, 1
        while name in self.tensors:
            k += 1
            name = f"{base}#{k}"
        return name

    def add_tensor(self, base: str, shape, a, b, hi, step: float, source: str,
                   pending: PendingInfo | None = None) -> ProgramTensor:
        name = self.unique_name(base)
        self.tensors[name] = Tensor(name, tuple(shape), a, b, hi, step, source)
        return ProgramTensor(name, tuple(int(d) for d in shape), pending)

    def token_input(self, name: str, shape: tuple[int, ...], vocab: int, layer: str) -> ProgramTensor:
        """Declare the program input: token ids ``< vocab`` of shape ``shape``."""
        self.tensors[name] = Tensor(name, tuple(shape), 1, 0, vocab - 1, 1.0, layer)
        self.input = name
        return ProgramTensor(name, tuple(shape))

    def input_tensor(self, name: str, shape: tuple[int, ...], codes, layer: str) -> ProgramTensor:
        """Declare the program input: codes of ``codes.bits`` bits (``codes`` is a ``nandc.nn.Codes``)."""
        hi = (1 << codes.bits) - 1
        self.tensors[name] = Tensor(name, tuple(shape), codes.a, codes.b, hi, codes.step, layer)
        self.input = name
        return ProgramTensor(name, tuple(shape))

    def spec(self, t: ProgramTensor) -> Tensor:
        return self.tensors[t.name]

    def add_op(self, op) -> None:
        self.ops.append(op)

    # -------------------------------------------------------------- stages
    def open(self, gather: Gather, x: ProgramTensor, layer: str,
             share: bool = False) -> tuple[OpenStage, Any, WindowInput | None]:
        """A stage reading ``x`` through ``gather``; returns it, the inner value of one position
        and (for a window) the :class:`WindowInput`.  With ``share``, a stage already opened
        with ``share`` on the same input and gather is reused: layers reading one tensor (q, k
        and v of an attention) share one kernel and the logic they have in common."""
        if not share:
            return self._new_stage(gather, x, layer)
        key = (x.name, gather)
        if key not in self._opened:
            self._opened[key] = self._new_stage(gather, x, layer)
        return self._opened[key]

    def _new_stage(self, gather: Gather, x: ProgramTensor, layer: str):
        spec = self.spec(x)
        index = len(self.stages)
        circuit = Circuit(f"{self.name}.{layer}" if layer else self.name)
        if isinstance(gather, Window):
            if len(spec.shape) != 3:
                raise QuantizationError(
                    f"layer {layer!r} expects input of shape (C, H, W) per sample, found {spec.shape}"
                )
            oh, ow = gather.output_size(spec.shape[1], spec.shape[2])
            if oh <= 0 or ow <= 0:
                raise QuantizationError(
                    f"layer {layer!r}: input {spec.shape} is smaller than the window {gather.kernel}"
                )
            positions: tuple[int, ...] = (oh, ow)
            kh, kw = gather.kernel
            per = [self._position_spec(arr, (1, 2), layer, x) for arr in (spec.a, spec.b, spec.hi)]
            a, b, hi = (np.broadcast_to(v.reshape(-1, 1, 1), (spec.shape[0], kh, kw)) for v in per)
        elif isinstance(gather, Rows):
            if len(spec.shape) != 2:
                raise QuantizationError(
                    f"layer {layer!r} expects input of shape (tokens, features) per sample, found {spec.shape}"
                )
            positions = (spec.shape[0],)
            a, b, hi = (self._position_spec(arr, (0,), layer, x) for arr in (spec.a, spec.b, spec.hi))
        else:
            positions = ()
            a, b, hi = spec.a, spec.b, spec.hi
        stage = OpenStage(index, circuit.name, circuit, gather, x.name, positions)
        self.stages.append(stage)
        shape = a.shape
        bits = max(1, int(hi.max()).bit_length()) if hi.size else 1
        lits = circuit.add_input_bus(KERNEL_INPUT, shape + (bits,) if isinstance(gather, Whole)
                                     else (int(np.prod(shape)), bits))
        flat_hi = hi.reshape(-1)
        q = np.empty(flat_hi.size, dtype=object)
        for i in range(flat_hi.size):
            width = max(1, int(flat_hi[i]).bit_length())
            q[i] = Word(tuple(lits[i * bits: i * bits + width]), False)
        window = None
        if isinstance(gather, Window):
            gates = None
            if gather.padding != (0, 0) and np.any(b != 0):
                valid = circuit.add_input_bus(KERNEL_VALID, (gather.cells,))
                gates = np.broadcast_to(np.array(valid, dtype=object).reshape(1, kh, kw), shape)
            window = WindowInput(gates)
        inner_t = IntTensor(q.reshape(shape), np.array(a, np.int64), np.array(b, np.int64),
                            np.array(hi, np.int64), spec.step, spec.source)
        inner: Any = inner_t
        if x.pending is not None:
            p = x.pending
            inner = Pending(inner_t, p.dequantize, p.layer, (), p.channel_axis, p.exact, p.uniform)
        return stage, inner, window

    @staticmethod
    def _position_spec(arr: np.ndarray, axes: tuple[int, ...], layer: str, x: ProgramTensor) -> np.ndarray:
        """One position's encoding of a tensor whose encoding must not vary over ``axes``."""
        first = arr[tuple(slice(0, 1) if ax in axes else slice(None) for ax in range(arr.ndim))]
        if not np.array_equal(np.broadcast_to(first, arr.shape), arr):
            raise QuantizationError(
                f"layer {layer!r}: the encoding of its input {x.name!r} varies from position to "
                "position, so one kernel cannot serve every position; quantize the input "
                "(e.g. with nandc.nn.ReLUQuant) before this layer"
            )
        return first.reshape([d for ax, d in enumerate(arr.shape) if ax not in axes])

    def export(self, v: StageValue, role: str = "") -> ProgramTensor:
        """The program tensor of ``v``: adds an output bus to its stage (once per value)."""
        stage = v.stage
        key = id(v.value)
        if key in stage.exported:
            return stage.exported[key]
        value = v.value
        c = stage.circuit
        pending = None
        if isinstance(value, Pending) and value.chain:
            value = materialize(c, value)
        elif isinstance(value, Pending):
            pending = PendingInfo(value.dequantize, value.layer, value.exact, value.channel_axis, value.uniform)
            value = replace(value.acc, source=value.layer) if value.acc.source != value.layer else value.acc
        if not isinstance(value, IntTensor):
            raise QuantizationError(f"cannot export {type(value).__name__} from stage {stage.name!r}")
        flat = value.q.reshape(-1)
        width = max([len(w.bits) for w in flat] + [1])
        bits = [lit for w in flat for lit in (tuple(w.bits) + (FALSE,) * (width - len(w.bits)))]
        bus = KERNEL_OUTPUT if not stage.bindings else f"{KERNEL_OUTPUT}{len(stage.bindings)}"
        c.set_output(bus, bits, (len(flat), width))
        shape = program_shape(stage, tuple(value.shape))
        t = self.add_tensor(role or value.source or stage.name, shape,
                            _spread(stage, value.a), _spread(stage, value.b), _spread(stage, value.hi),
                            value.step, value.source or stage.name, pending)
        self._bind(stage, Binding(bus, t.name))
        stage.exported[key] = t
        if isinstance(stage.gather, Rows):
            self.token_tensors.add(t.name)
        return t

    def _bind(self, stage: OpenStage, binding: Binding) -> None:
        stage.bindings.append(binding)
        op = Kernel(stage.index, stage.input, stage.gather, tuple(stage.bindings), stage.name)
        if stage.op_index is None:
            stage.op_index = len(self.ops)
            self.ops.append(op)
        else:
            self.ops[stage.op_index] = op

    # -------------------------------------------------------------- the output
    def head(self, value, layer_of: Callable[[], None] | None = None) -> tuple[str, float, Any, tuple[int, ...]]:
        """Make the program's outputs from the model's output value.

        A whole-sample stage value gets the circuit head: signed ``logits``
        words and the ``class`` argmax, in gates.  Anything else is exported;
        its exact integers are the logits and (for a vector) an
        :class:`Argmax` op gives the class.  A value whose last layers are
        float (BatchNorm, a per-class scale or bias) becomes *ordinal* codes
        (see :func:`~nandc.frontend.materialize.ordinal`; the torch floats of
        the codes are kept in ``output_values``).  Returns ``(output kind,
        step, dequantize, shape)`` for the interface.
        """
        if isinstance(value, ProgramTensor) and value.pending is not None and _needs_ordinal(value.pending):
            stage, inner, _ = self.open(Whole(), value, HEAD_LAYER)
            value = StageValue(stage, inner)
        if isinstance(value, StageValue) and isinstance(value.value, Pending) and _needs_ordinal(value.value):
            codes, self.output_values = ordinal(value.stage.circuit, value.value, HEAD_LAYER)
            value = StageValue(value.stage, codes)
        if isinstance(value, StageValue) and value.whole:
            return self._circuit_head(value)
        t = value if isinstance(value, ProgramTensor) else self.export(value, "logits")
        spec = self.spec(t)
        self.outputs["logits"] = t.name
        tokens = t.name in self.token_tensors and len(spec.shape) == 2
        if (len(spec.shape) == 1 or tokens) and spec.shape[-1] > 1:  # a class per sample, or per token
            cls = self.add_tensor("class", spec.shape[:-1], 1, 0, spec.shape[-1] - 1, 1.0, ARGMAX_LAYER)
            self.add_op(Argmax(t.name, cls.name))
            self.outputs["class"] = cls.name
        if self.output_values is not None:
            return "ordinal", 1.0, None, spec.shape
        if t.pending is not None:
            return "accumulator", spec.step, t.pending.dequantize, spec.shape
        return "codes", spec.step, None, spec.shape

    def _circuit_head(self, v: StageValue):
        from nandc.ir.arith import explicit_word

        c = v.stage.circuit
        value = v.value
        if isinstance(value, Pending) and value.chain:
            value = materialize(c, value)
        if isinstance(value, Pending):
            acc, kind, deq = value.acc, "accumulator", value.dequantize
        elif isinstance(value, IntTensor):
            acc, kind, deq = value, "codes" if self.output_values is None else "ordinal", None
        else:
            raise QuantizationError(
                f"the model's output is {type(value).__name__}; expected a tensor computed by nandc layers"
            )
        flat_q, flat_a, flat_b = acc.q.reshape(-1), acc.a.reshape(-1), acc.b.reshape(-1)
        with c.layer(HEAD_LAYER):
            vals = [explicit_word(c, q, int(a), int(b)) for q, a, b in zip(flat_q, flat_a, flat_b)]
        width = max(len(w.bits) for w in vals) if vals else 1
        vals = [words.extend(w, width) for w in vals]
        c.set_output("logits", [bit for w in vals for bit in w.bits], acc.shape + (width,), signed=True)
        shape = tuple(acc.shape)
        logits = self.add_tensor("logits", shape, 1, -(1 << (width - 1)), (1 << width) - 1, acc.step, HEAD_LAYER)
        self._bind(v.stage, Binding("logits", logits.name, signed=True))
        self.outputs["logits"] = logits.name
        if len(shape) == 1 and shape[0] > 1:
            with c.layer(ARGMAX_LAYER):
                idx = words.argmax(c, vals)
            c.set_output("class", idx.bits, (len(idx.bits),))
            cls = self.add_tensor("class", (), 1, 0, (1 << len(idx.bits)) - 1, 1.0, ARGMAX_LAYER)
            self._bind(v.stage, Binding("class", cls.name))
            self.outputs["class"] = cls.name
        return kind, acc.step, deq, shape

    # -------------------------------------------------------------- result
    def program(self) -> Program:
        """The program (stages hold circuits; compile them with passes to get netlists)."""
        if self.input is None:
            raise QuantizationError(
                "the model's input never reaches an input quantizer; start the model with "
                "nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
            )
        stages = [Stage(s.name, s.circuit) for s in self.stages]
        used = {op.stage for op in self.ops if isinstance(op, Kernel)}
        if len(used) != len(stages):  # stages whose values were never exported do nothing
            remap = {old: new for new, old in enumerate(sorted(used))}
            stages = [stages[i] for i in sorted(used)]
            self.ops = [replace(op, stage=remap[op.stage]) if isinstance(op, Kernel) else op for op in self.ops]
        program = Program(self.name, self.input, dict(self.tensors), list(self.ops), stages, dict(self.outputs))
        program.verify()
        return program
