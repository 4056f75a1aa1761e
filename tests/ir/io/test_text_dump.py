"""The text listing: pinned output, determinism, the .txt writer."""

from __future__ import annotations

import pytest

from nandc.errors import CircuitError
from nandc.ir import Circuit, NandNetlist
from nandc.ir.io import dump, write


def _circuit() -> Circuit:
    c = Circuit("demo")
    x = c.add_input_bus("x", (2, 2), signed=True)
    extra = c.add_input()
    with c.layer("fc1"):
        a = c.and_(x[0], x[1] ^ 1)
    b = c.and_(a ^ 1, extra)
    c.set_output("y", [a, b ^ 1, 1], (3,))
    c.set_output("s", [x[3]], ())
    return c


def test_circuit_dump_is_pinned():
    assert dump(_circuit()) == """\
circuit 'demo': 5 inputs, 2 AND nodes, 4 output bits
input x [2x2, signed]:
    x[0][0]=n1 x[0][1]=n2 x[1][0]=n3 x[1][1]=n4
inputs in no bus:
    n5
[layer 'fc1']
  n6 = n1 & !n2
[untagged]
  n7 = n5 & !n6
output y [3, unsigned]:
    y[0]=n6 y[1]=!n7 y[2]=1
output s [scalar, unsigned]:
    s=n4
"""


def test_netlist_dump_is_pinned():
    net = NandNetlist("n")
    a, b = net.add_input_bus("a", 2)
    g = net.nand(a, b, net.layer_id("L"))
    h = net.nand(g, g)
    net.set_output("y", [h, 0])
    assert dump(net) == """\
netlist 'n': 2 inputs, 2 NAND2 gates, 2 output bits
input a [2, unsigned]:
    a[0]=s2 a[1]=s3
[layer 'L']
  s4 = nand(s2, s3)
[untagged]
  s5 = not(s4)
output y [2, unsigned]:
    y[0]=s5 y[1]=0
"""


def test_dump_is_deterministic_and_written_by_extension(tmp_path):
    assert dump(_circuit()) == dump(_circuit())
    write(_circuit(), tmp_path / "c.txt")
    assert (tmp_path / "c.txt").read_text() == dump(_circuit())


def test_long_buses_wrap():
    c = Circuit()
    bits = c.add_input_bus("w", 10)
    c.set_output("y", bits[:1])
    lines = dump(c).splitlines()
    assert lines[2] == "    " + " ".join(f"w[{k}]=n{k + 1}" for k in range(8))
    assert lines[3] == "    w[8]=n9 w[9]=n10"


def test_dump_rejects_other_objects():
    with pytest.raises(CircuitError) as info:
        dump("not a circuit")
    assert str(info.value) == "expected a Circuit or NandNetlist, found str"
