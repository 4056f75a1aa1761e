"""Structural Verilog for a :class:`~nandc.ir.NandNetlist`, and a self-checking testbench.

The design is one module of Verilog ``nand`` gate primitives, one per NAND2
gate, so any Verilog tool reads it and counts its gates without synthesis:

* every bus becomes one port, named after the bus; a multi-dimensional bus is
  flattened row-major (``logits`` of shape ``(10, 6)`` is ``[59:0] logits``,
  ``logits[i][j]`` being bit ``6*i + j``), and a comment gives the shape;
* bus names that are not Verilog identifiers, or are keywords, or collide with
  another port or with the internal nets ``n<k>`` / instances ``g<k>``, are
  renamed deterministically (see :func:`sanitize_identifier`);
* signal ``k`` of the netlist is the net ``n<k>`` (gate ``g<k>`` drives it);
  gates that read a constant read the tie nets ``n0 = 1'b0`` / ``n1 = 1'b1``,
  so no tool folds them away; output bits are ``assign``-ed from a gate, an
  input bit or a constant.

Yosys (0.23) reads each ``nand`` primitive as one ``$and`` plus one ``$not``
cell, so ``yosys -p "read_verilog f.v; stat"`` reports ``netlist.num_gates``
of each and no other cell.

The same netlist always gives the same bytes.  The testbench drives vectors
stored inline, compares every output bus and prints ``FAIL`` lines and a
``PASS:`` / ``FAIL:`` summary (see :func:`testbench`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nandc.errors import BackendError, CircuitError
from nandc.files.fsutil import atomic_write
from nandc.ir.bits import unpack_samples, words_to_bits
from nandc.ir.circuit import Bus
from nandc.ir.evaluate import evaluate, input_bits, outputs_from_bits, simulate_netlist
from nandc.ir.netlist import FIRST_INPUT, NandNetlist

__all__ = [
    "VERILOG_KEYWORDS",
    "Port",
    "TestbenchFiles",
    "sanitize_identifier",
    "ports",
    "to_verilog",
    "program_to_verilog",
    "write_verilog",
    "testbench",
    "random_vectors",
    "write_testbench",
    "write_program_testbenches",
]

# IEEE 1364-2005 keywords plus the IEEE 1800-2017 (SystemVerilog) additions, so
# the output also parses in SystemVerilog mode.
VERILOG_KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign
default defparam design disable edge else end endcase endconfig endfunction endgenerate
endmodule endprimitive endspecify endtable endtask event for force forever fork function
generate genvar highz0 highz1 if ifnone incdir include initial inout input instance integer
join large liblist library localparam macromodule medium module nand negedge nmos nor
noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1
pulldown pullup pulsestyle_ondetect pulsestyle_onevent rcmos real realtime reg release repeat
rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand
trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
accept_on alias always_comb always_ff always_latch assert assume before bind bins binsof bit
break byte chandle checker class clocking const constraint context continue cover covergroup
coverpoint cross dist do endchecker endclass endclocking endgroup endinterface endpackage
endprogram endproperty endsequence enum eventually expect export extends extern final
first_match foreach forkjoin global iff ignore_bins illegal_bins implements implies import
inside int interconnect interface intersect join_any join_none let local logic longint
matches modport nettype new nexttime null package packed priority program property protected
pure rand randc randcase randsequence ref reject_on restrict return s_always s_eventually
s_nexttime s_until s_until_with sequence shortint shortreal soft solve static string strong
struct super sync_accept_on sync_reject_on tagged this throughout timeprecision timeunit type
typedef union unique unique0 until until_with untyped var virtual void wait_order weak
wildcard with within
""".split())

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_INVALID_CHAR = re.compile(r"[^A-Za-z0-9_$]")
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")
# names the generated module uses for its own nets and gate instances
_INTERNAL_NAME = re.compile(r"^[ng][0-9]+$")
_NETS_PER_LINE = 16


def sanitize_identifier(name: str) -> str:
    """A legal, non-keyword Verilog identifier derived from ``name``.

    Requires: any string.  Ensures: the result matches
    ``[A-Za-z_][A-Za-z0-9_$]*`` and is no keyword; a name that already is
    such an identifier comes back unchanged.  Invalid characters become
    ``_``, a leading digit or an empty name gets a ``_`` prefix, a keyword
    gets a ``_`` suffix.  (Uniqueness is handled by :func:`ports`.)
    """
    ident = _INVALID_CHAR.sub("_", name)
    if not ident or not (ident[0].isalpha() or ident[0] == "_"):
        ident = "_" + ident
    if ident in VERILOG_KEYWORDS:
        ident += "_"
    return ident


