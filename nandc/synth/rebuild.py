"""Copy a circuit's output cone through the hash-consing constructor.

The one rebuild every engine and pass ends with: constants propagate,
structurally equal nodes merge, dead nodes are dropped.
"""

from __future__ import annotations

import numpy as np

from nandc.ir.circuit import Circuit

__all__ = ["append_copies", "cleaned", "first_seen", "rebuild", "rebuilt_as_is", "start_copy"]


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
    if literal_of is None and into is None:
        copied = _compact(circuit)
        if copied is not None:
            return copied
    new, inputs = circuit.copy_interface() if into is None else into
    n = circuit.num_nodes
    lit = [-1] * n if literal_of is None else list(literal_of)
    lit[0] = 0
    for node, new_lit in inputs.items():
        if lit[node] < 0:
            lit[node] = new_lit
    f0, f1, lay = circuit.arrays()
    live = _live_nodes(circuit, lit)
    values = np.array(lit, dtype=np.int64)
    todo = np.flatnonzero(live & (f0 != 0) & (values < 0))
    used = first_seen(lay[todo])
    position = np.zeros(len(circuit.layer_names), dtype=np.int64)
    position[used] = np.arange(len(used))
    names = circuit.layer_names
    # each node AND-ed from its fanins' copies (slot = node: the slot literal is the old literal)
    new.run_ands(values, np.stack([todo, f0[todo], f1[todo]], axis=1), [names[i] for i in used.tolist()],
                 position[lay[todo]])
    new.current_layer = ""  # (as a copy node by node leaves it, whatever the caller had set)
    lit = values.tolist()
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    return new, lit


def rebuilt_as_is(circuit: Circuit) -> bool:
    """Whether :func:`rebuild` gives ``circuit`` back node for node: its inputs are numbered first,
    in the order :meth:`~nandc.ir.circuit.Circuit.copy_interface` adds them; every AND node is live,
    has two fanins of different non-constant nodes in order, and is the only node reading its pair
    (so nothing folds or merges); and the layers are named in the order of their first nodes."""
    f0, f1, lay = circuit.arrays()
    k = circuit.num_inputs
    order = [b >> 1 for bus in circuit.input_buses.values() for b in bus.bits]
    seen = set(order)
    order += [n for n in circuit.inputs if n not in seen]
    if order != list(range(1, k + 1)):
        return False
    a, b = f0[k + 1:], f1[k + 1:]
    if int(np.count_nonzero(circuit.reachable()[k + 1:])) != len(a) or not _hash_consed(a, b):
        return False
    used = first_seen(lay[k + 1:]).tolist()
    names = circuit.layer_names
    return names == [names[0]] + [names[i] for i in used if i != 0]


def cleaned(circuit: Circuit) -> Circuit:
    """``rebuild(circuit)[0]``, or ``circuit`` itself where that copy would be the same circuit
    (:func:`rebuilt_as_is`): passes that change nothing return their input without copying it."""
    return circuit if rebuilt_as_is(circuit) else rebuild(circuit)[0]


def _compact(circuit: Circuit) -> tuple[Circuit, list[int]] | None:
    """:func:`rebuild` of ``circuit`` alone in one go, when nothing can fold or merge: every live AND
    node's fanins ordered, non-constant, of two different nodes, and no two live nodes alike (what
    ``and_`` leaves).  The copy keeps the live AND nodes in their order, so it is the circuit the
    node-by-node copy makes, node for node.  None if some live node is not so (a circuit written
    through the arrays), for the node-by-node copy."""
    f0, f1, lay = circuit.arrays()
    live = circuit.reachable() & (f0 != 0)
    ands = np.flatnonzero(live)
    if not _hash_consed(f0[ands], f1[ands]):
        return None
    new, first = start_copy(circuit)
    lit = np.array(first, dtype=np.int64)
    append_copies(new, circuit, ands, lit)
    lit_list = lit.tolist()
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit_list[x >> 1] ^ (x & 1) for x in bus.bits], bus.shape, bus.signed)
    return new, lit_list


def _hash_consed(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether AND nodes of fanins ``a``, ``b`` are as ``and_`` leaves them: fanins ordered,
    non-constant, of two different nodes (that no two nodes of a circuit are alike is the
    circuit's own invariant, kept by ``and_`` and ``append_canonical``)."""
    return not (np.any(a < 2) or np.any(a >= b) or np.any((a >> 1) == (b >> 1)))


def first_seen(ids: np.ndarray) -> np.ndarray:
    """The distinct values of ``ids`` in the order of their first occurrence (only where a run of
    equal values starts can a value occur first: layer tags come in long runs)."""
    if not len(ids):
        return ids
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    values = ids[starts]
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def append_copies(new: Circuit, circuit: Circuit, nodes: np.ndarray, lit: np.ndarray) -> None:
    """Append to ``new``, in order, a copy of each AND node of ``circuit`` in ``nodes`` (increasing)
    whose fanins ``lit`` maps (node -> literal in ``new``: the inputs, and the earlier ``nodes``);
    ``lit`` gets the copies' literals.  Nothing may fold or merge (see
    :meth:`~nandc.ir.circuit.Circuit.append_canonical`); the layers are registered in the order
    the copies meet them, as a node-by-node copy through ``and_`` would."""
    if not len(nodes):
        return
    f0, f1, lay = circuit.arrays()
    lit[nodes] = 2 * (new.num_nodes + np.arange(len(nodes)))
    a, b = f0[nodes], f1[nodes]
    na, nb = lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1)
    used = first_seen(lay[nodes])
    names = circuit.layer_names
    position = np.zeros(max(len(names), 1), dtype=np.int64)
    position[used] = np.arange(len(used))
    new.append_canonical(np.minimum(na, nb), np.maximum(na, nb), [names[i] for i in used.tolist()],
                         position[lay[nodes]])


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
