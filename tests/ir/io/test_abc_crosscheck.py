"""Berkeley ABC (and yosys) read nandc's files and agree on what they mean."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from io_testkit import bus_inputs, live_ands, seeded_circuit

import numpy as np

from nandc.ir import evaluate
from nandc.ir.io import genlib_path, read, write
from nandc.passes import lower_to_nand
from nandc.synth.rebuild import rebuild

ABC = next((p for p in map(shutil.which, ("yosys-abc", "berkeley-abc", "abc")) if p), None)
YOSYS = shutil.which("yosys")

needs_abc = pytest.mark.skipif(ABC is None, reason="Berkeley ABC (yosys-abc, berkeley-abc or abc) is not on PATH")


def abc(commands: str, cwd) -> str:
    result = subprocess.run([ABC, "-c", commands], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One circuit written as .aig, .blif, and its NAND netlist as .blif (covers and gates)."""
    d = tmp_path_factory.mktemp("abc")
    c = seeded_circuit(7)
    net, _ = lower_to_nand(c)
    write(c, d / "c.aig")
    write(c, d / "c.blif")
    write(net, d / "n_names.blif")
    write(net, d / "n_gates.blif", style="gates")
    return d, c, net


@needs_abc
def test_abc_proves_aiger_and_blif_equivalent(files):
    d, _, _ = files
    lib = genlib_path()
    out = abc(f"cec c.aig c.blif; cec c.aig n_names.blif; read_library {lib}; cec c.aig n_gates.blif", d)
    assert out.count("Networks are equivalent") == 3, out
    assert "NOT EQUIVALENT" not in out


@needs_abc
def test_abc_finds_a_planted_difference(files):
    d, c, _ = files
    copy, _ = rebuild(c)  # the same circuit, then one output bit flipped
    s = copy.output_buses["s"]
    copy.set_output("s", [s.bits[0] ^ 1] + list(s.bits[1:]), s.shape, s.signed)
    write(copy, d / "bad.blif")
    out = abc("cec c.aig bad.blif", d)
    assert "Networks are NOT EQUIVALENT" in out, out
    assert "s[0]" in out


@needs_abc
def test_abc_reads_every_file_and_counts_the_same(files):
    d, c, net = files
    stats = abc(f"read c.aig; print_stats; read c.blif; print_stats; read_library {genlib_path()}; "
                "read n_gates.blif; print_stats", d)
    ands = [int(x) for x in re.findall(r"and =\s*(\d+)", stats)]
    assert ands == [len(live_ands(c))]
    io = re.findall(r"i/o =\s*(\d+)/\s*(\d+)", stats)
    assert io == [(str(c.num_inputs), str(len(c.output_literals())))] * 3
    areas = [float(x) for x in re.findall(r"area =\s*([\d.]+)", stats)]
    assert areas == [float(net.num_gates)]


@pytest.mark.skipif(YOSYS is None, reason="yosys is not on PATH")
def test_yosys_reads_ascii_aiger(tmp_path):
    """ABC cannot read ASCII AIGER; yosys parses nandc's .aag and writes BLIF that nandc reads back."""
    c = seeded_circuit(3, ops=60)
    write(c, tmp_path / "c.aag")
    subprocess.run([YOSYS, "-q", "-p", "read_aiger c.aag; write_blif y.blif"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    back = read(tmp_path / "y.blif")
    # yosys sorts ports and drops signedness (only nandc's comment has it); names and shapes survive
    shapes = {(b.name, b.shape) for b in c.input_buses.values()}
    assert {(b.name, b.shape) for b in back.input_buses.values()} == shapes
    assert {(b.name, b.shape) for b in back.output_buses.values()} == {
        (b.name, b.shape) for b in c.output_buses.values()}
    inputs = bus_inputs(c)
    expected, found = evaluate(c, inputs, as_words=False), evaluate(back, inputs, as_words=False)
    for name in expected:
        np.testing.assert_array_equal(expected[name], found[name], err_msg=name)
