"""Circuit (AIG) invariants: folding, hash-consing, verify(), layers, buses, memory."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.errors import CircuitError
from nandc.ir.circuit import Bus, Circuit, bit_name, lit_is_neg, lit_node, lit_not, make_lit
from tests.strategies import circuits, examples

PROPERTY = settings(max_examples=examples(100), deadline=None)


def two_inputs() -> tuple[Circuit, int, int]:
    c = Circuit()
    a, b = c.add_input_bus("x", 2)
    return c, a, b


def truth_table(c: Circuit, lit: int) -> list[int]:
    """Value of ``lit`` for every assignment of the circuit's inputs (input 0 = bit 0)."""
    inputs = c.inputs
    rows = []
    for code in range(1 << len(inputs)):
        val = {0: 0}
        for i, node in enumerate(inputs):
            val[node] = (code >> i) & 1
        for node in c.and_nodes():
            f0, f1 = c.fanins(node)
            val[node] = (val[f0 >> 1] ^ (f0 & 1)) & (val[f1 >> 1] ^ (f1 & 1))
        rows.append(val[lit >> 1] ^ (lit & 1))
    return rows


# ---------------------------------------------------------------------- literals
def test_literal_helpers():
    assert make_lit(5) == 10 and make_lit(5, True) == 11
    assert lit_node(11) == 5 and lit_is_neg(11) and not lit_is_neg(10)
    assert lit_not(10) == 11 and lit_not(11) == 10
    assert bit_name("y", (2, 0)) == "y[2][0]"


# ---------------------------------------------------------------------- and_ folding
def test_and_folds_constants_and_trivial_cases():
    c, a, b = two_inputs()
    assert c.and_(a, 0) == 0 and c.and_(0, a) == 0
    assert c.and_(a, 1) == a and c.and_(1, a) == a
    assert c.and_(a ^ 1, 1) == a ^ 1
    assert c.and_(a, a) == a and c.and_(a ^ 1, a ^ 1) == a ^ 1
    assert c.and_(a, a ^ 1) == 0 and c.and_(a ^ 1, a) == 0
    assert c.and_(1, 1) == 1 and c.and_(0, 1) == 0
    assert c.num_ands == 0


def test_and_hash_conses_and_orders_fanins():
    c, a, b = two_inputs()
    n1 = c.and_(b, a ^ 1)
    assert c.and_(a ^ 1, b) == n1 and c.and_(b, a ^ 1) == n1
    assert c.num_ands == 1
    assert c.fanins(lit_node(n1)) == (min(a ^ 1, b), max(a ^ 1, b))
    assert c.and_(a, b) != n1  # different polarity is a different node
    assert c.num_ands == 2
    assert c.lookup_and(b, a ^ 1) == n1
    assert c.lookup_and(a ^ 1, b ^ 1) is None
    assert c.lookup_and(a, 1) == a and c.lookup_and(a, a ^ 1) == 0
    c.verify()


def test_and_of_missing_literal_is_an_error():
    c, a, _ = two_inputs()
    with pytest.raises(CircuitError, match=r"^and_\(2, 100\): literal 100 does not exist$"):
        c.and_(a, 100)


def test_fanins_of_an_input_is_an_error():
    c, a, _ = two_inputs()
    with pytest.raises(CircuitError, match="^node 1 is not an AND node$"):
        c.fanins(lit_node(a))


@PROPERTY
@given(circuits(max_inputs=6, max_ops=60))
def test_random_circuits_verify_and_are_topological(c):
    c.verify()
    f0, f1, _ = c.arrays()
    ands = np.flatnonzero(f0)
    assert np.all(f0[ands] < f1[ands])
    assert np.all((f1[ands] >> 1) < ands)
    assert c.num_ands == len(ands) == len(list(c.and_nodes()))
    assert c.num_nodes == 1 + c.num_inputs + c.num_ands


@PROPERTY
@given(circuits(max_inputs=6, max_ops=30), st.data())
def test_and_never_duplicates_an_existing_node(c, data):
    lits = list(range(2 * c.num_nodes))
    a = data.draw(st.sampled_from(lits))
    b = data.draw(st.sampled_from(lits))
    first = c.and_(a, b)
    count = c.num_ands
    assert c.and_(b, a) == first and c.and_(a, b) == first
    assert c.num_ands == count
    c.verify()


