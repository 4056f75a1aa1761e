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
* ``"window"`` -- a convolution: ``window(target, args, kwargs) -> Window``
  gives its receptive field, and inside a window stage the converter builds ONE
  output position from the ``(C, kh, kw)`` cells (``ctx.window`` is set);
* ``"elementwise"`` -- acts on each element alone (BatchNorm, activations);
* ``"identity"`` -- returns its input (Dropout, Identity);
* ``"movement"`` -- pure data movement (pooling, reshapes, additions):
  ``staged(mctx, target, args, kwargs)`` does it on program tensors;
* ``"meta"`` -- reads shapes only (``x.size(0)``).

A kind may also be a function ``kind(args, kwargs) -> str`` when it depends
on the arguments (``x + y`` of two tensors is data movement, ``x + c`` with a
constant ``c`` is elementwise).

A converter registered for a torch type (``nn.Linear``) matches a user
subclass only when the subclass keeps torch's ``forward``: a subclass with
its own ``forward`` (a ``Conv4bit(nn.Conv2d)`` that quantizes its weight, or
``torch.ao.nn.qat.Linear``) is traced through instead.  Subclasses of nandc's
layers always match.
Converters of optional packages (Brevitas) are imported the first time a
module of that package is looked up.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["MODULES", "FUNCTIONS", "METHODS", "KINDS", "WINDOWS", "STAGED", "FOLDERS", "module_converter",
           "function_converter", "method_converter", "module_folder", "find_module_converter",
           "find_module_folder", "kind_of"]

Converter = Callable[..., Any]

MODULES: dict[type, Converter] = {}
FUNCTIONS: dict[Any, Converter] = {}
METHODS: dict[str, Converter] = {}
KINDS: dict[Converter, str] = {}
WINDOWS: dict[Converter, Callable[[Any], Any]] = {}
STAGED: dict[Converter, Converter] = {}
FOLDERS: dict[type, Callable[..., Any]] = {}
ANY_SUBCLASS: set[type] = set()  # torch base types whose subclasses match even with their own forward
_KINDS = ("whole", "token", "window", "elementwise", "identity", "movement", "meta")


def _note(fn: Converter, kind, window, staged) -> None:
    if callable(kind):
        KINDS[fn] = kind
        if staged is not None:
            STAGED[fn] = staged
        return
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


def kind_of(fn: Converter, args=(), kwargs=None) -> str:
    """The kind of a registered converter for these arguments (see the module docstring)."""
    kind = KINDS.get(fn, "whole")
    if callable(kind):
        return kind(list(args), dict(kwargs or {}))
    return kind


def module_converter(*types: type, kind="whole", window=None, staged=None, any_subclass: bool = False):
    """Register a converter for module types (subclasses match too, see the module docstring;
    ``any_subclass`` for an abstract torch base whose subclasses all define ``forward``)."""

    def deco(fn):
        for t in types:
            MODULES[t] = fn
            if any_subclass:
                ANY_SUBCLASS.add(t)
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


def module_folder(*types: type):
    """Register ``fold(module, layer, *args, **kwargs) -> tensor``: how to evaluate a module of these
    types on constants (parameters) without running anything stateful, e.g. a fake quantizer's observer."""

    def deco(fn):
        for t in types:
            FOLDERS[t] = fn
        return fn

    return deco


def find_module_folder(module: Any):
    _load_optional(module)
    for t in type(module).__mro__:
        if t in FOLDERS:
            return FOLDERS[t]
    return None


#: module-name prefix -> converter module imported on first sight of such a module
OPTIONAL = {
    "brevitas.": "nandc.frontend.converters.brevitas",
}


def _load_optional(module: Any) -> None:
    import importlib

    name = type(module).__module__ or ""
    for prefix, converters in OPTIONAL.items():
        if name.startswith(prefix):
            importlib.import_module(converters)


def _own_forward(t: type, cls: type) -> bool:
    """True when ``cls`` (a subclass of the registered torch type ``t``) overrides ``forward``."""
    return (t.__module__ or "").startswith("torch.") and getattr(cls, "forward", None) is not getattr(t, "forward", None)


def find_module_converter(module: Any) -> Converter | None:
    _load_optional(module)
    cls = type(module)
    for t in cls.__mro__:
        if t in MODULES:
            if t is not cls and t not in ANY_SUBCLASS and _own_forward(t, cls):
                return None
            return MODULES[t]
    return None
