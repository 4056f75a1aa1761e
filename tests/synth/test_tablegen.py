"""The shipped program table: complete, every program computes its class, constructed programs are right."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from nandc.passes.library import NandLibrary, _shipped, decode_table, shipped_programs
from nandc.passes.nand4_table import CONSTRUCTED, TABLE
from nandc.passes.tablegen import constructed_program, table_text
from nandc.passes.truth import MASK, VAR, _canonical_tables


def _value(program, signals=None) -> int:
    sig = list(signals or VAR)
    for j, k in program.gates:
        sig.append(~(sig[j] & sig[k]) & MASK)
    return sig[program.output]


def test_every_class_has_a_program_that_computes_it():
    classes = set(np.asarray(_canonical_tables()[0]).tolist()) - {0, MASK} - set(VAR)
    programs = shipped_programs()
    assert classes <= set(programs)
    for canon in classes:
        assert _value(programs[canon]) == canon


def test_searched_entries_are_final_and_constructed_ones_only_where_better():
    table, constructed = decode_table(TABLE), decode_table(CONSTRUCTED)
    entries = _shipped()
    for canon, (lower, prog) in constructed.items():
        searched = table.get(canon)
        assert searched is None or searched[1] is None or prog.cost < searched[1].cost
        assert entries[canon].final == (searched is not None)
        assert prog.cost >= lower
    for canon, (lower, prog) in table.items():
        if prog is not None:
            assert prog.cost >= lower


@settings(max_examples=200, deadline=None)
@given(st.integers(0, MASK))
def test_constructed_programs_compute_the_table(tt):
    if tt in (0, MASK) or tt in VAR or tt ^ MASK in VAR:
        return
    program = constructed_program(tt, SMALL)
    assert _value(program) == tt


def test_table_text_round_trips():
    table = dict(list(decode_table(TABLE).items())[:20])
    constructed = dict(list(decode_table(CONSTRUCTED).items())[:20])
    namespace: dict = {}
    exec(table_text(table, constructed), namespace)
    assert decode_table(namespace["TABLE"]) == table
    assert decode_table(namespace["CONSTRUCTED"]) == constructed


SMALL = NandLibrary(conflicts=2000, max_gates=10)
