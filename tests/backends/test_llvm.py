"""LLVM JIT backend: selection, codegen, packing, compile/run, threads, cache.

Every run is cross-checked bit for bit against ``simulate_netlist``.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nandc.backends.llvm import codegen, jit, packing
from nandc.backends.llvm.codegen import AND, ANDN, OR, TERN, XOR
from nandc.errors import BackendError
from nandc.ir import words
from nandc.ir.bits import pack_samples, unpack_samples
from nandc.ir.circuit import Circuit
from nandc.ir.evaluate import evaluate, simulate_netlist
from nandc.ir.netlist import NandNetlist
from nandc.passes import lower_to_nand
from tests.strategies import circuits, random_circuit, examples

BATCHES = (0, 1, 255, 256, 257, 5000)
ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
HOST = jit.host_target()
TWO_INPUT = dataclasses.replace(  # a host without vpternlog: the two-input code path
    HOST, features=",".join(f for f in HOST.features.split(",") if "avx512" not in f))
TARGETS = [pytest.param(HOST, id="host"), pytest.param(TWO_INPUT, id="two-input")]
CODEGENS = [m for m in jit.CODEGENS if m == "ir" or jit.codegen_mode(HOST) == "asm"]


# ---------------------------------------------------------------------- helpers
def reference(net: NandNetlist, bits: np.ndarray) -> np.ndarray:
    """Per-sample output bits from the numpy reference evaluator."""
    n = bits.shape[0]
    if n == 0 or not net.output_signals():
        return np.zeros((n, len(net.output_signals())), dtype=np.uint8)
    packed = pack_samples(bits) if bits.shape[1] else np.zeros((0, (n + 63) // 64), np.uint64)
    return unpack_samples(simulate_netlist(net, packed), n)


def random_bits(n: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(n, width), dtype=np.uint8)


def program(net: NandNetlist, target: jit.Target = HOST, **options) -> jit.JitProgram:
    """A program compiled without touching any cache."""
    return jit.JitProgram(jit.JitModule(jit.compile_object_code(net, target, **options)), net.name)


def tern(imm: int, a, b, c):
    out = np.zeros_like(a)
    for m in range(8):
        if imm >> m & 1:
            out |= (a if m & 1 else ~a) & (b if m & 2 else ~b) & (c if m & 4 else ~c)
    return out


def evaluate_selection(sel: codegen.Selection, input_words: np.ndarray) -> np.ndarray:
    """Outputs of a Selection on packed inputs, op by op (an independent model of its semantics)."""
    values = [np.zeros(input_words.shape[1], dtype=np.uint64)] + list(input_words)
    for kind, (x, y, z), imm in zip(sel.kind.tolist(), sel.args.tolist(), sel.imm.tolist()):
        a, b, c = values[x], values[y], values[z]
        values.append({AND: lambda: a & b, ANDN: lambda: ~a & b, OR: lambda: a | b,
                       XOR: lambda: a ^ b, TERN: lambda: tern(imm, a, b, c)}[kind]())
    return np.array([values[v] ^ (ALL_ONES if pol else np.uint64(0))
                     for v, pol in sel.outputs.tolist()]).reshape(len(sel.outputs), -1)


def full_adders(count: int) -> NandNetlist:
    """``count`` full adders chained as a popcount-like tree (from nandc.ir.words)."""
    c = Circuit("adders")
    x = list(c.add_input_bus("x", 2 * count + 1))
    outs = []
    carry = x[0]
    for i in range(count):
        s, carry = words.full_adder(c, x[2 * i + 1], x[2 * i + 2], carry)
        outs.append(s)
    c.set_output("y", outs + [carry])
    return lower_to_nand(c)[0]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own cache directory, cache key and an empty in-process program table."""
    monkeypatch.setenv(jit.CACHE_ENV, str(tmp_path / "jit-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    jit._loaded.clear()
    yield tmp_path / "jit-cache"
    jit._loaded.clear()


# ---------------------------------------------------------------------- selection
@settings(max_examples=examples(150), deadline=None)
@given(circuits(max_inputs=8, max_ops=60))
def test_selection_computes_the_netlist(circuit):
    net, _ = lower_to_nand(circuit)
    words_in = np.random.default_rng(1).integers(0, 2**64, size=(net.num_inputs, 2), dtype=np.uint64)
    expected = simulate_netlist(net, words_in)
    two = codegen.select_ops(net)
    three = codegen.map_ternary(two)
    assert np.array_equal(evaluate_selection(two, words_in), expected)
    assert np.array_equal(evaluate_selection(three, words_in), expected)
    reordered = codegen.order_depth_first(three)
    assert np.array_equal(evaluate_selection(reordered, words_in), expected)
    assert sorted(reordered.kind.tolist()) == sorted(three.kind.tolist())
    non_inverters = int(np.sum(np.not_equal(*net.gate_arrays())))
    assert two.num_ops <= non_inverters
    assert three.num_ops <= two.num_ops
    assert not np.any(two.kind == TERN)


def test_selection_merges_nand_shapes():
    # a full adder is 9 NAND2 gates: 5 two-input ops, 2 three-input ops
    net = full_adders(1)
    assert net.num_gates == 9
    assert codegen.select_ops(net).num_ops == 5
    three = codegen.map_ternary(codegen.select_ops(net))
    assert three.kind.tolist() == [TERN, TERN]
    assert sorted(three.imm.tolist()) == [0x96, 0xE8]  # xor3 and majority


def test_inverters_are_free_and_xor_is_one_op():
    net = NandNetlist("xor")
    a, b = net.add_input_bus("x", 2)
    nb = net.nand(b, b)
    na = net.nand(a, a)
    g = net.nand(net.nand(a, nb), net.nand(na, b))  # a ^ b from 5 gates
    net.set_output("y", [g, na])
    sel = codegen.select_ops(net)
    assert sel.kind.tolist() == [XOR]
    assert sel.outputs.tolist() == [[sel.first_op, 0], [1, 1]]


def test_constants_fold():
    net = NandNetlist("consts")
    (a,) = net.add_input_bus("x", 1)
    one = net.nand(0, a)        # NAND(0, a) = 1
    not_a = net.nand(1, a)      # NAND(1, a) = ~a
    zero = net.nand(one, one)   # ~1 = 0
    same = net.nand(a, not_a)   # NAND(a, ~a) = 1
    net.set_output("y", [one, not_a, zero, same])
    sel = codegen.select_ops(net)
    assert sel.num_ops == 0
    assert sel.outputs.tolist() == [[0, 1], [1, 1], [0, 0], [0, 1]]


# ---------------------------------------------------------------------- text
def test_generate_is_deterministic_and_well_formed():
    net, _ = lower_to_nand(random_circuit(3, 12, 300))
    text = codegen.generate(net, chunk_gates=50)
    assert text == codegen.generate(net, chunk_gates=50)
    assert "define void @nandc_run(" in text
    assert text.count("define void @nandc_chunk_") >= 2
    assert "pternlog" not in text
    assert "pternlog" in codegen.generate(net, chunk_gates=50, ternary=True)


def test_plan_reuses_slots_of_dead_values():
    net, _ = lower_to_nand(random_circuit(5, 16, 600))
    plan = codegen.plan_code(codegen.select_ops(net), chunk_gates=20)
    sel = plan.selection
    slot = plan.slot
    # a value has a slot iff a later chunk reads it
    chunk_of = np.full(sel.first_op + sel.num_ops, -1)
    for k in range(plan.num_chunks):
        chunk_of[sel.first_op + plan.bounds[k]: sel.first_op + plan.bounds[k + 1]] = k
    last = np.full_like(chunk_of, -1)
    for col in range(3):
        np.maximum.at(last, sel.args[:, col], np.repeat(np.arange(plan.num_chunks),
                                                        np.diff(plan.bounds)))
    ops = np.arange(sel.first_op, len(chunk_of))
    assert np.array_equal(slot[ops] >= 0, last[ops] > chunk_of[ops])
    # two values sharing a slot never have overlapping lifetimes
    for s in range(plan.num_slots):
        users = sorted((chunk_of[v], last[v]) for v in np.flatnonzero(slot == s))
        assert all(b[0] > a[1] for a, b in zip(users, users[1:]))
    assert plan.num_slots < int(np.sum(slot >= 0))  # and slots are actually reused


def test_bad_codegen_parameters():
    net, _ = lower_to_nand(random_circuit(1, 4, 10))
    with pytest.raises(BackendError, match="^chunk_gates must be at least 1, found 0$"):
        codegen.generate(net, chunk_gates=0)
    with pytest.raises(BackendError, match="^registers must be at least 3, found 2$"):
        codegen.generate(net, registers=2)


# ---------------------------------------------------------------------- packing
@pytest.mark.parametrize("n", BATCHES + (70000,))
def test_packing_round_trips(n):
    bits = random_bits(n, 5, seed=n)
    vectors = packing.pack_inputs(bits)
    assert vectors.shape == (packing.num_vectors(n), 5, 4)
    assert n == 0 or vectors.ctypes.data % 32 == 0
    assert np.array_equal(packing.unpack_outputs(vectors, n), bits)
    slices = pack_samples(bits) if n else np.zeros((5, 0), np.uint64)
    assert np.array_equal(packing.slices_to_vectors(slices), vectors)
    assert np.array_equal(packing.vectors_to_slices(vectors, slices.shape[1]), slices)


def test_packing_layout_is_lane_major():
    bits = np.zeros((300, 2), dtype=np.uint8)
    bits[70, 1] = 1  # sample 70: vector 0, lane 1, bit 6
    bits[256 + 3, 0] = 1  # sample 259: vector 1, lane 0, bit 3
    v = packing.pack_inputs(bits)
    expected = np.zeros((2, 2, 4), dtype=np.uint64)
    expected[0, 1, 1] = 1 << 6
    expected[1, 0, 0] = 1 << 3
    assert np.array_equal(v, expected)


def test_packing_errors():
    with pytest.raises(BackendError, match=r"^expected a 2-D \(samples, signals\) bit array, found shape \(3,\)$"):
        packing.pack_inputs(np.zeros(3))
    with pytest.raises(BackendError, match=r"^300 samples asked for, but 1 vector\(s\) hold 256$"):
        packing.unpack_outputs(np.zeros((1, 2, 4), np.uint64), 300)
    with pytest.raises(BackendError, match=r"^expected a uint64 array of shape \(vectors, signals, 4\), "
                                           r"found int64 \(1, 2\)$"):
        packing.unpack_outputs(np.zeros((1, 2), np.int64), 1)


# ---------------------------------------------------------------------- compile and run
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(circuits(max_inputs=10, max_ops=50), st.sampled_from(BATCHES), st.sampled_from([1, 2, 3]),
       st.sampled_from([3, 5, 1000]), st.sampled_from(CODEGENS), st.sampled_from([3, 4, 14]))
def test_jit_matches_reference(circuit, n, threads, chunk_gates, mode, registers):
    net, _ = lower_to_nand(circuit)
    bits = random_bits(n, net.num_inputs, seed=n)
    prog = program(net, chunk_gates=chunk_gates, mode=mode, registers=registers)
    assert np.array_equal(prog.run(bits, threads=threads), reference(net, bits))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("registers", [3, 28])
@pytest.mark.parametrize("mode", CODEGENS)
def test_multi_chunk_multi_thread(target, registers, mode):
    net, _ = lower_to_nand(random_circuit(11, 24, 2500))
    bits = random_bits(20000, net.num_inputs, seed=2)
    prog = program(net, target, chunk_gates=300, registers=registers, mode=mode)
    assert prog.num_chunks > 3
    expected = reference(net, bits)
    for threads in (1, 2, 5):
        assert np.array_equal(prog.run(bits, threads=threads), expected)
    vectors = packing.pack_inputs(bits)
    for block in (1, 3, 64):
        out = prog.run_packed(vectors, threads=2, block=block)
        assert np.array_equal(packing.unpack_outputs(out, len(bits)), expected)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("workers", [False, pytest.param(True, marks=pytest.mark.slow)])  # True spawns processes
@pytest.mark.parametrize("mode", CODEGENS)
def test_adder_tree(target, workers, mode, monkeypatch):
    if workers:  # compiled by worker processes, with their LLVM options
        monkeypatch.setattr(jit, "_WORKER_MIN_OPS", 0)
        monkeypatch.setattr(jit, "_ASM_WORKER_MIN_OPS", 0)
    net = full_adders(300)
    bits = random_bits(1000, net.num_inputs, seed=4)
    prog = program(net, target, chunk_gates=400, jobs=2, mode=mode)
    assert np.array_equal(prog.run(bits), reference(net, bits))


def test_constant_and_input_outputs():
    net = NandNetlist("wires")
    a, b, c = net.add_input_bus("x", 3)
    g = net.nand(a, b)
    net.set_output("y", [0, 1, c, a, g, net.nand(g, g), c])
    net.set_output("z", [1, b])
    bits = random_bits(700, 3, seed=5)
    for chunk_gates in (1, 100):
        out = program(net, chunk_gates=chunk_gates).run(bits)
        assert np.array_equal(out, reference(net, bits))
    assert np.all(out[:, 0] == 0) and np.all(out[:, 1] == 1)


def test_netlists_without_gates_inputs_or_outputs():
    only_wires = NandNetlist("only_wires")
    x = only_wires.add_input_bus("x", 2)
    only_wires.set_output("y", [x[1], 1, x[0], 0])
    bits = random_bits(300, 2)
    ones, zeros = np.ones(300, np.uint8), np.zeros(300, np.uint8)
    expected = np.stack([bits[:, 1], ones, bits[:, 0], zeros], axis=1)
    assert np.array_equal(program(only_wires).run(bits), expected)

    no_inputs = NandNetlist("constants")
    no_inputs.set_output("y", [1, 0, no_inputs.nand(1, 1)])
    assert program(no_inputs).run(np.zeros((3, 0), np.uint8)).tolist() == [[1, 0, 0]] * 3

    no_outputs = NandNetlist("sink")
    x = no_outputs.add_input_bus("x", 2)
    no_outputs.nand(*x)
    assert program(no_outputs).run(random_bits(10, 2)).shape == (10, 0)


def test_run_packs_in_batches(monkeypatch):
    monkeypatch.setattr(jit, "_RUN_BATCH_SAMPLES", 300)
    net, _ = lower_to_nand(random_circuit(8, 10, 200))
    bits = random_bits(1000, net.num_inputs, seed=8)
    assert np.array_equal(program(net).run(bits), reference(net, bits))


def test_run_slices_matches_simulate_netlist():
    net, _ = lower_to_nand(random_circuit(7, 20, 400))
    slices = np.random.default_rng(0).integers(0, 2**64, size=(net.num_inputs, 9), dtype=np.uint64)
    assert np.array_equal(program(net).run_slices(slices), simulate_netlist(net, slices))


def test_run_netlist_mirrors_evaluate():
    c = Circuit("words")
    a = c.add_input_bus("a", (3, 4), signed=True)
    b = c.add_input_bus("b", 4)
    s = words.add(c, words.Word(a[:4], True), words.Word(b))
    c.set_output("s", s.bits, (1, len(s.bits)), signed=True)
    c.set_output("bits", [a[5] ^ 1, b[0]])
    net, _ = lower_to_nand(c)
    rng = np.random.default_rng(3)
    inputs = {"a": rng.integers(-8, 8, size=(333, 3)), "b": rng.integers(0, 2, size=(333, 4))}
    for as_words in (True, False):
        got = jit.run_netlist(net, inputs, threads=2, as_words=as_words)
        expected = evaluate(net, inputs, as_words=as_words)
        assert got.keys() == expected.keys()
        for name in expected:
            assert np.array_equal(got[name], expected[name])


def test_run_errors_are_pinned():
    net, _ = lower_to_nand(random_circuit(2, 6, 20))
    prog = program(net)
    with pytest.raises(BackendError, match=r"^random2: expected input bits of shape \(N, 6\), found \(4, 5\)$"):
        prog.run(np.zeros((4, 5), np.uint8))
    with pytest.raises(BackendError, match=r"^random2: expected packed inputs of shape \(vectors, 6, 4\) "
                                           r"and dtype uint64, found float64 \(1, 6, 4\)$"):
        prog.run_packed(np.zeros((1, 6, 4)))
    with pytest.raises(BackendError, match=r"^random2: expected bit slices of shape \(6, words\), found \(5, 2\)$"):
        prog.run_slices(np.zeros((5, 2), np.uint64))
    with pytest.raises(BackendError, match="^threads must be at least 1, found 0$"):
        prog.run(np.zeros((4, 6), np.uint8), threads=0)
    with pytest.raises(BackendError, match="^block must be at least 1, found 0$"):
        prog.run_packed(np.zeros((1, 6, 4), np.uint64), block=0)
    with pytest.raises(BackendError, match=r"^opt must be one of 0, 1, 2, 3, found 7$"):
        jit.compile_netlist(net, opt=7)
    with pytest.raises(BackendError, match="^chunk_gates must be at least 1, found 0$"):
        jit.compile_netlist(net, chunk_gates=0)


def test_opt_levels_agree():
    net, _ = lower_to_nand(random_circuit(9, 12, 200))
    bits = random_bits(600, net.num_inputs)
    expected = reference(net, bits)
    for opt in (0, 1, 3):
        assert np.array_equal(program(net, opt=opt).run(bits), expected)


# ---------------------------------------------------------------------- compile workers
@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_worker_processes_compile_the_same_code(monkeypatch, target):
    monkeypatch.setattr(jit, "_WORKER_MIN_OPS", 0)
    monkeypatch.setattr(jit, "_ASM_WORKER_MIN_OPS", 0)
    net, _ = lower_to_nand(random_circuit(13, 16, 800))
    seen = []
    code = jit.compile_object_code(net, target, jobs=2, chunk_gates=100,
                                   progress=lambda done, total: seen.append((done, total)))
    bits = random_bits(1000, net.num_inputs)
    assert np.array_equal(jit.JitProgram(jit.JitModule(code)).run(bits), reference(net, bits))
    assert len(seen) == code.num_chunks + 1
    assert seen[0] == (0, net.num_gates)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (net.num_gates, net.num_gates)


@pytest.mark.slow
def test_failing_workers_fall_back_to_this_process(monkeypatch, caplog):
    monkeypatch.setattr(jit, "_WORKER_MIN_OPS", 0)
    monkeypatch.setattr(jit, "_ASM_WORKER_MIN_OPS", 0)

    def broken(self, task):
        raise EOFError("compile worker closed its pipe")

    monkeypatch.setattr(jit._Worker, "build", broken)
    net, _ = lower_to_nand(random_circuit(14, 8, 100))
    with caplog.at_level(logging.WARNING, logger=jit.log.name):
        code = jit.compile_object_code(net, jobs=2, chunk_gates=30)
    assert "compile worker failed (compile worker closed its pipe); compiling in-process" in caplog.text
    bits = random_bits(300, net.num_inputs)
    assert np.array_equal(jit.JitProgram(jit.JitModule(code)).run(bits), reference(net, bits))


# ---------------------------------------------------------------------- cache
def test_second_compile_loads_from_disk(private_cache, monkeypatch):
    net, _ = lower_to_nand(random_circuit(21, 10, 150))
    first = jit.compile_netlist(net)
    assert len(list(private_cache.glob("*.nandcjit"))) == 1
    assert jit.compile_netlist(net) is first  # the loaded program is reused in-process
    jit._loaded.clear()

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the cache holds the code")

    monkeypatch.setattr(jit, "compile_object_code", no_compiling)
    seen = []
    second = jit.compile_netlist(net, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(net.num_gates, net.num_gates)]
    bits = random_bits(500, net.num_inputs)
    assert np.array_equal(second.run(bits), reference(net, bits))


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip_payload", "other_key"])
def test_corrupted_cache_is_ignored_and_rewritten(private_cache, caplog, damage):
    net, _ = lower_to_nand(random_circuit(22, 10, 150))
    jit.compile_netlist(net)
    (path,) = private_cache.glob("*.nandcjit")
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a cache file")
    elif damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flip_payload":
        path.write_bytes(good[:-10] + bytes(b ^ 0xFF for b in good[-10:]))
    else:
        other, _ = lower_to_nand(random_circuit(23, 10, 150))
        jit.compile_netlist(other)
        (other_path,) = set(private_cache.glob("*.nandcjit")) - {path}
        path.write_bytes(other_path.read_bytes())
    jit._loaded.clear()
    with caplog.at_level(logging.WARNING, logger=jit.log.name):
        prog = jit.compile_netlist(net)
    assert f"ignoring invalid JIT cache entry {path}" in caplog.text
    bits = random_bits(400, net.num_inputs)
    assert np.array_equal(prog.run(bits), reference(net, bits))
    assert path.read_bytes() == good


def test_unwritable_cache_does_not_break_a_run(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    net, _ = lower_to_nand(random_circuit(24, 6, 60))
    with caplog.at_level(logging.WARNING, logger=jit.log.name):
        prog = jit.compile_netlist(net, cache_dir=blocker / "jit")
    assert f"could not write the JIT cache in {blocker / 'jit'}" in caplog.text
    bits = random_bits(100, net.num_inputs)
    assert np.array_equal(prog.run(bits), reference(net, bits))


def test_cache_key_depends_on_netlist_code_and_cpu():
    net, _ = lower_to_nand(random_circuit(25, 6, 60))
    other, _ = lower_to_nand(random_circuit(26, 6, 60))
    key = jit.cache_key(net, HOST, 2, 100)
    assert key == jit.cache_key(net, HOST, 2, 100)
    assert len({key, jit.cache_key(other, HOST, 2, 100), jit.cache_key(net, TWO_INPUT, 2, 100),
                jit.cache_key(net, HOST, 1, 100), jit.cache_key(net, HOST, 2, 101),
                jit.cache_key(net, dataclasses.replace(HOST, cpu="other"), 2, 100)}) == 6


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(jit.CACHE_ENV, str(tmp_path))
    assert jit.default_cache_dir() == tmp_path
    monkeypatch.delenv(jit.CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert jit.default_cache_dir() == tmp_path / ".cache" / "nandc" / "jit"


def test_use_cache_false_writes_nothing(private_cache):
    net, _ = lower_to_nand(random_circuit(27, 6, 60))
    jit.compile_netlist(net, use_cache=False)
    assert not private_cache.exists()


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, nandc, nandc.backends.llvm; "
            "print('llvmlite' in sys.modules, 'torch' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_feature_override_from_the_environment(monkeypatch):
    from nandc.backends.llvm import jit

    try:
        monkeypatch.setenv(jit.FEATURES_ENV, "-avx512f, -avx512vl")
        jit.host_target.cache_clear()
        target = jit.host_target()
        assert not target.has_ternlog and "-avx512f" in target.features.split(",")
        monkeypatch.setenv(jit.FEATURES_ENV, "avx2")
        jit.host_target.cache_clear()
        with pytest.raises(BackendError) as err:
            jit.host_target()
        assert str(err.value) == "$NANDC_JIT_FEATURES: expected +feature or -feature, found 'avx2'"
    finally:
        monkeypatch.delenv(jit.FEATURES_ENV, raising=False)
        jit.host_target.cache_clear()


def test_codegen_mode_choice_and_errors(monkeypatch):
    arm = dataclasses.replace(HOST, triple="aarch64-unknown-linux-gnu", features="+neon")
    assert jit.codegen_mode(arm) == "ir"
    with pytest.raises(BackendError, match=r"^the asm codegen needs an x86-64 CPU with AVX2; this target is "
                                           r"aarch64-unknown-linux-gnu without it \(use 'ir'\)$"):
        jit.codegen_mode(arm, "asm")
    monkeypatch.setenv(jit.CODEGEN_ENV, "fast")
    with pytest.raises(BackendError, match=r"^JIT codegen must be one of \('asm', 'ir'\), found 'fast'"):
        jit.codegen_mode(HOST)
    monkeypatch.setenv(jit.CODEGEN_ENV, "ir")
    assert jit.codegen_mode(HOST) == "ir"
