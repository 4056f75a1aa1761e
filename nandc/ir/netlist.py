"""NAND2-only netlists: the lowered form every backend consumes.

Signals are numbered:

* ``0`` is tied to constant 0 and ``1`` to constant 1 (ties cost no gate);
* ``2 .. 2 + num_inputs - 1`` are the primary inputs, in creation order;
* every following signal is the output of one NAND2 gate, in topological
  order (a gate reads only lower-numbered signals).

An inverter is ``NAND(x, x)``.  :attr:`NandNetlist.num_gates` is THE number
nandc reports as "NAND2 gates".  Output buses hold plain signals (there are no
complemented edges at this level).
"""

from __future__ import annotations

import math
from array import array
from typing import Iterable, Sequence

import numpy as np

from nandc.errors import CircuitError
from nandc.ir.circuit import Bus, Circuit, LayerTable, structure_digest

__all__ = ["NandNetlist", "CONST0", "CONST1"]

CONST0 = 0
CONST1 = 1
FIRST_INPUT = 2


class NandNetlist:
    """A combinational netlist of NAND2 gates with named buses and layer tags."""

    def __init__(self, name: str = "netlist"):
        self.name = name
        self._a = array("I")
        self._b = array("I")
        self._layer = array("I")
        self._layers = LayerTable()
        self._num_inputs = 0
        self.input_buses: dict[str, Bus] = {}
        self.output_buses: dict[str, Bus] = {}

    # ------------------------------------------------------------------ sizes
    @property
    def num_gates(self) -> int:
        """Number of NAND2 gates (inverters included)."""
        return len(self._a)

    @property
    def num_inputs(self) -> int:
        return self._num_inputs

    @property
    def num_signals(self) -> int:
        return FIRST_INPUT + self._num_inputs + len(self._a)

    @property
    def first_gate(self) -> int:
        """Signal id of the first gate."""
        return FIRST_INPUT + self._num_inputs

    def __repr__(self) -> str:
        return (
            f"NandNetlist({self.name!r}, inputs={self.num_inputs}, gates={self.num_gates}, "
            f"outputs={sum(b.width for b in self.output_buses.values())})"
        )

    # ------------------------------------------------------------------ layers
    def layer_id(self, name: str) -> int:
        """Id of a layer tag, created on first use."""
        return self._layers.id(name)

    @property
    def layer_names(self) -> list[str]:
        return list(self._layers.names)

    def layer_of_gate(self, signal: int) -> str:
        return self._layers.names[self._layer[signal - self.first_gate]]

    # ------------------------------------------------------------------ construction
    def add_input(self) -> int:
        """A new primary input signal (only before the first gate)."""
        if self._a:
            raise CircuitError("inputs must be added before the first gate")
        sig = FIRST_INPUT + self._num_inputs
        self._num_inputs += 1
        return sig

    def add_input_bus(self, name: str, shape: int | Sequence[int], signed: bool = False) -> tuple[int, ...]:
        if name in self.input_buses:
            raise CircuitError(f"input bus {name!r} exists already")
        shape_t = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        sigs = tuple(self.add_input() for _ in range(math.prod(shape_t)))
        self.input_buses[name] = Bus(name, sigs, shape_t, signed)
        return sigs

    def nand(self, a: int, b: int, layer: int = 0) -> int:
        """Append ``NAND(a, b)``; returns the new signal.  ``layer`` is a layer id."""
        n = self.num_signals
        if not (0 <= a < n and 0 <= b < n):
            raise CircuitError(f"nand({a}, {b}): signal out of range (have {n})")
        self._a.append(a)
        self._b.append(b)
        self._layer.append(layer)
        return n

    def set_output(self, name: str, signals: Iterable[int], shape: Sequence[int] | None = None,
                   signed: bool = False) -> Bus:
        bits = tuple(int(s) for s in signals)
        n = self.num_signals
        for s in bits:
            if not 0 <= s < n:
                raise CircuitError(f"output bus {name!r}: signal {s} does not exist")
        shape_t = (len(bits),) if shape is None else tuple(int(s) for s in shape)
        bus = Bus(name, bits, shape_t, signed)
        self.output_buses[name] = bus
        return bus

    def input_signals(self) -> list[int]:
        return list(range(FIRST_INPUT, FIRST_INPUT + self._num_inputs))

    def output_signals(self) -> list[int]:
        return [s for bus in self.output_buses.values() for s in bus.bits]

    # ------------------------------------------------------------------ views
    def gate_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Fanin signal arrays (int64 copies), one entry per gate."""
        return np.array(self._a, dtype=np.int64), np.array(self._b, dtype=np.int64)

    def gate_layers(self) -> np.ndarray:
        """Layer id of every gate (int64 copy)."""
        return np.array(self._layer, dtype=np.int64)

    def layer_counts(self) -> dict[str, int]:
        """NAND2 gates per layer tag, in first-use order (zero-count layers omitted)."""
        counts = np.bincount(self.gate_layers(), minlength=len(self._layers.names))
        return {name: int(c) for name, c in zip(self._layers.names, counts) if c}

    def levels(self) -> np.ndarray:
        """Logic level of every signal (constants and inputs 0)."""
        a, b = self.gate_arrays()
        lev = [0] * self.num_signals
        base = self.first_gate
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
            lx, ly = lev[x], lev[y]
            lev[base + i] = (lx if lx > ly else ly) + 1
        return np.array(lev, dtype=np.int64)

    def depth(self) -> int:
        outs = self.output_signals()
        if not outs:
            return 0
        lev = self.levels()
        return int(lev[outs].max())

    def structural_hash(self) -> str:
        """SHA-256 of the netlist's structure and interface (for caches).

        Remembered until a gate, an input or a bus is added or replaced.
        """
        key = (len(self._a), self._num_inputs, tuple(map(id, self.input_buses.values())),
               tuple(map(id, self.output_buses.values())))
        memo = getattr(self, "_hash_memo", None)
        if memo is not None and memo[0] == key:
            return memo[1]
        digest = structure_digest(f"nand2:{self._num_inputs}:{len(self._a)}", (self._a, self._b),
                                  self.input_buses, self.output_buses)
        self._hash_memo = (key, digest)
        return digest

    def verify(self) -> None:
        """Check the invariants: gates read only lower signals, buses are in range."""
        a, b = self.gate_arrays()
        ids = np.arange(self.first_gate, self.num_signals)
        if len(ids) and (np.any(a >= ids) or np.any(b >= ids)):
            bad = int(ids[np.argmax((a >= ids) | (b >= ids))])
            raise CircuitError(f"gate {bad} reads a signal that is not lower")
        if np.any(self.gate_layers() >= len(self._layers.names)):
            raise CircuitError("a gate has an unknown layer id")
        for bus in self.input_buses.values():
            for s in bus.bits:
                if not FIRST_INPUT <= s < self.first_gate:
                    raise CircuitError(f"input bus {bus.name!r} holds signal {s}, which is not an input")
        for bus in self.output_buses.values():
            for s in bus.bits:
                if not 0 <= s < self.num_signals:
                    raise CircuitError(f"output bus {bus.name!r} holds signal {s}, which does not exist")

    # ------------------------------------------------------------------ conversion
    def to_circuit(self) -> Circuit:
        """The same function as an AIG (each NAND becomes one complemented AND).

        Layer tags and buses are kept.  Hash-consing may merge duplicate gates.
        """
        c = Circuit(self.name)
        sig_lit = [0, 1] + [0] * (self.num_signals - 2)
        for s in range(FIRST_INPUT, self.first_gate):
            sig_lit[s] = c.add_input()
        for bus in self.input_buses.values():
            c.input_buses[bus.name] = Bus(bus.name, tuple(sig_lit[s] for s in bus.bits), bus.shape, bus.signed)
        a, b = self.gate_arrays()
        lay = self.gate_layers().tolist()
        names = self._layers.names
        base = self.first_gate
        current = -1
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
            if lay[i] != current:
                current = lay[i]
                c.current_layer = names[current]
            sig_lit[base + i] = c.and_(sig_lit[x], sig_lit[y]) ^ 1
        c.current_layer = ""
        for bus in self.output_buses.values():
            c.set_output(bus.name, [sig_lit[s] for s in bus.bits], bus.shape, bus.signed)
        return c