def _unique_identifiers(names: Sequence[str]) -> list[str]:
    """Sanitized names, made distinct and kept off the internal ``n<k>``/``g<k>`` names.

    A clash gets the smallest suffix ``_1``, ``_2``, ... that is free, in order.
    """
    taken: set[str] = set()
    out = []
    for name in names:
        base = sanitize_identifier(name)
        ident, k = base, 0
        while ident in taken or _INTERNAL_NAME.match(ident):
            k += 1
            ident = f"{base}_{k}"
        taken.add(ident)
        out.append(ident)
    return out


@dataclass(frozen=True)
class Port:
    """One module port: a bus flattened row-major into ``[width-1:0] name``."""

    name: str        # Verilog identifier
    direction: str   # "input" or "output"
    bus: Bus

    @property
    def width(self) -> int:
        return self.bus.width


def ports(netlist: NandNetlist) -> tuple[Port, ...]:
    """The module's ports: input buses, then output buses, in declaration order.

    Buses without bits are included (they get no Verilog port; see
    :func:`to_verilog`).  Names are unique, legal identifiers.
    """
    buses = [("input", b) for b in netlist.input_buses.values()]
    buses += [("output", b) for b in netlist.output_buses.values()]
    names = _unique_identifiers([b.name for _, b in buses])
    return tuple(Port(name, direction, bus) for name, (direction, bus) in zip(names, buses))


def _module_identifier(netlist: NandNetlist, module_name: str | None) -> str:
    if module_name is None:
        return sanitize_identifier(netlist.name)
    if not _IDENTIFIER.match(module_name) or module_name in VERILOG_KEYWORDS:
        raise BackendError(
            "module name must be a Verilog identifier (a letter or _, then letters, digits, _ or $) "
            f"and not a keyword, found {module_name!r}"
        )
    return module_name


def _check_inputs_bundled(netlist: NandNetlist) -> None:
    in_bus = {s for bus in netlist.input_buses.values() for s in bus.bits}
    loose = netlist.num_inputs - len(in_bus & set(netlist.input_signals()))
    if loose:
        raise BackendError(
            f"netlist {netlist.name!r}: every input must belong to an input bus to become a "
            f"Verilog port, found {loose} input(s) in no bus"
        )


def _signal_refs(netlist: NandNetlist, port_list: Sequence[Port]) -> list[str]:
    """Verilog expression carrying each signal: tie net, input port bit or gate net."""
    refs = ["n0", "n1"] + [""] * (netlist.num_signals - FIRST_INPUT)
    for port in port_list:
        if port.direction == "input":
            for k, s in enumerate(port.bus.bits):
                if not refs[s]:
                    refs[s] = f"{port.name}[{k}]"
    for s in range(netlist.first_gate, netlist.num_signals):
        refs[s] = f"n{s}"
    return refs


def _comment_text(text: str) -> str:
    """``text`` made safe for a one-line ASCII ``//`` comment."""
    ascii_text = text.encode("ascii", "backslashreplace").decode("ascii")
    return _CONTROL_CHAR.sub(lambda m: f"\\x{ord(m.group()):02x}", ascii_text)


def _bit_order(bus: Bus) -> str:
    """``logits[i0][i1] is bit 6*i0 + i1`` for a row-major flattening of ``bus.shape``."""
    if not bus.shape:
        return f"{bus.name} is bit 0"
    strides = [math.prod(bus.shape[d + 1:]) for d in range(len(bus.shape))]
    terms = [f"i{d}" if stride == 1 else f"{stride}*i{d}" for d, stride in enumerate(strides)]
    index = "".join(f"[i{d}]" for d in range(len(bus.shape)))
    return f"{bus.name}{index} is bit {' + '.join(terms)}"


def _port_comment(port: Port) -> str:
    bus = port.bus
    words = math.prod(bus.shape[:-1]) if bus.shape else 1
    kind = "signed" if bus.signed else "unsigned"
    renamed = "" if port.name == bus.name else f" (port {port.name})"
    if not bus.width:
        return f"//   {bus.name}: {port.direction}, shape {bus.shape}, no bits: no port"
    return (f"//   {bus.name}{renamed}: {port.direction}, shape {bus.shape}, {words} {kind} "
            f"{bus.word_width}-bit word(s), LSB first; {_bit_order(bus)}")


