"""nandc: compile trained quantized PyTorch models into NAND2-only netlists.

``import nandc`` is light: torch and llvmlite load only when a function that
needs them is called.
"""

from __future__ import annotations

from nandc.errors import NandcError

__version__ = "0.1.0"

__all__ = ["NandcError", "__version__"]
