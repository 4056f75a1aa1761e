"""Circuits of shapes nandc's frontend does not make, for the synthesis fuzz campaign
(benchmarks/synth_fuzz.py) and its fast slice in the tests (tests/passes/test_synth_fuzz.py).

* :func:`yosys_circuit`: Verilog from templates (ALUs, comparators, barrel shifters, priority
  encoders, leading-zero counters, CRCs, multipliers, saturating adders, popcounts, FSMs,
  random expression trees) synthesized by Yosys to AIGER;
* :func:`edge_circuit`: hand-made AIGs at the edges (constant and input outputs, both phases,
  unused inputs, no inputs or outputs, deep chains, wide fan-out, XOR lattices, redundant logic,
  hundreds of outputs, layers, 2-D and signed buses);
* :func:`mutant_circuit`: AIGER files with one fanin's phase flipped, one fanin rewired or an
  input tied to a constant (cones of a few outputs of large files).

Each is a pure function of its seed.
"""

from __future__ import annotations

import collections
import math
import random
import subprocess
from pathlib import Path


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
                         "proc; opt; techmap; opt; setundef -zero; aigmap; opt_clean"])
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


def e_interface(rng, scale):
    """Odd interfaces: no inputs, no outputs, empty or 0-wide buses, 2-D signed buses, layers."""
    from nandc.ir.circuit import Circuit

    c = Circuit("interface")
    variant = rng.randint(0, 4)
    if variant == 0:  # no inputs: constant outputs only
        c.set_output("y", [rng.randint(0, 1) for _ in range(rng.randint(1, 5))])
        return c
    if rng.randint(0, 1):
        c.add_input_bus("e", 0)
    rows = rng.randint(1, 4)
    xs = list(c.add_input_bus("x", (rows, rng.randint(1, 4)), signed=bool(rng.randint(0, 1))))
    pool = [0, 1] + xs
    for i in range(rng.randint(0, 60)):
        c.current_layer = rng.choice(["", "L1", "L2", "layer.with.dots"])
        pool.append(rng.choice([c.and_, c.or_, c.xor])(_lit(rng, pool), _lit(rng, pool)))
    c.current_layer = ""
    if variant == 1:  # no outputs at all
        return c
    if variant == 2:  # an empty output bus among others
        c.set_output("nothing", [])
    k = rng.randint(1, 3)
    c.set_output("y", [_lit(rng, pool) for _ in range(2 * k)], shape=(2, k), signed=bool(rng.randint(0, 1)))
    return c


def e_wide(rng, scale):
    """Wide single functions: parity, AND, OR, majority-like sums of hundreds of inputs."""
    from nandc.ir.circuit import Circuit

    c = Circuit("wide")
    n = max(2, scale)
    xs = [x ^ rng.randint(0, 1) for x in c.add_input_bus("x", n)]
    parity = xs[0]
    for x in xs[1:]:
        parity = c.xor(parity, x)
    c.set_output("y", [parity, c.and_many(xs), c.or_many(xs), c.xor(c.and_many(xs[::2]), c.or_many(xs[1::2]))])
    return c


EDGE = {"trivial": (e_trivial, (0, 0)), "phases": (e_phases, (0, 0)), "chain": (e_chain, (500, 6000)),
        "fanout": (e_fanout, (500, 5000)), "lattice": (e_lattice, (100, 3000)),
        "redundant": (e_redundant, (40, 1500)), "manyout": (e_manyout, (100, 2000)),
        "random": (e_random, (50, 3000)), "interface": (e_interface, (0, 0)), "wide": (e_wide, (20, 2000))}


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
    """File ``seed % len(files)``, mutated by :func:`mutate_circuit`."""
    from nandc.ir.io import read

    rng = random.Random(seed)
    path = files[seed % len(files)]
    kind, c = mutate_circuit(read(path), rng, max_ands)
    c.name = f"mutant-{path.stem}-{kind}-{seed}"
    return f"{path.stem}:{kind}", c


def mutate_circuit(src, rng: random.Random, max_ands: int = 4000):
    """``(kind, circuit)``: ``src`` (a cone of at most 12 of its outputs if it has more than ``max_ands``
    AND nodes) with one AND node's fanin complemented (``flip``) or replaced by another earlier literal
    (``rewire``), an input tied to a constant (``tie``), or unchanged but rebuilt (``none``)."""
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
    return kind, c


