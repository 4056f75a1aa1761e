"""Parameters and progress reporting shared by the optimization passes.

Every pass takes ``params`` as a mapping (what pipelines pass) or as its own
frozen dataclass; :func:`parse_params` turns either into the dataclass and
rejects unknown names.  Long passes report progress through an optional
callback ``progress(stage, done, total)`` found under the key ``progress``
(never by printing).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Mapping, TypeVar

import numpy as np

from nandc.errors import PassError
from nandc.synth.progress import Progress, ProgressBars, report  # noqa: F401  (re-exported for passes)

__all__ = ["Progress", "parse_params", "check_choice", "check_params", "report", "ProgressBars"]

P = TypeVar("P")


def parse_params(cls: type[P], params: Mapping[str, Any] | P | None, pass_name: str) -> P:
    """``params`` as an instance of the frozen dataclass ``cls``.

    ``None`` gives the defaults; a mapping may set any subset of the fields.
    Raises :class:`PassError` naming the unknown keys and the known ones.
    """
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise PassError(
            f"pass {pass_name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"expected some of: {', '.join(known)}"
        )
    return cls(**dict(params))


def check_choice(pass_name: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise :class:`PassError` unless parameter ``name`` of ``pass_name`` is one of ``allowed``."""
    if value not in allowed:
        raise PassError(f"pass {pass_name!r}: {name} must be one of {', '.join(map(repr, allowed))}, "
                        f"found {value!r}")


_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a word"}


def _kind_ok(kind: str, value: Any) -> bool:
    is_bool = isinstance(value, (bool, np.bool_))
    if kind == "bool":
        return is_bool
    if kind == "int":
        return isinstance(value, numbers.Integral) and not is_bool
    if kind == "float":
        return isinstance(value, numbers.Real) and not is_bool
    if kind == "str":
        return isinstance(value, str)
    return True


def check_params(params: Any, pass_name: str, **ranges: tuple[int | None, int | None]) -> None:
    """Raise :class:`PassError` unless every field of the frozen dataclass ``params`` has the
    type it is declared with (``int``, ``float``, ``bool``, ``str``; an integer is a number
    too, a bool is neither) and every integer is at least 0, or in ``ranges[name] = (lo, hi)``
    (``None``: unbounded on that side) when given.  Called by the parameter classes' ``__post_init__``,
    so that a wrong value is named before a pass trips over it."""
    for f in dataclasses.fields(params):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        value = getattr(params, f.name)
        if not _kind_ok(kind, value):
            raise PassError(f"pass {pass_name!r}: {f.name} must be {_KINDS[kind]}, found {value!r}")
        if kind != "int":
            continue
        lo, hi = ranges.get(f.name, (0, None))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = (f"at least {lo}" if hi is None else f"at most {hi}" if lo is None else f"{lo}..{hi}")
            raise PassError(f"pass {pass_name!r}: {f.name} must be {span}, found {value!r}")
