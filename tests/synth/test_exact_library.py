"""Exact NAND2 synthesis and the program library: programs compute their tables, sizes are minimal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from nandc.synth.exact import evaluate_program, synthesize
from nandc.synth.library import NandLibrary, Program
from nandc.synth.truth import MASK, VAR, permute
from tests.strategies import examples

X0, X1, X2 = 0b10101010, 0b11001100, 0b11110000  # three-variable tables
M3 = 0xFF


@pytest.mark.parametrize("name, table, n, size", [
    ("nand", ~(0b1010 & 0b1100) & 0xF, 2, 1),
    ("and", 0b1010 & 0b1100, 2, 2),
    ("or", 0b1010 | 0b1100, 2, 3),
    ("xor", 0b1010 ^ 0b1100, 2, 4),
    ("mux", (X0 & X1) | (~X0 & X2 & M3), 3, 4),
    ("majority", (X0 & X1) | (X2 & (X0 | X1)), 3, 6),
    ("xor3", X0 ^ X1 ^ X2, 3, 8),
])
def test_known_minimum_sizes(name, table, n, size):
    prog, lower = synthesize(table, n, max_gates=10, conflicts=200000)
    assert prog is not None and prog.optimal
    assert prog.cost == size == lower
    assert evaluate_program(prog) == table


def test_lower_bound_without_program():
    prog, lower = synthesize(X0 ^ X1 ^ X2, 3, max_gates=5, conflicts=200000)
    assert prog is None and lower == 6  # 1..5 gates proved impossible


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, MASK))
def test_library_programs_compute_the_table(tt):
    lib = LIB
    found = lib.lookup(tt, 7) if tt not in (0, MASK) else None
    if found is None:
        return
    program, perm = found
    assert program.cost <= 7
    # evaluate the program with variable perm[i] driven by variable i of tt
    signals = [0] * 4
    for i in range(4):
        signals[perm[i]] = VAR[i]
    assert _run(program, signals) == tt


def test_library_answers_variables_without_gates_and_respects_bounds():
    lib = NandLibrary(conflicts=2000, max_gates=6)
    prog, perm = lib.lookup(VAR[2], 0)
    assert prog.cost == 0 and _run(prog, [VAR[perm.index(i)] if i in perm else 0 for i in range(4)]) in VAR
    assert lib.lookup(VAR[0] ^ VAR[1], 3) is None  # XOR needs 4
    prog, _ = lib.lookup(VAR[0] ^ VAR[1], 4)
    assert prog.cost == 4
    assert lib.lookup(permute(VAR[0] ^ VAR[1], (3, 2, 1, 0)), 4)[0].cost == 4


def _run(program: Program, signals: list[int]) -> int:
    sig = list(signals)
    for j, k in program.gates:
        sig.append(~(sig[j] & sig[k]) & MASK)
    return sig[program.output]


LIB = NandLibrary(conflicts=1000, max_gates=7)
