"""How to feed a compiled model and read its outputs: plain data, no torch.

:class:`Interface` is made by the frontend, saved inside ``.nandc`` files and
read back by :func:`nandc.load` without torch.  The output head's layer tags
(:data:`HEAD_LAYER`, :data:`ARGMAX_LAYER`) live here too, so reports and the
frontend name them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

from nandc.errors import ParseError

__all__ = ["Interface", "HEAD_LAYER", "ARGMAX_LAYER", "HEAD_LAYERS", "read_output_values"]

HEAD_LAYER = "head"
"""Layer tag of the logic that makes the integer logits."""
ARGMAX_LAYER = "argmax"
"""Layer tag of the argmax that makes the class."""
HEAD_LAYERS = (HEAD_LAYER, ARGMAX_LAYER)

_OUTPUT_KINDS = ("codes", "accumulator", "ordinal")
OUTPUT_FUNCTIONS = ("", "softmax", "log_softmax")
"""What may follow the head: nothing, or torch's softmax / log_softmax over the last axis."""
MAX_OUTPUT_VALUES = 1 << 20
"""Most torch floats an ordinal output head may list."""


@dataclass(frozen=True)
class Interface:
    """How to feed a compiled model and read its outputs.

    ``input_encoding`` is the input quantizer's ``encoding()`` dict (see
    :mod:`nandc.encoding`); ``output_step`` and ``output_kind`` tell how
    integer logits map to torch values (``"codes"``: ``value = logits * step``;
    ``"accumulator"``: the last layer's dequantize of ``logits * step``, see
    ``dequantize``, which exists only in the process that compiled the model;
    ``"ordinal"``: the logits are ranks and ``output_values[logit]`` is
    torch's float, saved with the model).  ``output_function`` (``"softmax"``
    or ``"log_softmax"``) is a final float function over the class axis that
    torch applies after that; the class is the argmax of the logits.
    ``reference`` (torch-side, not
    saved) runs the integer model the program reproduces (see
    :mod:`nandc.frontend.reference`).
    """

    input_name: str
    input_shape: tuple[int, ...]
    input_encoding: dict
    output_shape: tuple[int, ...]
    output_kind: str
    output_step: float
    has_class: bool
    dequantize: Callable[[Any], Any] | None = None  # torch-side only, not saved
    output_values: tuple[float, ...] = ()  # ordinal heads: torch's float of each code
    output_function: str = ""  # "softmax" / "log_softmax" over the last axis, applied after the head
    reference: Callable[[Any], Any] | None = None  # torch-side only, not saved

    def to_dict(self) -> dict:
        """Everything but the torch-side callables, as JSON-ready data (``output_values`` only when set)."""
        skip = (("dequantize", "reference") + (() if self.output_values else ("output_values",))
                + (() if self.output_function else ("output_function",)))
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f in fields(self) if f.name not in skip for v in [getattr(self, f.name)]}

    @classmethod
    def from_dict(cls, doc: Any, where: str = "interface") -> "Interface":
        """Read :meth:`to_dict`'s output back, checking every field (:class:`ParseError` if wrong)."""
        if not isinstance(doc, dict):
            raise ParseError(f"{where}: expected an object, found {type(doc).__name__}")

        def get(key, kinds, what):
            value = doc.get(key)
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                raise ParseError(f"{where}: field {key!r} must be {what}, found {value!r}")
            return value

        def shape(key):
            value = get(key, (list,), "a list of non-negative integers")
            if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 31 for d in value):
                raise ParseError(f"{where}: field {key!r} must be a list of non-negative integers, found {value!r}")
            return tuple(value)

        kind = get("output_kind", (str,), "a string")
        if kind not in _OUTPUT_KINDS:
            raise ParseError(f"{where}: output_kind must be one of {_OUTPUT_KINDS}, found {kind!r}")
        step = get("output_step", (int, float), "a number")
        encoding = get("input_encoding", (dict,), "an object")
        values = read_output_values(doc, kind, lambda msg: ParseError(f"{where}: {msg}"))
        function = doc.get("output_function", "")
        if function not in OUTPUT_FUNCTIONS:
            raise ParseError(f"{where}: output_function must be one of {OUTPUT_FUNCTIONS}, found {function!r}")
        return cls(
            input_name=get("input_name", (str,), "a string"),
            input_shape=shape("input_shape"),
            input_encoding=dict(encoding),
            output_shape=shape("output_shape"),
            output_kind=kind,
            output_step=float(step),
            has_class=get("has_class", (bool,), "true or false"),
            output_values=values,
            output_function=function,
        )


def read_output_values(doc: dict, kind: str, error) -> tuple[float, ...]:
    """The ``output_values`` of an interface document, checked: increasing finite numbers, present
    exactly for an ordinal head.  ``error(message)`` makes the exception to raise."""
    import math

    values = doc.get("output_values")
    if kind != "ordinal":
        if values not in (None, []):
            raise error(f"'output_values' belongs to an ordinal head, found it with output_kind {kind!r}")
        return ()
    if not isinstance(values, list) or not values or len(values) > MAX_OUTPUT_VALUES:
        raise error(f"an ordinal head needs 'output_values', a list of 1 to {MAX_OUTPUT_VALUES} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values) \
            or any(a >= b for a, b in zip(values, values[1:])):
        raise error("'output_values' must be increasing finite numbers")
    return tuple(float(v) for v in values)
