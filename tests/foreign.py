"""Foreign-shape circuits for the tests of recover and of adder-tree certificates: popcounts as trees
of textbook ripple-carry adders and comparators, as another tool would build them (with ways to break
one gate, for the tests that must reject)."""

from __future__ import annotations


def xor(c, a, b):
    return c.or_(c.and_(a, b ^ 1), c.and_(a ^ 1, b))


def fa(c, a, b, cin, flip=None):
    """Textbook full adder; ``flip`` breaks one gate: "sum" (XNOR) or "carry" (reads ~cin)."""
    t = xor(c, a, b)
    s = xor(c, t, cin)
    carry = c.or_(c.and_(a, b), c.and_(t, cin ^ (flip == "carry")))
    return s ^ (flip == "sum"), carry


def ripple_add(c, a, b, broken=None):
    """``a + b``; ``broken = (index, kind)`` breaks the full adder at bit ``index``."""
    width = max(len(a), len(b))
    a, b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
    carry, out = 0, []
    for i, (x, y) in enumerate(zip(a, b)):
        s, carry = fa(c, x, y, carry, broken[1] if broken and broken[0] == i else None)
        out.append(s)
    return out + [carry]


def tree_count(c, lits, broken=None, shape="balanced"):
    """Popcount by ripple adders: a balanced tree, or a skewed one (left operand grows)."""
    level = [[lit] for lit in lits]
    adds = 0
    while len(level) > 1:
        if shape == "balanced":
            nxt = []
            for i in range(0, len(level) - 1, 2):
                nxt.append(ripple_add(c, level[i], level[i + 1], broken if adds == 3 else None))
                adds += 1
            level = nxt + ([level[-1]] if len(level) % 2 else [])
        else:  # a tree of uneven groups: sizes 1, 2, 3, ... merged in turn
            level = [ripple_add(c, level[0], level[1], broken if adds == 3 else None)] + level[2:]
            level.sort(key=len)
            adds += 1
    return level[0]


def ge(c, bits, k):
    """``bits >= k`` as the carry of a ripple subtractor (constants folded)."""
    carry = 1
    for j, x in enumerate(bits):
        kb = ((k >> j) & 1) ^ 1
        t = xor(c, x, kb)
        carry = c.or_(c.and_(x, kb), c.and_(t, carry))
    return carry if k < (1 << len(bits)) else 0


def yosys_aig(workdir, verilog: str, top: str, name: str | None = None):
    """The circuit Yosys synthesizes from ``verilog`` (module ``top``), read back from AIGER (files
    ``<name>.v`` and ``<name>.aag`` in ``workdir``; ``name`` defaults to ``top``)."""
    import subprocess

    from nandc.ir.io import read

    name = name or top
    (workdir / f"{name}.v").write_text(verilog)
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {workdir / f'{name}.v'}; synth -top {top}; aigmap; "
                    f"opt_clean; write_aiger -ascii -symbols {workdir / f'{name}.aag'}"],
                   check=True, capture_output=True)
    return read(workdir / f"{name}.aag")


def yosys_layer(workdir, n: int, m: int, seed: int = 0, name: str | None = None,
                thresholds: list[int] | None = None):
    """``m`` neurons written as Verilog sums of ``n`` literals of random polarity, each compared with a
    random threshold near ``n / 2`` (or ``thresholds[j]``), synthesized by Yosys (``bench_foreign``'s
    Yosys neurons and layers)."""
    import random

    rng = random.Random(seed)
    width = n.bit_length()
    lines = [f"module layer(input [{n - 1}:0] x, output [{m - 1}:0] y);"]
    for j in range(m):
        terms = " + ".join(f"{{{width - 1}'d0, {'~' if rng.randint(0, 1) else ''}x[{i}]}}" for i in range(n))
        threshold = thresholds[j] if thresholds else n // 2 + rng.randint(-(n // 8), n // 8)
        lines += [f"  wire [{width - 1}:0] s{j} = {terms};", f"  assign y[{j}] = s{j} >= {threshold};"]
    return yosys_aig(workdir, "\n".join(lines + ["endmodule", ""]), "layer", name)
