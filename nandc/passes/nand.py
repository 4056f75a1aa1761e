"""Lowering an AIG to a NAND2-only netlist, optionally after a polarity-choosing cover.

Literal translation gives every AND node one NAND2 gate, which carries the
node's complement, plus one shared inverter per literal read in its other
phase; its gate count is exactly :func:`~nandc.synth.cost.nand_cost`.  With
``cover=True`` the lowering first *covers* the neighbourhood of every inverter:
each node that needs one, or reads a literal that does, is re-expressed
from one of its 4-input cuts by the smallest NAND2 program of the cut's
function over its leaves' free phases, with the program's output in the
phase the node's readers want (:mod:`nandc.passes.rewrite`, scope
``"inverters"``).  That chooses each node's polarity by its real cost,
inverters included, and is repeated while it saves gates.
"""

from __future__ import annotations

import time

from dataclasses import dataclass

import numpy as np

from nandc.ir.circuit import Bus, Circuit
from nandc.ir.netlist import NandNetlist
from nandc.passes.base import Params, Stats, pass_stats, register, renamed_params
from nandc.passes.options import Progress, parse_params, check_params

__all__ = ["NandParams", "lower_to_nand", "inverter_cover"]


@dataclass(frozen=True)
class NandParams:
    """``cover``: cover the inverters' neighbourhoods before translating
    (at most ``rounds`` times, while it saves gates).  ``cover`` was called
    ``map``, which is still accepted (with a warning) and is not the ``map``
    pass (cut-based technology mapping)."""

    cover: bool = False
    rounds: int = 3

    def __post_init__(self):
        check_params(self, "nand")


def inverter_cover(circuit: Circuit, rounds: int, progress: Progress | None = None) -> tuple[Circuit, int]:
    """The circuit after at most ``rounds`` inverter-focused rewrites (while they
    save gates); and the replacements made."""
    from nandc.passes.rewrite import RewriteParams, rewrite_once

    current, total = circuit, 0
    for _ in range(rounds):
        current, count = rewrite_once(current, RewriteParams(scope="inverters"), progress)
        total += count
        if not count:
            break
    return current, total


@register("nand", "lower the AIG to a NAND2-only netlist (inverters shared; cover=true: polarity-choosing cover first)",
          produces="netlist", params=NandParams, progress=True, renamed={"map": "cover"})
def lower_to_nand(circuit: Circuit, params: Params | None = None,
                  progress: Progress | None = None) -> tuple[NandNetlist, Stats]:
    """Translate every AND node reachable from the outputs into NAND2 gates.

    Each AND node ``n = a & b`` becomes one gate ``NAND(a, b)``, which carries
    ``~n``.  A literal needed in the other phase gets one inverter
    ``NAND(x, x)``, created once and shared by all its readers.  Constants are
    tied (signal 0 and 1) and cost nothing.

    With ``cover=True`` the circuit is first covered (see the module
    docstring); the gate count is then never higher than without.

    Requires: a valid Circuit.  Ensures: a NandNetlist computing the same
    function on every output bus, with the same input order and buses, gates
    tagged with the layer of the AND node they come from (an inverter of a
    primary input with the layer of its first reader).
    """
    p = parse_params(NandParams, renamed_params("nand", params), "nand")
    t0 = time.perf_counter()
    source = circuit
    covered = 0
    if p.cover:
        circuit, covered = inverter_cover(circuit, p.rounds, progress)
    net = NandNetlist(circuit.name)
    n = circuit.num_nodes
    pos = [-1] * n  # signal carrying node n
    neg = [-1] * n  # signal carrying ~node n
    pos[0], neg[0] = 0, 1
    for node in circuit.inputs:
        pos[node] = net.add_input()
    for bus in circuit.input_buses.values():
        net.input_buses[bus.name] = Bus(bus.name, tuple(pos[b >> 1] for b in bus.bits), bus.shape, bus.signed)
    f0, f1, lay = circuit.arrays()
    layer_ids = [net.layer_id(name) for name in circuit.layer_names]
    f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
    inverters = 0

    def signal(lit: int, reader_layer: int) -> int:
        nonlocal inverters
        node = lit >> 1
        if lit & 1:
            s = neg[node]
            if s < 0:
                # an input's inverter belongs to the layer that first reads it
                owner = reader_layer if f0l[node] == 0 else layer_ids[layl[node]]
                s = neg[node] = net.nand(pos[node], pos[node], owner)
                inverters += 1
        else:
            s = pos[node]
            if s < 0:
                s = pos[node] = net.nand(neg[node], neg[node], layer_ids[layl[node]])
                inverters += 1
        return s

    live = circuit.reachable()
    for node in np.flatnonzero(live & (f0 != 0)).tolist():
        own = layer_ids[layl[node]]
        a = signal(f0l[node], own)
        b = signal(f1l[node], own)
        neg[node] = net.nand(a, b, own)
    for bus in circuit.output_buses.values():
        net.set_output(bus.name, [signal(b, 0) for b in bus.bits], bus.shape, bus.signed)
    notes = {"inverters": inverters}
    if p.cover:
        notes["covered"] = covered
    return net, pass_stats("nand", source, net, t0, **notes)
