"""Test lanes (a pytest plugin, loaded by ``-p tests.lanes`` in pyproject.toml).

``python -m pytest -q`` runs everything (fuzzing excepted: ``-m fuzz`` on demand).
``python -m pytest -m "not slow" -n 2`` is the fast lane for everyday work (two
pytest-xdist workers; the lanes work the same in one process): tests
marked ``slow`` (training, examples, large circuits) are left out and property
tests draw a tenth of their examples (:func:`tests.strategies.examples`); the
full run draws all of them.  Fuzzing tests run only when ``-m`` names them.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    markexpr = config.getoption("markexpr") or ""
    if "not slow" in markexpr:
        os.environ.setdefault("NANDC_TEST_EXAMPLES_SCALE", "0.1")


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("markexpr") or ""
    if "fuzz" in markexpr:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("fuzz") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
