"""The LLVM JIT backend: run a NandNetlist bit-parallel as native code.

* :mod:`.codegen` — NandNetlist -> LLVM IR text (pure Python).
* :mod:`.jit` — compiling, caching, loading and running (the only place llvmlite is used).
* :mod:`.packing` — numpy samples <-> the ``<4 x i64>`` vector layout.
* :mod:`.fused` — float input -> encoding -> netlist -> decoded outputs in one native loop
  (LLVM IR text; ``CompiledModel.run``/``predict`` use it where it applies).

Importing this package does not import llvmlite; compiling does.

>>> from nandc.backends.llvm import run_netlist            # doctest: +SKIP
>>> run_netlist(netlist, {"x": bits})["y"]                 # doctest: +SKIP
"""

from __future__ import annotations

from nandc.backends.llvm.codegen import generate
from nandc.backends.llvm.jit import JitModule, JitProgram, compile_netlist, run_netlist

__all__ = ["generate", "JitModule", "JitProgram", "compile_netlist", "run_netlist"]
