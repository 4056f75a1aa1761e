"""Damaged and hostile netlist files: every one is a ParseError with a pinned message.

Each case is a file nandc once mishandled (a raw ValueError, MemoryError,
OverflowError or RecursionError, or minutes of work for a 30-byte file).
"""

from __future__ import annotations

import pytest

from nandc.errors import ParseError
from nandc.ir.io import parse_aiger, parse_blif
from nandc.ir.io.limits import MEMORY_ENV, json_depth, load_json, parse_uint


def aiger_error(data: bytes, path: str = "f.aag") -> str:
    with pytest.raises(ParseError) as info:
        parse_aiger(data, path)
    return str(info.value)


def blif_error(text: str) -> str:
    with pytest.raises(ParseError) as info:
        parse_blif(text, "f.blif")
    return str(info.value)


META = 'c\nnandc {"version":1,"name":"m","inputs":[["x",[1],false]],"outputs":[["y",[1],false]]%s}\n'


def with_meta(extra: str) -> bytes:
    return ("aag 1 1 0 1 0\n2\n2\ni0 x[0]\no0 y[0]\n" + META % extra).encode()


# ---------------------------------------------------------------------- 1. numbers are ASCII digits
@pytest.mark.parametrize("data, message", [
    (b"aag 1 1 0 1 0\n2\n\xc2\xb2\n", "f.aag:3: expected output 0 as literal (unsigned integers), found '\u00b2'"),
    ("aag 1 1 0 1 0\n\u2460\n2\n".encode(), "f.aag:2: expected input 0 as literal (unsigned integers), found '\u2460'"),
    ("aag 1 1 0 1 0\n2\n2\ni\u00b2 x\n".encode(),
     "f.aag:4: expected a symbol ('i<k> name', 'o<k> name') or 'c' starting the comments, found 'i\u00b2 x'"),
    ("aag 1\u00b2 1 0 1 0\n".encode(),
     "f.aag:1: expected a header 'aag M I L O A' or 'aig M I L O A' with 5 to 9 unsigned integers, "
     "found 'aag 1\u00c2\u00b2 1 0 1 0'"),
    ("aag 1 1 0 1 0\n2\n2\n\u0661 \u0662\n".encode(),
     "f.aag:4: expected a symbol ('i<k> name', 'o<k> name') or 'c' starting the comments, found '\u0661 \u0662'"),
    (b"aag 3 1 0 1 " + b"9" * 30 + b"\n", "f.aag:1: a header count has 30 digits; nandc reads numbers of at most 20 digits"),
    (b"aag 1 1 0 1 0\n2\n" + b"9" * 5000 + b"\n",
     "f.aag:3: a literal of output 0 has 5000 digits; nandc reads numbers of at most 20 digits"),
    (b"aag 1 1 0 1 0\n2\n2\ni" + b"7" * 5000 + b" x\n",
     "f.aag:4: the position of symbol 'i77777777777777777777777777777' has 5000 digits; "
     "nandc reads numbers of at most 20 digits"),
], ids=range(8))
def test_aiger_numbers_are_ascii_digits(data, message):
    assert aiger_error(data) == message


def test_parse_uint():
    assert parse_uint("0042", "a count", "f") == 42
    for bad in ("", "-1", "+1", "1_000", " 1", "\u00b2", "\u0661"):
        with pytest.raises(ParseError, match="expected a count as an unsigned decimal integer"):
            parse_uint(bad, "a count", "f")


def test_bit_name_indices_are_ascii_and_bounded():
    c = parse_blif(".model m\n.inputs x[\u0661] x[0]\n.outputs y\n.names x[0] y\n1 1\n.end\n", "f.blif")
    assert sorted(c.input_buses) == ["x", "x___"]  # x[\u0661] is not read as x[1]
    big = "9" * 5000
    c = parse_blif(f".model m\n.inputs x[{big}]\n.outputs y\n.names x[{big}] y\n1 1\n.end\n", "f.blif")
    assert c.num_inputs == 1


# ---------------------------------------------------------------------- 2. the metadata comment
@pytest.mark.parametrize("extra, message", [
    (',"layers":["","a"],"layer_runs":[1,99999999999999999999]',
     "f.aag:7: nandc metadata: expected 'layer_runs' to be [layer id, count, ...] pairs with valid layer ids "
     "and counts from 1 to 1099511627776"),
    (',"layers":["","a"],"layer_runs":[1,1099511627776]',
     "f.aag:7: nandc metadata records layer tags for 1099511627776 AND gates, but the file has 0; remove the "
     "'nandc' comment if the file was edited"),
    (',"layers":["","a"],"layer_runs":[true,1]',
     "f.aag:7: nandc metadata: expected 'layer_runs' to be [layer id, count, ...] pairs with valid layer ids "
     "and counts from 1 to 1099511627776"),
    (',"layers":' + "[" * 5000 + "]" * 5000, "f.aag:7: nandc metadata is nested 5001 levels deep; at most 16 are allowed"),
    (',"layers":[' + "1" * 5000 + "]",
     "f.aag:7: nandc metadata is not valid JSON: an integer with thousands of digits"),
    (',"layers":[NaN]', "f.aag:7: nandc metadata is not valid JSON: NaN is not a JSON number"),
    (',"layers":["",{}]', "f.aag:7: nandc metadata: expected 'layers' to be a list of strings, found ['', {}]"),
], ids=range(7))
def test_metadata_limits(extra, message):
    assert aiger_error(with_meta(extra)) == message


