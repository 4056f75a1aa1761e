"""The command line as a user meets it: exit codes, messages, files, golden output."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from nandc.cli import main
from nandc.ir.circuit import Circuit
from nandc.ir import words
from nandc.ir.io import write

MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn
    import nandc.nn as qnn

    input_shape = (6,)

    def build():
        torch.manual_seed(0)
        m = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(6, 5), nn.BatchNorm1d(5),
                          qnn.SignActivation(), qnn.BinaryLinear(5, 3))
        with torch.no_grad():
            m[2].running_mean.copy_(torch.tensor([0.5, -1.0, 0.0, 2.0, -0.5]))
            m[2].weight.copy_(torch.tensor([1.0, -1.0, 0.5, 1.0, -0.3]))
        return m.eval()
''')


def small_adder() -> Circuit:
    """A fixed 2-bit + 2-bit adder in two layers: the golden netlist of these tests."""
    c = Circuit("adder2")
    a = words.Word(c.add_input_bus("a", 2))
    b = words.Word(c.add_input_bus("b", 2))
    with c.layer("sum"):
        s = words.add(c, a, b)
    with c.layer("flag"):
        flag = words.compare_const(c, s, 5, ">=")
    c.set_output("s", s.bits)
    c.set_output("big", [flag])
    return c


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(MODEL_FILE)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_passes(capsys):
    code, out, _ = run(capsys, "passes")
    assert code == 0
    assert out.splitlines()[0].split()[0] == "cleanup"
    assert "-O2: " in out
    with pytest.raises(SystemExit) as info:
        main(["compile", "--help"])
    assert info.value.code == 0
    assert "--trust-pickle" in capsys.readouterr().out


def test_compile_writes_every_format_and_runs(model_file, tmp_path, capsys):
    outs = [tmp_path / f"m.{ext}" for ext in ("nandc", "v", "aag", "aig", "blif", "json", "txt")]
    code, out, err = run(capsys, "compile", f"{model_file}:build", *sum((["-o", o] for o in outs), []),
                         "-q")
    assert code == 0, err
    assert out == "" and err == ""
    for o in outs:
        assert o.stat().st_size > 0
    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, err = run(capsys, "run", outs[0], "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy",
                         "--backend", "reference")
    assert code == 0, err
    import importlib.util

    spec = importlib.util.spec_from_file_location("netmod", model_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import torch

    expected = mod.build()(torch.from_numpy(x)).argmax(1).numpy()
    assert np.array_equal(np.load(tmp_path / "y.npy"), expected)
    code, out, err = run(capsys, "verify", outs[2], outs[4])
    assert (code, out) == (0, "equivalent (proved by exhaustive)\n")


def test_user_mistakes_are_one_line_errors(tmp_path, capsys):
    code, out, err = run(capsys, "compile", tmp_path / "missing.py:build", "-o", tmp_path / "m.v")
    assert code == 1
    assert err == f"nandc: error: MODEL file '{tmp_path / 'missing.py'}' does not exist\n"
    code, _, err = run(capsys, "compile", tmp_path / "model.pt", "-o", tmp_path / "m.v")
    assert code == 1
    assert err == (f"nandc: error: '{tmp_path / 'model.pt'}' is a pickled file; loading it runs code stored "
                   "in it. Pass --trust-pickle if you trust its author, or give 'file.py:factory' with --weights\n")
    code, _, err = run(capsys, "report", tmp_path / "nothing.aag")
    assert (code, err) == (1, f"nandc: error: no such file: {tmp_path / 'nothing.aag'}\n")
    assert not (tmp_path / "m.v").exists()


def test_missing_input_shape(tmp_path, capsys):
    path = tmp_path / "noshape.py"
    path.write_text(MODEL_FILE.replace("input_shape = (6,)", ""))
    code, _, err = run(capsys, "compile", f"{path}:build", "-o", tmp_path / "m.v")
    assert code == 1
    assert "the input shape is unknown: pass --input-shape" in err
    code, _, err = run(capsys, "compile", f"{path}:build", "-o", tmp_path / "m.v", "--input-shape", "6", "-q")
    assert code == 0, err


def test_verify_prints_a_counterexample(tmp_path, capsys):
    good = small_adder()
    bad = small_adder()
    s = bad.output_buses["s"]
    bad.set_output("s", (s.bits[0] ^ 1,) + s.bits[1:])
    write(good, tmp_path / "good.aag")
    write(bad, tmp_path / "bad.aag")
    code, out, _ = run(capsys, "verify", tmp_path / "good.aag", tmp_path / "bad.aag")
    assert code == 3
    assert out.startswith("NOT equivalent (exhaustive): outputs differ at s[0]\n")
    assert "  counterexample a = " in out


GOLDEN_REPORT_TEXT = """\
adder2: 4 input bits, 4 output bits, 18 NAND2 gates, depth 9

