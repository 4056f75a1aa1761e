"""Optimization and lowering passes, and pipelines of them.

Passes register themselves by name in :data:`PASSES`.  A pipeline string names
passes separated by ``;``, e.g. ``"cleanup;nand"``; the last pass of a full
pipeline is ``nand``, which yields a :class:`~nandc.ir.NandNetlist`.
"""

from __future__ import annotations

from nandc.passes.base import PASSES, PassInfo, Stats, get_pass, register  # noqa: F401
from nandc.passes import cleanup as _cleanup  # noqa: F401  (registers)
from nandc.passes import nand as _nand  # noqa: F401  (registers)
from nandc.passes import sweep as _sweep  # noqa: F401  (registers)
from nandc.passes import rewrite as _rewrite  # noqa: F401  (registers)
from nandc.passes import balance as _balance  # noqa: F401  (registers)
from nandc.passes import refactor as _refactor  # noqa: F401  (registers)
from nandc.passes import resub as _resub  # noqa: F401  (registers)
from nandc.passes import nnsynth as _nnsynth  # noqa: F401  (registers)
from nandc.passes import recover as _recover  # noqa: F401  (registers)
from nandc.passes import mapper as _mapper  # noqa: F401  (registers)
from nandc.passes import xorshare as _xorshare  # noqa: F401  (registers)
from nandc.passes import andshare as _andshare  # noqa: F401  (registers)
from nandc.passes import snapshot as _snapshot  # noqa: F401  (registers)
from nandc.passes import restructure as _restructure  # noqa: F401  (registers)
from nandc.passes import sums as _sums  # noqa: F401  (registers)
from nandc.passes.cleanup import cleanup
from nandc.passes.nand import lower_to_nand
from nandc.passes.pipeline import PRESETS, parse_pipeline, run_pipeline

__all__ = [
    "PASSES", "PassInfo", "Stats", "register", "get_pass", "cleanup", "lower_to_nand",
    "PRESETS", "parse_pipeline", "run_pipeline",
]
