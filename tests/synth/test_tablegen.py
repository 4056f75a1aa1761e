"""The shipped program table (nandc/data/nand4.txt): complete, every program computes its class,
constructed programs are right, the file round-trips through the generator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from nandc.synth.library import (NandLibrary, _shipped, decode_table, read_table_sections, shipped_programs,
                                 shipped_table_text)
from nandc.synth.tablegen import constructed_program, table_text
from nandc.synth.truth import MASK, VAR, _canonical_tables
from tests.strategies import examples


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


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, MASK))
def test_constructed_programs_compute_the_table(tt):
    if tt in (0, MASK) or tt in VAR or tt ^ MASK in VAR:
        return
    program = constructed_program(tt, SMALL)
    assert _value(program) == tt


def test_table_text_round_trips_the_shipped_file_byte_for_byte():
    text = shipped_table_text()
    assert table_text(decode_table(TABLE), decode_table(CONSTRUCTED)) == text
    assert len(decode_table(TABLE)) + len(decode_table(CONSTRUCTED)) > 3000


def test_regenerating_a_sample_of_constructed_entries_gives_programs_no_smaller():
    # the generator's own budgets (scripts/gen_nand4_table.py defaults); the shipped
    # programs may be smaller (kept from earlier generator versions), never larger
    small = NandLibrary(conflicts=20000, max_gates=12)
    constructed = sorted(decode_table(CONSTRUCTED).items())
    same = 0
    for canon, (_, program) in constructed[:: max(1, len(constructed) // 12)]:
        again = constructed_program(canon, small)
        assert _value(again) == canon == _value(program)
        assert program.cost <= again.cost
        same += program.cost == again.cost
    assert same >= 10


SMALL = NandLibrary(conflicts=2000, max_gates=10)
_SECTIONS = read_table_sections(shipped_table_text())
TABLE, CONSTRUCTED = _SECTIONS["table"], _SECTIONS["constructed"]