def _header(netlist: NandNetlist, module: str, port_list: Sequence[Port]) -> list[str]:
    from nandc import __version__

    out_bits = sum(p.width for p in port_list if p.direction == "output")
    lines = [
        f"// Generated by nandc {__version__}: structural NAND2-only netlist.",
        f"// module {module}: {netlist.num_inputs} input bits, {out_bits} output bits, "
        f"{netlist.num_gates} NAND2 gates, depth {netlist.depth()}",
        "// Each `nand` primitive is one NAND2 gate (inverters are nand(y, x, x)).",
        "// NAND2 gates per layer:",
    ]
    counts = [(_comment_text(name or "(untagged)"), c) for name, c in netlist.layer_counts().items()]
    name_width = max((len(name) for name, _ in counts), default=0)
    count_width = max((len(str(c)) for _, c in counts), default=0)
    for name, count in counts:
        lines.append(f"//   {name:<{name_width}}  {count:>{count_width}}")
    if not counts:
        lines.append("//   (none)")
    lines.append("// Ports (buses flattened row-major; bit 0 is the LSB of the first word):")
    lines.extend(_port_comment(p) for p in port_list)
    return lines


def _port_declarations(port_list: Sequence[Port]) -> list[str]:
    decls = [f"  {p.direction + ' ':<7}wire [{p.width - 1}:0] {p.name}" for p in port_list if p.width]
    return [d + ("," if i < len(decls) - 1 else "") for i, d in enumerate(decls)]


def _net_declarations(netlist: NandNetlist) -> list[str]:
    a, b = netlist.gate_arrays()
    lines = []
    if np.any(a == 0) or np.any(b == 0):
        lines.append("  wire n0 = 1'b0;")
    if np.any(a == 1) or np.any(b == 1):
        lines.append("  wire n1 = 1'b1;")
    first, end = netlist.first_gate, netlist.num_signals
    for lo in range(first, end, _NETS_PER_LINE):
        names = ", ".join(f"n{s}" for s in range(lo, min(end, lo + _NETS_PER_LINE)))
        lines.append(f"  wire {names};")
    return lines


def _gate_lines(netlist: NandNetlist, refs: Sequence[str]) -> list[str]:
    a, b = netlist.gate_arrays()
    layers = netlist.gate_layers().tolist()
    names = netlist.layer_names
    lines = []
    current = -1
    s = netlist.first_gate
    for x, y, lay in zip(a.tolist(), b.tolist(), layers):
        if lay != current:
            current = lay
            lines.append(f"  // layer {_comment_text(names[lay] or '(untagged)')}")
        lines.append(f"  nand g{s} (n{s}, {refs[x]}, {refs[y]});")
        s += 1
    return lines


def _output_assigns(port_list: Sequence[Port], refs: Sequence[str]) -> list[str]:
    const = ("1'b0", "1'b1")
    lines = []
    for p in port_list:
        if p.direction == "output":
            lines.extend(
                f"  assign {p.name}[{k}] = {const[s] if s < FIRST_INPUT else refs[s]};"
                for k, s in enumerate(p.bus.bits)
            )
    return lines


def to_verilog(netlist: NandNetlist, module_name: str | None = None) -> str:
    """The netlist as one structural Verilog module of ``nand`` primitives.

    Requires: every input of ``netlist`` belongs to an input bus;
    ``module_name``, if given, is a Verilog identifier (default: the
    sanitized netlist name).  Ensures: deterministic text with one ``nand``
    primitive per gate, ports as described in the module docstring and a
    header comment with the gate count, depth and gates per layer.
    """
    _check_inputs_bundled(netlist)
    module = _module_identifier(netlist, module_name)
    port_list = ports(netlist)
    refs = _signal_refs(netlist, port_list)
    decls = _port_declarations(port_list)
    opening = [f"module {module} ("] + decls + [");"] if decls else [f"module {module};"]
    body = _net_declarations(netlist) + [""] + _gate_lines(netlist, refs)
    body += [""] + _output_assigns(port_list, refs)
    lines = _header(netlist, module, port_list) + ["`default_nettype none", ""] + opening
    lines += body + ["endmodule", "", "`default_nettype wire", ""]
    return "\n".join(lines)


def stage_module_names(program, prefix: str | None = None) -> list[str]:
    """Module identifier of every stage of a staged program: ``<prefix>_s<k>_<stage name>``."""
    base = sanitize_identifier(prefix or program.name)
    return [f"{base}_s{k}_{sanitize_identifier(stage.name.rsplit('.', 1)[-1] or 'stage')}"
            for k, stage in enumerate(program.stages)]


