"""Per-layer reports: every number equals a direct count over the netlist (and circuit)."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nandc.backends import report as rp
from nandc.errors import BackendError, ParseError
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist
from nandc.passes import lower_to_nand
from tests.strategies import examples

LAYER_POOL = ["", "conv1", "fc1", "fc2.argmax", "head", "block.head", "argmax", "headless", "fc.argmax2"]


# ---------------------------------------------------------------------- helpers
def random_tagged_netlist(seed: int) -> NandNetlist:
    """Random fanins (constants included), random layer tags, some gates reaching no output."""
    rng = np.random.default_rng(seed)
    net = NandNetlist(f"net{seed}")
    net.add_input_bus("x", int(rng.integers(1, 6)))
    names = [str(n) for n in rng.permutation(LAYER_POOL)[: int(rng.integers(1, len(LAYER_POOL) + 1))]]
    ids = [net.layer_id(n) for n in names]
    net.layer_id("registered_but_unused")
    for _ in range(int(rng.integers(0, 60))):
        top = net.num_signals
        net.nand(int(rng.integers(0, top)), int(rng.integers(0, top)), ids[int(rng.integers(len(ids)))])
    outs = rng.integers(0, net.num_signals, size=int(rng.integers(0, 5))).tolist()
    net.set_output("y", outs)
    return net


def direct_gate_counts(net: NandNetlist) -> tuple[dict[str, list[int]], list[int]]:
    """``layer -> [gates, max level]`` in first-appearance order, and every signal's level."""
    a, b = net.gate_arrays()
    level = [0] * net.num_signals
    per: dict[str, list[int]] = {}
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        s = net.first_gate + i
        level[s] = 1 + max(level[x], level[y])
        entry = per.setdefault(net.layer_of_gate(s), [0, 0])
        entry[0] += 1
        entry[1] = max(entry[1], level[s])
    return per, level


def direct_aig_counts(c: Circuit) -> dict[str, int]:
    """AND nodes reachable from the outputs, per layer tag (depth-first search)."""
    seen, stack, per = set(), [lit >> 1 for lit in c.output_literals()], {}
    while stack:
        n = stack.pop()
        if n in seen or not c.is_and(n):
            continue
        seen.add(n)
        per[c.layer_of(n)] = per.get(c.layer_of(n), 0) + 1
        stack.extend(lit >> 1 for lit in c.fanins(n))
    return per


def expected_order(names: list[str]) -> list[str]:
    body = [n for n in names if n and not rp.is_head_layer(n)]
    heads = [n for n in names if n and rp.is_head_layer(n)]
    return body + (["(untagged)"] if "" in names else []) + heads


def layered_circuit() -> Circuit:
    """conv1 -> fc1 -> head, some untagged glue, one dead node tagged fc1."""
    c = Circuit("layered")
    x = c.add_input_bus("x", 6)
    with c.layer("conv1"):
        h = [c.xor(x[i], x[i + 1]) for i in range(5)]
    glue = c.and_(h[0], x[5])
    with c.layer("fc1"):
        f = [c.maj(h[i], h[i + 1], glue) for i in range(4)]
        c.and_(x[0] ^ 1, x[3] ^ 1)  # reaches no output
    with c.layer("head"):
        y = c.or_many(f)
    c.set_output("y", [y, f[0]])
    return c


