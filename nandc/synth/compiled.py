"""When the engines use their compiled loops (:mod:`nandc.synth.kernels`, numba).

Kept apart from the loops themselves so that asking costs no numba import:
below :data:`MIN_NODES` AND nodes the Python reference loops run (the same
results) unless the process has loaded the compiled loops already, and
everywhere when numba is not installed.  Numba's import and the loading of
its cached machine code cost about a second of CPU once per process; -O3
in a fresh process measured the crossover near 400 nodes (283 nodes: 1.2 s
in Python, 1.4 s compiled; 536 nodes: 2.1 s against 1.3 s; 838 nodes: 7.2 s
against 3.7 s).
"""

from __future__ import annotations

import sys

__all__ = ["MIN_NODES", "use_compiled"]

#: Circuits with fewer AND nodes use the Python loops.
MIN_NODES = 400

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
