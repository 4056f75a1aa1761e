"""AIGER read/write: round trips, the binary encoding, third-party files, errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_testkit import assert_same_function, interface, live_ands, random_circuits

from nandc.errors import ParseError
from nandc.ir import Circuit, evaluate
from nandc.ir.io import aiger_bytes, parse_aiger, read, write
from nandc.ir.io.aiger import decode_deltas, encode_deltas
from nandc.passes import lower_to_nand
from tests.strategies import examples


def _layer_counts(c: Circuit) -> Counter:
    return Counter(c.layer_of(n) for n in live_ands(c))


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("binary", [False, True], ids=["aag", "aig"])
@settings(max_examples=examples(60), deadline=None)
@given(c=random_circuits())
def test_random_circuit_round_trip(binary, c):
    back = parse_aiger(aiger_bytes(c, binary=binary), "t")
    assert_same_function(c, back)
    assert back.name == c.name
    # only the output cone is written, and nothing is lost or duplicated
    assert back.num_ands == len(live_ands(c))
    assert _layer_counts(back) == _layer_counts(c)
    back.verify()


@settings(max_examples=examples(30), deadline=None)
@given(c=random_circuits())
def test_ascii_and_binary_describe_the_same_gates(c):
    a = parse_aiger(aiger_bytes(c, binary=False), "a")
    b = parse_aiger(aiger_bytes(c, binary=True), "b")
    assert [a.fanins(n) for n in a.and_nodes()] == [b.fanins(n) for n in b.and_nodes()]


@settings(max_examples=examples(30), deadline=None)
@given(c=random_circuits())
def test_binary_gates_are_ordered_as_the_spec_requires(c):
    data = aiger_bytes(c, binary=False).decode().split("\n")
    m, i, _, o, a = (int(t) for t in data[0].split()[1:])
    assert m == i + a
    rows = [tuple(int(t) for t in line.split()) for line in data[1 + i + o: 1 + i + o + a]]
    assert [r[0] for r in rows] == [2 * (i + 1 + k) for k in range(a)]
    assert all(lhs > r0 >= r1 for lhs, r0, r1 in rows)


@settings(max_examples=examples(20), deadline=None)
@given(c=random_circuits())
def test_ascii_with_other_whitespace_reads_the_same(c):
    # tabs, double spaces and CRLF take the line-by-line path instead of the vectorized one
    lines = aiger_bytes(c, binary=False).split(b"\n")
    _, i, _, o, a = (int(t) for t in lines[0].split()[1:])
    numeric = 1 + i + o + a
    messy = [b"\t " + line.replace(b" ", b"  ") + b" \r" for line in lines[:numeric]] + lines[numeric:]
    back = parse_aiger(b"\n".join(messy))
    assert_same_function(c, back)
    assert _layer_counts(back) == _layer_counts(c)


def test_file_round_trip_through_registry(tmp_path):
    c = Circuit("demo")
    x = c.add_input_bus("x", (2, 2), signed=True)
    with c.layer("fc1"):
        y = c.xor(x[0], c.and_(x[1], x[2] ^ 1))
    c.set_output("y", [y, 1, x[3] ^ 1], (3,), signed=True)
    for ext in ("aag", "aig"):
        write(c, tmp_path / f"c.{ext}")
        back = read(tmp_path / f"c.{ext}")
        assert_same_function(c, back)
        assert [back.layer_of(n) for n in back.and_nodes()] == ["fc1"] * 4


def test_layers_can_be_left_out():
    c = Circuit()
    a, b = c.add_input_bus("x", 2)
    with c.layer("L"):
        c.set_output("y", [c.and_(a, b)])
    back = parse_aiger(aiger_bytes(c, layers=False))
    assert [back.layer_of(n) for n in back.and_nodes()] == [""]


@settings(max_examples=examples(20), deadline=None)
@given(c=random_circuits())
def test_netlist_round_trip(c):
    net, _ = lower_to_nand(c)
    back = parse_aiger(aiger_bytes(net))
    assert_same_function(net, back)


def test_unbundled_inputs_get_a_bus():
    c = Circuit()
    (a,) = c.add_input_bus("in", 1)
    b = c.add_input()
    d = c.add_input()
    c.set_output("y", [c.and_(a, b), d])
    back = parse_aiger(aiger_bytes(c))
    assert interface(back)[0] == [("in", (1,), False), ("in_1", (2,), False)]
    y = evaluate(back, {"in": np.array([[1], [1]]), "in_1": np.array([[1, 0], [0, 1]])}, as_words=False)["y"]
    assert y.tolist() == [[1, 0], [0, 1]]


def test_empty_buses_survive_through_metadata():
    c = Circuit()
    c.add_input_bus("e", (2, 0))
    (a,) = c.add_input_bus("x", 1)
    c.set_output("none", [], (0,))
    c.set_output("y", [a ^ 1], ())
    back = parse_aiger(aiger_bytes(c))
    assert interface(back) == interface(c)


# ---------------------------------------------------------------------- the varint encoding
def test_varint_examples_from_the_spec():
    # deltas (lhs - rhs0, rhs0 - rhs1) of one gate each
    assert encode_deltas(np.array([6]), np.array([4]), np.array([2])) == b"\x02\x02"
    assert encode_deltas(np.array([0x80 + 2]), np.array([2]), np.array([2])) == b"\x80\x01\x00"
    assert encode_deltas(np.array([16383 + 2]), np.array([2]), np.array([2])) == b"\xff\x7f\x00"
    assert encode_deltas(np.array([16384 + 2]), np.array([2]), np.array([2])) == b"\x80\x80\x01\x00"


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.integers(0, (1 << 32) - 1), max_size=50))
def test_varints_round_trip(values):
    vals = np.array(values + [0] * (len(values) % 2), dtype=np.int64)
    rhs1 = np.zeros(len(vals) // 2, dtype=np.int64)
    rhs0 = rhs1 + vals[1::2]
    lhs = rhs0 + vals[0::2]
    data = encode_deltas(lhs, rhs0, rhs1) + b"i0 tail"
    decoded, used = decode_deltas(np.frombuffer(data, dtype=np.uint8), len(vals))
    assert decoded.tolist() == vals.tolist()
    assert data[used:] == b"i0 tail"


# ---------------------------------------------------------------------- files from other tools
def test_file_without_symbols():
    c = parse_aiger(b"aag 3 2 0 1 1\n2\n4\n6\n6 2 4\n", "plain.aag")
    assert c.name == "plain"
    assert interface(c) == ([("in", (2,), False)], [("out", (1,), False)])
    y = evaluate(c, {"in": np.array([[0, 0], [1, 0], [0, 1], [1, 1]])}, as_words=False)["out"]
    assert y.ravel().tolist() == [0, 0, 0, 1]


def test_ascii_gates_in_any_order_and_sparse_variables():
    # AND 10 is listed before the AND 8 it reads; variables 2 and 3 are unused; header has 1.9 zero counts
    text = b"aag 6 2 0 2 2 0 0 0 0\n2\n12\n10\n1\n10 8 12\n8 2 12\ni1 b\no0 f\nc\nanything\n"
    c = parse_aiger(text, "t.aag")
    assert interface(c) == ([("in", (1,), False), ("b", (), False)], [("f", (), False), ("out", (1,), False)])
    inputs = {"in": np.array([[0], [1], [0], [1]]), "b": np.array([0, 0, 1, 1])}
    y = evaluate(c, inputs, as_words=False)
    assert y["f"].ravel().tolist() == [0, 0, 0, 1]
    assert y["out"].ravel().tolist() == [1, 1, 1, 1]


def test_symbols_group_into_buses_with_sanitized_names():
    text = (b"aag 7 7 0 1 0\n2\n4\n6\n8\n10\n12\n14\n2\n"
            b"i0 a[1][0]\ni1 a[0][1]\ni2 a[0][0]\ni3 a[1][1]\ni4 \\weird name\ni5 b[2]\ni6 b[0]\no0 a[1][0]\n")
    c = parse_aiger(text)
    assert interface(c) == (
        [("a", (2, 2), False), ("_weird_name", (), False), ("b", (2,), False)],
        [("a", (1,), False)],
    )
    assert c.input_buses["a"].bits == (6, 4, 2, 8)  # row-major by index
    assert c.input_buses["b"].bits == (12, 14)  # not a dense grid: file order


# ---------------------------------------------------------------------- errors
def _error(data: bytes, path: str = "f.aag") -> str:
    with pytest.raises(ParseError) as info:
        parse_aiger(data, path)
    return str(info.value)


def _aig(c: Circuit) -> bytes:
    return aiger_bytes(c, binary=True, layers=False)


def _two_gate_circuit() -> Circuit:
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    c.set_output("y", [c.and_(c.and_(a, b), d)])
    return c


def test_truncated_ascii():
    assert _error(b"aag 5 3 0 1 2\n2\n4\n6\n10\n8 4 2\n") == \
        "f.aag:7: unexpected end of file: expected AND gate 1 of 2 ('lhs rhs0 rhs1')"
    assert _error(b"aag 3 2 0 1 1\n2\n") == "f.aag:3: unexpected end of file: expected input 1 of 2"


def test_truncated_binary():
    data = _aig(_two_gate_circuit())
    body_end = data.index(b"i0 ")
    assert _error(data[: body_end - 1], "f.aig") == (
        "f.aig: unexpected end of file in the binary AND section: expected 4 delta values "
        "for 2 AND gates, found 3 complete ones"
    )
    assert _error(b"aig 5 3 0 1 2\n", "f.aig") == "f.aig:2: unexpected end of file: expected output 0 of 1"
    assert _error(b"aig 5 3 0 1 2\n10\n\x02\x81", "f.aig").endswith("expected 4 delta values for 2 AND gates, "
                                                                   "found 1 complete ones")


def test_out_of_range_literals():
    assert _error(b"aag 3 2 0 1 1\n2\n4\n9\n6 2 4\n") == \
        "f.aag:4: literal 9 is out of range: the header declares M = 3, so literals must be at most 7"
    assert _error(b"aag 3 2 0 1 1\n2\n4\n6\n6 2 8\n") == \
        "f.aag:5: literal 8 is out of range: the header declares M = 3, so literals must be at most 7"
    assert _error(b"aig 3 2 0 1 1\n8\n\x02\x02", "f.aig") == \
        "f.aig:2: literal 8 is out of range: the header declares M = 3, so literals must be at most 7"


def test_binary_rhs_must_be_below_lhs():
    assert _error(b"aig 3 2 0 1 1\n6\n\x00\x00", "f.aig") == \
        "f.aig: binary AND gate 0 (lhs 6): expected 0 <= rhs0 < lhs, found rhs0 = 6"
    assert _error(b"aig 3 2 0 1 1\n6\n\x02\x05", "f.aig") == \
        "f.aig: binary AND gate 0 (lhs 6): expected 0 <= rhs1 <= rhs0 = 4, found rhs1 = -1"
    assert _error(b"aig 3 2 0 1 1\n6\n\x80\x80\x80\x80\x80\x01\x00", "f.aig") == \
        "f.aig: binary AND gate 0: a delta at byte offset 16 is longer than 5 bytes"


def test_cycle_is_reported_with_its_variables():
    assert _error(b"aag 4 1 0 1 3\n2\n8\n4 2 6\n6 8 2\n8 4 2\n") == \
        "f.aag:4: the AND gates form a cycle through variables 2 -> 3 -> 4 -> 2"


def test_header_errors():
    assert _error(b"aig 3 2 0 1 2\n") == "f.aag:1: binary header: expected M = I + L + A = 4, found M = 3"
    assert _error(b"aag 3 2 1 1 0\n") == \
        "f.aag:1: the header declares L=1 latches; nandc reads combinational AIGER only (L = 0)"
    assert _error(b"aag 1 1 0 0 0 1\n2\n") == \
        "f.aag:1: the header declares B (bad states) = 1; nandc supports only B = C = J = F = 0"
    assert _error(b"aag 3 two\n") == \
        "f.aag:1: expected a header 'aag M I L O A' or 'aig M I L O A' with 5 to 9 unsigned integers, " \
        "found 'aag 3 two'"
    assert _error(b"\x89PNG\r\n") == \
        "f.aag:1: expected a header 'aag M I L O A' or 'aig M I L O A', found '\\x89PNG\\r'"
    assert _error(b"aag 1 2 0 0 0\n") == "f.aag:1: header: expected M >= I + L + A = 2, found M = 1"


def test_body_inconsistent_with_header():
    assert _error(b"aag 3 2 0 1 1\n2\n4\n6\n6 2 4\n8 6 2\n") == (
        "f.aag:6: unexpected line '8 6 2' after the 1 outputs and 1 AND gates the header declares "
        "(expected a symbol table or 'c')"
    )
    assert _error(b"aag 3 2 0 1 1\n2\n2\n6\n6 2 4\n") == \
        "f.aag:3: variable 1 (literal 2) is defined twice: here and at line 2"
    assert _error(b"aag 4 2 0 1 1\n2\n4\n6\n6 2 8\n") == \
        "f.aag:5: literal 8 refers to variable 4, which is neither an input nor an AND gate"
    assert _error(b"aag 3 2 0 1 1\n2\n5\n6\n6 2 4\n") == "f.aag:3: input 1: expected an even literal >= 2, found 5"
    assert _error(b"aag 3 2 0 1 1\n2\n4\n6\n6 2\n") == \
        "f.aag:5: expected AND gate 0 ('lhs rhs0 rhs1') as 3 literals (unsigned integers), found '6 2'"


def test_symbol_errors():
    assert _error(b"aag 1 1 0 0 0\n2\ni1 b\n") == \
        "f.aag:3: symbol 'i1' is out of range: the header declares 1 inputs"
    assert _error(b"aag 1 1 0 0 0\n2\nl0 b\n") == \
        "f.aag:3: symbol 'l0' is out of range: the header declares 0 latches"
    assert _error(b"aag 1 1 0 0 0\n2\ni0 a\ni0 b\n") == "f.aag:4: symbol 'i0' is given twice (first at line 3)"
    assert _error(b"aag 2 2 0 0 0\n2\n4\ni0 a\ni1 a\n") == "f.aag:5: input name 'a' is used twice (first at line 4)"
    assert _error(b"aag 1 1 0 0 0\n2\nhello\n") == (
        "f.aag:3: expected a symbol ('i<k> name', 'o<k> name') or 'c' starting the comments, found 'hello'"
    )


def test_damaged_metadata():
    c = _two_gate_circuit()
    data = aiger_bytes(c, binary=False)
    assert _error(data.replace(b'"x",[3]', b'"x",[4]')) == (
        "f.aag: nandc metadata declares input bus 'x' with shape (4,) (4 bits), but the file names 3 such bits"
    )
    assert _error(data.replace(b"nandc {", b"nandc {{")).startswith("f.aag:13: nandc metadata is not valid JSON")
    with_layers = Circuit()
    a, b = with_layers.add_input_bus("x", 2)
    with with_layers.layer("L"):
        with_layers.set_output("y", [with_layers.and_(a, b)])
    text = aiger_bytes(with_layers, binary=False).replace(b'"layer_runs":[1,1]', b'"layer_runs":[1,2]')
    assert _error(text) == (
        "f.aag:10: nandc metadata records layer tags for 2 AND gates, but the file has 1; "
        "remove the 'nandc' comment if the file was edited"
    )
