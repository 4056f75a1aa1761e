"""The command line under misuse: bad output paths, odd inputs, broken models, closed pipes.

Every case is one ``nandc: error: ...`` line and exit status 1 (141 for a
closed pipe, as Unix tools), never a traceback and never a partial file.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nandc.cli import main
from nandc.ir import Circuit
from nandc.ir.io import write
from tests.modelfiles import tiny_model

ROOT = Path(__file__).resolve().parents[2]

MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn
    import nandc.nn as qnn

    input_shape = (6,)

    def build():
        return nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(6, 3)).eval()

    def raises():
        raise RuntimeError("factory exploded")

    def plain(x):
        return x

    def empty():
        return nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(6, 0))
''')


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder with a model file, a saved model, a netlist and input arrays; the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(MODEL_FILE)
    (tmp_path / "net.txt").write_text(MODEL_FILE)
    (tmp_path / "bad.pt").write_bytes(b"garbage, not a pickle")
    tiny_model().save(tmp_path / "m.nandc")
    c = Circuit("c")
    a = c.add_input_bus("a", 2)
    c.set_output("y", [c.and_(a[0], a[1])])
    write(c, tmp_path / "c.aag")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((5, 8)).astype(np.float32))
    np.save(tmp_path / "bits.npy", np.array([[0, 1], [1, 1]], np.uint8))
    np.save(tmp_path / "twos.npy", np.array([[0, 2]]))
    np.save(tmp_path / "floats.npy", np.array([[0.0, 0.5]]))
    np.savez(tmp_path / "z.npz", a=np.zeros(2))
    (tmp_path / "empty").mkdir()
    return tmp_path


CASES = {
    "run to a missing directory": (["run", "m.nandc", "--inputs", "x.npy", "-o", "nodir/y.npy"],
                                   "cannot write 'nodir/y.npy': the directory 'nodir' does not exist"),
    "run to a directory": (["run", "m.nandc", "--inputs", "x.npy", "-o", "."], "cannot write '.': it is a directory"),
    "run to an empty name": (["run", "m.nandc", "--inputs", "x.npy", "-o", ""], "cannot write '': expected a file name"),
    "run to below a file": (["run", "m.nandc", "--inputs", "x.npy", "-o", "x.npy/y.npy"],
                            "cannot write 'x.npy/y.npy': a part of the path is not a directory"),
    "inputs are a folder without inputs": (["run", "m.nandc", "--inputs", "empty", "-o", "y.npy"],
                                           "no input files in the folder 'empty': expected .npy or .parquet files "
                                           "in it"),
    "inputs of the wrong shape in a folder": (["run", "m.nandc", "--inputs", ".", "-o", "y.npy"],
                                              "./bits.npy: expected an array of samples (N, 8), found an array of "
                                              "shape (2, 2)"),
    "a glob that matches nothing": (["run", "m.nandc", "--inputs", "shards/*.npy", "-o", "y.npy"],
                                    "no input files match 'shards/*.npy': expected .npy or .parquet files"),
    "workers without --ray": (["run", "m.nandc", "--inputs", "x.npy", "--workers", "2", "-o", "y.npy"],
                              "--workers sizes the pool of Ray workers; add --ray [ADDRESS] to run on a cluster"),
    "--ray for a netlist": (["run", "c.aag", "--inputs", "bits.npy", "--ray", "-o", "y.npy"],
                            "--ray runs saved models (.nandc); found 'c.aag'"),
    "inputs are an npz": (["run", "m.nandc", "--inputs", "z.npz", "-o", "y.npy"],
                          "cannot read 'z.npz' as a .npy array: it is an .npz archive of several arrays"),
    "inputs are not bits": (["run", "c.aag", "--inputs", "twos.npy", "-o", "y.npy"],
                            "expected inputs holding 0/1 bits (integers or booleans), found int64 values up to 2"),
    "inputs are floats": (["run", "c.aag", "--inputs", "floats.npy", "-o", "y.npy"],
                          "expected inputs holding 0/1 bits (integers or booleans), found float64 values up to 0.5"),
    "compile to a missing directory": (["compile", "net.py:build", "-o", "nodir/m.v"],
                                       "cannot write 'nodir/m.v': the directory 'nodir' does not exist"),
    "compile to an unknown format": (["compile", "net.py:build", "-o", "m.xyz"],
                                     "cannot write 'm.xyz': unknown extension '.xyz'; expected one of .v, .nandc, "
                                     ".json, .aag, .aig, .blif, .txt"),
    "plot to a missing directory": (["report", "m.nandc", "--plot", "nodir/p.png"],
                                    "cannot write 'nodir/p.png': the directory 'nodir' does not exist"),
    "plot to a directory": (["report", "m.nandc", "--plot", "."], "cannot write '.': it is a directory"),
    "a factory that raises": (["compile", "net.py:raises", "-o", "m.v"],
                              "calling 'net.py:raises' with no arguments failed: RuntimeError: factory exploded"),
    "a model file that is not .py": (["compile", "./net.txt:build", "-o", "m.v"],
                                     "MODEL file 'net.txt' is not a Python file; expected 'path/to/file.py:name'"),
    "a plain function": (["compile", "net.py:plain", "-o", "m.v"],
                         "calling 'net.py:plain' with no arguments failed: TypeError: plain() missing 1 required "
                         "positional argument: 'x'"),
    "a corrupt pickle": (["compile", "bad.pt", "--trust-pickle", "-o", "m.v"],
                         "cannot unpickle MODEL file 'bad.pt': UnpicklingError: pickle data was truncated"),
    "a huge input shape": (["compile", "net.py:build", "--input-shape", "99999999999", "-o", "m.v"],
                           "--input-shape '99999999999' has 99999999999 elements per sample; nandc compiles inputs "
                           "of at most 16777216 elements"),
    "a non-ASCII input shape": (["compile", "net.py:build", "--input-shape", "1,\u00b2", "-o", "m.v"],
                                "--input-shape must be positive integers separated by commas (e.g. 1,28,28), "
                                "found '1,\u00b2'"),
    "a layer without outputs": (["compile", "net.py:empty", "-o", "m.v"],
                                "layer '1' has no weights (shape (0, 6)): give it at least one input and one output"),
    "an over-long output name": (["run", "c.aag", "--inputs", "bits.npy", "-o", "y" * 300 + ".npy"],
                                 f"cannot write '{'y' * 300}.npy': file name too long"),
    "an over-long input name": (["report", "x" * 300 + ".aag"], f"cannot read '{'x' * 300}.aag': file name too long"),
    "demo without epochs": (["demo", "--epochs", "0"], "--epochs must be at least 1, found 0"),
    "demo with a negative seed": (["demo", "--seed", "-1"], f"--seed must be from 0 to {2**32 - 1}, found -1"),
    "demo into a file": (["demo", "-o", "x.npy", "--epochs", "1"],
                         "cannot create the output folder 'x.npy': a file is in the way"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_misuse_is_one_error_line(work, capsys, name):
    argv, message = CASES[name]
    before = sorted(os.listdir(work))
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, err) == (1, f"nandc: error: {message}\n")
    assert sorted(os.listdir(work)) == before  # no partial output, no temporary file


def _cli(args: list[str], cwd: Path, limit_file_size: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    def limits():
        if limit_file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    code = f"from nandc.cli import main; raise SystemExit(main({args!r}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, preexec_fn=limits, timeout=120,
                          **kwargs)


@pytest.mark.slow
def test_file_size_limit_is_a_clean_error(work):
    result = _cli(["compile", "net.py:build", "-o", "big.txt", "-q"], work, limit_file_size=200,
                  capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == ("nandc: error: cannot write 'big.txt': the file is larger than allowed "
                             "(file size limit, e.g. ulimit -f)\n")
    assert not [p for p in os.listdir(work) if p.startswith((".big", "big"))]


def test_closed_pipe_exits_quietly(work):
    proc = subprocess.Popen([sys.executable, "-c", "from nandc.cli import main; raise SystemExit(main("
                             "['report', 'm.nandc', '--format', 'json']))"],
                            cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: nobody reads
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == b""


def test_full_disk_is_a_clean_error(tmp_path, monkeypatch):
    import errno

    from nandc.errors import OutputError
    from nandc.files.fsutil import atomic_write

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    with pytest.raises(OutputError) as info:
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("data")
    assert str(info.value) == f"cannot write '{tmp_path / 'out.txt'}': no space left on device"
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_weights_is_one_line(work, capsys):
    for name in ("c.aag", "bad.pt", "x.npy"):
        code = main(["compile", "net.py:build", "-o", "out.v", "--weights", name])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1, err
        assert err.startswith(f"nandc: error: cannot read weights {name!r} as a state dict: ")
