"""The executor hook of nandc.compile: stage pipelines run through ``executor.map``, same result."""

from __future__ import annotations

import pickle

import pytest

from nandc.errors import BackendError

torch = pytest.importorskip("torch")

import nandc  # noqa: E402
from nandc.lab import zoo  # noqa: E402


class RecordingExecutor:
    """Runs every call in this process after a pickle round trip (as a remote worker would see it)."""

    def __init__(self, drop_last: bool = False):
        self.calls = []
        self.drop_last = drop_last

    def map(self, fn, *iterables):
        args = list(zip(*iterables))
        self.calls.append((fn, args))
        if self.drop_last:
            args = args[:-1]
        return (pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps(a))))) for a in args)


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(1)
    return zoo.int4_cnn(1, 8, (4, 4)).eval(), torch.zeros(1, 1, 8, 8)


def _hashes(compiled):
    return [s.netlist.structural_hash() for s in compiled.program.stages]


def test_executor_compile_equals_local_compile(cnn):
    model, x = cnn
    seen_local, seen_remote, reports = [], [], []
    local = nandc.compile(model, x, passes="cleanup", staged=True, on_stats=seen_local.append)
    ex = RecordingExecutor()
    remote = nandc.compile(model, x, passes="cleanup", staged=True, executor=ex, on_stats=seen_remote.append,
                           progress=lambda stage, done, total: reports.append((stage, done, total)))
    assert _hashes(remote) == _hashes(local)
    assert [s.name for s in remote.program.stages] == [s.name for s in local.program.stages]
    # one map call, one task per unique stage, the pure function with its three arguments
    (fn, args), = ex.calls
    assert fn is nandc.model.compile_stage
    assert len(args) == len({s.circuit.structural_hash() for s in local.program.stages})
    assert all(len(a) == 3 and a[1] == "cleanup" for a in args)
    sizes = [a[0].num_ands for a in args]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]  # the largest stage goes out first
    # the pipeline had no lowering step: both paths report it, in the same order
    names = [s.pass_name for s in local.stats]
    assert names == [s.pass_name for s in remote.stats] == [s.pass_name for s in seen_local]
    assert names == [s.pass_name for s in seen_remote]
    assert names.count("nand") == len(args)
    assert reports == [("stages", k + 1, len(args)) for k in range(len(args))]
    x_run = torch.rand(16, 1, 8, 8)
    assert (remote.run(x_run)["logits"] == local.run(x_run)["logits"]).all()


def test_an_executor_that_loses_a_stage_is_an_error(cnn):
    model, x = cnn
    with pytest.raises(BackendError, match=r"the stage executor returned \d+ results for \d+ stages"):
        nandc.compile(model, x, passes="O0", staged=True, executor=RecordingExecutor(drop_last=True))