def program_to_verilog(program, module_prefix: str | None = None) -> str:
    """One structural module per stage kernel of a staged :class:`~nandc.ir.program.Program`.

    A comment block first says what the program does between the kernels
    (gathers over positions, pooling, reshapes, sums): the data movement a
    design around these modules must implement.  Each kernel computes ONE
    output position; its ports are the stage's buses (``x``: the gathered
    codes, ``valid``: window cells inside the image, ``y``: the codes out).
    """
    from nandc.ir.program import describe

    names = stage_module_names(program, module_prefix)
    head = ["// nandc staged program: one module per kernel, data movement below", "//"]
    head += [f"// {_comment_text(line)}" for line in describe(program)]
    head += ["//", "// modules: " + ", ".join(f"stage {k} = {n}" for k, n in enumerate(names)), ""]
    for stage in program.stages:
        if stage.netlist is None:
            raise BackendError(f"stage {stage.name!r} is not compiled to a NAND netlist")
    return "\n".join(head) + "\n" + "\n".join(to_verilog(s.netlist, n) for s, n in zip(program.stages, names))


def write_verilog(netlist: NandNetlist, path: str | Path, module_name: str | None = None) -> Path:
    """Write :func:`to_verilog` to ``path`` atomically; returns the path."""
    text = to_verilog(netlist, module_name)
    target = Path(path)
    with atomic_write(target) as f:
        f.write(text)
    return target


# ---------------------------------------------------------------------- testbench
def _output_bits(bus: Bus, value: np.ndarray, num_vectors: int) -> np.ndarray:
    """Expected bits ``(N, bus.width)`` from bits ``(N, *shape)`` or words ``(N, *shape[:-1])``."""
    v = np.asarray(value)
    if v.ndim == len(bus.shape) + 1 and tuple(v.shape[1:]) == bus.shape:
        if v.size and not np.all((v == 0) | (v == 1)):
            raise BackendError(f"expected output {bus.name!r}: bit arrays must hold only 0 and 1")
        bits = v
    elif bus.shape and v.ndim == len(bus.shape) and tuple(v.shape[1:]) == bus.shape[:-1]:
        bits = words_to_bits(v, bus.word_width, bus.signed, where=f"expected output {bus.name!r}")
    else:
        raise BackendError(
            f"expected output {bus.name!r}: expected bits of shape (N, {', '.join(map(str, bus.shape))}) "
            f"or words of shape (N{''.join(', ' + str(d) for d in bus.shape[:-1])}), found {v.shape}"
        )
    if bits.shape[0] != num_vectors:
        raise BackendError(
            f"expected output {bus.name!r} has {bits.shape[0]} vectors, the inputs have {num_vectors}"
        )
    return bits.reshape(num_vectors, -1).astype(np.uint8)


def _num_vectors(vectors_in: Mapping[str, np.ndarray] | np.ndarray,
                 vectors_out: Mapping[str, np.ndarray]) -> int:
    """Length of the first array given (inputs first); 0 if there is none."""
    arrays = list(vectors_in.values()) if isinstance(vectors_in, Mapping) else [vectors_in]
    arrays += list(vectors_out.values())
    return len(np.asarray(arrays[0])) if arrays else 0


