"""What flows between converters: circuit-side tensors with exact integer meaning.

* :class:`FloatInput` — the model's float input before an input quantizer,
  with the elementwise layers applied to it so far (``chain``).
* :class:`Const` — a tensor computed from parameters and buffers alone
  (folded with torch before conversion: quantized weights, scales, biases).
* :class:`IntTensor` — per element an unsigned :class:`~nandc.ir.words.Word`
  ``q`` and integers ``a > 0``, ``b`` with value ``(a * q + b) * step``.
  With a power-of-two ``step`` this is torch's value exactly; with any other
  step it is the integer view of a quantizer's output (torch holds the
  float32 rounding of that product).  Binary +-1 activations
  are 1-bit words with ``a = 2, b = -1``; n-bit codes have ``a = 1, b = 0``;
  an accumulation ``2 * popcount - n`` has ``a = 2, b = -n``.
* :class:`Pending` — an accumulation whose torch value is a float function of
  its integer value: the accumulator's own ``dequantize`` followed by
  elementwise layers (BatchNorm, ReLU, quantizers ...) not yet turned into
  logic.  It is turned into logic (thresholds on the integer) when a consumer
  needs integers; see :mod:`nandc.frontend.materialize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


__all__ = ["FloatInput", "IntTensor", "Pending", "ChainStep", "BatchDim", "Const", "is_pow2"]


def is_pow2(step: float) -> bool:
    """True when ``step`` is a positive power of two (scaling by it is exact in floating point)."""
    import math

    if not (step > 0 and math.isfinite(step)):
        return False
    return math.frexp(step)[0] == 0.5


@dataclass(frozen=True)
class RowHead:
    """A model output ending in ``softmax`` / ``log_softmax`` over the class axis (``function``).

    The circuit computes ``value`` (the logits) and the class, their argmax,
    which is also the argmax of the probabilities; the float function is
    applied by torch when the output is turned into torch values.
    """

    value: Any
    function: str


class BatchDim:
    """Stands for ``x.size(0)`` (the batch dimension) during conversion."""

    def __repr__(self) -> str:
        return "BatchDim"


@dataclass(frozen=True)
class FloatInput:
    """The model's (float) input placeholder; ``shape`` excludes the batch axis.

    ``chain`` lists the elementwise layers applied to it so far (a
    normalization, then a quantizer ...); ``declared`` is the model's input
    shape when ``forward`` reshaped the input before any of them
    (``x.view(-1, 1, 28, 28)``); when a chain that quantizes meets
    a layer that needs integers, the chain becomes the program's input
    encoding (see :mod:`nandc.frontend.inputs`).
    """

    name: str
    shape: tuple[int, ...]
    chain: tuple["ChainStep", ...] = ()
    declared: tuple[int, ...] | None = None  # the model's own input shape, when forward() reshaped it

    def then(self, step: "ChainStep") -> "FloatInput":
        return FloatInput(self.name, self.shape, self.chain + (step,), self.declared)

    def reshaped(self, shape: tuple[int, ...]) -> "FloatInput":
        """The input seen through ``x.view(...)`` (same element order): the program input keeps the
        model's shape and a reshape follows the input quantizer."""
        return FloatInput(self.name, tuple(shape), self.chain, self.declared or self.shape)


@dataclass(frozen=True, eq=False)
class Const:
    """A value computed from parameters, buffers and constants alone (a torch tensor or a number).

    ``node`` names the fx node that computed it (for error messages).
    """

    value: Any
    node: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(getattr(self.value, "shape", ()))


@dataclass(frozen=True)
class IntTensor:
    """Per-element exact integers: ``value = (a * q + b) * step``.

    ``q`` is an object array of unsigned Words, ``a`` and ``b`` int64 arrays
    of the same shape, and ``hi`` the largest value each ``q`` can take.
    ``source`` names the layer that produced it (for error messages).
    """

    q: np.ndarray
    a: np.ndarray
    b: np.ndarray
    hi: np.ndarray
    step: float
    source: str

    @property
    def shape(self) -> tuple[int, ...]:
        return self.q.shape

    def reshape(self, shape: tuple[int, ...]) -> "IntTensor":
        return IntTensor(self.q.reshape(shape), self.a.reshape(shape), self.b.reshape(shape),
                         self.hi.reshape(shape), self.step, self.source)

    def is_sign(self) -> bool:
        """True when every element is a +-1 bit (``a = 2, b = -1``, one bit)."""
        return bool(np.all(self.a == 2) and np.all(self.b == -1) and np.all(self.hi == 1))

    def value_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest integer value (``a * q + b``) of each element."""
        return self.b.copy(), self.a * self.hi + self.b


@dataclass(frozen=True)
class ChainStep:
    """One elementwise layer waiting to be folded: ``fn(torch_tensor) -> torch_tensor``."""

    name: str
    kind: str
    fn: Callable[[Any], Any]
    codes: Any = None  # nandc.nn.Codes when the step is a quantizer
    quantizes: bool = False  # rounds its input (round, sign, fake quantization ...): its grid may be inferred

    @property
    def rounds(self) -> bool:
        """True when the step's output lies on a grid (declared codes, or a rounding function)."""
        return self.codes is not None or self.quantizes


@dataclass(frozen=True)
class Pending:
    """An integer accumulation followed by elementwise float layers.

    ``acc`` holds the exact integer ``Y`` (as ``IntTensor`` with ``step`` the
    input step, so the accumulator's raw output is ``Y * step``).  ``dequantize``
    maps that raw output to the layer's torch output; ``chain`` lists the
    elementwise layers applied after it.  ``channel_axis`` says which axis
    of the per-sample shape is the channel axis for per-channel layers;
    ``exact`` says ``dequantize`` is the identity (binary layers), so the
    value may be used as an integer directly.  ``uniform`` says
    ``dequantize`` is one increasing function for every channel (a common
    positive scale), so comparing the integers compares torch's values;
    per-channel scales and biases are not uniform.
    """

    acc: IntTensor
    dequantize: Callable[[Any], Any]
    layer: str
    chain: tuple[ChainStep, ...] = field(default_factory=tuple)
    channel_axis: int = 0
    exact: bool = False  # dequantize is the identity: the raw value is already exact
    uniform: bool = True  # dequantize is the same increasing function on every channel

    def then(self, step: ChainStep) -> "Pending":
        return Pending(self.acc, self.dequantize, self.layer, self.chain + (step,), self.channel_axis, self.exact,
                       self.uniform)

    def with_acc(self, acc: IntTensor, channel_axis: int | None = None) -> "Pending":
        """The same float function over another accumulation (pooled, reshaped ...)."""
        axis = self.channel_axis if channel_axis is None else channel_axis
        return Pending(acc, self.dequantize, self.layer, self.chain, axis, self.exact, self.uniform)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.acc.shape
