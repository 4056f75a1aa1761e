"""Converter registry: torch module types and functions -> circuit converters.

A converter is ``fn(ctx, target, args, kwargs) -> value`` where ``ctx`` is the
:class:`~nandc.frontend.convert.Context` of the node being converted,
``target`` the module instance (for modules) or the function, and ``args`` /
``kwargs`` the converted input values (see :mod:`nandc.frontend.values`) or
plain Python constants.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["MODULES", "FUNCTIONS", "METHODS", "module_converter", "function_converter",
           "method_converter", "find_module_converter"]

Converter = Callable[..., Any]

MODULES: dict[type, Converter] = {}
FUNCTIONS: dict[Any, Converter] = {}
METHODS: dict[str, Converter] = {}


def module_converter(*types: type):
    """Register a converter for module types (subclasses match too)."""

    def deco(fn):
        for t in types:
            MODULES[t] = fn
        return fn

    return deco


def function_converter(*targets: Any):
    """Register a converter for functions called in ``forward`` (``torch.flatten``, ``F.relu``...)."""

    def deco(fn):
        for t in targets:
            FUNCTIONS[t] = fn
        return fn

    return deco


def method_converter(*names: str):
    """Register a converter for tensor methods (``x.view(...)``, ``x.flatten(1)``...)."""

    def deco(fn):
        for n in names:
            METHODS[n] = fn
        return fn

    return deco


def find_module_converter(module: Any) -> Converter | None:
    for t in type(module).__mro__:
        if t in MODULES:
            return MODULES[t]
    return None