layer  NAND2  AIG nodes  depth   share
-----  -----  ---------  -----  ------
sum       15         13      7   83.3%
flag       3          2      9   16.7%
-----  -----  ---------  -----  ------
total     18         15      9  100.0%

"""


def test_report_golden(tmp_path, capsys):
    write(small_adder(), tmp_path / "adder.aag")
    code, out, err = run(capsys, "report", tmp_path / "adder.aag")
    assert code == 0, err
    assert out == GOLDEN_REPORT_TEXT


CNN_FILE = textwrap.dedent('''
    import torch
    from torch import nn
    import nandc.nn as qnn

    input_shape = (1, 6, 6)

    def build():
        torch.manual_seed(0)
        return nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryConv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3),
                             qnn.SignActivation(), nn.MaxPool2d(2), nn.Flatten(),
                             qnn.BinaryLinear(27, 4)).eval()
''')


def test_staged_compile_report_and_run(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = tmp_path / "cnn.py"
    path.write_text(CNN_FILE)
    outs = [tmp_path / f"m.{ext}" for ext in ("nandc", "v", "json")]
    code, out, err = run(capsys, "compile", f"{path}:build", "--staged", "-O1",
                         *sum((["-o", o] for o in outs), []), "-q")
    assert code == 0, err
    code, _, err = run(capsys, "compile", f"{path}:build", "--staged", "-O1", "-o", tmp_path / "m.aig", "-q")
    assert code == 1 and err == (
        f"nandc: error: cannot write {str(tmp_path / 'm.aig')!r} with --staged: .aig holds one flat circuit; "
        "write .v (one module per stage), .nandc or .json, or compile with --flat\n"
    )
    assert not (tmp_path / "m.aig").exists()
    code, out, err = run(capsys, "report", outs[0])
    assert code == 0, err
    assert "NAND2/position" in out and "gate evaluations per sample" in out and "kernel stage 0" in out
    x = np.random.default_rng(1).random((50, 1, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, _, err = run(capsys, "run", outs[0], "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert code == 0, err
    namespace = {}
    exec(CNN_FILE, namespace)
    with torch.no_grad():
        expected = namespace["build"]()(torch.from_numpy(x)).argmax(1).numpy()
    assert np.array_equal(np.load(tmp_path / "y.npy"), expected)


def _renamed_adder(flip: bool = False) -> Circuit:
    """small_adder() with other bus names (as from a tool that names pins differently)."""
    src = small_adder()
    c = Circuit("other")
    p = words.Word(c.add_input_bus("p", src.input_buses["a"].width))
    q = words.Word(c.add_input_bus("q", src.input_buses["b"].width))
    total = words.add(c, p, q)
    out = list(total.bits)
    if flip:
        out[1] ^= 1
    c.set_output("z", out)
    c.set_output("flag", [words.compare_const(c, total, 5, ">=")])
    return c


def test_verify_match_order_pairs_pins_by_position(tmp_path, capsys):
    write(small_adder(), tmp_path / "a.aag")
    write(_renamed_adder(), tmp_path / "b.aag")
    write(_renamed_adder(flip=True), tmp_path / "bad.aag")
    code, _, err = run(capsys, "verify", tmp_path / "a.aag", tmp_path / "b.aag")
    assert code == 1 and "input buses differ" in err
    code, out, _ = run(capsys, "verify", "--match-order", tmp_path / "a.aag", tmp_path / "b.aag")
    assert code == 0, out
    code, out, _ = run(capsys, "verify", "--match-order", tmp_path / "a.aag", tmp_path / "bad.aag")
    assert code == 3 and out.startswith("NOT equivalent (exhaustive): outputs differ at s[1]")
    assert "  counterexample in = " in out
