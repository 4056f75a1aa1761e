"""Converter registry: torch module types and functions -> circuit converters.

A converter is ``fn(ctx, target, args, kwargs) -> value`` where ``ctx`` is the
:class:`~nandc.frontend.convert.Context` of the node being converted,
``target`` the module instance (for modules) or the function, and ``args`` /
``kwargs`` the converted input values (see :mod:`nandc.frontend.values`) or
plain Python constants.

Each converter also has a *kind*, which tells the staged-program driver
(:mod:`nandc.frontend.convert`) where it may run:

* ``"whole"`` (default) -- needs the whole per-sample tensor (linear layers);
* ``"token"`` -- acts on the last axis, token by token (linear layers): on a
  ``(T, F)`` tensor it runs in a rows stage, one position per token;
* ``"window"`` -- a convolution: ``window(module) -> Window`` gives its
  receptive field, and inside a window stage the converter builds ONE
  output position from the ``(C, kh, kw)`` cells (``ctx.window`` is set);
* ``"elementwise"`` -- acts on each element alone (BatchNorm, activations);
* ``"identity"`` -- returns its input (Dropout, Identity);
* ``"movement"`` -- pure data movement (pooling, reshapes, additions):
  ``staged(mctx, target, args, kwargs)`` does it on program tensors;
* ``"meta"`` -- reads shapes only (``x.size(0)``).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["MODULES", "FUNCTIONS", "METHODS", "KINDS", "WINDOWS", "STAGED", "module_converter",
           "function_converter", "method_converter", "find_module_converter", "kind_of"]

Converter = Callable[..., Any]

MODULES: dict[type, Converter] = {}
FUNCTIONS: dict[Any, Converter] = {}
METHODS: dict[str, Converter] = {}
KINDS: dict[Converter, str] = {}
WINDOWS: dict[Converter, Callable[[Any], Any]] = {}
STAGED: dict[Converter, Converter] = {}
_KINDS = ("whole", "token", "window", "elementwise", "identity", "movement", "meta")


def _note(fn: Converter, kind: str, window, staged) -> None:
    if kind not in _KINDS:
        raise ValueError(f"converter kind must be one of {_KINDS}, found {kind!r}")
    if kind == "window" and window is None:
        raise ValueError("a window converter needs window=")
    if kind == "movement" and staged is None:
        raise ValueError("a movement converter needs staged=")
    KINDS[fn] = kind
    if window is not None:
        WINDOWS[fn] = window
    if staged is not None:
        STAGED[fn] = staged


def kind_of(fn: Converter) -> str:
    """The kind of a registered converter (see the module docstring)."""
    return KINDS.get(fn, "whole")


def module_converter(*types: type, kind: str = "whole", window=None, staged=None):
    """Register a converter for module types (subclasses match too)."""

    def deco(fn):
        for t in types:
            MODULES[t] = fn
        _note(fn, kind, window, staged)
        return fn

    return deco


def function_converter(*targets: Any, kind: str = "whole", window=None, staged=None):
    """Register a converter for functions called in ``forward`` (``torch.flatten``, ``F.relu``...)."""

    def deco(fn):
        for t in targets:
            FUNCTIONS[t] = fn
        _note(fn, kind, window, staged)
        return fn

    return deco


def method_converter(*names: str, kind: str = "whole", window=None, staged=None):
    """Register a converter for tensor methods (``x.view(...)``, ``x.flatten(1)``...)."""

    def deco(fn):
        for n in names:
            METHODS[n] = fn
        _note(fn, kind, window, staged)
        return fn

    return deco


def find_module_converter(module: Any) -> Converter | None:
    for t in type(module).__mro__:
        if t in MODULES:
            return MODULES[t]
    return None
