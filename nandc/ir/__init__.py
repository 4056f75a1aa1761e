"""The Boolean circuit IR: AIG, words, NAND netlists, evaluators, equivalence, file I/O."""

from nandc.ir.circuit import FALSE, TRUE, Bus, Circuit, lit_is_neg, lit_node, lit_not, make_lit
from nandc.ir.netlist import NandNetlist
from nandc.ir.evaluate import evaluate, simulate_circuit, simulate_netlist

__all__ = [
    "FALSE", "TRUE", "Bus", "Circuit", "NandNetlist", "lit_is_neg", "lit_node", "lit_not",
    "make_lit", "evaluate", "simulate_circuit", "simulate_netlist",
]
