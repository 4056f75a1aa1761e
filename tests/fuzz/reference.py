"""An independent reference for netlist files: tiny readers and a bit-parallel evaluator.

Written from the format descriptions, sharing no code with nandc's readers,
so that a misread by either shows as a disagreement.  Each reader returns a
:class:`Flat` network: inputs in file order, AND (or NAND) gates, outputs in
file order.  It handles the subset of the formats nandc accepts and raises
:class:`RefReject` for anything else.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass

import numpy as np

ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


class RefReject(Exception):
    """The reference does not accept the file."""


@dataclass
class Flat:
    """``values[k]`` of node k: 0 is false, 1..inputs are inputs, then one node per gate.

    ``gates[j] = (x, y)`` are literals ``2 * node + negated``; the gate node is
    ``AND(x, y)`` (``nand=False``) or ``NAND(x, y)``.  ``outputs`` are literals.
    """

    inputs: int
    gates: list[tuple[int, int]]
    outputs: list[int]
    nand: bool = False


def evaluate(flat: Flat, words: np.ndarray) -> np.ndarray:
    """Output words ``(outputs, W)`` for input words ``(inputs, W)`` (uint64, 64 samples a word)."""
    w = words.shape[1]
    values = [np.zeros(w, np.uint64)] + [words[i] for i in range(flat.inputs)]

    def lit(x: int) -> np.ndarray:
        v = values[x >> 1]
        return v ^ ALL if x & 1 else v

    for x, y in flat.gates:
        v = lit(x) & lit(y)
        values.append(v ^ ALL if flat.nand else v)
    return np.array([lit(o) for o in flat.outputs], dtype=np.uint64).reshape(len(flat.outputs), w)


def signature(flat: Flat, seed: int = 1, words: int = 4) -> tuple[int, list[bytes]]:
    """Number of inputs and the sorted output vectors on random inputs (a multiset of functions)."""
    rng = np.random.default_rng(seed)
    ins = rng.integers(0, 2**63, size=(flat.inputs, words), dtype=np.uint64) * np.uint64(2) + \
        rng.integers(0, 2, size=(flat.inputs, words), dtype=np.uint64)
    return flat.inputs, sorted(row.tobytes() for row in evaluate(flat, ins))


# ---------------------------------------------------------------------- AIGER
def _num(tok: bytes) -> int:
    if not tok or not all(48 <= c <= 57 for c in tok) or len(tok) > 20:
        raise RefReject(f"not a number: {tok[:20]!r}")
    return int(tok)


def read_aiger(data: bytes) -> Flat:
    nl = data.find(b"\n")
    if nl < 0:
        raise RefReject("no header line")
    head = data[:nl].split()
    if len(head) < 6 or head[0] not in (b"aag", b"aig"):
        raise RefReject("bad header")
    m, i, l, o, a = (_num(t) for t in head[1:6])
    if l or any(_num(t) for t in head[6:]) or len(head) > 10:
        raise RefReject("latches or properties")
    pos = nl + 1
    binary = head[0] == b"aig"

    def line() -> bytes:
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
            if end == pos:
                raise RefReject("eof")
        text, pos = data[pos:end], end + 1
        return text

    def rows(count: int) -> list[int]:
        toks = line().split()
        if len(toks) != count:
            raise RefReject(f"expected {count} numbers on a line")
        return [_num(t) for t in toks]

    if binary:
        if m != i + a:
            raise RefReject("binary M")
        in_lits = [2 * (k + 1) for k in range(i)]
        out_lits = [rows(1)[0] for _ in range(o)]
        ands = []
        for k in range(a):
            deltas = []
            for _ in range(2):
                value = shift = 0
                while True:
                    if pos >= len(data):
                        raise RefReject("eof in deltas")
                    byte = data[pos]
                    pos += 1
                    value |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                    if shift > 28:
                        raise RefReject("long delta")
                deltas.append(value)
            lhs = 2 * (i + 1 + k)
            r0 = lhs - deltas[0]
            r1 = r0 - deltas[1]
            if not 0 <= r1 <= r0 < lhs:
                raise RefReject("delta range")
            ands.append((lhs, r0, r1))
    else:
        in_lits = [rows(1)[0] for _ in range(i)]
        out_lits = [rows(1)[0] for _ in range(o)]
        ands = [tuple(rows(3)) for _ in range(a)]
    # the rest: symbols, then 'c' and comments (nandc's metadata may name buses, not change logic)
    _check_tail(data[pos:], i, o)
    return _from_defs(m, in_lits, out_lits, ands)


def _check_tail(tail: bytes, i: int, o: int) -> None:
    seen = set()
    for raw in tail.split(b"\n"):
        text = raw.rstrip(b"\r")
        if text == b"c":
            return
        if not text.strip():
            continue
        kind, _, name = text.partition(b" ")
        if kind[:1] not in b"io" or not name:
            raise RefReject("symbol")
        k = _num(kind[1:])
        if k >= (i if kind[:1] == b"i" else o) or kind in seen:
            raise RefReject("symbol range")
        seen.add(kind)


def _from_defs(m: int, in_lits: list[int], out_lits: list[int], ands: list[tuple[int, int, int]]) -> Flat:
    """Renumber variables (defined anywhere, in any order) into a Flat network."""
    node_of: dict[int, int] = {0: 0}
    for k, lit in enumerate(in_lits):
        if lit < 2 or lit & 1 or lit >> 1 in node_of or lit >> 1 > m:
            raise RefReject("input literal")
        node_of[lit >> 1] = k + 1
    defs = {}
    for lhs, r0, r1 in ands:
        if lhs < 2 or lhs & 1 or lhs >> 1 in node_of or lhs >> 1 in defs or lhs >> 1 > m:
            raise RefReject("lhs")
        defs[lhs >> 1] = (r0, r1)
    for lit in [x for d in defs.values() for x in d] + out_lits:
        v = lit >> 1
        if v > m or (v not in node_of and v not in defs):
            raise RefReject("undefined literal")
    gates: list[tuple[int, int]] = []
    state: dict[int, int] = {}

    def visit(root: int) -> None:
        stack = [root]
        while stack:
            v = stack[-1]
            if v in node_of:
                stack.pop()
                continue
            if state.get(v) == 1:
                kids = [x >> 1 for x in defs[v] if x >> 1 not in node_of]
                if kids:
                    raise RefReject("cycle")
                r0, r1 = defs[v]
                gates.append((2 * node_of[r0 >> 1] + (r0 & 1), 2 * node_of[r1 >> 1] + (r1 & 1)))
                node_of[v] = len(in_lits) + len(gates)
                stack.pop()
                continue
            state[v] = 1
            for x in defs[v]:
                if x >> 1 not in node_of:
                    if state.get(x >> 1) == 1:
                        raise RefReject("cycle")
                    stack.append(x >> 1)

    for v in defs:
        visit(v)
    return Flat(len(in_lits), gates, [2 * node_of[x >> 1] + (x & 1) for x in out_lits])


# ---------------------------------------------------------------------- BLIF
_CELLS = {"nand2": ("A", "B"), "and2": ("A", "B"), "or2": ("A", "B"), "inv": ("A",), "buf": ("A",),
          "zero": (), "one": ()}


def read_blif(text: str) -> Flat:
    logical: list[list[str]] = []
    pending: list[str] | None = None
    for raw in text.split("\n"):
        raw = raw.split("#", 1)[0]
        toks = [t for t in re.split(r"[ \t\r\f\v]+", raw) if t]
        cont = bool(toks) and toks[-1].endswith("\\")
        if cont:
            last = toks.pop()[:-1]
            if last:
                toks.append(last)
        if pending is not None:
            pending.extend(toks)
            toks = pending
            pending = None
        if cont:
            pending = toks
            continue
        if toks:
            logical.append(toks)
    if pending:
        logical.append(pending)
    inputs: list[str] = []
    outputs: list[str] = []
    drivers: dict[str, tuple] = {}
    current = None
    ended = model = False
    for toks in logical:
        head = toks[0]
        if ended:
            raise RefReject("after .end")
        if not head.startswith("."):
            if current is None:
                raise RefReject("row without .names")
            k = len(current[1])
            if k == 0:
                if len(toks) != 1 or toks[0] not in ("0", "1"):
                    raise RefReject("constant row")
                pattern, out = "", toks[0]
            else:
                if len(toks) != 2 or len(toks[0]) != k or toks[0].strip("01-") or toks[1] not in ("0", "1"):
                    raise RefReject("cover row")
                pattern, out = toks
            if current[3] is not None and current[3] != out:
                raise RefReject("mixed cover")
            current[3] = out
            current[2].append(pattern)
            continue
        current = None
        if head == ".model":
            if model:
                raise RefReject("two models")
            model = True
        elif head == ".inputs":
            inputs += toks[1:]
        elif head == ".outputs":
            outputs += toks[1:]
        elif head == ".names":
            if len(toks) < 2 or toks[-1] in drivers:
                raise RefReject(".names")
            current = ["names", toks[1:-1], [], None]
            drivers[toks[-1]] = current
        elif head in (".gate", ".subckt"):
            if len(toks) < 2 or toks[1] not in _CELLS:
                raise RefReject("gate")
            pins = {}
            for t in toks[2:]:
                f, eq, s = t.partition("=")
                if not eq or not f or not s or f in pins:
                    raise RefReject("pin")
                pins[f] = s
            if set(pins) != set(_CELLS[toks[1]]) | {"Y"} or pins["Y"] in drivers:
                raise RefReject("pins")
            drivers[pins["Y"]] = ["gate", [pins[p] for p in _CELLS[toks[1]]], toks[1], None]
        elif head == ".end":
            ended = True
        else:
            raise RefReject("directive")
    if not ended or len(set(inputs)) != len(inputs) or any(s in drivers for s in inputs):
        raise RefReject("interface")
    node: dict[str, int] = {s: 2 * (k + 1) for k, s in enumerate(inputs)}
    gates: list[tuple[int, int]] = []

    def and_(x: int, y: int) -> int:
        gates.append((x, y))
        return 2 * (len(inputs) + len(gates))

    def build(d) -> int:
        lits = [node[s] for s in d[1]]
        if d[0] == "gate":
            cell = d[2]
            if cell == "zero":
                return 0
            if cell == "one":
                return 1
            if cell in ("buf", "inv"):
                return lits[0] ^ (cell == "inv")
            if cell == "and2":
                return and_(lits[0], lits[1])
            if cell == "nand2":
                return and_(lits[0], lits[1]) ^ 1
            return and_(lits[0] ^ 1, lits[1] ^ 1) ^ 1  # or2
        rows = d[2]
        if not rows:
            return 0
        terms = []
        for row in rows:
            t = 1
            for ch, x in zip(row, lits):
                if ch != "-":
                    t = and_(t, x ^ (ch == "0")) if t != 1 else x ^ (ch == "0")
            terms.append(t)
        f = 0
        for t in terms:
            f = t if f == 0 else and_(f ^ 1, t ^ 1) ^ 1
        return f if d[3] == "1" else f ^ 1

    state: dict[str, int] = {}
    for root in list(drivers):
        stack = [root]
        while stack:
            s = stack[-1]
            if s in node:
                stack.pop()
                continue
            if s not in drivers:
                raise RefReject("undriven")
            d = drivers[s]
            todo = [x for x in d[1] if x not in node]
            if not todo:
                node[s] = build(d)
                stack.pop()
                continue
            if state.get(s) == 1 and any(state.get(x) == 1 for x in todo):
                raise RefReject("cycle")
            state[s] = 1
            for x in todo:
                if state.get(x) == 1:
                    raise RefReject("cycle")
                stack.append(x)
    for s in outputs:
        if s not in node:
            raise RefReject("undriven output")
    return Flat(len(inputs), gates, [node[s] for s in outputs])


# ---------------------------------------------------------------------- .nandc
def read_model(data: bytes) -> tuple[Flat, dict[str, list[int]]]:
    """The NAND netlist of a model file and the signal list of each output bus (by name)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            meta = json.loads(z.read("netlist.json"))
            with np.load(io.BytesIO(z.read("gates.npz")), allow_pickle=False) as arrays:
                a, b = arrays["a"].tolist(), arrays["b"].tolist()
    except Exception as e:  # the reference is not under test here
        raise RefReject(str(e)) from None
    inputs = int(meta["inputs"])
    # signals: 0 false, 1 true, 2.. inputs, then gates; as Flat literals: signal s -> node
    def lit(s: int) -> int:
        if s == 0:
            return 0
        if s == 1:
            return 1
        return 2 * (s - 1)

    gates = [(lit(x), lit(y)) for x, y in zip(a, b)]
    buses = {spec["name"]: [lit(s) for s in spec["bits"]] for spec in meta["output_buses"]}
    flat = Flat(inputs, gates, [x for bits in buses.values() for x in bits], nand=True)
    return flat, buses