def _hex_rows(bits: np.ndarray) -> list[str]:
    """Rows of bits ``(N, W)`` (column 0 = LSB) as ``W'h...`` Verilog constants."""
    n, width = bits.shape
    digits = -(-width // 4)
    padded = np.zeros((n, 4 * digits), dtype=np.uint8)
    padded[:, :width] = bits
    nibbles = padded.reshape(n, digits, 4) @ np.array([1, 2, 4, 8], dtype=np.uint8)
    table = np.array(list("0123456789abcdef"))
    chars = table[nibbles[:, ::-1]]
    return [f"{width}'h{''.join(row)}" for row in chars]


def _slices(port_list: Sequence[Port]) -> list[tuple[Port, int]]:
    """Ports with bits, each with the offset of its bits in the packed vector."""
    out, offset = [], 0
    for p in port_list:
        if p.width:
            out.append((p, offset))
            offset += p.width
    return out


def testbench(netlist: NandNetlist, vectors_in: Mapping[str, np.ndarray] | np.ndarray,
              vectors_out: Mapping[str, np.ndarray], module_name: str | None = None) -> str:
    """A self-checking Verilog testbench for the module :func:`to_verilog` writes.

    ``vectors_in`` are per input bus bits ``(N, *shape)`` or integer words
    ``(N, *shape[:-1])`` (as :func:`nandc.ir.evaluate.evaluate` takes them);
    ``vectors_out`` are the expected outputs per output bus in the same forms
    (as ``evaluate`` returns them).  ``module_name`` must match the design's.

    Ensures: a module ``<module>_tb`` with the vectors inline that applies
    each vector, compares every output bus with ``!==`` (so X or Z fails),
    prints ``FAIL <vector> <bus> <expected> <got>`` (hex) per differing bus,
    then ``PASS: <N> vectors`` or ``FAIL: <k> of <N> vectors differ``, and
    calls ``$finish``.
    """
    module = _module_identifier(netlist, module_name)
    _check_inputs_bundled(netlist)
    n = _num_vectors(vectors_in, vectors_out)
    if n == 0:
        raise BackendError("a testbench needs at least one vector, found 0")
    if netlist.input_buses:
        try:
            in_table = input_bits(netlist, vectors_in)
        except CircuitError as exc:
            raise BackendError(f"testbench inputs: {exc}") from exc
        n = in_table.shape[0]
    else:
        in_table = np.zeros((n, 0), dtype=np.uint8)
    missing = sorted(set(netlist.output_buses) - set(vectors_out))
    extra = sorted(set(vectors_out) - set(netlist.output_buses))
    if missing or extra:
        raise BackendError(
            f"expected outputs must name exactly the output buses {sorted(netlist.output_buses)}; "
            f"missing {missing}, unknown {extra}"
        )
    port_list = ports(netlist)
    ins = _slices([p for p in port_list if p.direction == "input"])
    outs = _slices([p for p in port_list if p.direction == "output"])
    in_width = sum(p.width for p, _ in ins)
    out_width = sum(p.width for p, _ in outs)
    in_bits = np.zeros((n, in_width), dtype=np.uint8)
    for p, off in ins:
        in_bits[:, off:off + p.width] = in_table[:, [s - FIRST_INPUT for s in p.bus.bits]]
    out_bits = np.zeros((n, out_width), dtype=np.uint8)
    for p, off in outs:
        out_bits[:, off:off + p.width] = _output_bits(p.bus, vectors_out[p.bus.name], n)
    return _testbench_text(module, ins, outs, in_bits, out_bits)


testbench.__test__ = False  # its name starts with "test": keep pytest from collecting it


def _testbench_text(module: str, ins: Sequence[tuple[Port, int]], outs: Sequence[tuple[Port, int]],
                    in_bits: np.ndarray, out_bits: np.ndarray) -> str:
    n, in_width = in_bits.shape
    out_width = out_bits.shape[1]
    iw, ow = max(in_width, 1), max(out_width, 1)
    conns = [f"    .{p.name}(stim[{off + p.width - 1}:{off}])" for p, off in ins]
    conns += [f"    .{p.name}(got[{off + p.width - 1}:{off}])" for p, off in outs]
    lines = [
        f"// Generated by nandc: self-checking testbench for module {module} ({n} vectors).",
        "// Run: iverilog -o tb.vvp <design>.v <this>.v && vvp tb.vvp",
        "`default_nettype none",
        "",
        f"module {module}_tb;",
        f"  reg [{iw - 1}:0] vin [0:{n - 1}];",
        f"  reg [{ow - 1}:0] vexp [0:{n - 1}];",
        f"  reg [{iw - 1}:0] stim;",
        f"  reg [{ow - 1}:0] want;",
        f"  wire [{ow - 1}:0] got;",
        "  integer i, failures, bad;",
        "",
    ]
    if conns:
        lines += [f"  {module} dut ("] + [c + ("," if k < len(conns) - 1 else "") for k, c in enumerate(conns)]
        lines += ["  );"]
    else:
        lines += [f"  {module} dut ();"]
    if not outs:
        lines += [f"  assign got = {ow}'b0;"]
    lines += ["", "  initial begin"]
    in_hex = _hex_rows(in_bits) if in_width else [f"{iw}'h0"] * n
    out_hex = _hex_rows(out_bits) if out_width else [f"{ow}'h0"] * n
    for k in range(n):
        lines.append(f"    vin[{k}] = {in_hex[k]}; vexp[{k}] = {out_hex[k]};")
    lines += [
        "    failures = 0;",
        f"    for (i = 0; i < {n}; i = i + 1) begin",
        "      stim = vin[i];",
        "      want = vexp[i];",
        "      #1;",
        "      bad = 0;",
    ]
    for p, off in outs:
        hi = off + p.width - 1
        lines += [
            f"      if (got[{hi}:{off}] !== want[{hi}:{off}]) begin",
            "        bad = 1;",
            f'        $display("FAIL %0d {p.name} %h %h", i, want[{hi}:{off}], got[{hi}:{off}]);',
            "      end",
        ]
    lines += [
        "      if (bad) failures = failures + 1;",
        "    end",
        "    if (failures == 0)",
        f'      $display("PASS: {n} vectors");',
        "    else",
        f'      $display("FAIL: %0d of {n} vectors differ", failures);',
        "    $finish;",
        "  end",
        "endmodule",
        "",
        "`default_nettype wire",
        "",
    ]
    return "\n".join(lines)


def random_vectors(netlist: NandNetlist, num_vectors: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Input bits per bus ``(num_vectors, *shape)``: all zeros, all ones, then uniform random.

    Deterministic for a given ``seed``.
    """
    if num_vectors < 1:
        raise BackendError(f"num_vectors must be at least 1, found {num_vectors}")
    rng = np.random.default_rng(seed)
    out = {}
    for name, bus in netlist.input_buses.items():
        bits = rng.integers(0, 2, size=(num_vectors,) + bus.shape, dtype=np.uint8)
        bits[0] = 0
        if num_vectors > 1:
            bits[1] = 1
        out[name] = bits
    return out


def _reference_outputs(netlist: NandNetlist, vectors_in: Mapping[str, np.ndarray],
                       num_vectors: int) -> dict[str, np.ndarray]:
    """Output bits per bus from the reference evaluator (constant rows if there are no inputs)."""
    if netlist.input_buses:
        return evaluate(netlist, vectors_in, as_words=False)
    bits = unpack_samples(simulate_netlist(netlist, np.zeros((0, 1), dtype=np.uint64)), 1)
    return outputs_from_bits(netlist, np.repeat(bits, num_vectors, axis=0), as_words=False)


@dataclass(frozen=True)
class TestbenchFiles:
    """Paths written by :func:`write_testbench`; compile both, run ``top``."""

    __test__ = False  # not a pytest test class

    design: Path
    testbench: Path
    top: str


def write_testbench(netlist: NandNetlist, directory: str | Path, num_vectors: int = 64,
                    seed: int = 0, module_name: str | None = None) -> TestbenchFiles:
    """Write ``<module>.v`` and ``<module>_tb.v`` into ``directory`` (atomically).

    The expected outputs come from the reference evaluator
    (:func:`nandc.ir.evaluate.evaluate`) on :func:`random_vectors`.  The
    directory is created if needed.
    """
    module = _module_identifier(netlist, module_name)
    design_text = to_verilog(netlist, module)
    vectors_in = random_vectors(netlist, num_vectors, seed)
    vectors_out = _reference_outputs(netlist, vectors_in, num_vectors)
    tb_text = testbench(netlist, vectors_in, vectors_out, module)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    design, bench = folder / f"{module}.v", folder / f"{module}_tb.v"
    for path, text in ((design, design_text), (bench, tb_text)):
        with atomic_write(path) as f:
            f.write(text)
    return TestbenchFiles(design, bench, f"{module}_tb")


def write_program_testbenches(program, directory: str | Path, num_vectors: int = 64, seed: int = 0,
                              module_prefix: str | None = None) -> list[TestbenchFiles]:
    """The staged program's Verilog (:func:`program_to_verilog`) and one testbench per stage kernel.

    Writes ``<prefix>.v`` holding every stage module and ``<module>_tb.v``
    per stage (expected outputs from the reference evaluator on random
    vectors); each returned :class:`TestbenchFiles` compiles the shared
    design file with its own testbench.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    design = folder / f"{sanitize_identifier(module_prefix or program.name)}.v"
    with atomic_write(design) as f:
        f.write(program_to_verilog(program, module_prefix))
    files = []
    for stage, module in zip(program.stages, stage_module_names(program, module_prefix)):
        vectors_in = random_vectors(stage.netlist, num_vectors, seed)
        vectors_out = _reference_outputs(stage.netlist, vectors_in, num_vectors)
        bench = folder / f"{module}_tb.v"
        with atomic_write(bench) as f:
            f.write(testbench(stage.netlist, vectors_in, vectors_out, module))
        files.append(TestbenchFiles(design, bench, f"{module}_tb"))
    return files
