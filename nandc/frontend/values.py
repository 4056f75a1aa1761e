"""What flows between converters: circuit-side tensors with exact integer meaning.

* :class:`FloatInput` — the model's float input before an input quantizer.
* :class:`IntTensor` — per element an unsigned :class:`~nandc.ir.words.Word`
  ``q`` and integers ``a > 0``, ``b`` with exact torch value
  ``(a * q + b) * step`` (``step`` a power of two).  Binary +-1 activations
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

from nandc.ir.words import Word

__all__ = ["FloatInput", "IntTensor", "Pending", "ChainStep", "BatchDim"]


class BatchDim:
    """Stands for ``x.size(0)`` (the batch dimension) during conversion."""

    def __repr__(self) -> str:
        return "BatchDim"


@dataclass(frozen=True)
class FloatInput:
    """The model's (float) input placeholder; ``shape`` excludes the batch axis."""

    name: str
    shape: tuple[int, ...]


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


@dataclass(frozen=True)
class Pending:
    """An integer accumulation followed by elementwise float layers.

    ``acc`` holds the exact integer ``Y`` (as ``IntTensor`` with ``step`` the
    input step, so the accumulator's raw output is ``Y * step``).  ``dequantize``
    maps that raw output to the layer's torch output; ``chain`` lists the
    elementwise layers applied after it.  ``channel_axis`` says which axis
    of the per-sample shape is the channel axis for per-channel layers;
    ``exact`` says ``dequantize`` is the identity (binary layers), so the
    value may be used as an integer directly.
    """

    acc: IntTensor
    dequantize: Callable[[Any], Any]
    layer: str
    chain: tuple[ChainStep, ...] = field(default_factory=tuple)
    channel_axis: int = 0
    exact: bool = False  # dequantize is the identity: the raw value is already exact

    def then(self, step: ChainStep) -> "Pending":
        return Pending(self.acc, self.dequantize, self.layer, self.chain + (step,), self.channel_axis, self.exact)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.acc.shape