# ---------------------------------------------------------------------- derived gates
@pytest.mark.parametrize("na", [0, 1])
@pytest.mark.parametrize("nb", [0, 1])
def test_two_input_gates_truth_tables(na, nb):
    c, a, b = two_inputs()
    a ^= na
    b ^= nb
    va = [(code & 1) ^ na for code in range(4)]
    vb = [((code >> 1) & 1) ^ nb for code in range(4)]
    gates = {
        "and_": (c.and_(a, b), [x & y for x, y in zip(va, vb)]),
        "nand": (c.nand(a, b), [1 - (x & y) for x, y in zip(va, vb)]),
        "or_": (c.or_(a, b), [x | y for x, y in zip(va, vb)]),
        "nor": (c.nor(a, b), [1 - (x | y) for x, y in zip(va, vb)]),
        "xor": (c.xor(a, b), [x ^ y for x, y in zip(va, vb)]),
        "xnor": (c.xnor(a, b), [1 - (x ^ y) for x, y in zip(va, vb)]),
    }
    for name, (lit, expected) in gates.items():
        assert truth_table(c, lit) == expected, name
    c.verify()


def test_xor_costs_three_ands_and_folds():
    c, a, b = two_inputs()
    c.xor(a, b)
    assert c.num_ands == 3
    assert c.xor(a, 0) == a and c.xor(a, 1) == a ^ 1 and c.xor(1, a) == a ^ 1
    assert c.xor(a, a) == 0 and c.xor(a, a ^ 1) == 1
    assert c.num_ands == 3


def test_mux_and_maj_truth_tables_exhaustive():
    c = Circuit()
    ins = c.add_input_bus("x", 3)
    for signs in itertools.product([0, 1], repeat=3):
        s, t, e = (lit ^ neg for lit, neg in zip(ins, signs))
        mux, maj = c.mux(s, t, e), c.maj(s, t, e)
        vals = [[((code >> i) & 1) ^ signs[i] for i in range(3)] for code in range(8)]
        assert truth_table(c, mux) == [v[1] if v[0] else v[2] for v in vals]
        assert truth_table(c, maj) == [int(sum(v) >= 2) for v in vals]
    c.verify()


def test_mux_folds():
    c = Circuit()
    s, t, e = c.add_input_bus("x", 3)
    assert c.mux(s, t, t) == t
    assert c.mux(1, t, e) == t and c.mux(0, t, e) == e
    assert c.num_ands == 0
    assert truth_table(c, c.mux(s, e ^ 1, e)) == truth_table(c, c.xor(s, e))


def test_and_many_or_many():
    c = Circuit()
    xs = c.add_input_bus("x", 5)
    assert c.and_many([]) == 1 and c.or_many([]) == 0
    assert c.and_many([xs[2]]) == xs[2]
    all_and = c.and_many(xs)
    any_or = c.or_many(xs)
    assert truth_table(c, all_and) == [int(code == 31) for code in range(32)]
    assert truth_table(c, any_or) == [int(code != 0) for code in range(32)]
    assert c.num_ands == 8  # two balanced trees of 4 ANDs


# ---------------------------------------------------------------------- verify()
def small_valid_circuit() -> Circuit:
    """Inputs 1-3, AND nodes 4 = x0 & x1 and 5 = n4 & ~x2, output y = n4."""
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    n1 = c.and_(a, b)
    c.and_(n1, d ^ 1)
    c.set_output("y", [n1])
    return c


def poke(*changes: tuple[str, int, int]):
    """A corruption that writes ``value`` at ``index`` of the private array ``name``."""
    def run(c: Circuit) -> None:
        for name, index, value in changes:
            getattr(c, name)[index] = value
    return run


@pytest.mark.parametrize("corrupt, message", [
    (poke(("_f0", 0, 2)), "node 0 must be the constant (no fanins)"),
    (poke(("_f1", 1, 4)), "node 1 has one fanin only"),
    (poke(("_f0", 4, 1)), "AND node 4 has a constant fanin"),
    (poke(("_f0", 4, 4), ("_f1", 4, 2)), "AND node 4 has unordered or equal fanins"),
    (poke(("_f1", 4, 2)), "AND node 4 has unordered or equal fanins"),
    (poke(("_f1", 4, 3)), "AND node 4 reads one node twice"),
    (poke(("_f1", 4, 10)), "AND node 4 reads a node that is not lower"),
    (poke(("_f0", 5, 2), ("_f1", 5, 4)), "two AND nodes have the same fanins (hash-consing broken)"),
    (lambda c: setattr(c, "_num_ands", 3), "AND count is out of sync with the node arrays"),
    (lambda c: c._inputs.pop(), "the input list does not match the fanin-less nodes"),
    (poke(("_layer", 5, 7)), "a node has an unknown layer id"),
    (lambda c: c.input_buses.__setitem__("x", Bus("x", (2, 4, 7), (3,))),
     "input bus 'x' holds literal 7, which is not an input"),
    (lambda c: c.output_buses.__setitem__("y", Bus("y", (12,), (1,))),
     "output bus 'y' holds literal 12, which does not exist"),
])
def test_verify_catches_corruption(corrupt, message):
    c = small_valid_circuit()
    c.verify()
    corrupt(c)
    with pytest.raises(CircuitError) as err:
        c.verify()
    assert str(err.value) == message