# ---------------------------------------------------------------------- counts
@settings(max_examples=examples(60), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_rows_equal_direct_counts_on_random_netlists(seed):
    net = random_tagged_netlist(seed)
    report = rp.build_report(net)
    per, level = direct_gate_counts(net)
    assert [r.layer for r in report.rows] == expected_order(list(per))
    for row in report.rows:
        gates, depth = per["" if row.layer == "(untagged)" else row.layer]
        assert (row.nand2, row.depth, row.aig_nodes) == (gates, depth, None)
        assert row.share == gates / net.num_gates
    assert report.total_nand2 == net.num_gates == sum(r.nand2 for r in report.rows)
    assert report.depth == max((level[s] for s in net.output_signals()), default=0)
    assert (report.inputs, report.outputs, report.total_aig) == (net.num_inputs, len(net.output_signals()), None)


def test_circuit_adds_reachable_aig_nodes_per_layer():
    c = layered_circuit()
    net, _ = lower_to_nand(c)
    report = rp.build_report(net, c)
    aig = direct_aig_counts(c)
    assert [r.layer for r in report.rows] == ["conv1", "fc1", "(untagged)", "head"]
    assert {r.layer: r.aig_nodes for r in report.rows} == {
        "conv1": aig["conv1"], "fc1": aig["fc1"], "(untagged)": aig[""], "head": aig["head"]
    }
    tagged_fc1 = sum(1 for n in c.and_nodes() if c.layer_of(n) == "fc1")
    assert aig["fc1"] == tagged_fc1 - 1  # the dead node is not counted
    assert report.total_aig == sum(aig.values())
    per, _ = direct_gate_counts(net)
    assert {r.layer: r.nand2 for r in report.rows} == {
        "conv1": per["conv1"][0], "fc1": per["fc1"][0], "(untagged)": per[""][0], "head": per["head"][0]
    }
    assert report.depth == net.depth()
    assert report.rows[-1].depth == net.depth()  # the head computes the output


def test_layers_only_the_circuit_has_get_rows_with_zero_gates():
    c = layered_circuit()
    net, _ = lower_to_nand(c)
    other = Circuit("other")
    x = other.add_input_bus("x", 2)
    with other.layer("extra"):
        other.set_output("y", [other.and_(x[0], x[1])])
    rows = rp.build_report(net, other).rows
    assert [r.layer for r in rows] == ["conv1", "fc1", "extra", "(untagged)", "head"]
    assert rows[2] == rp.LayerRow("extra", 0, 1, 0, 0.0)
    assert rows[0].aig_nodes == 0


def test_head_rule_is_a_parameter():
    c = layered_circuit()
    net, _ = lower_to_nand(c)
    rows = rp.build_report(net, head_layers=("conv1",)).rows
    assert [r.layer for r in rows] == ["fc1", "head", "(untagged)", "conv1"]


@pytest.mark.parametrize("name, head", [
    ("head", True), ("argmax", True), ("fc3.argmax", True), ("model.head", True),
    ("headless", False), ("argmax2", False), ("fc3argmax", False), ("", False),
])
def test_is_head_layer(name, head):
    assert rp.is_head_layer(name) is head


def test_empty_netlist():
    net = NandNetlist("empty")
    net.add_input_bus("x", 2)
    report = rp.build_report(net)
    assert report == rp.Report("empty", (), 0, None, 0, 2, 0)
    assert rp.format_text(report).splitlines()[-1] == "total      0      0   0.0%"


def test_rejects_wrong_types():
    c = layered_circuit()
    with pytest.raises(BackendError) as err:
        rp.build_report(c)
    assert str(err.value) == "a report needs a NandNetlist, found Circuit"
    net, _ = lower_to_nand(c)
    with pytest.raises(BackendError) as err:
        rp.build_report(net, net)
    assert str(err.value) == "the circuit of a report must be a Circuit, found NandNetlist"


# ---------------------------------------------------------------------- formats
def small_report() -> rp.Report:
    return rp.Report(
        name="mnist_bnn",
        rows=(
            rp.LayerRow("fc1", 12000, 10000, 40, 0.8),
            rp.LayerRow("fc_2|b", 2999, 2500, 61, 0.19993333333333332),
            rp.LayerRow("(untagged)", 0, 1, 0, 0.0),
            rp.LayerRow("fc3.argmax", 1, 1, 62, 1 / 15000),
        ),
        total_nand2=15000, total_aig=12501, depth=62, inputs=784, outputs=4,
    )


def test_text_table_exact():
    assert rp.format_text(small_report()) == (
        "mnist_bnn: 784 input bits, 4 output bits, 15,000 NAND2 gates, depth 62\n"
        "\n"
        "layer        NAND2  AIG nodes  depth   share\n"
        "----------  ------  ---------  -----  ------\n"
        "fc1         12,000     10,000     40   80.0%\n"
        "fc_2|b       2,999      2,500     61   20.0%\n"
        "(untagged)       0          1      0    0.0%\n"
        "fc3.argmax       1          1     62    0.0%\n"
        "----------  ------  ---------  -----  ------\n"
        "total       15,000     12,501     62  100.0%\n"
    )


@settings(max_examples=examples(40), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_text_table_is_aligned(seed):
    text = rp.format_text(rp.build_report(random_tagged_netlist(seed)))
    table = text.splitlines()[2:]
    rule = table[1]
    assert all(len(line) == len(rule) for line in table)  # numbers are right-aligned
    gaps = [m.start() for m in re.finditer("  ", rule)]
    assert all(line[g:g + 2] == "  " for line in table for g in gaps)


def test_text_table_keeps_odd_names_on_one_line():
    rows = (rp.LayerRow("a\nb\tc", 1, None, 1, 1.0),)
    text = rp.format_text(rp.Report("x\ny", rows, 1, None, 1, 1, 1))
    assert text.splitlines()[0] == "x\\x0ay: 1 input bits, 1 output bits, 1 NAND2 gates, depth 1"
    assert text.splitlines()[4] == "a\\x0ab\\x09c      1      1  100.0%"


def test_markdown_exact():
    assert rp.format_markdown(small_report()) == (
        "### mnist\\_bnn\n"
        "\n"
        "784 input bits, 4 output bits, 15,000 NAND2 gates, depth 62.\n"
        "\n"
        "| layer | NAND2 | AIG nodes | depth | share |\n"
        "| --- | --: | --: | --: | --: |\n"
        "| fc1 | 12,000 | 10,000 | 40 | 80.0% |\n"
        "| fc\\_2\\|b | 2,999 | 2,500 | 61 | 20.0% |\n"
        "| (untagged) | 0 | 1 | 0 | 0.0% |\n"
        "| fc3.argmax | 1 | 1 | 62 | 0.0% |\n"
        "| **total** | **15,000** | **12,501** | **62** | **100.0%** |\n"
    )


def _markdown_cells(line: str) -> list[str]:
    """Cells of a GFM table row (pipes preceded by a backslash are text)."""
    assert line.startswith("| ") and line.endswith(" |")
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]


@settings(max_examples=examples(60), deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5))
def test_markdown_table_is_valid_for_any_layer_name(names):
    rows = tuple(rp.LayerRow(n, i, None, i, 0.5) for i, n in enumerate(names))
    text = rp.format_markdown(rp.Report("m", rows, 10, None, 3, 1, 1))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == len(names) + 3
    assert re.fullmatch(r"\| ---( \| --:)+ \|", table[1])
    assert {len(_markdown_cells(line)) for line in table} == {4}
    for name, line in zip(names, table[2:]):
        cell = _markdown_cells(line)[0]
        assert re.sub(r"\\(.)", r"\1", cell) == (" ".join(name.splitlines()) or " ").strip()


