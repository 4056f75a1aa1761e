"""Structural Verilog backend: simulated with iverilog against the reference evaluator,
counted with yosys, deterministic, with legal port names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.backends import verilog as vg
from nandc.errors import BackendError
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate
from nandc.ir.netlist import NandNetlist
from nandc.passes import lower_to_nand
from tests.strategies import examples

needs_iverilog = pytest.mark.skipif(
    shutil.which("iverilog") is None or shutil.which("vvp") is None, reason="iverilog is not installed"
)
needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")


# ---------------------------------------------------------------------- helpers
def random_circuit(seed: int) -> Circuit:
    """A random AIG with 1-3 input buses (some 2-D, some signed), 1-3 layers, 1-3 output buses."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"random_{seed}")
    pool: list[int] = []
    for b in range(int(rng.integers(1, 4))):
        shape = (int(rng.integers(2, 6)),) if rng.random() < 0.5 else (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        pool += c.add_input_bus(f"in{b}", shape, signed=bool(rng.integers(2)))

    def pick() -> int:
        lit = pool[int(len(pool) * rng.random() ** 0.5)]  # favour recent nodes: deeper logic
        return lit ^ int(rng.integers(2))

    for layer in range(int(rng.integers(1, 4))):
        with c.layer(f"layer{layer}"):
            for _ in range(int(rng.integers(4, 30))):
                op = int(rng.integers(4))
                if op == 0:
                    lit = c.and_(pick(), pick())
                elif op == 1:
                    lit = c.xor(pick(), pick())
                elif op == 2:
                    lit = c.mux(pick(), pick(), pick())
                else:
                    lit = c.maj(pick(), pick(), pick())
                if lit >= 2:
                    pool.append(lit)
    for b in range(int(rng.integers(1, 4))):
        shape = (int(rng.integers(1, 5)),) if rng.random() < 0.5 else (int(rng.integers(1, 4)), int(rng.integers(1, 5)))
        bits = [pick() if rng.random() < 0.9 else int(rng.integers(2)) for _ in range(int(np.prod(shape)))]
        c.set_output(f"out{b}", bits, shape, signed=bool(rng.integers(2)))
    return c


def run_simulation(tmp_path: Path, *sources: Path) -> str:
    """Compile ``sources`` with iverilog, run them with vvp; returns the simulation output."""
    binary = tmp_path / "sim.vvp"
    subprocess.run(["iverilog", "-Wall", "-o", str(binary), *map(str, sources)],
                   check=True, capture_output=True, text=True)
    result = subprocess.run(["vvp", "-n", str(binary)], check=True, capture_output=True, text=True)
    return result.stdout


def simulate_testbench(netlist: NandNetlist, tmp_path: Path, num_vectors: int = 24, seed: int = 1) -> str:
    files = vg.write_testbench(netlist, tmp_path, num_vectors=num_vectors, seed=seed)
    return run_simulation(tmp_path, files.design, files.testbench)


def yosys_cells(path: Path) -> dict[str, int]:
    """Cell type -> count from ``yosys -p "read_verilog f.v; stat"``."""
    out = subprocess.run(["yosys", "-q", "-p", f"read_verilog {path}; tee -o /dev/stdout stat"],
                         check=True, capture_output=True, text=True).stdout
    block = out.split("Number of cells:", 1)[1]
    cells = {}
    for line in block.splitlines()[1:]:
        m = re.match(r"^\s+(\S+)\s+(\d+)\s*$", line)
        if not m:
            break
        cells[m.group(1)] = int(m.group(2))
    return cells


def constants_netlist() -> NandNetlist:
    """Gates reading tie-offs, a dead gate, outputs that are inputs or constants, a scalar bus."""
    net = NandNetlist("ties")
    x = net.add_input_bus("x", 3)
    (s,) = net.add_input_bus("s", ())
    g0 = net.nand(0, 1)            # constant 1 computed by a gate
    g1 = net.nand(x[0], 1)         # inverter through a tie
    g2 = net.nand(g1, s)
    net.nand(x[2], x[2])           # dead gate, still written and counted
    g4 = net.nand(0, 0)
    net.set_output("y", [g0, g1, g2, x[1], 0, 1, g4, s], shape=(2, 4))
    net.set_output("flag", [g2], shape=())
    return net


# ---------------------------------------------------------------------- simulation
@needs_iverilog
@settings(max_examples=examples(6), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_netlists_pass_their_testbench(seed, tmp_path_factory):
    net, _ = lower_to_nand(random_circuit(seed))
    out = simulate_testbench(net, tmp_path_factory.mktemp("tb"))
    assert "FAIL" not in out
    assert out.strip().splitlines()[-1] == "PASS: 24 vectors"


def signed_adder() -> Circuit:
    """``sums[i] = a[i] + b[i]`` for three pairs of signed 4-bit words, 5-bit signed results."""
    c = Circuit("adder")
    a = c.add_input_bus("a", (3, 4), signed=True)
    b = c.add_input_bus("b", (3, 4), signed=True)
    bits = []
    with c.layer("add"):
        for i in range(3):
            xs = list(a[4 * i: 4 * i + 4]) + [a[4 * i + 3]]  # sign-extend to 5 bits
            ys = list(b[4 * i: 4 * i + 4]) + [b[4 * i + 3]]
            carry = 0
            for x, y in zip(xs, ys):
                bits.append(c.xor(c.xor(x, y), carry))
                carry = c.maj(x, y, carry)
    c.set_output("sums", bits, shape=(3, 5), signed=True)
    return c


@needs_iverilog
def test_multidimensional_signed_output_passes_with_word_vectors(tmp_path):
    net, _ = lower_to_nand(signed_adder())
    rng = np.random.default_rng(0)
    ins = {"a": rng.integers(-8, 8, size=(40, 3)), "b": rng.integers(-8, 8, size=(40, 3))}
    want = evaluate(net, ins)  # signed words, shape (40, 3)
    assert np.array_equal(want["sums"], ins["a"] + ins["b"])
    (tmp_path / "adder.v").write_text(vg.to_verilog(net))
    (tmp_path / "adder_tb.v").write_text(vg.testbench(net, ins, want))
    out = run_simulation(tmp_path, tmp_path / "adder.v", tmp_path / "adder_tb.v")
    assert out.strip().splitlines() == ["PASS: 40 vectors"]


@needs_iverilog
def test_ports_are_flattened_row_major_lsb_first(tmp_path):
    """Drive the ports from a hand-written bench; decode as the header comment documents."""
    net, _ = lower_to_nand(signed_adder())
    text = vg.to_verilog(net)
    assert "//   sums: output, shape (3, 5), 3 signed 5-bit word(s), LSB first; " \
           "sums[i0][i1] is bit 5*i0 + i1" in text
    a, b = [3, -8, 7], [-5, -1, 7]
    pack = lambda words, w: sum((v & ((1 << w) - 1)) << (w * i) for i, v in enumerate(words))  # noqa: E731
    bench = tmp_path / "bench.v"
    bench.write_text(
        "module bench;\n  wire [14:0] s;\n"
        f"  adder dut (.a(12'd{pack(a, 4)}), .b(12'd{pack(b, 4)}), .sums(s));\n"
        '  initial begin #1; $display("%b", s); $finish; end\nendmodule\n'
    )
    (tmp_path / "adder.v").write_text(text)
    bits = run_simulation(tmp_path, tmp_path / "adder.v", bench).strip()[::-1]  # bits[k] is bit k
    words = [int(bits[5 * i: 5 * i + 5][::-1], 2) for i in range(3)]
    assert [w - 32 if w >= 16 else w for w in words] == [x + y for x, y in zip(a, b)]


@needs_iverilog
def test_constants_dead_gates_and_scalar_buses_pass(tmp_path):
    out = simulate_testbench(constants_netlist(), tmp_path, num_vectors=16)
    assert out.strip().splitlines() == ["PASS: 16 vectors"]


@needs_iverilog
def test_netlist_without_inputs_passes(tmp_path):
    net = NandNetlist("constant")
    g = net.nand(1, 1)
    net.set_output("y", [g, 1, net.nand(g, 0)])
    files = vg.write_testbench(net, tmp_path, num_vectors=3)
    assert "    vin[2] = 1'h0; vexp[2] = 3'h6;\n" in files.testbench.read_text()
    assert run_simulation(tmp_path, files.design, files.testbench).strip().splitlines() == ["PASS: 3 vectors"]


@needs_iverilog
@needs_yosys
def test_buses_without_bits_get_no_port(tmp_path):
    net = NandNetlist("empty")
    net.add_input_bus("e", (0,))
    x = net.add_input_bus("x", 1)
    net.set_output("nothing", [], shape=(2, 0))
    net.set_output("y", [net.nand(x[0], x[0])])
    text = vg.to_verilog(net)
    assert "//   e: input, shape (0,), no bits: no port\n" in text
    assert "//   nothing: output, shape (2, 0), no bits: no port\n" in text
    assert "module empty (\n  input  wire [0:0] x,\n  output wire [0:0] y\n);" in text
    path = vg.write_verilog(net, tmp_path / "empty.v")
    subprocess.run(["iverilog", "-o", str(tmp_path / "e.vvp"), str(path)], check=True)
    assert yosys_cells(path) == {"$and": 1, "$not": 1}


@needs_iverilog
def test_planted_wrong_vector_fails(tmp_path):
    net, _ = lower_to_nand(signed_adder())
    rng = np.random.default_rng(1)
    ins = {"a": rng.integers(-8, 8, size=(10, 3)), "b": rng.integers(-8, 8, size=(10, 3))}
    want = evaluate(net, ins, as_words=False)
    wrong = {"sums": want["sums"].copy()}
    wrong["sums"][7, 2, 0] ^= 1  # vector 7, word 2, bit 0 = bit 10 of the port
    (tmp_path / "adder.v").write_text(vg.to_verilog(net))
    (tmp_path / "adder_tb.v").write_text(vg.testbench(net, ins, wrong))
    lines = run_simulation(tmp_path, tmp_path / "adder.v", tmp_path / "adder_tb.v").strip().splitlines()
    good = int("".join(map(str, want["sums"][7].reshape(-1)[::-1])), 2)
    assert lines == [f"FAIL 7 sums {good ^ (1 << 10):04x} {good:04x}", "FAIL: 1 of 10 vectors differ"]


@needs_iverilog
def test_awkward_names_compile_and_pass(tmp_path):
    c = Circuit("3-layer net")
    x = c.add_input_bus("module", 2)
    y = c.add_input_bus("n12", 2)
    z = c.add_input_bus("a.b", 1)
    w = c.add_input_bus("a_b", 1)
    c.set_output("module", [c.and_(x[0], y[1]), c.xor(x[1], y[0])])
    c.set_output("g7", [c.or_(z[0], w[0])])
    net, _ = lower_to_nand(c)
    text = vg.to_verilog(net)
    assert "module _3_layer_net (" in text
    assert [p.name for p in vg.ports(net)] == ["module_", "n12_1", "a_b", "a_b_1", "module__1", "g7_1"]
    out = simulate_testbench(net, tmp_path, num_vectors=8)
    assert out.strip().splitlines() == ["PASS: 8 vectors"]


@needs_iverilog
def test_layer_names_cannot_break_out_of_comments(tmp_path):
    net = NandNetlist("odd")
    x = net.add_input_bus("x", 2)
    g = net.nand(x[0], x[1], net.layer_id("evil\nmodule m; endmodule\n//é"))
    net.set_output("y", [g])
    text = vg.to_verilog(net)
    assert "  // layer evil\\x0amodule m; endmodule\\x0a//\\xe9\n" in text
    assert text.isascii()
    assert [line for line in text.splitlines() if "endmodule" in line and not line.lstrip().startswith("//")] \
        == ["endmodule"]
    assert simulate_testbench(net, tmp_path, num_vectors=4).strip() == "PASS: 4 vectors"


# ---------------------------------------------------------------------- yosys
@needs_yosys
@pytest.mark.parametrize("seed", [3, 11])
def test_yosys_counts_one_and_plus_one_not_per_gate(seed, tmp_path):
    net, _ = lower_to_nand(random_circuit(seed))
    path = vg.write_verilog(net, tmp_path / "n.v")
    assert net.num_gates > 0
    assert yosys_cells(path) == {"$and": net.num_gates, "$not": net.num_gates}


@needs_yosys
def test_yosys_keeps_gates_on_tie_offs_and_dead_gates(tmp_path):
    net = constants_netlist()
    path = vg.write_verilog(net, tmp_path / "ties.v")
    assert yosys_cells(path) == {"$and": 5, "$not": 5}


# ---------------------------------------------------------------------- text
def test_header_reports_gate_count_depth_and_layers():
    net, _ = lower_to_nand(signed_adder())
    text = vg.to_verilog(net)
    assert text.startswith("// Generated by nandc ")
    assert f"// module adder: 24 input bits, 15 output bits, {net.num_gates} NAND2 gates, " \
           f"depth {net.depth()}\n" in text
    counts = net.layer_counts()
    assert set(counts) == {"add"}  # input inverters belong to the layer that reads them
    assert re.search(rf"^//   add +{counts['add']}$", text, re.M)
    assert "(untagged)" not in text
    assert text.count("  nand g") == net.num_gates
    assert "  input  wire [11:0] a,\n  input  wire [11:0] b,\n  output wire [14:0] sums\n);" in text


def test_exact_text_of_a_small_netlist():
    net = NandNetlist("tiny")
    x = net.add_input_bus("x", 2)
    g = net.nand(x[0], x[1], net.layer_id("l1"))
    h = net.nand(g, 1, net.layer_id("l1.argmax"))
    net.set_output("y", [h, x[0], 0], shape=(3,))
    body = vg.to_verilog(net).split("`default_nettype none\n", 1)[1]
    assert body == (
        "\n"
        "module tiny (\n"
        "  input  wire [1:0] x,\n"
        "  output wire [2:0] y\n"
        ");\n"
        "  wire n1 = 1'b1;\n"
        "  wire n4, n5;\n"
        "\n"
        "  // layer l1\n"
        "  nand g4 (n4, x[0], x[1]);\n"
        "  // layer l1.argmax\n"
        "  nand g5 (n5, n4, n1);\n"
        "\n"
        "  assign y[0] = n5;\n"
        "  assign y[1] = x[0];\n"
        "  assign y[2] = 1'b0;\n"
        "endmodule\n"
        "\n"
        "`default_nettype wire\n"
    )


def test_output_is_deterministic(tmp_path):
    one, _ = lower_to_nand(random_circuit(5))
    two, _ = lower_to_nand(random_circuit(5))
    assert vg.to_verilog(one) == vg.to_verilog(two)
    first = vg.write_testbench(one, tmp_path / "a", num_vectors=10, seed=4)
    second = vg.write_testbench(two, tmp_path / "b", num_vectors=10, seed=4)
    assert first.design.read_bytes() == second.design.read_bytes()
    assert first.testbench.read_bytes() == second.testbench.read_bytes()
    assert first.top == "random_5_tb"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["random_5.v", "random_5_tb.v"]


@pytest.mark.parametrize("name, ident", [
    ("x", "x"), ("fc1.weight", "fc1_weight"), ("module", "module_"), ("logic", "logic_"),
    ("3x", "_3x"), ("", "_"), ("$x", "_$x"), ("a b-c", "a_b_c"), ("ü", "_"), ("a$b", "a$b"),
])
def test_sanitize_identifier(name, ident):
    assert vg.sanitize_identifier(name) == ident


@given(st.text(max_size=12))
@settings(max_examples=examples(200), deadline=None)
def test_sanitized_names_are_legal_identifiers(name):
    ident = vg.sanitize_identifier(name)
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", ident)
    assert ident not in vg.VERILOG_KEYWORDS
    assert vg.sanitize_identifier(ident) == ident


# ---------------------------------------------------------------------- errors
def test_invalid_module_name_is_rejected():
    net, _ = lower_to_nand(signed_adder())
    with pytest.raises(BackendError) as err:
        vg.to_verilog(net, module_name="my-adder")
    assert str(err.value) == (
        "module name must be a Verilog identifier (a letter or _, then letters, digits, _ or $) "
        "and not a keyword, found 'my-adder'"
    )
    with pytest.raises(BackendError):
        vg.to_verilog(net, module_name="wire")


def test_inputs_outside_buses_are_rejected():
    net = NandNetlist("loose")
    net.add_input_bus("x", 1)
    net.add_input()
    with pytest.raises(BackendError) as err:
        vg.to_verilog(net)
    assert str(err.value) == (
        "netlist 'loose': every input must belong to an input bus to become a Verilog port, "
        "found 1 input(s) in no bus"
    )


def test_testbench_rejects_bad_vectors():
    net, _ = lower_to_nand(signed_adder())
    ins = {"a": np.zeros((2, 3), int), "b": np.zeros((2, 3), int)}
    with pytest.raises(BackendError) as err:
        vg.testbench(net, ins, {})
    assert str(err.value) == (
        "expected outputs must name exactly the output buses ['sums']; missing ['sums'], unknown []"
    )
    with pytest.raises(BackendError) as err:
        vg.testbench(net, ins, {"sums": np.zeros((2, 4), int)})
    assert str(err.value) == (
        "expected output 'sums': expected bits of shape (N, 3, 5) or words of shape (N, 3), found (2, 4)"
    )
    with pytest.raises(BackendError) as err:
        vg.testbench(net, ins, {"sums": np.zeros((3, 3), int)})
    assert str(err.value) == "expected output 'sums' has 3 vectors, the inputs have 2"
    with pytest.raises(BackendError) as err:
        vg.testbench(net, {"a": np.zeros((0, 3), int), "b": np.zeros((0, 3), int)},
                     {"sums": np.zeros((0, 3), int)})
    assert str(err.value) == "a testbench needs at least one vector, found 0"
    with pytest.raises(BackendError, match=r"^testbench inputs: inputs must name exactly"):
        vg.testbench(net, {"a": ins["a"]}, {"sums": np.zeros((2, 3), int)})
    with pytest.raises(BackendError) as err:
        vg.random_vectors(net, 0)
    assert str(err.value) == "num_vectors must be at least 1, found 0"


@needs_iverilog
def test_every_stage_of_a_staged_program_passes_its_testbench(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    import nandc
    import nandc.nn as qnn

    torch.manual_seed(0)
    model = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryConv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3),
                          qnn.SignActivation(), nn.MaxPool2d(2), nn.Flatten(), qnn.BinaryLinear(3 * 3 * 3, 4))
    compiled = nandc.compile(model, torch.zeros(1, 2, 6, 6), passes="O1", staged=True)
    files = vg.write_program_testbenches(compiled.program, tmp_path, num_vectors=32)
    assert len(files) == len(compiled.program.stages) == 2
    text = files[0].design.read_text()
    assert "// 0: kernel stage 0" in text and "max pool of" in text and text.count("endmodule") == 2
    for f in files:
        out = run_simulation(tmp_path, f.design, f.testbench)
        assert "PASS: 32 vectors" in out, out
    assert compiled.to_verilog() == text