def test_metadata_types():
    bad_shape = (b'aag 1 1 0 1 0\n2\n2\nc\nnandc {"version":1,"inputs":[["x",[1.5],false]]}\n')
    assert aiger_error(bad_shape) == (
        "f.aag:5: nandc metadata: expected 'inputs' to be a list of [name, shape, signed] (shape: at most 32 "
        "dimensions from 0 to 1099511627776), found ['x', [1.5], False]")
    many_dims = b'aag 1 1 0 1 0\n2\n2\nc\nnandc {"version":1,"inputs":[["x",' + b"[" + b",".join([b"1"] * 40) + b'],false]]}\n'
    assert "found ['x', [1, 1, 1, 1," in aiger_error(many_dims)
    assert aiger_error(b'aag 0 0 0 0 0\nc\nnandc {"version":true}\n') == \
        "f.aag:3: nandc metadata: expected version 1, found True"
    assert blif_error('# nandc {"version":1,"layers":' + "[" * 40 + "]" * 40 + "}\n.model m\n.end\n") == \
        "f.blif:1: nandc metadata is nested 41 levels deep; at most 16 are allowed"


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth('{"a": "[[[[", "b": [1, {"c": "\\"]]"}]}') == 3
    assert json_depth("[]") == 1 and json_depth('"x"') == 0
    assert load_json(b'{"a": [1, 2]}', "it", "f") == {"a": [1, 2]}
    with pytest.raises(ParseError, match=r"^f: it is not UTF-8 text \(byte offset 1\)$"):
        load_json(b'"\xff"', "it", "f")


# ---------------------------------------------------------------------- 3. declared sizes
@pytest.mark.parametrize("data, message", [
    (b"aig 2147483647 2147483647 0 0 0\n",
     "f.aig:1: the header declares I = 2147483647 inputs, but its 0 AND gates and 0 outputs can read at most "
     "0 of them; nandc accepts at most 1048576 inputs that nothing reads"),
    (b"aig 20000000 20000000 0 0 0\n",
     "f.aig:1: the header declares I = 20000000 inputs, but its 0 AND gates and 0 outputs can read at most "
     "0 of them; nandc accepts at most 1048576 inputs that nothing reads"),
    (b"aig 100000000 0 0 1 100000000\n2\n",
     "f.aig:1: the header declares 1 outputs, 100000000 AND gates, which take at least 200000002 bytes, "
     "but only 2 bytes follow the header (truncated file or wrong header)"),
    (b"aag 100000000 0 0 0 100000000\n2 0 0\n",
     "f.aig:1: the header declares 100000000 AND gates, which take at least 599999999 bytes, but only 6 bytes "
     "follow the header (truncated file or wrong header)"),
    (b"aag 100000000 100000000 0 0 0\n2\n",
     "f.aig:1: the header declares 100000000 inputs, which take at least 199999999 bytes, but only 2 bytes "
     "follow the header (truncated file or wrong header)"),
])
def test_declared_sizes_are_checked_against_the_file(data, message):
    assert aiger_error(data, "f.aig") == message


def test_many_unused_binary_inputs_within_the_bound_are_read():
    c = parse_aiger(b"aig 1000 1000 0 1 0\n2\n", "f.aig")
    assert c.num_inputs == 1000


# ---------------------------------------------------------------------- 10. memory
def test_memory_estimate_refuses_early(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1M")
    data = b"aag 100000 100000 0 0 0\n" + b"".join(b"%d\n" % (2 * k) for k in range(1, 100001))
    assert aiger_error(data) == (
        "f.aag:1: the circuit the header declares (M=100000 I=100000 L=0 O=0 A=0) would need about 32.7 MB of "
        "memory to build, but only 1.0 MB are available (set $NANDC_MAX_MEMORY to change the limit)")
    text = ".model m\n.inputs a\n.outputs y\n" + ".names a y\n1 1\n" + "# padding\n" * 30000 + ".end\n"
    assert blif_error(text) == (
        "f.blif: the circuit of this 300050-character BLIF file would need about 13.5 MB of memory to build, "
        "but only 1.0 MB are available (set $NANDC_MAX_MEMORY to change the limit)")
    monkeypatch.setenv(MEMORY_ENV, "1G")
    assert parse_aiger(data, "f.aag").num_inputs == 100000


def test_only_ascii_whitespace_separates_tokens():
    """``str.split`` also splits at \\x1c-\\x1f, \\xa0, \\u2028: such a file is refused, not reinterpreted."""
    assert aiger_error(b"aag 3 2 0 1 1\n2\n4\n6\n6 2 \x1c4\n") == \
        "f.aag:5: expected AND gate 0 ('lhs rhs0 rhs1') as 3 literals (unsigned integers), found '6 2 \\x1c4'"
    assert aiger_error("aag 3 2 0 1 1\n2\n4\n6\n6\u00a02 4\n".encode()) == \
        "f.aag:5: expected AND gate 0 ('lhs rhs0 rhs1') as 3 literals (unsigned integers), found '6\\xa02 4'"
    c = parse_blif(".model m\n.inputs a\u00a0b\n.outputs y\n.names a\u00a0b y\n1 1\n.end\n", "f.blif")
    assert c.num_inputs == 1  # one signal named 'a\xa0b', not two
    assert aiger_error(b"aag 1 1 0 1 0\n2\n2\n\x1c\n") == (
        "f.aag:4: expected a symbol ('i<k> name', 'o<k> name') or 'c' starting the comments, found '\\x1c'")


def test_an_empty_line_where_a_literal_is_expected():
    assert aiger_error(b"aag 1 1 0 1 0\n2\n\n") == \
        "f.aag:3: expected output 0 as literal (unsigned integers), found ''"
