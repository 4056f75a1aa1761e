"""BLIF read/write: round trips, covers, gate-level netlists, errors."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from io_testkit import assert_same_function, interface, live_ands, random_circuits

from nandc.errors import CircuitError, NandcError, ParseError
from nandc.ir import Circuit, NandNetlist, evaluate
from nandc.ir.io import blif_text, genlib_path, parse_blif, read, write
from nandc.passes import lower_to_nand
from tests.strategies import examples


def _layer_counts(c: Circuit) -> Counter:
    return Counter(c.layer_of(n) for n in live_ands(c))


# ---------------------------------------------------------------------- round trips
@settings(max_examples=examples(60), deadline=None)
@given(c=random_circuits())
def test_random_circuit_round_trip(c):
    back = parse_blif(blif_text(c), "t.blif")
    assert_same_function(c, back)
    assert back.name == c.name
    assert back.num_ands == len(live_ands(c))
    assert _layer_counts(back) == _layer_counts(c)


@pytest.mark.parametrize("style", ["names", "gates"])
@settings(max_examples=examples(25), deadline=None)
@given(c=random_circuits())
def test_netlist_round_trip(style, c):
    net, _ = lower_to_nand(c)
    text = blif_text(net, style=style)
    back = parse_blif(text, "n.blif")
    assert_same_function(net, back)
    if style == "gates":
        cells = Counter(m.group(1) for m in re.finditer(r"^\.gate (\w+)", text, re.M))
        assert cells["nand2"] + cells["inv"] == net.num_gates
        assert ".names" not in text
    # layer tags of the gates come back on the AND nodes they became
    assert set(back.layer_names) >= {net.layer_of_gate(net.first_gate + k) for k in range(net.num_gates)}


def test_netlist_with_unbundled_input_and_constant_outputs(tmp_path):
    net = NandNetlist("n")
    (a,) = net.add_input_bus("a", 1)
    b = net.add_input()
    g = net.nand(a, b)
    h = net.nand(g, g)
    net.set_output("y", [g, h, 0, 1, b])
    for style in ("names", "gates"):
        write(net, tmp_path / "n.blif", style=style)
        back = read(tmp_path / "n.blif")
        assert interface(back)[0] == [("a", (1,), False), ("in", (1,), False)]
        y = evaluate(back, {"a": np.array([[0], [1], [1]]), "in": np.array([[1], [0], [1]])}, as_words=False)
        assert y["y"].tolist() == [[1, 0, 0, 1, 1], [1, 0, 0, 1, 0], [0, 1, 0, 1, 1]]


def test_output_named_like_its_input_is_written_once():
    c = Circuit()
    (a,) = c.add_input_bus("x", 1)
    c.set_output("x", [a])
    text = blif_text(c)
    assert ".names" not in text
    back = parse_blif(text)
    assert back.output_buses["x"].bits == back.input_buses["x"].bits


# ---------------------------------------------------------------------- reading other files
def test_covers_with_dont_cares_offsets_continuations_and_any_order():
    text = """# a hand-written file
.model hand   # trailing comment
.inputs a b \\
  \\
  c\\

.outputs f g h k
.names t c f      # f defined before t
1- 1
-1 1
.names a b t
11 1
.names a b c g    # OFF-set cover: g = !(a & !b) & !(c)  ==  (!a | b) & !c
10- 0
--1 0
.names h
1
.names k
.end
"""
    circuit = parse_blif(text, "hand.blif")
    assert circuit.name == "hand"
    assert interface(circuit) == ([("a", (), False), ("b", (), False), ("c", (), False)],
                                  [("f", (), False), ("g", (), False), ("h", (), False), ("k", (), False)])
    rows = np.array(list(itertools.product([0, 1], repeat=3)))
    y = evaluate(circuit, {"a": rows[:, 0], "b": rows[:, 1], "c": rows[:, 2]}, as_words=False)
    a, b, c = rows.T
    assert y["f"].tolist() == ((a & b) | c).tolist()
    assert y["g"].tolist() == (((1 - a) | b) & (1 - c)).tolist()
    assert y["h"].tolist() == [1] * 8
    assert y["k"].tolist() == [0] * 8


def test_gate_and_subckt_cells():
    text = """.model cells