# ---------------------------------------------------------------------- layers
def test_layer_tags_and_first_tag_wins():
    c, a, b = two_inputs()
    assert c.current_layer == ""
    with c.layer("conv1"):
        n1 = c.and_(a, b)
        assert c.current_layer == "conv1"
        with c.layer("inner"):
            n2 = c.or_(a, b)
        assert c.current_layer == "conv1"
    assert c.current_layer == ""
    with c.layer("fc"):
        again = c.and_(b, a)  # exists already: keeps "conv1"
        n3 = c.xor(a, b)
    assert again == n1
    assert c.layer_of(lit_node(n1)) == "conv1"
    assert c.layer_of(lit_node(n2)) == "inner"
    assert c.layer_of(lit_node(n3)) == "fc"
    assert c.layer_of(lit_node(a)) == "" and c.layer_of(0) == ""
    c.current_layer = "manual"
    assert c.layer_of(lit_node(c.nor(a, b))) == "inner"  # made by or_(a, b) inside "inner"
    assert c.layer_of(lit_node(c.and_(n1, n3))) == "manual"
    assert c.layer_names == ["", "conv1", "inner", "fc", "manual"]


def test_layer_scope_restores_on_exception():
    c, a, b = two_inputs()
    with pytest.raises(RuntimeError):
        with c.layer("boom"):
            raise RuntimeError("x")
    assert c.current_layer == ""
    assert c.layer_of(lit_node(c.and_(a, b))) == ""


@PROPERTY
@given(circuits(max_inputs=6, max_ops=30))
def test_random_layer_ids_are_known(c):
    _, _, lay = c.arrays()
    assert lay.max() < len(c.layer_names)
    assert all(c.layer_of(n) in ("", "L1", "L2") for n in range(c.num_nodes))


# ---------------------------------------------------------------------- buses
def test_bus_shapes_and_names():
    c = Circuit()
    lits = c.add_input_bus("img", (2, 3), signed=True)
    bus = c.input_buses["img"]
    assert bus.bits == lits and bus.width == 6 and bus.word_width == 3 and bus.signed
    assert bus.bit_names()[:4] == ["img[0][0]", "img[0][1]", "img[0][2]", "img[1][0]"]
    out = c.set_output("o", [lits[0], 1, 0], shape=(1, 3))
    assert out.shape == (1, 3) and c.output_literals() == [lits[0], 1, 0]
    assert c.input_literals() == list(lits)
    extra = c.add_input()
    assert c.input_literals() == list(lits) + [extra]
    assert c.num_inputs == 7


@pytest.mark.parametrize("make, message", [
    (lambda c: Bus("1x", (), ()),
     "bus name must be an identifier (letters, digits, _ . $), found '1x'"),
    (lambda c: Bus("x", (2, 4), (-1,)), "bus 'x': negative dimension in shape (-1,)"),
    (lambda c: Bus("x", (2, 4), (3,)), "bus 'x': shape (3,) holds 3 bits, but 2 were given"),
    (lambda c: c.add_input_bus("x", 2), "input bus 'x' exists already"),
    (lambda c: c.set_output("y", [99]), "output bus 'y': literal 99 does not exist"),
    (lambda c: c.set_output("y", [2, 4], shape=(3,)),
     "bus 'y': shape (3,) holds 3 bits, but 2 were given"),
    (lambda c: c.set_output("bad name", [2]),
     "bus name must be an identifier (letters, digits, _ . $), found 'bad name'"),
])
def test_bus_errors(make, message):
    c = Circuit()
    c.add_input_bus("x", 2)
    with pytest.raises(CircuitError) as err:
        make(c)
    assert str(err.value) == message


# ---------------------------------------------------------------------- analysis
def test_levels_depth_reachable():
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    n1 = c.and_(a, b)
    n2 = c.and_(n1, d)
    dead = c.and_(a ^ 1, d)
    c.set_output("y", [n2 ^ 1])
    lev = c.levels()
    assert lev[lit_node(n1)] == 1 and lev[lit_node(n2)] == 2 and lev[lit_node(dead)] == 1
    assert c.depth() == 2
    live = c.reachable()
    assert live[lit_node(n2)] and live[lit_node(n1)] and not live[lit_node(dead)]
    assert c.reachable([dead])[lit_node(dead)]


