"""Import the vendored difflogic package on a CPU-only machine.

difflogic imports its CUDA extension ``difflogic_cuda`` at module level even
when only the pure-python implementation is used.  ``load()`` puts an empty
stand-in module under that name (any use of it raises) and returns the
vendored ``difflogic`` package; its python implementation prints the index
dtypes on every forward call, so callers may want ``quiet()`` around it.
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path

VENDORED = Path(__file__).resolve().parent / "difflogic"


def _stub_cuda() -> None:
    if "difflogic_cuda" in sys.modules:
        return
    stub = types.ModuleType("difflogic_cuda")

    def _missing(*args, **kwargs):
        raise RuntimeError("difflogic_cuda is stubbed out: use implementation='python' on the CPU")

    for name in ("forward", "backward_x", "backward_w", "eval", "tensor_packbits_cuda", "groupbitsum"):
        setattr(stub, name, _missing)
    sys.modules["difflogic_cuda"] = stub


def load():
    """The vendored ``difflogic`` package (CUDA extension stubbed)."""
    _stub_cuda()
    if str(VENDORED) not in sys.path:
        sys.path.insert(0, str(VENDORED))
    import difflogic

    return difflogic


@contextlib.contextmanager
def quiet():
    """Swallow stdout (difflogic's python forward prints the index dtypes on every call)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