.inputs a b
.outputs y[0] y[1] y[2] y[3] y[4] y[5] y[6]
.gate nand2 B=b A=a Y=y[0]
.subckt and2 A=a B=b Y=y[1]
.gate or2 A=a B=b Y=y[2]
.gate inv A=a Y=y[3]
.gate buf A=b Y=y[4]
.gate zero Y=y[5]
.gate one Y=y[6]
.end
"""
    circuit = parse_blif(text)
    y = evaluate(circuit, {"a": np.array([0, 1, 0, 1]), "b": np.array([0, 0, 1, 1])}, as_words=False)["y"]
    assert y.T.tolist() == [[1, 1, 1, 0], [0, 0, 0, 1], [0, 1, 1, 1], [1, 0, 1, 0],
                            [0, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]


def test_genlib_is_shipped_and_declares_the_cells():
    text = genlib_path().read_text()
    gates = dict(re.findall(r"^GATE\s+(\w+)\s+([\d.]+)", text, re.M))
    assert gates == {"zero": "0", "one": "0", "buf": "0", "inv": "1", "nand2": "1"}


# ---------------------------------------------------------------------- errors
def _error(text: str, path: str = "f.blif") -> str:
    with pytest.raises(ParseError) as info:
        parse_blif(text, path)
    return str(info.value)


def test_undefined_signal():
    assert _error(".model m\n.inputs a\n.outputs y\n.names a t y\n11 1\n.end\n") == \
        "f.blif:4: signal 't' is used but never defined (not an input, no .names or .gate drives it)"
    assert _error(".model m\n.inputs a\n.outputs y z\n.names a y\n1 1\n.end\n") == \
        "f.blif:3: output 'z' is never driven (not an input, no .names or .gate drives it)"


def test_cycle_names_the_signals():
    text = ".model m\n.inputs a\n.outputs y\n.names a q p\n11 1\n.names p q\n0 1\n.names p y\n1 1\n.end\n"
    assert _error(text) == "f.blif:4: combinational cycle through signals 'p' -> 'q' -> 'p'"


def test_unknown_gate_and_bad_pins():
    assert _error(".model m\n.inputs a\n.outputs y\n.gate xor2 A=a B=a Y=y\n.end\n") == (
        "f.blif:4: unknown gate 'xor2'; nandc knows the cells nand2, and2, or2, inv, buf, zero, one "
        "(see nand.genlib)"
    )
    assert _error(".model m\n.inputs a\n.outputs y\n.gate nand2 A=a Y=y\n.end\n") == \
        "f.blif:4: gate 'nand2': expected pins A, B, Y, found A, Y"
    assert _error(".model m\n.inputs a\n.outputs y\n.gate inv A=a A=a Y=y\n.end\n") == \
        "f.blif:4: gate 'inv': expected distinct '<pin>=<signal>' pairs, found 'A=a'"


def test_bad_cover_rows():
    head = ".model m\n.inputs a b\n.outputs y\n.names a b y\n"
    assert _error(head + "1 1\n.end\n") == \
        "f.blif:5: cover of 'y': expected a cover row of 2 characters from '01-' and an output '0' or '1', " \
        "found '1 1'"
    assert _error(head + "1x 1\n.end\n") == \
        "f.blif:5: cover of 'y': expected a cover row of 2 characters from '01-' and an output '0' or '1', " \
        "found '1x 1'"
    assert _error(head + "11 1\n00 0\n.end\n") == \
        "f.blif:6: cover of 'y' mixes ON-set rows (output 1) and OFF-set rows (output 0)"
    assert _error(".model m\n.outputs y\n.names y\n2\n.end\n") == \
        "f.blif:4: cover of 'y': expected a cover row '1' or '0' (a constant), found '2'"
    assert _error(".model m\n.inputs a\n11 1\n.end\n") == \
        "f.blif:3: expected a directive (a line starting with '.'), found '11 1'"


def test_duplicate_definitions():
    assert _error(".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.names a y\n0 1\n.end\n") == \
        "f.blif:6: signal 'y' is defined twice: here and at line 4"
    assert _error(".model m\n.inputs a b\n.outputs y\n.names b a\n1 1\n.names a y\n1 1\n.end\n") == \
        "f.blif:4: signal 'a' is a primary input (line 2) and cannot also be driven"
    assert _error(".model m\n.inputs a a\n.outputs y\n.names a y\n1 1\n.end\n") == \
        "f.blif:2: input 'a' is listed twice (first at line 2)"
    assert _error(".model m\n.inputs a\n.outputs y y\n.names a y\n1 1\n.end\n") == \
        "f.blif:3: output name 'y' is used twice (first at line 3)"


def test_structure_errors():
    assert _error(".model m\n.inputs a\n.outputs q\n.latch a q 0\n.end\n") == \
        "f.blif:4: '.latch' found: nandc reads combinational BLIF only (sequential circuits are not supported)"
    assert _error(".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n") == \
        "f.blif:6: unexpected end of file: expected '.end'"
    assert _error(".model m\n.inputs a\n.exdc\n.end\n") == (
        "f.blif:3: unsupported directive '.exdc'; expected one of .model, .inputs, .outputs, .names, .gate, "
        ".subckt, .end"
    )
    assert _error(".model m\n.end\n.model n\n.end\n") == \
        "f.blif:3: a second .model found: nandc reads one flat model per BLIF file"


# ---------------------------------------------------------------------- writing errors
def test_write_errors():
    c = Circuit()
    (a,) = c.add_input_bus("x", 1)
    c.set_output("x", [a ^ 1])
    with pytest.raises(CircuitError) as info:
        blif_text(c)
    assert str(info.value) == (
        "cannot write BLIF: output bit 'x[0]' has the name of an input bit but another value "
        "(BLIF has one namespace for signals); rename the input or the output bus"
    )
    with pytest.raises(CircuitError) as info:
        blif_text(Circuit(), style="gates")
    assert str(info.value) == "BLIF style 'gates' needs a NandNetlist; lower the circuit first (pass 'nand')"
    with pytest.raises(NandcError) as info:
        blif_text(Circuit(), style="sop")
    assert str(info.value) == "BLIF style must be one of names, gates, found 'sop'"
