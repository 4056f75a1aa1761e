"""Copy a circuit's output cone through the hash-consing constructor.

The one rebuild every engine and pass ends with: constants propagate,
structurally equal nodes merge, dead nodes are dropped.
"""

from __future__ import annotations

import numpy as np

from nandc.ir.circuit import Circuit

__all__ = ["rebuild", "start_copy"]


def start_copy(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """``(new, lit)``: a fresh circuit with ``circuit``'s interface, and the node -> new literal
    map a copy fills in (the constant and the inputs set, every other node ``-1``)."""
    new, inputs = circuit.copy_interface()
    lit = [-1] * circuit.num_nodes
    lit[0] = 0
    for node, new_lit in inputs.items():
        lit[node] = new_lit
    return new, lit


def rebuild(circuit: Circuit, literal_of: list[int] | None = None,
            into: tuple[Circuit, dict[int, int]] | None = None) -> tuple[Circuit, list[int]]:
    """Copy the output cone of ``circuit`` into a fresh circuit through ``and_``.

    ``literal_of`` may pre-assign new literals to old nodes (e.g. constants
    found by another pass, as ``node -> literal of the node's positive phase``);
    a pre-assigned node's own fanins are then not copied.  ``into`` is the
    ``(circuit, inputs)`` pair of ``circuit.copy_interface()`` when the caller
    has already built the pre-assigned literals in it (a pass that
    resynthesizes some nodes from the inputs).  Returns the new circuit and the
    final map from old node to new literal (``-1`` for nodes not copied).
    Layer tags, buses and unbundled inputs are kept.
    """
    new, inputs = circuit.copy_interface() if into is None else into
    n = circuit.num_nodes
    lit = [-1] * n if literal_of is None else list(literal_of)
    lit[0] = 0
    for node, new_lit in inputs.items():
        if lit[node] < 0:
            lit[node] = new_lit
    f0, f1, lay = circuit.arrays()
    live = _live_nodes(circuit, lit)
    names = circuit.layer_names
    current = -1
    f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
    todo = np.flatnonzero(live & (f0 != 0)).tolist()
    new.reserve(new.num_ands + len(todo))
    for node in todo:
        if lit[node] >= 0:
            continue
        if layl[node] != current:
            current = layl[node]
            new.current_layer = names[current]
        a, b = f0l[node], f1l[node]
        la, lb = lit[a >> 1], lit[b >> 1]
        lit[node] = new.and_(la ^ (a & 1), lb ^ (b & 1))
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    return new, lit


def _live_nodes(circuit: Circuit, lit: list[int]) -> np.ndarray:
    """Nodes reachable from the outputs without passing through a pre-assigned node."""
    mark = bytearray(circuit.num_nodes)
    f0l, f1l = circuit.fanin_views()
    stack = [b >> 1 for b in circuit.output_literals()]
    while stack:
        node = stack.pop()
        if mark[node]:
            continue
        mark[node] = 1
        if f0l[node] and lit[node] < 0:
            stack.append(f0l[node] >> 1)
            stack.append(f1l[node] >> 1)
    return np.frombuffer(bytes(mark), dtype=np.uint8).astype(bool)
