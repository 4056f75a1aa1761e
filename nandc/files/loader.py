"""Finding the user's model for ``nandc compile MODEL``.

``MODEL`` is one of

* ``path/to/file.py:name`` — ``name`` in that file: a ``torch.nn.Module``
  instance, or a class / function called with no arguments that returns one;
* ``package.module:name`` — the same, from an importable module;
* ``path/to/model.pt`` with ``--trust-pickle`` — a fully pickled module.
  Unpickling runs arbitrary code from the file, so nandc refuses it unless
  the user says they trust the file.

``--weights state_dict.pt`` then loads a state dict (safely, tensors only).
The input shape comes from ``--input-shape``, or from an ``input_shape``
attribute of the model or its module.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

from nandc.errors import NandcError

__all__ = ["load_model", "parse_shape"]


MAX_INPUT_ELEMENTS = 1 << 24
"""Most elements one input sample may have (each is at least one circuit input)."""


def _describe(exc: BaseException) -> str:
    """``Type: first line`` of an exception from user code or torch (their messages run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _indented(exc: BaseException) -> str:
    """An exception's full message with continuation lines indented (one error, several lines)."""
    return "\n  ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` or ``"784"`` -> tuple of positive ints (per sample, no batch)."""
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts) \
            or any(int(p) <= 0 for p in parts):
        raise NandcError(f"--input-shape must be positive integers separated by commas (e.g. 1,28,28), found {text!r}")
    dims = tuple(int(p) for p in parts)
    if math.prod(dims) > MAX_INPUT_ELEMENTS:
        raise NandcError(f"--input-shape {text!r} has {math.prod(dims)} elements per sample; nandc compiles inputs "
                         f"of at most {MAX_INPUT_ELEMENTS} elements")
    return dims


def _import_object(spec: str) -> tuple[Any, Any]:
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise NandcError(
            f"MODEL must be 'path/to/file.py:name' or 'package.module:name', found {spec!r}"
        )
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise NandcError(f"MODEL file {str(path)!r} does not exist")
        mod_name = f"_nandc_user_model_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise NandcError(f"MODEL file {str(path)!r} is not a Python file; expected 'path/to/file.py:name'")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise NandcError(f"importing {str(path)!r} failed: {_describe(exc)}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise NandcError(f"cannot import module {target!r}: {_describe(exc)}") from exc
        except Exception as exc:  # the module's own code failed
            raise NandcError(f"importing module {target!r} failed: {_describe(exc)}") from exc
    if not hasattr(module, attr):
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        raise NandcError(f"{target!r} has no attribute {attr!r}; it defines: {', '.join(names)}")
    return module, getattr(module, attr)


def load_model(spec: str, weights: str | None = None, trust_pickle: bool = False):
    """Return ``(model, input_shape or None)`` for a MODEL argument (see module docs)."""
    import torch

    if spec.endswith((".pt", ".pth")) and ":" not in spec:
        if not trust_pickle:
            raise NandcError(
                f"{spec!r} is a pickled file; loading it runs code stored in it. Pass "
                "--trust-pickle if you trust its author, or give 'file.py:factory' with --weights"
            )
        try:
            model = torch.load(spec, weights_only=False)
        except FileNotFoundError:
            raise NandcError(f"MODEL file {spec!r} does not exist") from None
        except Exception as exc:  # a damaged pickle raises anything (UnpicklingError, EOFError, RuntimeError ...)
            raise NandcError(f"cannot unpickle MODEL file {spec!r}: {_describe(exc)}") from None
        module = None
    else:
        module, obj = _import_object(spec)
        model = obj
        if not isinstance(obj, torch.nn.Module):
            if not callable(obj):
                raise NandcError(f"{spec!r} is a {type(obj).__name__}, expected a torch.nn.Module or a factory")
            try:
                model = obj()
            except Exception as exc:  # the user's factory failed, with any exception
                raise NandcError(f"calling {spec!r} with no arguments failed: {_describe(exc)}") from exc
    if not isinstance(model, torch.nn.Module):
        raise NandcError(f"{spec!r} gave a {type(model).__name__}, expected a torch.nn.Module")
    if weights is not None:
        try:
            state = torch.load(weights, weights_only=True, map_location="cpu")
        except FileNotFoundError:
            raise NandcError(f"weights file {weights!r} does not exist") from None
        except Exception as exc:
            raise NandcError(f"cannot read weights {weights!r} as a state dict: {_describe(exc)}") from exc
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError) as exc:
            raise NandcError(f"weights {weights!r} do not fit the model: {_indented(exc)}") from exc
    shape = getattr(model, "input_shape", None) or getattr(module, "input_shape", None)
    if shape is None:
        return model, None
    try:
        return model, parse_shape(",".join(str(d) for d in (shape if isinstance(shape, (tuple, list)) else [shape])))
    except NandcError:
        raise NandcError(f"the model's input_shape attribute must be positive integers (e.g. (1, 28, 28)), "
                         f"found {shape!r}") from None
