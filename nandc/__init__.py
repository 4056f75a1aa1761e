"""nandc: compile trained quantized PyTorch models into NAND2-only netlists.

Typical use::

    import nandc
    compiled = nandc.compile(model, example_input)      # trace, optimize, lower
    compiled.predict(x)                                 # bit-parallel LLVM JIT
    print(compiled.report())                            # NAND2 gates per layer
    compiled.to_verilog("model.v")

``import nandc`` is light: torch and llvmlite load only when a function that
needs them is called.
"""

from __future__ import annotations

from typing import Any

from nandc.errors import NandcError

__version__ = "0.1.0"

__all__ = ["NandcError", "compile", "compile_onnx", "load", "CompiledModel", "quantize_activations", "__version__"]

_LAZY = {"compile": "nandc.model", "load": "nandc.model", "CompiledModel": "nandc.model",
         "quantize_activations": "nandc.frontend.calibrate", "compile_onnx": "nandc.model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nandc' has no attribute {name!r}")
