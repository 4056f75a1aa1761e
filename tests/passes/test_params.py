"""Every pass names a parameter of the wrong type or out of range with a PassError
(found by benchmarks/synth_fuzz.py: strings reached comparisons as TypeErrors,
``map[cuts_per_node=0]`` an AttributeError, ``refactor[cut_size=17]`` ran for minutes)."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

from nandc.errors import PassError
from nandc.passes import PASSES, run_pipeline
from nandc.synth.equiv import check_equivalence
from tests.strategies import random_circuit

WITH_PARAMS = sorted(n for n, p in PASSES.items() if p.param_names)


def _fields(name):
    hints = typing.get_type_hints(PASSES[name].params)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(PASSES[name].params)]


@pytest.fixture(scope="module")
def circuit():
    return random_circuit(3, 8, 60)


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_wrong_types_are_named(circuit, name):
    wrong = {int: ["foo", 0.5, True, None], float: ["foo", False, None], bool: ["foo", 1, None], str: [3, None]}
    for field, kind in _fields(name):
        for value in wrong[kind]:
            with pytest.raises(PassError, match=f"{name}.*{field} must be"):
                PASSES[name].run(circuit, {field: value})


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_negative_counts_are_rejected(circuit, name):
    for field, kind in _fields(name):
        if kind is int:
            with pytest.raises(PassError, match=f"{field} must be"):
                PASSES[name].run(circuit, {field: -1})


@pytest.mark.parametrize("pipeline", ["map[cuts_per_node=0]", "map[choice_cuts=0]", "rewrite[cuts_per_node=0]",
                                      "refactor[cut_size=13]", "refactor[cut_size=1]", "nnsynth[cut_size=17]",
                                      "restructure[cuts_per_node=0]"])
def test_out_of_range(circuit, pipeline):
    with pytest.raises(PassError, match="must be"):
        run_pipeline(circuit, pipeline)


def test_numeric_kinds_still_accepted(circuit):
    # numpy integers are integers, integers are numbers: these run and keep the function
    for name, params in [("refactor", {"cut_size": np.int64(12)}), ("restructure", {"min_gain": 0, "rounds": 1}),
                         ("sweep", {"words": np.int32(1), "rounds": 0}), ("map", {"cuts_per_node": 1})]:
        out, _ = PASSES[name].run(circuit, params)
        assert check_equivalence(circuit, out)