reports = st.builds(
    rp.Report,
    name=st.text(max_size=10),
    rows=st.lists(
        st.builds(rp.LayerRow, layer=st.text(max_size=10), nand2=st.integers(0, 10**9),
                  aig_nodes=st.none() | st.integers(0, 10**9), depth=st.integers(0, 10**4),
                  share=st.floats(0, 1)),
        max_size=6,
    ).map(tuple),
    total_nand2=st.integers(0, 10**12), total_aig=st.none() | st.integers(0, 10**12),
    depth=st.integers(0, 10**4), inputs=st.integers(0, 10**6), outputs=st.integers(0, 10**6),
)


@settings(max_examples=examples(100), deadline=None)
@given(report=reports)
def test_json_round_trips(report):
    text = rp.to_json(report)
    assert rp.from_json(text) == report
    assert rp.to_json(rp.from_json(text)) == text


def test_json_of_a_built_report_round_trips():
    c = layered_circuit()
    net, _ = lower_to_nand(c)
    report = rp.build_report(net, c)
    assert rp.from_json(rp.to_json(report)) == report
    assert json.loads(rp.to_json(report))["rows"][0]["layer"] == "conv1"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: "{", "report JSON: invalid JSON at line 1: Expecting property name enclosed in double quotes"),
    (lambda d: "[]", 'report JSON: expected an object with "format": "nandc-report"'),
    (lambda d: {**d, "version": 3}, "report JSON: expected version 1 or 2, found 3"),
    (lambda d: {k: v for k, v in d.items() if k != "depth"}, "report JSON: the report has no field 'depth'"),
    (lambda d: {**d, "inputs": True}, "report JSON: the report field 'inputs' must be int, found True"),
    (lambda d: {**d, "total_aig": "7"}, "report JSON: the report field 'total_aig' must be int or null, found '7'"),
    (lambda d: {**d, "rows": [3]}, "report JSON: row 0 must be an object, found 3"),
    (lambda d: {**d, "rows": [{**d["rows"][0], "share": "x"}]},
     "report JSON: row 0 field 'share' must be float or int, found 'x'"),
])
def test_from_json_errors(mutate, message):
    doc = json.loads(rp.to_json(small_report()))
    bad = mutate(doc)
    with pytest.raises(ParseError) as err:
        rp.from_json(bad if isinstance(bad, str) else json.dumps(bad))
    assert str(err.value) == message


# ---------------------------------------------------------------------- plot
def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    report = rp.Report("cost $5", small_report().rows[:2] + (rp.LayerRow("a$b", 1, 1, 1, 0.1),),
                       15000, 12501, 62, 784, 4)
    path = rp.plot(report, tmp_path / "layers.png")
    assert path == tmp_path / "layers.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in tmp_path.iterdir()] == ["layers.png"]  # no temporary file left
    rp.plot(rp.build_report(random_tagged_netlist(1)), tmp_path / "no_aig.png")
    assert (tmp_path / "no_aig.png").read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(BackendError) as err:
        rp.plot(small_report(), tmp_path / "x.png")
    assert str(err.value) == (
        "plotting a report needs matplotlib, which is not installed; install it with `pip install nandc[plot]`"
    )
    assert not any(tmp_path.iterdir())


def test_str_of_a_report_is_the_text_table():
    from nandc.ir.circuit import Circuit
    from nandc.passes import lower_to_nand

    c = Circuit("x1")
    a, b = c.add_input_bus("x", 2)
    with c.layer("L"):
        y = c.xor(a, b)
    c.set_output("y", [y])
    r = rp.build_report(lower_to_nand(c)[0], c)
    assert str(r) == rp.format_text(r)
