"""A readable, deterministic text listing of a circuit or netlist (write only).

Circuit literals print as ``n7`` / ``!n7`` (node 7, complemented) and the
constants as ``0`` / ``1``; netlist signals print as ``s9`` and the ties as
``0`` / ``1``.  Nodes and gates are listed in id order under a ``[layer ...]``
line each time the layer tag changes.
"""

from __future__ import annotations

from typing import Callable, Sequence

from nandc.errors import CircuitError
from nandc.files.fsutil import atomic_write
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.netlist import NandNetlist

__all__ = ["dump", "write_text"]

_BITS_PER_LINE = 8


def _lit(lit: int) -> str:
    if lit < 2:
        return str(lit)
    return ("!" if lit & 1 else "") + f"n{lit >> 1}"


def _sig(sig: int) -> str:
    return str(sig) if sig < 2 else f"s{sig}"


def _bus_lines(kind: str, bus: Bus, show: Callable[[int], str]) -> list[str]:
    sign = "signed" if bus.signed else "unsigned"
    shape = "x".join(str(d) for d in bus.shape) or "scalar"
    pairs = [f"{name}={show(bit)}" for name, bit in zip(bus.bit_names(), bus.bits)]
    lines = [f"{kind} {bus.name} [{shape}, {sign}]" + (":" if pairs else "")]
    for k in range(0, len(pairs), _BITS_PER_LINE):
        lines.append("    " + " ".join(pairs[k:k + _BITS_PER_LINE]))
    return lines


def _unbundled(all_inputs: Sequence[int], buses: Sequence[Bus], show: Callable[[int], str]) -> list[str]:
    covered = {b for bus in buses for b in bus.bits}
    rest = [show(x) for x in all_inputs if x not in covered]
    if not rest:
        return []
    lines = ["inputs in no bus:"]
    for k in range(0, len(rest), _BITS_PER_LINE):
        lines.append("    " + " ".join(rest[k:k + _BITS_PER_LINE]))
    return lines


def _body(rows: Sequence[tuple[str, str]]) -> list[str]:
    """``rows`` of (layer, text) with a ``[layer ...]`` line at every change."""
    lines = []
    current = None
    for layer, text in rows:
        if layer != current:
            current = layer
            lines.append(f"[layer {layer!r}]" if layer else "[untagged]")
        lines.append("  " + text)
    return lines


def _dump_circuit(c: Circuit) -> list[str]:
    outputs = c.output_literals()
    lines = [f"circuit {c.name!r}: {c.num_inputs} inputs, {c.num_ands} AND nodes, {len(outputs)} output bits"]
    buses = list(c.input_buses.values())
    for bus in buses:
        lines += _bus_lines("input", bus, _lit)
    lines += _unbundled([2 * n for n in c.inputs], buses, _lit)
    f0, f1, lay = c.arrays()
    names = c.layer_names
    rows = [
        (names[layer], f"n{n} = {_lit(a)} & {_lit(b)}")
        for n, (a, b, layer) in enumerate(zip(f0.tolist(), f1.tolist(), lay.tolist()))
        if a
    ]
    lines += _body(rows)
    for bus in c.output_buses.values():
        lines += _bus_lines("output", bus, _lit)
    return lines


def _dump_netlist(net: NandNetlist) -> list[str]:
    outputs = net.output_signals()
    lines = [f"netlist {net.name!r}: {net.num_inputs} inputs, {net.num_gates} NAND2 gates, "
             f"{len(outputs)} output bits"]
    buses = list(net.input_buses.values())
    for bus in buses:
        lines += _bus_lines("input", bus, _sig)
    lines += _unbundled(net.input_signals(), buses, _sig)
    a, b = net.gate_arrays()
    names = net.layer_names
    base = net.first_gate
    rows = []
    for k, (x, y, layer) in enumerate(zip(a.tolist(), b.tolist(), net.gate_layers().tolist())):
        text = f"s{base + k} = not({_sig(x)})" if x == y else f"s{base + k} = nand({_sig(x)}, {_sig(y)})"
        rows.append((names[layer], text))
    lines += _body(rows)
    for bus in net.output_buses.values():
        lines += _bus_lines("output", bus, _sig)
    return lines


def dump(obj: Circuit | NandNetlist) -> str:
    """The text listing of ``obj``: interface, every node or gate with its layer, outputs.

    Ensures: the same object always gives the same text (no addresses, no
    dates); one line per node or gate, plus one per layer change.
    """
    if isinstance(obj, Circuit):
        lines = _dump_circuit(obj)
    elif isinstance(obj, NandNetlist):
        lines = _dump_netlist(obj)
    else:
        raise CircuitError(f"expected a Circuit or NandNetlist, found {type(obj).__name__}")
    return "\n".join(lines) + "\n"


def write_text(obj: Circuit | NandNetlist, path) -> None:
    """Write :func:`dump` of ``obj`` to ``path`` atomically."""
    text = dump(obj)
    with atomic_write(path, "w") as f:
        f.write(text)

