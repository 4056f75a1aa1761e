"""andshare (AND sharing by Paar's greedy pair extraction): equivalence, sharing found, never costlier."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes import PASSES, run_pipeline
from nandc.passes.andshare import and_share
from nandc.synth.cost import nand_cost
from nandc.synth.equiv import check_equivalence
from nandc.synth.pairs import extract_pairs
from tests.strategies import circuits, examples

EQUIVALENCE = settings(max_examples=examples(200), deadline=None)


def _tcam(width: int, entries: int, seed: int, dont_care: float = 0.3) -> Circuit:
    """Entry ``j`` matches when every cared-for bit of ``x`` equals its pattern bit; each entry's
    AND is written as its own chain (no sharing between entries)."""
    rng = random.Random(seed)
    c = Circuit("tcam")
    x = c.add_input_bus("x", width)
    hits = []
    for _ in range(entries):
        acc = 1
        for i in range(width):
            if rng.random() >= dont_care:
                acc = c.and_(acc, x[i] ^ rng.randint(0, 1))
        hits.append(acc)
    c.set_output("hit", hits)
    return c


@EQUIVALENCE
@given(circuits(max_inputs=10, max_ops=50))
def test_andshare_is_equivalent_and_never_costlier(c):
    new, stats = and_share(c)
    new.verify()
    assert check_equivalence(c, new)
    assert nand_cost(new) <= nand_cost(c)
    assert list(new.output_buses) == list(c.output_buses)


def test_a_tcam_shares_its_sub_products():
    c = _tcam(12, 24, 3)
    new, stats = and_share(c)
    assert check_equivalence(c, new)  # 12 inputs: every input vector
    assert stats.notes["shared"] > 0 and new.num_ands < 0.9 * c.num_ands
    big = _tcam(32, 32, 4)
    new, stats = and_share(big)
    assert check_equivalence(big, new, method="sat")
    assert new.num_ands < 0.9 * big.num_ands


def test_extract_pairs_takes_the_most_frequent_pair_first():
    sets = [{1, 2, 3}, {1, 2, 4}, {1, 2, 5}, {3, 4}, {3, 4, 5}]
    made = extract_pairs(sets, 10)
    assert made[0] == (1, 2)  # in three sets
    assert made[1] == (3, 4)  # in two
    assert sets[0] == {10, 3} and sets[3] == {11} and sets[4] == {11, 5}
    assert extract_pairs([{1, 2}, {3, 4}], 10) == []  # nothing in two sets


def test_nodes_read_twice_or_complemented_stay_leaves():
    c = Circuit("shared")
    x = c.add_input_bus("x", 6)
    t = c.and_(x[0], x[1])  # read by two wide ANDs and, complemented, by a third
    a = c.and_(c.and_(t, x[2]), x[3])
    b = c.and_(c.and_(t, x[2]), x[4])
    c.set_output("y", [a, b, c.and_(t ^ 1, x[5])])
    new, stats = and_share(c)
    assert check_equivalence(c, new)


def test_o3_runs_it_and_params_are_checked():
    c = _tcam(10, 16, 5)
    net, stats = run_pipeline(c, "O3")
    assert check_equivalence(c, net)
    assert any(s.pass_name == "andshare" for s in stats)
    assert "max_leaves" in PASSES["andshare"].param_names
    with pytest.raises(PassError, match="max_leaves must be at least 2"):
        and_share(c, {"max_leaves": 1})
    with pytest.raises(PassError, match=r"min_gain must be in \[0, 1\)"):
        and_share(c, {"min_gain": 1.0})
    saved = 1 - and_share(c)[0].num_ands / c.num_ands
    assert saved >= 0.05
    same, stats = and_share(c, {"min_gain": saved + 0.01})  # asks for more than it saves: not kept
    assert same is c and stats.notes["kept"] is False
    wide, stats = and_share(_tcam(40, 6, 6, 0.0), {"max_leaves": 8})  # every entry left out of the search
    assert stats.notes["wide"] == 6 and stats.notes["shared"] == 0
