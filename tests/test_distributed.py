"""nandc on a Ray cluster: batch inference and compiles equal the local path, failures are clear.

The cluster tests start one local Ray cluster of two CPUs for the module
(their workers import nandc from this checkout) and are marked slow: a
cluster and its actor pools take seconds to start.  Everything is skipped
when Ray is not installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import nandc
from nandc import distributed
from nandc.cli import main
from nandc.errors import ClusterError, NandcError, ParseError, PassError
from tests.modelfiles import tiny_model

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- without a cluster
def test_ray_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ClusterError) as info:
        with distributed.connect():
            pass
    assert str(info.value) == ("running on a Ray cluster needs Ray, which is not installed: pip install "
                               "'nandc[ray]' (on this machine and on every node of the cluster)")


@pytest.mark.parametrize("address, message", [
    ("nohost", "bad Ray cluster address 'nohost': expected HOST:PORT"),
    ("10.0.0.5:http", "bad Ray cluster address '10.0.0.5:http'"),
    ("ray://10.0.0.5:99999", "bad Ray cluster address 'ray://10.0.0.5:99999'"),
    ("127.0.0.1:1", "cannot reach a Ray cluster at '127.0.0.1:1': connection refused; expected a running head "
                    "node there (`ray start --head` prints its address)"),
])
def test_bad_addresses_fail_fast(address, message):
    if ray.is_initialized():
        pytest.skip("this process is already connected to a cluster")
    with pytest.raises(ClusterError) as info:
        with distributed.connect(address):
            pass
    assert str(info.value).startswith(message)
    assert not ray.is_initialized()


def test_no_running_cluster_for_auto(monkeypatch):
    if ray.is_initialized() or os.path.exists("/tmp/ray/ray_current_cluster"):
        pytest.skip("a Ray cluster is running on this machine")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError) as info:
        with distributed.connect("auto"):
            pass
    assert str(info.value).startswith("no running Ray cluster found on this machine (address 'auto')")


def test_input_mistakes_are_found_before_any_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "connect", None)  # any attempt to reach a cluster would fail loudly
    tiny_model().save(tmp_path / "m.nandc")
    with pytest.raises(NandcError) as info:
        distributed.run(tmp_path / "m.nandc", str(tmp_path / "shards" / "*.npy"))
    assert str(info.value) == f"no input files match '{tmp_path}/shards/*.npy': expected .npy or .parquet files"
    np.save(tmp_path / "x.npy", np.zeros((3, 7), np.float32))
    with pytest.raises(NandcError, match=r"x.npy: expected an array of samples \(N, 8\), found an array of shape "
                                         r"\(3, 7\)"):
        distributed.run(tmp_path / "m.nandc", tmp_path / "x.npy")
    with pytest.raises(NandcError, match="unknown output 'probs'; expected 'logits' or 'class'"):
        distributed.run(tmp_path / "m.nandc", tmp_path / "x.npy", outputs=("class", "probs"))
    with pytest.raises(NandcError, match="threads per worker must be at least 1, found 0"):
        distributed.run(tmp_path / "m.nandc", tmp_path / "x.npy", threads=0)
    with pytest.raises(ParseError, match="no such file"):
        distributed.run(tmp_path / "missing.nandc", tmp_path / "x.npy")


# ---------------------------------------------------------------------- on a local cluster
@pytest.fixture(scope="module")
def cluster():
    if ray.is_initialized():
        pytest.skip("this process is already connected to a Ray cluster")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def staged_cnn(tmp_path_factory):
    """A held-out staged 4-bit CNN (3x16x16 input), saved, and the local results on 600 samples of mixed files."""
    torch = pytest.importorskip("torch")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from nandc.lab import zoo

    work = tmp_path_factory.mktemp("ray")
    torch.manual_seed(20)
    model = zoo.int4_cnn(3, 16, (8, 16)).eval()
    compiled = nandc.compile(model, torch.zeros(1, 3, 16, 16), passes="O1", staged=True)
    assert compiled.staged
    compiled.save(work / "cnn.nandc")
    rng = np.random.default_rng(20)
    x = rng.random((600, 3, 16, 16), dtype=np.float32)
    (work / "in").mkdir()
    np.save(work / "in" / "a.npy", x[:250])
    np.save(work / "in" / "b.npy", x[250:250])  # an empty file in the middle
    table = pa.table({"img": pa.FixedSizeListArray.from_arrays(pa.array(x[250:].reshape(-1)), 3 * 16 * 16)})
    pq.write_table(table, work / "in" / "c.parquet", row_group_size=100)
    local = nandc.load(work / "cnn.nandc").run(x)
    return {"work": work, "model": model, "compiled": compiled, "x": x, "local": local}


def _same(result, local):
    assert set(result) == set(local)
    for key in local:
        assert result[key].dtype == local[key].dtype and result[key].shape == local[key].shape
        assert np.array_equal(result[key], local[key]), key


@pytest.mark.slow
def test_distributed_run_equals_local_run(cluster, staged_cnn):
    work = staged_cnn["work"]
    result = distributed.run(work / "cnn.nandc", str(work / "in"), rows_per_shard=64, progress=False)
    _same(result, staged_cnn["local"])  # in input order, across .npy and Parquet files and 11 shards


@pytest.mark.slow
def test_a_crashed_worker_is_retried_without_losing_or_duplicating_rows(cluster, staged_cnn):
    work = staged_cnn["work"]
    marker = work / "crashed"
    assert not marker.exists()
    result = distributed.run(work / "cnn.nandc", [work / "in" / "a.npy", work / "in" / "c.parquet"],
                             rows_per_shard=100, workers=2, outputs=("class",), progress=False,
                             _crash_once=str(marker))
    assert marker.exists()  # a worker process did die in the middle of a shard
    _same(result, {"class": staged_cnn["local"]["class"]})


@pytest.mark.slow
def test_a_worker_error_comes_back_as_the_error(cluster, staged_cnn, tmp_path):
    good = staged_cnn["work"] / "in" / "a.npy"
    (tmp_path / "cut.npy").write_bytes(good.read_bytes()[:20000])  # header intact, data cut short
    with pytest.raises(ParseError) as info:
        distributed.run(staged_cnn["work"] / "cnn.nandc", tmp_path / "cut.npy", progress=False)
    assert str(info.value) == f"{tmp_path}/cut.npy: not a .npy array file: mmap length is greater than file size"


@pytest.mark.slow
def test_compile_on_ray_equals_local_compile(cluster, staged_cnn):
    torch = pytest.importorskip("torch")
    local = staged_cnn["compiled"]
    with distributed.RayExecutor() as ex:
        remote = nandc.compile(staged_cnn["model"], torch.zeros(1, 3, 16, 16), passes="O1", staged=True,
                               executor=ex)
        with pytest.raises(PassError, match="unknown pass 'bogus'"):
            nandc.compile(staged_cnn["model"], torch.zeros(1, 3, 16, 16), passes="cleanup;bogus", staged=True,
                          executor=ex)
    assert ray.is_initialized()  # the executor used the open connection and left it open
    assert [s.netlist.structural_hash() for s in remote.program.stages] == \
        [s.netlist.structural_hash() for s in local.program.stages]
    assert [s.pass_name for s in remote.stats] == [s.pass_name for s in local.stats]


@pytest.mark.slow
def test_cli_run_with_ray_writes_what_the_local_run_writes(cluster, staged_cnn, capsys):
    work = staged_cnn["work"]
    glob = str(work / "in" / "*")
    assert main(["run", str(work / "cnn.nandc"), "--inputs", glob, "-o", str(work / "local.npy"), "-q"]) == 0
    assert main(["run", str(work / "cnn.nandc"), "--inputs", glob, "--ray", "--workers", "2", "--logits",
                 "-o", str(work / "ray_logits.npy"), "-q"]) == 0
    assert main(["run", str(work / "cnn.nandc"), "--inputs", glob, "--ray", "-o", str(work / "ray.npy")]) == 0
    assert capsys.readouterr().out == f"wrote {work / 'ray.npy'}: shape (600,)\n"
    assert np.array_equal(np.load(work / "local.npy"), staged_cnn["local"]["class"])
    assert np.array_equal(np.load(work / "ray.npy"), staged_cnn["local"]["class"])
    assert np.array_equal(np.load(work / "ray_logits.npy"), staged_cnn["local"]["logits"])
