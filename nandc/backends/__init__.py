"""Backends consume a NandNetlist: LLVM JIT, Verilog, reports."""
