"""Parameters and progress reporting shared by the optimization passes.

Every pass takes ``params`` as a mapping (what pipelines pass) or as its own
frozen dataclass; :func:`parse_params` turns either into the dataclass and
rejects unknown names.  Long passes report progress through an optional
callback ``progress(stage, done, total)`` found under the key ``progress``
(never by printing).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

from nandc.errors import PassError
from nandc.synth.progress import Progress, ProgressBars, report  # noqa: F401  (re-exported for passes)

__all__ = ["Progress", "parse_params", "check_choice", "report", "ProgressBars"]

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
