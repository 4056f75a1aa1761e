"""Yardstick on circuits nandc did not build: foreign-shape neurons, layers and arithmetic vs ABC.

The circuits are built the way a straightforward Verilog description or
another tool produces them, not by nandc's frontend: textbook gates only
(XOR as three ANDs, full adders as two XORs and a majority of ANDs/ORs),

* popcount-threshold neurons ``popcount(x XNOR w) >= T`` of 64, 256 and
  1024 inputs whose popcount is a balanced tree of ripple-carry adders and
  whose compare is a ripple comparator against the constant (constants
  folded, as any synthesis tool folds them);
* binary layers 64x32 and 256x64: every neuron its own adder tree over the
  same inputs, random input polarities and thresholds near ``n / 2``;
* ripple-carry adders of 16 and 32 bits, an 8x8 array multiplier, and one
  CRC-32 step over 32 data bits (XORs only, unrolled bit by bit);
* with ``--yosys``: a 64-input neuron written as one Verilog sum, and a
  64x16 binary layer written as 16 such sums, synthesized by Yosys
  (``synth; aigmap``) to AIGER.

Each runs through ABC's strong script and nandc's pipeline exactly as in
:mod:`bench_abc` (same helpers), and the groups' totals and geometric-mean
ratios are printed.

    python benchmarks/bench_foreign.py                     # everything
    python benchmarks/bench_foreign.py --only fneuron64,flayer64
    python benchmarks/bench_foreign.py --passes O2
    python benchmarks/bench_foreign.py --baseline /tmp/base   # before/after columns (see bench_abc)
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.foreign: the Yosys circuits

import bench_abc  # noqa: E402
from bench_abc import (AbcCache, Row, print_table, run_baseline, run_measured, verify_budgeted,  # noqa: E402
                       warm_up)


# ---------------------------------------------------------------------- textbook gates
def xor(c, a: int, b: int) -> int:
    """``a ^ b`` as ``(a & ~b) | (~a & b)``: three AND nodes, no sharing tricks."""
    return c.or_(c.and_(a, b ^ 1), c.and_(a ^ 1, b))


def full_adder(c, a: int, b: int, cin: int) -> tuple[int, int]:
    t = xor(c, a, b)
    return xor(c, t, cin), c.or_(c.and_(a, b), c.and_(t, cin))


def ripple_add(c, a: list[int], b: list[int]) -> list[int]:
    """Unsigned ``a + b`` (LSB first), one bit wider than the wider operand."""
    width = max(len(a), len(b))
    a = a + [0] * (width - len(a))
    b = b + [0] * (width - len(b))
    carry, out = 0, []
    for x, y in zip(a, b):
        s, carry = full_adder(c, x, y, carry)
        out.append(s)
    return out + [carry]


def adder_tree_popcount(c, lits: list[int]) -> list[int]:
    """Popcount as a balanced tree of ripple-carry adders (leaves are 1-bit words)."""
    level = [[lit] for lit in lits]
    while len(level) > 1:
        nxt = [ripple_add(c, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    width = len(lits).bit_length()
    return (level[0] + [0] * width)[:width]


def ripple_ge_const(c, bits: list[int], k: int) -> int:
    """``bits >= k`` as the carry out of ``bits + ~k + 1`` (a ripple subtractor, constants folded)."""
    carry = 1
    for j, x in enumerate(bits):
        kbit = ((k >> j) & 1) ^ 1
        _, carry = full_adder(c, x, kbit, carry)
    return carry if k < (1 << len(bits)) else 0


# ---------------------------------------------------------------------- the circuits
def foreign_neuron(n: int, seed: int = 0):
    from nandc.ir.circuit import Circuit

    rng = random.Random(seed)
    c = Circuit(f"fneuron{n}")
    x = c.add_input_bus("x", n)
    count = adder_tree_popcount(c, [lit ^ rng.randint(0, 1) for lit in x])
    threshold = n // 2 + rng.randint(-(n // 8), n // 8)
    c.set_output("y", [ripple_ge_const(c, count, threshold)])
    return c


def foreign_layer(n: int, m: int, seed: int = 0):
    from nandc.ir.circuit import Circuit

    rng = random.Random(seed)
    c = Circuit(f"flayer{n}x{m}")
    x = c.add_input_bus("x", n)
    outs = []
    for _ in range(m):
        count = adder_tree_popcount(c, [lit ^ rng.randint(0, 1) for lit in x])
        outs.append(ripple_ge_const(c, count, n // 2 + rng.randint(-(n // 8), n // 8)))
    c.set_output("y", outs)
    return c


def foreign_adder(width: int):
    from nandc.ir.circuit import Circuit

    c = Circuit(f"fadd{width}")
    a, b = c.add_input_bus("a", width), c.add_input_bus("b", width)
    c.set_output("s", ripple_add(c, list(a), list(b)))
    return c


def foreign_crc32(data_bits: int):
    """One CRC-32 step (polynomial 0x04C11DB7, MSB first) over ``data_bits`` data bits, unrolled
    bit by bit as a straightforward description writes it: a network of XORs only."""
    from nandc.ir.circuit import Circuit

    c = Circuit(f"fcrc32d{data_bits}")
    state = list(c.add_input_bus("s", 32))
    for bit in c.add_input_bus("d", data_bits):
        fb = xor(c, state[31], bit)
        state = [fb] + [xor(c, state[i - 1], fb) if (0x04C11DB7 >> i) & 1 else state[i - 1] for i in range(1, 32)]
    c.set_output("crc", state)
    return c


def foreign_multiplier(width: int):
    """Array multiplier: partial-product rows accumulated by ripple-carry adders."""
    from nandc.ir.circuit import Circuit

    c = Circuit(f"fmul{width}x{width}")
    a, b = c.add_input_bus("a", width), c.add_input_bus("b", width)
    acc = [c.and_(a[i], b[0]) for i in range(width)]
    for j in range(1, width):
        row = [0] * j + [c.and_(a[i], b[j]) for i in range(width)]
        acc = ripple_add(c, acc, row)[: 2 * width]
    c.set_output("p", (acc + [0] * (2 * width))[: 2 * width])
    return c


def yosys_layer(n: int, m: int, workdir: Path, seed: int = 0):
    """A binary layer of ``m`` neurons written as Verilog sums with random input polarities and
    thresholds, synthesized by Yosys to AIGER (``m = 1``: ``yneuron<n>``, else ``ylayer<n>x<m>``;
    the Verilog is :func:`tests.foreign.yosys_layer`'s, which the tests use too)."""
    from tests.foreign import yosys_layer as build

    name = f"yneuron{n}" if m == 1 else f"ylayer{n}x{m}"
    c = build(workdir, n, m, seed, name)
    c.name = name
    return c


def suite(use_yosys: bool, workdir: Path):
    for n in (64, 256, 1024):
        yield "f-neuron", f"fneuron{n}", foreign_neuron(n)
    if use_yosys:
        yield "f-neuron", "yneuron64", yosys_layer(64, 1, workdir)
    yield "f-layer", "flayer64x32", foreign_layer(64, 32)
    yield "f-layer", "flayer256x64", foreign_layer(256, 64)
    if use_yosys:
        yield "f-layer", "ylayer64x16", yosys_layer(64, 16, workdir)
    yield "f-arith", "fadd16", foreign_adder(16)
    yield "f-arith", "fadd32", foreign_adder(32)
    yield "f-arith", "fmul8x8", foreign_multiplier(8)
    yield "f-arith", "fcrc32d32", foreign_crc32(32)


def recover_proofs(history) -> str:
    """How the recover pass proved what it rebuilt, e.g. ``recover: 64 certificate``."""
    rec = next((s for s in history if s.pass_name == "recover"), None)
    if rec is None or not rec.notes.get("thresholds"):
        return ""
    n = rec.notes
    kinds = [(n.get("certified", 0), "certificate"), (n.get("bdd", 0), "bdd"),
             (n["thresholds"] - n.get("certified", 0) - n.get("bdd", 0) - n.get("unproved", 0), "sat"),
             (n.get("unproved", 0), "unproved")]
    return "; recover: " + ", ".join(f"{k} {what}" for k, what in kinds if k)


def main(argv=None) -> list[Row]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--passes", default="O3", help="nandc pipeline (default O3)")
    p.add_argument("--abc", default=None, help="ABC binary (default: yosys-abc or berkeley-abc on PATH)")
    p.add_argument("--only", default=None, help="comma-separated substrings of circuit names")
    p.add_argument("--abc-cache", default=None, help="JSON file of ABC results, read and updated")
    p.add_argument("--abc-timeout", type=float, default=3600.0)
    p.add_argument("--sat-limit", type=int, default=60000, help="prove equivalence up to this many AND nodes")
    p.add_argument("--yosys", action="store_true", help="add a Yosys-synthesized neuron and binary layer")
    p.add_argument("--conflicts", type=int, default=200000, help="SAT budget of the final equivalence query")
    p.add_argument("--baseline", default=None, help="checkout of the nandc to compare with (before/after columns)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run each tool (ABC; nandc and the baseline in fresh processes) this many times per circuit and keep the least time")
    args = p.parse_args(argv)

    abc = args.abc or shutil.which("yosys-abc") or shutil.which("berkeley-abc")
    cache = AbcCache(args.abc_cache)
    only = [s for s in (args.only or "").split(",") if s]

    rows: list[Row] = []
    warm_up(args.passes)
    with tempfile.TemporaryDirectory() as tmp:
        for group, name, circuit in suite(args.yosys, Path(tmp)):
            if only and not any(s in name for s in only):
                continue
            abc_gates, abc_s = cache.figures(name, circuit, abc, Path(tmp), args.abc_timeout, args.repeat)
            base_gates = base_s = None
            if args.baseline:
                circuit, base_gates, base_s = run_baseline(circuit, args.baseline, args.passes, Path(tmp), args.repeat)
            circuit, (netlist, seconds, history) = run_measured(circuit, args.passes, Path(tmp), args.repeat,
                                                                with_stats=True)
            checked = verify_budgeted(circuit, netlist, args.sat_limit, args.conflicts) + recover_proofs(history)
            rows.append(Row(group, name, circuit.num_inputs, circuit.num_ands, abc_gates, abc_s,
                            netlist.num_gates, seconds, checked, base_gates, base_s))
            before = f", before {base_gates} ({base_s:.1f} s)" if args.baseline else ""
            print(f"  {name}: ABC {abc_gates} ({abc_s:.1f} s), nandc {netlist.num_gates} ({seconds:.1f} s), "
                  f"{checked}{before}", flush=True)
    print()
    print_table(rows)
    return rows


if __name__ == "__main__":
    assert bench_abc.ABC_SCRIPT
    main()
