"""The format registry: extensions, errors, atomic writes."""

from __future__ import annotations

import os

import pytest
from io_testkit import assert_same_function

from nandc.errors import CircuitError, NandcError, ParseError
from nandc.ir import Circuit
from nandc.ir.io import FORMATS, read, write
from nandc.passes import lower_to_nand


def _circuit() -> Circuit:
    c = Circuit("r")
    a, b, d = c.add_input_bus("x", 3)
    c.set_output("y", [c.maj(a, b, d), c.xor(a, d)])
    return c


def test_registry_lists_the_formats():
    assert {ext: f.reader is not None for ext, f in FORMATS.items()} == {
        ".aag": True, ".aig": True, ".blif": True, ".txt": False,
    }


@pytest.mark.parametrize("ext", [".aag", ".aig", ".blif", ".AIG"])
def test_write_then_read_every_readable_format(tmp_path, ext):
    c = _circuit()
    write(c, tmp_path / f"c{ext}")
    assert_same_function(c, read(tmp_path / f"c{ext}"))
    net, _ = lower_to_nand(c)
    write(net, tmp_path / f"n{ext}")
    assert_same_function(net, read(tmp_path / f"n{ext}"))


def test_extension_picks_ascii_or_binary(tmp_path):
    write(_circuit(), tmp_path / "c.aag")
    write(_circuit(), tmp_path / "c.aig")
    assert (tmp_path / "c.aag").read_bytes().startswith(b"aag ")
    assert (tmp_path / "c.aig").read_bytes().startswith(b"aig ")


def test_unknown_extensions(tmp_path):
    with pytest.raises(NandcError) as info:
        write(_circuit(), tmp_path / "c.v2")
    assert str(info.value) == (
        f"cannot write {str(tmp_path / 'c.v2')!r}: unknown extension '.v2'; "
        "supported extensions are .aag, .aig, .blif, .txt"
    )
    with pytest.raises(NandcError) as info:
        read("netlist")
    assert str(info.value) == (
        "cannot read 'netlist': unknown extension '(none)'; supported extensions are .aag, .aig, .blif"
    )
    with pytest.raises(NandcError) as info:
        read("dump.txt")
    assert str(info.value) == (
        "cannot read 'dump.txt': .txt (readable text listing) is write only; "
        "readable extensions are .aag, .aig, .blif"
    )


def test_missing_file_is_a_parse_error(tmp_path):
    path = tmp_path / "missing.aig"
    with pytest.raises(ParseError) as info:
        read(path)
    assert str(info.value) == f"{path}: cannot read the file: No such file or directory"


def test_failed_write_leaves_no_file(tmp_path):
    c = Circuit()
    (a,) = c.add_input_bus("x", 1)
    c.set_output("x", [a ^ 1])  # BLIF cannot name this output
    with pytest.raises(CircuitError):
        write(c, tmp_path / "c.blif")
    with pytest.raises(CircuitError):
        write("not a circuit", tmp_path / "c.aig")
    assert os.listdir(tmp_path) == []