@settings(max_examples=examples(60), deadline=None)
@given(circuits(max_inputs=8, max_ops=60), st.data())
def test_compiled_walks_give_the_python_walks(c, data):
    """Once numba is loaded, live nodes, levels and the structural-hash table come from
    nandc.ir.walks: the same arrays (the same table, slot for slot) as the Python walks."""
    import nandc.ir.circuit as circuit_module
    import nandc.ir.walks  # noqa: F401  (loads numba: the compiled walks are used)

    roots = data.draw(st.lists(st.integers(0, 2 * c.num_nodes - 1), max_size=6))
    size = 1 << data.draw(st.integers(0, 3)) + max(4, (2 * c.num_ands).bit_length())
    assert circuit_module._walks() is not None
    compiled = (c._fanin_mask(c.output_literals()), c._fanin_mask(roots), c.levels())
    c._grow_table(size)
    compiled_table = (bytes(c._table), c._mask)
    saved = circuit_module._walks
    circuit_module._walks = lambda: None
    try:
        python = (c._fanin_mask(c.output_literals()), c._fanin_mask(roots), c.levels())
        c._grow_table(size)
        python_table = (bytes(c._table), c._mask)
    finally:
        circuit_module._walks = saved
    for got, want in zip(compiled, python):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert compiled_table == python_table
    f0, f1, _ = c.arrays()
    for n in range(1, c.num_nodes):
        if f0[n]:
            assert c.lookup_and(int(f0[n]), int(f1[n])) == 2 * n


@pytest.mark.parametrize("compiled", [False, True])
@settings(max_examples=examples(40), deadline=None)
@given(circuits(max_inputs=6, max_ops=30), st.data())
def test_run_ands_makes_what_and_makes_one_call_at_a_time(compiled, c, data):
    """A random straight-line program (ANDs and copies of slot literals, some folding, some already
    in the circuit) run by run_ands and by and_ one call at a time: the same values, the same
    circuit node for node, the same layer names in the same order."""
    import copy

    import nandc.ir.circuit as circuit_module

    if compiled:
        import nandc.ir.walks  # noqa: F401  (loads numba)
    saved = circuit_module._walks
    if not compiled:
        circuit_module._walks = lambda: None
    try:
        base = c.num_nodes
        m = data.draw(st.integers(0, 40))
        ops, op_layer = [], []
        for i in range(m):
            # slot literals: the circuit's own literals (slot = node), or an earlier op's slot
            pick = st.integers(0, 2 * (base + i) - 1)
            a = data.draw(pick)
            b = -1 if data.draw(st.integers(0, 5)) == 0 else data.draw(pick)
            ops.append((base + i, a, b))
            op_layer.append(data.draw(st.integers(0, 2)))
        layers = ["kept", "", "fresh"]
        batch, one = copy.deepcopy(c), copy.deepcopy(c)
        values = np.full(base + m, -1, dtype=np.int64)
        values[:base] = 2 * np.arange(base)
        batch.run_ands(values, np.array(ops, dtype=np.int64).reshape(-1, 3), layers, op_layer)
        want = list(range(0, 2 * base, 2)) + [-1] * m
        for name in layers:
            one.current_layer = name
        for (dst, a, b), layer in zip(ops, op_layer):
            one.current_layer = layers[layer]
            va = want[a >> 1] ^ (a & 1)
            want[dst] = va if b < 0 else one.and_(va, want[b >> 1] ^ (b & 1))
        one.current_layer = ""
        assert values.tolist() == want
        assert batch.structural_hash() == one.structural_hash() and batch.layer_names == one.layer_names
        assert [batch.layer_of(n) for n in range(batch.num_nodes)] == [one.layer_of(n) for n in range(one.num_nodes)]
        batch.verify()
        f0, f1, _ = batch.arrays()
        for n in range(1, batch.num_nodes):
            if f0[n]:
                assert batch.lookup_and(int(f0[n]), int(f1[n])) == 2 * n
    finally:
        circuit_module._walks = saved


