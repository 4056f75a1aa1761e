"""When the engines use their compiled loops (:mod:`nandc.synth.kernels`, numba).

Kept apart from the loops themselves so that asking costs no numba import:
below :data:`MIN_NODES` AND nodes the Python reference loops run (the same
results; numba's import and the loading of its cached machine code, about a
second of CPU once per process, cost more than they save on one small
circuit) unless the process has loaded the compiled loops already; and
everywhere when numba is not installed.
"""

from __future__ import annotations

import sys

__all__ = ["MIN_NODES", "use_compiled"]

#: Circuits with fewer AND nodes use the Python loops.
MIN_NODES = 2000

_HAVE_NUMBA: bool | None = None


def use_compiled(num_nodes: int) -> bool:
    """Whether an engine working on ``num_nodes`` AND nodes uses the compiled loops."""
    global _HAVE_NUMBA
    if num_nodes < MIN_NODES and "nandc.synth.kernels" not in sys.modules:
        return False
    if _HAVE_NUMBA is None:
        try:
            import numba  # noqa: F401
            _HAVE_NUMBA = True
        except ImportError:  # pragma: no cover - numba is a dependency
            _HAVE_NUMBA = False
    return _HAVE_NUMBA
