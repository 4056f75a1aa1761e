"""Fuzzing the readers and the command line (hypothesis draws the mutations, so failures shrink).

The default run checks a few hundred mutants in seconds, derandomized (the
same ones every run).  ``pytest -m fuzz`` runs the long, randomized version
(``NANDC_FUZZ_EXAMPLES`` mutants per reader, default 2000); the campaign
script ``benchmarks/fuzz_campaign.py`` adds process isolation, memory limits
and native-crash detection.  Every mutant must end as a NandcError (or a
clean ``nandc: error:`` exit 1) or be read exactly as the independent
reference in :mod:`tests.fuzz.reference` reads it, within a time bound and
a memory bound.
"""

from __future__ import annotations

import os
import random
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import harness
from tests.fuzz.mutators import MUTATORS, apply
from tests.strategies import examples

QUICK = settings(max_examples=examples(40), derandomize=True, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=int(os.environ.get("NANDC_FUZZ_EXAMPLES", "2000")), deadline=None,
                suppress_health_check=list(HealthCheck))
MEMORY_BOUND = 200 << 20  # bytes a mutant of the small seed files may take (tracemalloc peak)

mutations = st.lists(st.tuples(st.integers(0, len(MUTATORS) - 1), st.integers(0, 2**32 - 1)), min_size=1,
                     max_size=4)


def check_mutant(kind: str, base: int, ops: list[tuple[int, int]]) -> None:
    files = harness.corpus(kind)
    data = apply(files[base % len(files)], ops)
    tracemalloc.start()
    try:
        outcome, detail = harness.check_file(kind, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome in ("accepted", "rejected"), f"{outcome}: {detail}\nmutant: {data[:2000]!r}"
    assert peak < MEMORY_BOUND, f"{peak} bytes for a {len(data)}-byte mutant"


@pytest.mark.parametrize("kind", harness.KINDS)
@QUICK
@given(base=st.integers(0, 20), ops=mutations)
def test_reader_mutants(kind, base, ops):
    check_mutant(kind, base, ops)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", harness.KINDS)
@LONG
@given(base=st.integers(0, 20), ops=mutations)
def test_reader_mutants_long(kind, base, ops):
    check_mutant(kind, base, ops)


@pytest.fixture(scope="module")
def cli_workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli-fuzz")
    harness.make_cli_workdir(work)
    saved = {k: os.environ.get(k) for k in ("NANDC_CACHE_DIR", "XDG_CONFIG_HOME")}
    os.environ["NANDC_CACHE_DIR"] = str(work / "jit-cache")
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    cwd = os.getcwd()
    os.chdir(work)
    yield work
    os.chdir(cwd)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def check_command_line(seed: int) -> None:
    argv = harness.cli_argv(random.Random(seed), harness.Path("."))
    outcome, detail = harness.check_cli(argv)
    assert outcome in ("accepted", "rejected"), detail


@settings(QUICK, max_examples=examples(25))
@given(seed=st.integers(0, 2**32 - 1))
def test_command_line_misuse(cli_workdir, seed):
    check_command_line(seed)


@pytest.mark.fuzz
@settings(LONG, max_examples=int(os.environ.get("NANDC_FUZZ_EXAMPLES", "2000")) // 4)
@given(seed=st.integers(0, 2**32 - 1))
def test_command_line_misuse_long(cli_workdir, seed):
    check_command_line(seed)


# ---------------------------------------------------------------------- the checks can fail
def test_a_misreading_reader_is_caught(monkeypatch):
    """A reader that negates one output bit must show as 'mismatch', not pass."""
    import nandc.ir.io as io_module

    real = io_module.parse_aiger

    def misreading(data, path="<aiger>"):
        c = real(data, path)
        bus = next(iter(c.output_buses.values()))
        c.set_output(bus.name, (bus.bits[0] ^ 1,) + bus.bits[1:], bus.shape, bus.signed)
        return c

    monkeypatch.setattr(io_module, "parse_aiger", misreading)
    outcome, detail = harness.check_file("aag", harness.corpus("aag")[1])
    assert (outcome, detail) == ("mismatch", f"{detail.split(' ')[0]} inputs; outputs differ")


def test_a_raw_exception_and_a_hang_are_caught(monkeypatch):
    import nandc.ir.io as io_module

    monkeypatch.setattr(io_module, "parse_blif", lambda text, path: int("\u00b2"))
    assert harness.check_file("blif", harness.corpus("blif")[0])[0] == "raw"
    monkeypatch.setattr(harness, "TIME_BOUND", 1)

    def forever(text, path):
        while True:
            pass

    monkeypatch.setattr(io_module, "parse_blif", forever)
    assert harness.check_file("blif", harness.corpus("blif")[0]) == ("hang", "more than 1 s")
