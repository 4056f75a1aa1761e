"""Synthesis fuzz campaign: circuits of shapes nandc's frontend never makes, through every pass.

Circuit kinds (each circuit is drawn from its seed, so any outcome can be replayed):

* ``yosys``: Verilog written from templates with random widths and constants
  (ALUs with opcode muxes, signed/unsigned comparators, barrel shifters,
  priority encoders, leading-zero counters, CRC/parity trees, signed
  multipliers, saturating adders, popcount loops, FSM next-state logic,
  random expression trees of ``& | ^ ~ ?: + - *``), synthesized by Yosys
  (``synth -flatten; aigmap``) and read back as AIGER;
* ``edge``: hand-made AIGs at the edges: constant outputs, outputs that are
  inputs or complemented inputs, one node in several outputs and in both
  phases, unused inputs, deep chains (thousands of levels), wide fan-out (one
  input read by thousands of nodes), reconvergent XOR lattices, the same
  function built twice in different ways, 0 AND nodes, 1 input, hundreds of
  outputs;
* ``mutant``: the benchmark circuits of ``--circuits`` (cones of a few
  outputs of the large ones) with one fanin's phase flipped, one fanin
  replaced by another earlier literal, or an input tied to a constant.

Each circuit runs through the presets O1, O2, O3, every registered pass alone
and ``--pipelines`` random short pipelines (each with a branch ``{..}`` and a
loop ``(..)*N``).  Every result is checked against the input: exhaustively
up to 16 inputs, else by SAT (nandc's checker, ``--conflicts`` per query),
else (budget spent) by random simulation; the table says which.  Outcomes:

* ``ok``: equivalent (``ok-sim``: only random simulation found no difference);
* ``rejected``: a :class:`~nandc.errors.NandcError` with a message (a valid
  circuit should not be rejected either: these are listed);
* ``mismatch``: the result computes another function;
* ``raw``: any other exception, or a NandcError without a message;
* ``timeout``: a job over ``--timeout`` seconds; ``crash``/``hang``: the child
  process died or stopped answering.

Each batch of circuits runs in a child process with an address-space limit.
CPU time per pass is recorded against circuit size; the slowest jobs per
AND node are listed, and ``--scaling`` times each pass on growing instances
of the edge shapes and prints the exponent of time in size (1: linear).

    python benchmarks/synth_fuzz.py --count 40 --budget 1800
    python benchmarks/synth_fuzz.py --kinds edge --count 5 --seed 100
    python benchmarks/synth_fuzz.py --replay mutant 17          # one circuit, verbose
    python benchmarks/synth_fuzz.py --scaling --kinds none
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("yosys", "edge", "mutant")
OUTCOMES = ("ok", "ok-sim", "rejected", "mismatch", "raw", "timeout", "crash", "hang")
BAD = ("mismatch", "raw", "timeout", "crash", "hang")
DEFAULT_CIRCUITS = "/tmp/s4/circ"


# ====================================================================== Verilog templates
def _w(rng, lo, hi):
    return rng.randint(lo, hi)


def v_alu(rng):
    w = _w(rng, 3, 8)
    ops = ["a + b", "a - b", "a & b", "a | b", "a ^ b", "~(a & b)",
           "{{%d{1'b0}}, $signed(a) < $signed(b)}" % (w - 1), "{{%d{1'b0}}, a < b}" % (w - 1),
           "a << b[%d:0]" % (max(1, w.bit_length()) - 1), "a >> b[%d:0]" % (max(1, w.bit_length()) - 1),
           "$signed(a) >>> b[%d:0]" % (max(1, w.bit_length()) - 1), "b", "a == b ? a : b", "-a"]
    rng.shuffle(ops)
    ops = ops[: rng.randint(3, len(ops))]
    k = max(1, (len(ops) - 1).bit_length())
    cases = "\n".join(f"    {i}: y = {op};" for i, op in enumerate(ops))
    return (f"module top(input [{w-1}:0] a, input [{w-1}:0] b, input [{k-1}:0] op, output reg [{w-1}:0] y,"
            f" output z);\n  always @* begin\n  case (op)\n{cases}\n    default: y = {w}'d{rng.randint(0, (1 << w) - 1)};\n"
            f"  endcase\n  end\n  assign z = y == 0;\nendmodule\n")


def v_cmp(rng):
    w = _w(rng, 2, 12)
    c = rng.randint(0, (1 << w) - 1)
    return (f"module top(input [{w-1}:0] a, input [{w-1}:0] b, output [9:0] y);\n"
            f"  assign y = {{$signed(a) < $signed(b), a < b, $signed(a) <= $signed(b), a >= b, a == b, a != {w}'d{c},"
            f" $signed(a) > -{w}'sd1, a > {w}'d{c}, $signed(b) >= $signed(a), a <= {w}'d{c}}};\nendmodule\n")


def v_barrel(rng):
    w = rng.choice([4, 5, 8, 12, 16])
    s = max(1, (w - 1).bit_length())
    kind = rng.choice(["l", "r", "rot", "ars", "dir"])
    body = {"l": "d << s", "r": "d >> s", "ars": "$signed(d) >>> s",
            "rot": f"(d << s) | (d >> ({w} - s))", "dir": "dir ? d << s : d >> s"}[kind]
    return (f"module top(input [{w-1}:0] d, input [{s-1}:0] s, input dir, output [{w-1}:0] y);\n"
            f"  assign y = {body};\nendmodule\n")


def v_prienc(rng):
    n = _w(rng, 3, 24)
    k = max(1, n.bit_length())
    hi = rng.randint(0, 1)
    loop = f"for (i = 0; i < {n}; i = i + 1)" if hi else f"for (i = {n - 1}; i >= 0; i = i - 1)"
    return (f"module top(input [{n-1}:0] r, output reg [{k-1}:0] y, output reg v);\n  integer i;\n"
            f"  always @* begin\n    y = 0; v = 0;\n    {loop} if (r[i]) begin y = i; v = 1; end\n  end\nendmodule\n")


def v_lzc(rng):
    w = _w(rng, 3, 24)
    k = w.bit_length()
    return (f"module top(input [{w-1}:0] x, output reg [{k-1}:0] y);\n  integer i; reg done;\n"
            f"  always @* begin\n    y = 0; done = 0;\n    for (i = {w-1}; i >= 0; i = i - 1)\n"
            f"      if (!done) begin if (x[i]) done = 1; else y = y + 1; end\n  end\nendmodule\n")


def v_crc(rng):
    w = rng.choice([8, 12, 16, 24, 32])
    p = rng.choice([5, 8, 16])
    poly = rng.randint(1, (1 << p) - 1) | 1
    return (f"module top(input [{w-1}:0] d, input [{p-1}:0] c, output reg [{p-1}:0] y, output par);\n"
            f"  integer i;\n  always @* begin\n    y = c;\n    for (i = 0; i < {w}; i = i + 1)\n"
            f"      y = (y[{p-1}] ^ d[i]) ? ((y << 1) ^ {p}'d{poly}) : (y << 1);\n  end\n"
            f"  assign par = ^d ^ ^c;\nendmodule\n")


def v_smul(rng):
    a, b = _w(rng, 2, 8), _w(rng, 2, 8)
    signed = rng.choice(["signed ", ""])
    return (f"module top(input {signed}[{a-1}:0] a, input {signed}[{b-1}:0] b, output {signed}[{a+b-1}:0] y);\n"
            f"  assign y = a * b;\nendmodule\n")


def v_satadd(rng):
    w = _w(rng, 3, 12)
    mx, mn = (1 << (w - 1)) - 1, 1 << (w - 1)
    return (f"module top(input signed [{w-1}:0] a, input signed [{w-1}:0] b, input sub, output [{w-1}:0] y);\n"
            f"  wire signed [{w}:0] s = sub ? a - b : a + b;\n"
            f"  assign y = (s > {w+1}'sd{mx}) ? {w}'d{mx} : (s < -{w+1}'sd{mn}) ? {w}'d{mn} : s[{w-1}:0];\nendmodule\n")


def v_popcount(rng):
    n = _w(rng, 3, 40)
    k = n.bit_length()
    t = rng.randint(0, n)
    return (f"module top(input [{n-1}:0] x, output reg [{k-1}:0] y, output ge);\n  integer i;\n"
            f"  always @* begin\n    y = 0;\n    for (i = 0; i < {n}; i = i + 1) y = y + x[i];\n  end\n"
            f"  assign ge = y >= {t};\nendmodule\n")


def v_fsm(rng):
    s = _w(rng, 2, 5)
    states = rng.randint(3, 1 << s)
    ni = _w(rng, 1, 6)
    lines = []
    for st in range(states):
        conds = []
        for _ in range(rng.randint(1, 3)):
            bit = rng.randint(0, ni - 1)
            conds.append(f"if ({'!' if rng.randint(0, 1) else ''}in[{bit}]) ns = {rng.randint(0, states - 1)};")
        lines.append(f"    {st}: begin ns = {rng.randint(0, states - 1)}; {' else '.join(conds)} "
                     f"out = {rng.randint(0, 7)}; end")
    return (f"module top(input [{s-1}:0] st, input [{ni-1}:0] in, output reg [{s-1}:0] ns, output reg [2:0] out);\n"
            f"  always @* begin\n  ns = 0; out = 0;\n  case (st)\n" + "\n".join(lines) +
            "\n  default: begin ns = 0; out = 3'd7; end\n  endcase\n  end\nendmodule\n")


def v_expr(rng):
    words = rng.randint(2, 4)
    w = _w(rng, 2, 6)
    names = "abcd"[:words]

    def expr(depth):
        if depth == 0 or rng.random() < 0.2:
            return rng.choice(list(names) + [f"{w}'d{rng.randint(0, (1 << w) - 1)}"])
        op = rng.choice(["&", "|", "^", "~", "?:", "+", "-", "*", "&", "^"])
        if op == "~":
            return f"(~{expr(depth - 1)})"
        if op == "?:":
            return f"(({expr(depth - 1)}) > {expr(depth - 1)} ? {expr(depth - 1)} : {expr(depth - 1)})"
        return f"({expr(depth - 1)} {op} {expr(depth - 1)})"

    outs = rng.randint(1, 3)
    ports = ", ".join(f"input [{w-1}:0] {n}" for n in names) + ", " + ", ".join(
        f"output [{w-1}:0] y{i}" for i in range(outs))
    body = "\n".join(f"  assign y{i} = {expr(rng.randint(2, 5))};" for i in range(outs))
    return f"module top({ports});\n{body}\nendmodule\n"


VERILOG = {"alu": v_alu, "cmp": v_cmp, "barrel": v_barrel, "prienc": v_prienc, "lzc": v_lzc, "crc": v_crc,
           "smul": v_smul, "satadd": v_satadd, "popcount": v_popcount, "fsm": v_fsm, "expr": v_expr}


def yosys_circuit(seed: int, workdir: Path):
    from nandc.ir.io import read

    rng = random.Random(seed)
    shape = sorted(VERILOG)[seed % len(VERILOG)]
    src = VERILOG[shape](rng)
    v, aag = workdir / f"y{seed}.v", workdir / f"y{seed}.aag"
    v.write_text(src)
    script = rng.choice(["synth -flatten -top top; aigmap; opt_clean",
                         "synth -flatten -top top; abc -g AND; aigmap; opt_clean",
                         "proc; opt; techmap; opt; aigmap; opt_clean"])
    res = subprocess.run(["yosys", "-q", "-p", f"read_verilog {v}; hierarchy -top top; {script}; "
                          f"write_aiger -ascii -symbols {aag}"], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"yosys failed on {shape}: {res.stderr[-500:]}\n{src}")
    c = read(aag)
    c.name = f"yosys-{shape}-{seed}"
    return shape, c


# ====================================================================== edge-case AIGs
def _lit(rng, pool, recent=None):
    lo = 0 if recent is None else max(0, len(pool) - recent)
    return pool[rng.randint(lo, len(pool) - 1)] ^ rng.randint(0, 1)


def e_trivial(rng, scale):
    """Outputs that are constants, inputs, complemented inputs; maybe 0 AND nodes, maybe 1 input."""
    from nandc.ir.circuit import Circuit

    c = Circuit("trivial")
    n = rng.choice([1, 1, 2, 3, 17])
    xs = list(c.add_input_bus("x", n))
    pool = [0, 1] + xs
    if rng.randint(0, 1):
        for _ in range(rng.randint(1, 6)):
            pool.append(c.and_(_lit(rng, pool), _lit(rng, pool)))
    c.set_output("y", [_lit(rng, pool) for _ in range(rng.randint(1, 12))])
    if rng.randint(0, 1):
        c.set_output("k", [rng.randint(0, 1) for _ in range(rng.randint(1, 3))])
    return c


def e_phases(rng, scale):
    """One node in many outputs, in both phases, plus unused inputs and duplicated output bits."""
    from nandc.ir.circuit import Circuit

    c = Circuit("phases")
    xs = list(c.add_input_bus("x", rng.randint(2, 10)))
    c.add_input_bus("unused", rng.randint(1, 5))
    pool = [0, 1] + xs
    for _ in range(rng.randint(3, 40)):
        op = rng.choice([c.and_, c.or_, c.xor])
        pool.append(op(_lit(rng, pool), _lit(rng, pool)))
    shared = pool[-1]
    bits = []
    for _ in range(rng.randint(4, 30)):
        r = rng.random()
        bits.append(shared ^ rng.randint(0, 1) if r < 0.5 else _lit(rng, pool))
    c.set_output("y", bits)
    c.set_output("z", [shared, shared ^ 1, shared, xs[0], xs[0] ^ 1, 0, 1])
    return c


def e_chain(rng, scale):
    """A very deep chain: thousands of levels of AND/OR/XOR/MUX through a few inputs."""
    from nandc.ir.circuit import Circuit

    c = Circuit("chain")
    xs = list(c.add_input_bus("x", rng.randint(2, 24)))
    t = xs[0]
    outs = []
    mix = rng.choice(["and", "xor", "mixed"])
    for i in range(scale):
        x = xs[rng.randint(0, len(xs) - 1)] ^ rng.randint(0, 1)
        op = mix if mix != "mixed" else rng.choice(["and", "or", "xor", "mux"])
        if op == "and":
            t = c.and_(t, x) if rng.random() < 0.5 else c.or_(t, x)
        elif op == "or":
            t = c.or_(t ^ 1, x)
        elif op == "xor":
            t = c.xor(t, x)
        else:
            t = c.mux(x, t, t ^ 1)
        if rng.random() < 8 / scale:
            outs.append(t)
    c.set_output("y", outs + [t])
    return c


def e_fanout(rng, scale):
    """One input read by thousands of nodes (a wide, shallow fan-out)."""
    from nandc.ir.circuit import Circuit

    c = Circuit("fanout")
    hub = c.add_input_bus("h", 1)[0]
    xs = list(c.add_input_bus("x", rng.randint(8, 64)))
    pool = xs[:]
    leaves = []
    for i in range(scale):
        a = _lit(rng, pool)
        n = rng.choice([c.and_, c.xor, c.or_])(hub ^ (i & 1), a)
        leaves.append(n)
        if rng.random() < 0.3:
            pool.append(n)
    # a few wide reductions of the leaves, and many single leaves as outputs
    outs = [leaves[rng.randint(0, len(leaves) - 1)] for _ in range(min(200, scale))]
    red = c.xor(c.and_many(leaves[::3]), c.or_many(leaves[1::3]))
    c.set_output("y", outs)
    c.set_output("r", [red])
    return c


def e_lattice(rng, scale):
    """A reconvergent XOR lattice (Pascal's triangle mod 2 of random rows), with AND/OR cells sprinkled in."""
    from nandc.ir.circuit import Circuit

    c = Circuit("lattice")
    width = max(4, int(math.sqrt(scale)))
    row = list(c.add_input_bus("x", min(width, 48)))
    while len(row) < width:
        row.append(c.xor(row[rng.randint(0, len(row) - 1)], row[rng.randint(0, len(row) - 1)]))
    p_and = rng.choice([0.0, 0.05, 0.3])
    while len(row) > 1:
        nxt = []
        for i in range(len(row) - 1):
            a, b = row[i], row[i + 1]
            nxt.append(c.and_(a, b ^ 1) if rng.random() < p_and else c.xor(a, b))
        if rng.random() < 0.5:
            nxt.append(c.xor(row[-1], row[0]))
        row = nxt if len(nxt) < len(row) or rng.random() < 0.5 else nxt[:-1]
        if len(row) > width:
            row = row[:width]
    c.set_output("y", row)
    return c


def e_redundant(rng, scale):
    """The same functions built twice in different structures, and both kept as outputs."""
    from nandc.ir.circuit import Circuit

    c = Circuit("redundant")
    xs = list(c.add_input_bus("x", rng.randint(3, 20)))

    def xor3(a, b):
        return c.or_(c.and_(a, b ^ 1), c.and_(a ^ 1, b))

    def xor_b(a, b):
        return c.and_(c.or_(a, b), c.and_(a, b) ^ 1)

    def maj_a(a, b, d):
        return c.or_(c.or_(c.and_(a, b), c.and_(a, d)), c.and_(b, d))

    def maj_b(a, b, d):
        return c.mux(a, c.or_(b, d), c.and_(b, d))

    pool_a, pool_b = xs[:], xs[:]
    for _ in range(max(4, scale // 8)):
        i, j, k = (rng.randint(0, len(pool_a) - 1) for _ in range(3))
        f = rng.randint(0, 2)
        pa = [pool_a[i], pool_a[j], pool_a[k]]
        pb = [pool_b[i], pool_b[j], pool_b[k]]
        if f == 0:
            pool_a.append(xor3(pa[0], pa[1]))
            pool_b.append(xor_b(pb[0], pb[1]))
        elif f == 1:
            pool_a.append(maj_a(*pa))
            pool_b.append(maj_b(*pb))
        else:
            pool_a.append(c.and_(pa[0], pa[1] ^ 1))
            pool_b.append(c.and_(c.or_(pb[0] ^ 1, pb[1]) ^ 1, c.or_(pb[0], pb[1] ^ 1) ^ 0))
    n = rng.randint(1, 8)
    c.set_output("a", pool_a[-n:])
    c.set_output("b", pool_b[-n:])
    c.set_output("eq", [c.xnor(pool_a[-1], pool_b[-1])])
    return c


def e_manyout(rng, scale):
    """Hundreds of outputs over a shared random network (some outputs repeat, some are constants)."""
    from tests.strategies import random_circuit

    base = random_circuit(rng.randint(0, 1 << 30), rng.randint(4, 40), scale, max_output_width=4)
    from nandc.ir.circuit import Circuit

    c, lit_of = _copy(base)
    pool = [lit for lit in lit_of if lit is not None]
    c.set_output("many", [rng.choice(pool) ^ rng.randint(0, 1) if rng.random() < 0.95 else rng.randint(0, 1)
                          for _ in range(rng.randint(100, 600))])
    return c


def e_random(rng, scale):
    """nandc's own random circuits, at larger sizes with a deep or a wide bias."""
    from tests.strategies import random_circuit

    return random_circuit(rng.randint(0, 1 << 30), rng.randint(1, 60), scale, max_output_width=24,
                          recent=rng.choice([2, 8, 64, 100000]))


EDGE = {"trivial": (e_trivial, (0, 0)), "phases": (e_phases, (0, 0)), "chain": (e_chain, (500, 6000)),
        "fanout": (e_fanout, (500, 5000)), "lattice": (e_lattice, (100, 3000)),
        "redundant": (e_redundant, (40, 1500)), "manyout": (e_manyout, (100, 2000)),
        "random": (e_random, (50, 3000))}


def edge_circuit(seed: int):
    rng = random.Random(seed)
    shape = sorted(EDGE)[seed % len(EDGE)]
    fn, (lo, hi) = EDGE[shape]
    scale = int(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if hi else 0
    c = fn(rng, scale)
    c.name = f"edge-{shape}-{seed}"
    return shape, c


# ====================================================================== mutants
def _copy(src, roots=None, mutate=None):
    """``src`` rebuilt node by node through ``and_`` (so folded and hashed again); ``mutate(node, f0, f1, lit_of)``
    may return other fanins for a node."""
    from nandc.ir.circuit import Circuit

    c = Circuit(src.name)
    lit_of: list = [None] * src.num_nodes
    lit_of[0] = 0
    for name, bus in src.input_buses.items():
        lits = c.add_input_bus(name, bus.shape, bus.signed)
        for old, new in zip(bus.bits, lits):
            lit_of[old >> 1] = new
    for node in src.inputs:
        if lit_of[node] is None:
            lit_of[node] = c.add_input()
    mask = src.reachable(roots) if roots is not None else None
    for node in src.and_nodes():
        if mask is not None and not mask[node]:
            continue
        a, b = src.fanins(node)
        if mutate is not None:
            a, b = mutate(node, a, b)
        lit_of[node] = c.and_(lit_of[a >> 1] ^ (a & 1), lit_of[b >> 1] ^ (b & 1))
    return c, lit_of


def mutant_circuit(seed: int, files: list[Path], max_ands: int = 4000):
    from nandc.ir.io import read

    rng = random.Random(seed)
    path = files[seed % len(files)]
    src = read(path)
    outs = [(name, i, lit) for name, bus in src.output_buses.items() for i, lit in enumerate(bus.bits)]
    roots = None
    if src.num_ands > max_ands:  # a cone of a few outputs
        picked = []
        lits = []
        order = list(range(len(outs)))
        rng.shuffle(order)
        for k in order[: rng.randint(1, 12)]:
            picked.append(outs[k])
            lits.append(outs[k][2])
        mask = src.reachable(lits)
        f0, _, _ = src.arrays()
        if int((mask & (f0 != 0)).sum()) > 4 * max_ands:
            picked = picked[:1]
        outs = picked
        roots = [lit for _, _, lit in outs]
    live = src.reachable(roots)
    ands = [n for n in src.and_nodes() if live[n]]
    built = [0] + [n for n in src.inputs] + ands  # nodes the copy has (a rewired fanin must be one)
    kind = rng.choice(["flip", "rewire", "tie", "flip", "none"])
    target = rng.choice(ands) if ands else None
    tied = {}
    if kind == "tie" and src.inputs:
        tied[rng.choice(src.inputs)] = rng.randint(0, 1)

    def mutate(node, a, b):
        if tied:
            a = tied[a >> 1] ^ (a & 1) if (a >> 1) in tied else a
            b = tied[b >> 1] ^ (b & 1) if (b >> 1) in tied else b
        if node == target:
            if kind == "flip":
                return (a ^ 1, b) if rng.randint(0, 1) else (a, b ^ 1)
            if kind == "rewire":  # replace one fanin by another earlier literal (keeps topological order)
                earlier = [m for m in built if m < node]
                other = 2 * rng.choice(earlier) + rng.randint(0, 1)
                return (other, b) if rng.randint(0, 1) else (a, other)
        return a, b

    c, lit_of = _copy(src, roots, mutate)
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for name, _, lit in outs:
        if (lit >> 1) in tied:
            groups[name].append(tied[lit >> 1] ^ (lit & 1))
        else:
            groups[name].append(lit_of[lit >> 1] ^ (lit & 1))
    for name, bits in groups.items():
        c.set_output(name, bits)
    c.name = f"mutant-{path.stem}-{kind}-{seed}"
    return f"{path.stem}:{kind}", c


# ====================================================================== jobs
def pass_jobs(rng: random.Random, pipelines: int) -> list[tuple[str, str]]:
    from nandc.passes import PASSES

    jobs = [("O1", "O1"), ("O2", "O2"), ("O3", "O3")]
    for name, info in sorted(PASSES.items()):
        jobs.append((name, name))
    jobs.append(("nand[cover]", "nand[cover=true]"))
    jobs.append(("map[choices]", "snapshot;rewrite;map[choices=true,swap=true]"))
    circuit_passes = [n for n, p in sorted(PASSES.items()) if p.produces == "circuit" and n != "snapshot"]
    for i in range(pipelines):
        pick = lambda: rng.choice(circuit_passes)  # noqa: E731
        steps = [pick() for _ in range(rng.randint(0, 2))]
        steps.insert(rng.randint(0, len(steps)), "{" + ";".join(pick() for _ in range(rng.randint(1, 2))) + "}")
        steps.insert(rng.randint(0, len(steps)),
                     "(" + ";".join(pick() for _ in range(rng.randint(1, 2))) + f")*{rng.randint(1, 3)}")
        if rng.randint(0, 1):
            steps.insert(0, "snapshot")
        last = rng.choice(["nand", "nand[cover=true]", "map[choices=true]", "map", "balance"])
        jobs.append((f"pipe{i}", ";".join(steps + [last])))
    return jobs


def check(source, result, conflicts: int) -> tuple[str, str]:
    """(outcome, detail) of comparing ``result`` with ``source``."""
    from nandc.errors import EquivalenceError
    from nandc.synth.equiv import check_equivalence

    n = source.num_inputs
    if n <= 16:
        r = check_equivalence(source, result, method="exhaustive")
    else:
        try:
            r = check_equivalence(source, result, method="sat", conflict_budget=conflicts)
        except EquivalenceError as e:
            if "conflict" not in str(e):
                raise
            r = check_equivalence(source, result, method="simulation", samples=1 << 14, seed=1)
    if not r:
        return "mismatch", str(r)[:1500]
    return ("ok-sim" if r.method == "simulation" else "ok"), r.method


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def make_circuit(kind: str, seed: int, workdir: Path, files: list[Path]):
    if kind == "yosys":
        return yosys_circuit(seed, workdir)
    if kind == "edge":
        return edge_circuit(seed)
    if kind == "mutant":
        return mutant_circuit(seed, files)
    raise ValueError(kind)


def run_circuit(kind: str, seed: int, args, workdir: Path, files: list[Path], emit) -> None:
    from nandc.errors import NandcError
    from nandc.ir.netlist import NandNetlist
    from nandc.passes import run_pipeline

    shape, c = make_circuit(kind, seed, workdir, files)
    c.verify()
    info = {"kind": kind, "seed": seed, "shape": shape, "ands": c.num_ands, "inputs": c.num_inputs,
            "outputs": len(c.output_literals()), "depth": c.depth()}
    rng = random.Random(seed * 7919 + 1)
    for job, pipeline in pass_jobs(rng, args.pipelines):
        if args.only and job not in args.only:
            continue
        emit({**info, "job": job, "pipeline": pipeline, "outcome": "started"})
        t0 = time.process_time()
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(int(args.timeout))
        try:
            result, _ = run_pipeline(c, pipeline)
            cpu = time.process_time() - t0
            signal.alarm(0)
            size = result.num_gates if isinstance(result, NandNetlist) else result.num_ands
            outcome, detail = check(c, result, args.conflicts)
        except _Timeout:
            cpu, size = time.process_time() - t0, -1
            outcome, detail = "timeout", f"over {args.timeout} s"
        except NandcError as e:
            signal.alarm(0)
            cpu, size = time.process_time() - t0, -1
            msg = str(e).strip()
            outcome = "rejected" if msg else "raw"
            detail = f"{type(e).__name__}: {msg}"[:1500]
        except Exception as e:  # noqa: BLE001 - the campaign counts these
            signal.alarm(0)
            cpu, size = time.process_time() - t0, -1
            outcome, detail = "raw", traceback.format_exc()[-3000:]
        finally:
            signal.alarm(0)
        emit({**info, "job": job, "pipeline": pipeline, "outcome": outcome, "detail": detail,
              "cpu": round(cpu, 4), "size": size})


def child(kind: str, start: int, count: int, args) -> None:
    files = sorted(Path(args.circuits).glob("*.aig")) if kind == "mutant" else []

    def emit(item):
        sys.stdout.write(json.dumps(item) + "\n")
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="synthfuzz") as tmp:
        for seed in range(start, start + count):
            try:
                run_circuit(kind, seed, args, Path(tmp), files, emit)
            except Exception:  # noqa: BLE001 - generating the circuit failed: not a finding about nandc passes
                emit({"kind": kind, "seed": seed, "job": "generate", "outcome": "raw",
                      "detail": traceback.format_exc()[-3000:], "shape": "?", "ands": 0, "cpu": 0})


# ====================================================================== parent
def _parse_size(text: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def _child_argv(args, kind, start, count):
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(start), str(count),
            "--pipelines", str(args.pipelines), "--timeout", str(args.timeout), "--conflicts", str(args.conflicts),
            "--circuits", args.circuits]
    if args.only:
        argv += ["--only", ",".join(args.only)]
    return argv


def run_batch(args, kind: str, start: int, count: int, deadline: float) -> list[dict]:
    """Outcomes of circuits ``start ..`` of ``kind``, restarting the child after a crash or hang."""
    memory = _parse_size(args.memory)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NANDC_MAX_MEMORY": str(memory // 2)}
    results: list[dict] = []

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    seed, end = start, start + count
    while seed < end and time.monotonic() < deadline:
        proc = subprocess.Popen(_child_argv(args, kind, seed, end - seed), cwd=ROOT, env=env, preexec_fn=limits,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        last = None
        stalled = False
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], args.timeout + 120)
            if not ready:
                stalled = True
                break
            line = proc.stdout.readline()
            if not line:
                break
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if item["outcome"] == "started":
                last = item
                continue
            last = None
            results.append(item)
            if args.verbose or item["outcome"] in BAD:
                print(f"  {item['kind']} {item['seed']} {item.get('shape')} {item['job']}: {item['outcome']}"
                      f" ({item.get('cpu', 0):.2f}s, {item.get('ands')} ANDs)", flush=True)
            seed = item["seed"] + (1 if item["job"] == "generate" else 0)
            if time.monotonic() > deadline:
                break
        if stalled or time.monotonic() > deadline:
            proc.kill()
        proc.wait()
        if last is not None:  # the child died or hung inside this job
            outcome = "hang" if stalled else "crash"
            item = {**last, "outcome": outcome, "detail": f"child ended with status {proc.returncode}", "cpu": 0}
            results.append(item)
            print(f"  {kind} {last['seed']} {last['shape']} {last['job']}: {outcome}", flush=True)
            seed = last["seed"] + 1
        elif results and results[-1]["seed"] >= seed:
            seed = results[-1]["seed"] + 1
        if time.monotonic() > deadline:
            break
        if proc.returncode == 0 and last is None:
            break
    return results


def summary(results: list[dict]) -> str:
    lines = []
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    circuits: dict[str, set] = collections.defaultdict(set)
    for r in results:
        table[r["kind"]][r["outcome"]] += 1
        circuits[r["kind"]].add(r["seed"])
    head = f"| {'kind':<7} | {'circuits':>8} | {'jobs':>6} | " + " | ".join(f"{c:>8}" for c in OUTCOMES) + " |"
    lines += [head, "|" + "|".join("-" * (len(x)) for x in head.split("|")[1:-1]) + "|"]
    total = collections.Counter()
    for kind in sorted(table):
        row = table[kind]
        total.update(row)
        lines.append(f"| {kind:<7} | {len(circuits[kind]):>8} | {sum(row.values()):>6} | "
                     + " | ".join(f"{row[c]:>8}" for c in OUTCOMES) + " |")
    lines.append(f"| {'all':<7} | {sum(len(s) for s in circuits.values()):>8} | {sum(total.values()):>6} | "
                 + " | ".join(f"{total[c]:>8}" for c in OUTCOMES) + " |")
    return "\n".join(lines)


def shape_table(results: list[dict]) -> str:
    per: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    seeds: dict[tuple, set] = collections.defaultdict(set)
    for r in results:
        key = (r["kind"], str(r.get("shape", "?")).split(":")[0])
        per[key]["bad" if r["outcome"] in BAD else r["outcome"]] += 1
        seeds[key].add(r["seed"])
    lines = ["| kind | shape | circuits | jobs | ok | ok-sim | rejected | bad |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(per):
        row = per[key]
        lines.append(f"| {key[0]} | {key[1]} | {len(seeds[key])} | {sum(row.values())} | {row['ok']} | {row['ok-sim']} "
                     f"| {row['rejected']} | {row['bad']} |")
    return "\n".join(lines)


def timing_table(results: list[dict], top: int = 12) -> str:
    """Per job: total CPU, and the worst microseconds per AND node on circuits of at least 200 ANDs."""
    per: dict[str, list] = collections.defaultdict(list)
    for r in results:
        if r.get("cpu") is not None and r["outcome"] not in ("crash", "hang") and r["job"] != "generate":
            per[r["job"]].append(r)
    lines = ["| job | runs | total CPU s | max s | worst us/AND (>=200 ANDs) | on |", "|---|---:|---:|---:|---:|---|"]
    for job in sorted(per, key=lambda j: -sum(r["cpu"] for r in per[j])):
        rs = per[job]
        big = [r for r in rs if r["ands"] >= 200]
        worst = max(big, key=lambda r: r["cpu"] / r["ands"], default=None)
        w = f"{1e6 * worst['cpu'] / worst['ands']:.0f}" if worst else "-"
        on = f"{worst['kind']} {worst['seed']} {worst['shape']} ({worst['ands']} ANDs, {worst['cpu']:.2f} s)" if worst else ""
        lines.append(f"| {job} | {len(rs)} | {sum(r['cpu'] for r in rs):.1f} | {max(r['cpu'] for r in rs):.2f} "
                     f"| {w} | {on} |")
    return "\n".join(lines)


# ====================================================================== scaling
def scaling(args) -> str:
    """Each pass on growing instances of the edge shapes; the exponent of CPU time in size."""
    from nandc.passes import run_pipeline

    jobs = [j for j in pass_jobs(random.Random(0), 0) if not args.only or j[0] in args.only]
    lines = ["| shape | job | " + " | ".join(f"n={n}" for n in args.scaling_sizes) + " | exponent |",
             "|---|---|" + "---:|" * (len(args.scaling_sizes) + 1)]
    for shape in args.scaling_shapes:
        fn, _ = EDGE[shape]
        circuits = [fn(random.Random(1), n) for n in args.scaling_sizes]
        for job, pipeline in jobs:
            cells, points = [], []
            for c in circuits:
                t0 = time.process_time()
                run_pipeline(c, pipeline)
                t = time.process_time() - t0
                cells.append(f"{t:.2f}s/{c.num_ands}")
                points.append((c.num_ands, max(t, 1e-3)))
                if t > args.timeout:
                    break
            big = [p for p in points if p[1] > 0.05]
            exp = (math.log(big[-1][1] / big[0][1]) / math.log(big[-1][0] / big[0][0])
                   if len(big) >= 2 and big[-1][0] > big[0][0] else float("nan"))
            cells += [""] * (len(args.scaling_sizes) - len(cells))
            lines.append(f"| {shape} | {job} | " + " | ".join(cells) + f" | {exp:.2f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default=",".join(KINDS), help=f"circuit kinds, or none (default: {','.join(KINDS)})")
    p.add_argument("--count", type=int, default=20, help="circuits per kind (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    p.add_argument("--batch", type=int, default=10, help="circuits per child process (default: 10)")
    p.add_argument("--pipelines", type=int, default=2, help="random pipelines per circuit (default: 2)")
    p.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help="run only these jobs (O1,O2,O3, pass names, nand[cover], map[choices], pipe0, ...)")
    p.add_argument("--budget", type=float, default=1800, help="wall-clock seconds for the campaign (default: 1800)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one job may take (default: 120)")
    p.add_argument("--conflicts", type=int, default=200000, help="SAT conflict budget per query (default: 200000)")
    p.add_argument("--memory", default="4G", help="address-space limit of a child (default: 4G)")
    p.add_argument("--circuits", default=DEFAULT_CIRCUITS, help=f"AIGER files to mutate (default: {DEFAULT_CIRCUITS})")
    p.add_argument("--scaling", action="store_true", help="also time every pass on growing edge shapes")
    p.add_argument("--scaling-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000, 4000, 8000])
    p.add_argument("--scaling-shapes", type=lambda s: s.split(","), default=["chain", "fanout", "lattice", "redundant"])
    p.add_argument("--json", metavar="FILE", help="also write every outcome to FILE (JSON lines)")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    p.add_argument("--replay", nargs=2, metavar=("KIND", "SEED"), help="run one circuit in this process, verbosely")
    p.add_argument("--save", metavar="FILE", help="with --replay: write the circuit to FILE (AIGER) and stop")
    p.add_argument("--verbose", action="store_true", help="print every outcome")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), args)
        return 0
    files = sorted(Path(args.circuits).glob("*.aig"))
    if args.replay:
        kind, seed = args.replay[0], int(args.replay[1])
        with tempfile.TemporaryDirectory(prefix="synthfuzz") as tmp:
            if args.save:
                from nandc.ir.io import write

                shape, c = make_circuit(kind, seed, Path(tmp), files)
                write(c, args.save)
                print(f"{shape}: {c.num_ands} ANDs, {c.num_inputs} inputs -> {args.save}")
                return 0
            run_circuit(kind, seed, args, Path(tmp), files,
                        lambda item: item["outcome"] != "started" and print(json.dumps(item)))
        return 0
    kinds = [k for k in args.kinds.split(",") if k and k != "none"]
    if "yosys" in kinds and shutil.which("yosys") is None:
        print("yosys not found: the yosys kind is skipped")
        kinds.remove("yosys")
    if "mutant" in kinds and not files:
        print(f"no *.aig in {args.circuits}: the mutant kind is skipped")
        kinds.remove("mutant")
    t0 = time.monotonic()
    deadline = t0 + args.budget
    results: list[dict] = []
    # interleave the kinds batch by batch, so a short budget still covers each of them
    batches = [(k, s, min(args.batch, args.seed + args.count - s))
               for s in range(args.seed, args.seed + args.count, args.batch) for k in kinds]
    for kind, start, count in batches:
        if time.monotonic() > deadline:
            print("time budget spent")
            break
        print(f"{kind} {start}..{start + count - 1}", flush=True)
        results += run_batch(args, kind, start, count, deadline)
    out = [f"## Outcomes\n\n{summary(results)}", f"## By shape\n\n{shape_table(results)}",
           f"## CPU time per job\n\n{timing_table(results)}"]
    bad = [r for r in results if r["outcome"] in BAD or r["outcome"] in ("rejected", "ok-sim")]
    if args.scaling:
        out.append(f"## Scaling (CPU seconds / AND nodes; exponent of time in size)\n\n{scaling(args)}")
    text = "\n\n".join(out)
    print("\n" + text)
    print(f"\n{time.monotonic() - t0:.0f} s")
    for r in bad[:40]:
        print(f"\n{r['kind']} {r['seed']} {r.get('shape')} {r['job']} [{r.get('pipeline')}]: {r['outcome']}\n"
              f"{str(r.get('detail'))[:1500]}")
    if args.json:
        _atomic_write(Path(args.json), "\n".join(json.dumps(r) for r in results) + "\n")
    if args.markdown:
        _atomic_write(Path(args.markdown), text + "\n")
    return 1 if any(r["outcome"] in BAD for r in results) else 0


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