@pytest.mark.parametrize("compiled", [False, True])
def test_run_ands_refuses_unset_slots_and_missing_literals(compiled, monkeypatch):
    import nandc.ir.circuit as circuit_module

    if compiled:
        import nandc.ir.walks  # noqa: F401
    else:
        monkeypatch.setattr(circuit_module, "_walks", lambda: None)
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    c.and_(a, b)
    before = (c.structural_hash(), c.layer_names, c.num_ands)
    n = c.num_nodes
    missing = 2 * (n + 100)  # the literal of a node that does not exist
    for ops in ([(n, a, d), (n + 1, 2 * n, 2 * (n + 2))],  # slot n + 2 is not set
                [(n, a, d), (n + 1, 2 * n, 2 * (n + 3))],  # slot n + 3 holds a literal beyond the circuit
                [(n, a, d), (n + 1, 2 * (n + 2), -1)]):  # a copy of a slot not set
        values = np.full(n + 4, -1, dtype=np.int64)
        values[:n] = 2 * np.arange(n)
        values[n + 3] = missing
        with pytest.raises(CircuitError, match="run_ands"):
            c.run_ands(values, np.array(ops), ["refused"], [0] * len(ops))
        assert (c.structural_hash(), c.layer_names, c.num_ands) == before
    values = np.full(n + 1, -1, dtype=np.int64)
    values[:n] = 2 * np.arange(n)
    for ops in ([(n + 1, a, d)], [(n, a, 2 * (n + 1))], [(-1, a, d)], [(n, -2, d)]):  # slots that do not exist
        with pytest.raises(CircuitError, match="outside"):
            c.run_ands(values, np.array(ops), ["refused"], [0])
        assert (c.structural_hash(), c.layer_names, c.num_ands) == before
        assert c.lookup_and(a, d) is None and c.lookup_and(a, b) is not None


def test_remembered_reachable_follows_new_nodes_and_outputs():
    c = Circuit()
    a, b, d = c.add_input_bus("x", 3)
    n1 = c.and_(a, b)
    c.set_output("y", [n1])
    first = c.reachable()
    first[:] = True  # callers get their own array
    assert not c.reachable()[lit_node(d)]
    n2 = c.and_(n1, d)
    assert not c.reachable()[lit_node(n2)]
    c.set_output("y", [n2])  # same bus, new literal
    assert c.reachable()[lit_node(n2)] and c.reachable()[lit_node(d)]
    c.set_output("z", [a])
    assert c.reachable()[1:].all()  # node 0, the constant, is read by no one


@settings(max_examples=examples(50), deadline=None)
@given(circuits(max_inputs=8, max_ops=40), st.integers(0, 5000))
def test_reserve_changes_nothing_but_the_table(c, extra):
    from nandc.synth.rebuild import rebuild

    plain, _ = rebuild(c)
    new, inputs = c.copy_interface()
    new.reserve(extra)
    sized, _ = rebuild(c, into=(new, inputs))
    assert sized.structural_hash() == plain.structural_hash()
    f0, f1, _ = sized.arrays()
    for n in range(1, sized.num_nodes):
        if f0[n]:
            assert sized.lookup_and(int(f0[n]), int(f1[n])) == 2 * n


def test_copy_interface_keeps_buses_and_unbundled_inputs():
    c = Circuit("orig")
    c.add_input_bus("x", (2, 2), signed=True)
    loose = c.add_input()
    new, mapping = c.copy_interface()
    assert new.name == "orig" and new.num_ands == 0 and not new.output_buses
    assert new.input_buses["x"].shape == (2, 2) and new.input_buses["x"].signed
    assert set(mapping) == set(c.inputs)
    assert mapping[lit_node(loose)] in [2 * n for n in new.inputs]


# ---------------------------------------------------------------------- memory
def _footprint(c: Circuit) -> int:
    """Bytes held by the node arrays and the hash table (allocated, not just used)."""
    return sum(sys.getsizeof(arr) for arr in (c._f0, c._f1, c._layer, c._table))


@pytest.mark.slow
def test_memory_per_node_stays_below_30_bytes():
    # Builds 600k AND nodes (a chain, about a second) and measures the
    # footprint right after every hash-table growth, where it is largest.
    c = Circuit()
    xs = c.add_input_bus("x", 16)
    last, size, worst = xs[1], len(c._table), 0.0
    and_ = c.and_
    for i in range(600_000):
        last = and_(last, xs[i & 15] ^ ((i >> 4) & 1))
        if len(c._table) != size:
            size = len(c._table)
            if c.num_nodes >= 1 << 15:
                worst = max(worst, _footprint(c) / c.num_nodes)
    worst = max(worst, _footprint(c) / c.num_nodes)
    assert c.num_ands == 600_000
    assert worst < 30, f"{worst:.1f} bytes per node"
