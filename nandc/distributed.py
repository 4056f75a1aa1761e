"""nandc on a Ray cluster: batch inference over many input files, and compiles of big models.

Batch inference, :func:`run` (``nandc run MODEL.nandc --inputs DIR --ray``):
the input files (``.npy`` and Parquet, see :mod:`nandc.files.datafiles`) are cut
into shards of consecutive rows; a Ray Data ``map_batches`` over a pool of
actors runs them.  Each actor loads the model once -- the ``.nandc`` file
travels once, through the object store, to every node -- compiles (or loads
from its node's JIT cache) every stage's code once, then reads its shards
from the shared file system and runs them.  Every result row carries its
global row number and is put back in its place by the driver, which checks
that every row arrived exactly once; the result equals
:meth:`nandc.CompiledModel.run` on the concatenated inputs.  A worker that
dies (a crash, a lost node) is restarted by Ray and its shard run again; its
partial work is never returned, so no row is lost or duplicated.

The actors read the files themselves instead of Ray Data's
``read_numpy``/``read_parquet``: Ray Data starts an actor pool before its
read tasks, so a pool that takes every CPU slot leaves the read tasks none
and the dataset hangs (ray-project/ray#44687, reproduced on a 2-CPU
cluster); reading in the actors also skips a copy of every input through
the object store.  Input paths must therefore be readable under the same
name on every node (a local disk for a one-machine cluster, NFS or another
shared file system beyond).

Compiles, :class:`RayExecutor`: ``nandc.compile(..., executor=RayExecutor())``
(``nandc compile ... --ray``) runs the pass pipeline of every unique stage of
a staged model as a Ray task.  Stage circuits go out, netlists come back;
the result is the same as a local compile.

Clusters (``address``): ``None`` follows Ray's own rule ($RAY_ADDRESS, else
the cluster last started on this machine, else a new local one); ``"auto"``
only an existing cluster of this machine; ``"local"`` always a new local
one; ``HOST:PORT`` (a head node's GCS) or ``ray://HOST:PORT`` (Ray Client) a
remote one.  If this process is already connected (``ray.init`` was called),
that connection is used and left open.  Every node needs nandc installed (the
same version) and Ray; on clusters of this machine, workers import the nandc
this process runs (its folder goes on their PYTHONPATH).

Ray is an optional dependency (``pip install 'nandc[ray]'``), imported only
when a function of this module runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from nandc.errors import BackendError, ClusterError, NandcError

__all__ = ["run", "connect", "RayExecutor", "DEFAULT_ROWS_PER_SHARD"]

DEFAULT_ROWS_PER_SHARD = 65536
"""Rows per shard: 256 sample vectors of the JIT, ~50 MB of MNIST pixels."""

_CONNECT_TIMEOUT = 5.0
_INSTALL = "pip install 'nandc[ray]'"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(f"running on a Ray cluster needs Ray, which is not installed: {_INSTALL} "
                           "(on this machine and on every node of the cluster)") from None
    return ray


def _package_root() -> str:
    """The folder that holds the ``nandc`` package this process imported."""
    import nandc

    return os.path.dirname(os.path.dirname(os.path.abspath(nandc.__file__)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


# ---------------------------------------------------------------------- connecting
def check_address(address: str) -> None:
    """Refuse a malformed or unreachable ``HOST:PORT`` / ``ray://HOST:PORT`` quickly.

    (``ray.init`` keeps retrying a dead address for a long time.)
    """
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in rest:
        raise ClusterError(f"bad Ray cluster address {address!r}: expected HOST:PORT (a head node, e.g. "
                           "10.0.0.5:6379), ray://HOST:PORT (Ray Client), 'auto' (the cluster running on this "
                           "machine) or 'local' (a new one on this machine)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_TIMEOUT):
            pass
    except OSError as e:
        reason = "timed out" if isinstance(e, socket.timeout) else (e.strerror or str(e) or type(e).__name__)
        raise ClusterError(f"cannot reach a Ray cluster at {address!r}: {reason.lower()}; expected a running "
                           "head node there (`ray start --head` prints its address)") from None


@contextlib.contextmanager
def connect(address: str | None = None, runtime_env: dict | None = None,
            num_cpus: int | None = None) -> Iterator[Any]:
    """Use a Ray cluster for the ``with`` block; yields the ``ray`` module.

    See the module docstring for ``address``.  If this process is already
    connected, that connection is used (and left open); otherwise the
    connection made here is closed at the end of the block (a local cluster
    started here stops).  ``runtime_env`` is Ray's (e.g. ``{"py_modules":
    [nandc]}`` to ship this nandc to a cluster that lacks it);
    ``num_cpus`` sizes a new local cluster (``address="local"`` only).
    Raises :class:`ClusterError` when Ray is missing or no cluster answers.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    where = "address"
    if not address and os.environ.get("RAY_ADDRESS"):
        address, where = os.environ["RAY_ADDRESS"], "$RAY_ADDRESS"
    address = address or None
    if num_cpus is not None and address != "local":
        raise ClusterError(f"num_cpus sizes a new local cluster (address 'local'); found address {address!r}")
    remote = address not in (None, "auto", "local")
    if remote:
        try:
            check_address(address)
        except ClusterError as e:
            raise ClusterError(f"{where}: {e}" if where != "address" else str(e)) from None
    env = dict(runtime_env or {})
    if not remote:  # workers on this machine import the nandc this process runs
        env_vars = dict(env.get("env_vars") or {})
        env_vars.setdefault("PYTHONPATH", os.pathsep.join(
            p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p))
        env["env_vars"] = env_vars
    try:
        ray.init(address=address, num_cpus=num_cpus, runtime_env=env or None, include_dashboard=False,
                 logging_level=logging.WARNING)
    except ConnectionError as e:
        if address in (None, "auto"):
            raise ClusterError("no running Ray cluster found on this machine (address 'auto'): start one with "
                               "`ray start --head`, give the address of a remote one, or use 'local' to start "
                               "one for this run") from None
        raise ClusterError(f"cannot connect to the Ray cluster at {address!r}: {_first_line(e)}") from None
    except Exception as e:  # ray.init raises RuntimeError, ValueError ... for a cluster it cannot use
        raise ClusterError(f"cannot use the Ray cluster at {address or 'auto'!r}: {_first_line(e)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


_RETRY_NOTE = "\nFailed to apply UDF transform after"


def _from_ray(exc: BaseException) -> bool:
    """Whether ``exc`` is Ray's wrapper of a failure (it may also be an instance of the user's class)."""
    return any(t.__module__.startswith("ray.") or t.__module__ == "ray" for t in type(exc).__mro__
               if t.__name__.startswith("Ray") or t.__name__ == "UserCodeException")


def _nandc_error_in(exc: BaseException) -> NandcError | None:
    """The NandcError a worker raised, found in the chain of an exception out of Ray."""
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NandcError) and not _from_ray(e):
            return e
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return None


def _cluster_failure(exc: BaseException, what: str) -> NandcError:
    """The error to raise for an exception out of Ray: a worker's NandcError as it was, else a ClusterError."""
    found = _nandc_error_in(exc)
    if found is not None:
        if found.args and isinstance(found.args[0], str) and _RETRY_NOTE in found.args[0]:
            # Ray Data appends its retry advice to the message; the user's error is the first part
            found.args = (found.args[0][:found.args[0].index(_RETRY_NOTE)],) + found.args[1:]
        return found
    text = str(exc)
    if "No module named 'nandc" in text:
        return ClusterError(f"{what}: the Ray workers cannot import nandc; install nandc (the same version) on "
                            "every node, or pass runtime_env={'py_modules': [nandc]}")
    cause = getattr(exc, "cause", None) or exc.__cause__
    return ClusterError(f"{what}: {_first_line(cause or exc)}")


# ---------------------------------------------------------------------- batch inference
class ShardRunner:
    """A Ray Data actor: loads the model once, then runs the shards it is given.

    ``model`` is the ``.nandc`` file's bytes (or an object reference to
    them).  ``crash_once`` (tests only) names a file: the first actor call
    that creates it kills its process, as a crash would.
    """

    def __init__(self, model, input_shape: Sequence[int], column: str | None, threads: int, backend: str,
                 outputs: Sequence[str], crash_once: str | None = None):
        import ray

        data = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        self.model = _load_bytes(data)
        self.input_shape = tuple(input_shape)
        self.column = column
        self.threads = threads
        self.backend = backend
        self.outputs = tuple(outputs)
        self.crash_once = crash_once
        if backend == "jit":  # compile (or load from this node's cache) once, before the first shard
            from nandc.backends.llvm.jit import compile_netlist

            for stage in self.model.program.stages:
                compile_netlist(stage.netlist, jobs=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from nandc.files.datafiles import Shard, read_shard

        index: list[np.ndarray] = []
        parts: dict[str, list[np.ndarray]] = {key: [] for key in self.outputs}
        for k in range(len(batch["path"])):
            shard = Shard(str(batch["path"][k]), str(batch["kind"][k]), int(batch["start"][k]),
                          int(batch["stop"][k]), int(batch["offset"][k]),
                          (int(batch["group0"][k]), int(batch["group1"][k])))
            x = read_shard(shard, self.input_shape, self.column)
            if self.crash_once is not None:
                _crash_if_first(self.crash_once)
            out = self.model.run(x, backend=self.backend, threads=self.threads)
            index.append(np.arange(shard.offset, shard.offset + shard.rows, dtype=np.int64))
            for key in self.outputs:
                parts[key].append(out[key])
        result = {key: np.concatenate(arrays) for key, arrays in parts.items()}
        result["index"] = np.concatenate(index)
        return result


def _crash_if_first(marker: str) -> None:
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(1)  # a hard crash: no exception, no clean-up, the process is gone


def _load_bytes(data: bytes):
    """A CompiledModel from the bytes of a ``.nandc`` file (validated as :func:`nandc.load` does)."""
    from nandc.model import load

    fd, path = tempfile.mkstemp(suffix=".nandc", prefix="nandc-model-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return load(path)
    finally:
        os.unlink(path)


@contextlib.contextmanager
def _data_context(ray):
    """Ray Data settings for one run (restored after): nandc draws its own progress bar."""
    ctx = ray.data.DataContext.get_current()
    settings = {"enable_progress_bars": False, "print_on_execution_start": False, "enable_auto_log_stats": False,
                "raise_original_map_exception": True}
    saved = {k: getattr(ctx, k) for k in settings if hasattr(ctx, k)}
    for k in saved:
        setattr(ctx, k, settings[k])
    # nandc re-raises every failure of the run with its own message; Ray Data's log lines about the
    # same failure (and its notice that its progress bars are off) would only repeat it.  They are
    # still written to Ray's session log (/tmp/ray/session_latest/logs/ray-data/).
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    data_log.setLevel(logging.CRITICAL)
    try:
        yield ctx
    finally:
        for k, v in saved.items():
            setattr(ctx, k, v)
        data_log.setLevel(level)


def _empty_result(model, rows: int, outputs: Sequence[str]) -> dict[str, np.ndarray]:
    shapes = {"logits": (rows,) + tuple(model.interface.output_shape), "class": (rows,)}
    return {key: np.zeros(shapes[key], dtype=np.int64) for key in outputs}


def _outputs(model, outputs: Sequence[str] | None) -> tuple[str, ...]:
    available = ("logits", "class") if model.interface.has_class else ("logits",)
    if outputs is None:
        return available
    outputs = tuple(dict.fromkeys(outputs))
    for key in outputs:
        if key not in ("logits", "class"):
            raise NandcError(f"unknown output {key!r}; expected 'logits' or 'class'")
        if key not in available:
            raise BackendError("this model's output is not a vector of class scores; it has no 'class' output")
    if not outputs:
        raise NandcError("no outputs requested; expected 'logits', 'class' or both")
    return outputs


def run(model_path: str | os.PathLike, inputs, *, address: str | None = None, workers: int | None = None,
        threads: int = 1, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD, column: str | None = None,
        backend: str = "jit", outputs: Sequence[str] | None = None, progress: bool = True,
        runtime_env: dict | None = None, _crash_once: str | None = None) -> dict[str, np.ndarray]:
    """Run a saved model on every sample of ``inputs`` with a pool of Ray actors.

    Parameters
    ----------
    model_path : path of a ``.nandc`` file (read and validated here first).
    inputs : a ``.npy`` or ``.parquet`` file, a folder of them, a glob, or a
        list of these (see :func:`nandc.files.datafiles.find_inputs`); samples are
        numbered in that order.
    address : the Ray cluster (see :func:`connect`).
    workers : actors in the pool (default: the cluster's CPU slots divided
        by ``threads``, at most one per shard).
    threads : JIT threads (and CPU slots reserved) per actor.
    rows_per_shard : rows an actor reads and runs at once.
    column : the Parquet column of the samples (default: the only column, or
        all scalar columns).
    backend : ``"jit"`` or ``"reference"``, as in :meth:`CompiledModel.run`.
    outputs : the outputs to bring back, ``"logits"`` and/or ``"class"``
        (default: both, or the logits of a model without classes); the
        classes alone are 16 bytes per sample on the network instead of
        8 per logit.
    progress : draw a progress bar (samples done) on stderr.
    runtime_env : Ray's runtime environment for the job.

    Returns what :meth:`nandc.CompiledModel.run` returns on all samples in
    order (``"logits"`` and, for a vector output, ``"class"``), restricted
    to ``outputs``.

    Raises :class:`NandcError` for inputs that do not match (nothing found,
    wrong shape) -- before any cluster is contacted -- and
    :class:`ClusterError` when Ray is missing, no cluster answers, or the
    run fails on the cluster.
    """
    from nandc.files.datafiles import check_shape, inspect_inputs, plan_shards
    from nandc.model import load

    if backend not in ("jit", "reference"):
        raise BackendError(f"unknown backend {backend!r}; expected 'jit' or 'reference'")
    if int(threads) < 1:
        raise NandcError(f"threads per worker must be at least 1, found {threads}")
    if workers is not None and int(workers) < 1:
        raise NandcError(f"workers must be at least 1, found {workers}")
    model_path = os.fspath(model_path)
    model = load(model_path)
    wanted = _outputs(model, outputs)
    files = inspect_inputs(inputs)
    check_shape(files, model.interface.input_shape, column)
    shards = plan_shards(files, int(rows_per_shard))
    total = sum(f.rows for f in files)
    with open(model_path, "rb") as f:
        blob = f.read()
    with connect(address, runtime_env) as ray:
        if not shards:
            return _empty_result(model, total, wanted)
        slots = int(ray.cluster_resources().get("CPU", 1))
        pool = int(workers) if workers else max(1, slots // int(threads))
        pool = min(pool, len(shards))
        with _data_context(ray):
            return _run_pool(ray, model, blob, shards, total, pool, int(threads), column, backend, wanted,
                             progress, _crash_once)


def _run_pool(ray, model, blob: bytes, shards, total: int, pool: int, threads: int, column, backend: str,
              outputs: tuple[str, ...], progress: bool, crash_once) -> dict[str, np.ndarray]:
    from tqdm.auto import tqdm

    items = [{"path": s.path, "kind": s.kind, "start": s.start, "stop": s.stop, "offset": s.offset,
              "group0": s.groups[0], "group1": s.groups[1]} for s in shards]
    model_ref = ray.put(blob)
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(
        ShardRunner, batch_size=1, batch_format="numpy", num_cpus=threads,
        compute=ray.data.ActorPoolStrategy(size=pool),
        fn_constructor_args=(model_ref, tuple(model.interface.input_shape), column, threads, backend, outputs,
                             crash_once),
    )
    result = _empty_result(model, total, outputs)
    seen = np.zeros(total, dtype=bool)
    bar = tqdm(total=total, unit="sample", unit_scale=True, desc=f"nandc run on {pool} Ray worker(s)",
               disable=not progress, leave=False)
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            index = np.asarray(batch["index"], dtype=np.int64)
            if index.size and (index.min() < 0 or index.max() >= total):
                raise ClusterError(f"a worker returned row numbers outside 0..{total - 1}")
            if seen[index].any() or np.unique(index).size != index.size:
                raise ClusterError(f"row {int(index[seen[index]][0]) if seen[index].any() else int(index[0])} "
                                   "came back twice from the workers")
            seen[index] = True
            for key in result:
                result[key][index] = batch[key]
            bar.update(index.size)
    except Exception as e:
        if isinstance(e, NandcError) and not _from_ray(e):
            raise
        raise _cluster_failure(e, "the distributed run failed") from None
    finally:
        bar.close()
    if not seen.all():
        missing = int(np.argmin(seen))
        raise ClusterError(f"{int((~seen).sum())} of {total} rows never came back from the workers "
                           f"(first: row {missing})")
    return result


# ---------------------------------------------------------------------- compiles
class RayExecutor:
    """Runs function calls as Ray tasks: a :class:`nandc.model.StageExecutor` for ``nandc.compile``.

    ::

        with RayExecutor("auto") as ex:
            compiled = nandc.compile(model, x, staged=True, executor=ex)

    ``map(fn, *iterables)`` submits every call at once and yields the
    results in argument order.  A task whose worker dies is retried (up to
    ``max_retries`` times, Ray's task retry); an exception raised by ``fn``
    is not retried: a :class:`NandcError` comes back as it was raised,
    anything else as a :class:`ClusterError`.  ``fn`` must be importable on
    the workers (a module-level function of an installed package).
    Connects on entering the ``with`` block (or on the first ``map``) and
    disconnects on leaving it (or :meth:`close`), see :func:`connect`.
    """

    def __init__(self, address: str | None = None, *, cpus_per_task: float = 1, max_retries: int = 3,
                 runtime_env: dict | None = None):
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.max_retries = max_retries
        self.runtime_env = runtime_env
        self._session: contextlib.ExitStack | None = None
        self._ray = None

    def __enter__(self) -> "RayExecutor":
        self._connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self):
        if self._ray is None:
            stack = contextlib.ExitStack()
            self._ray = stack.enter_context(connect(self.address, self.runtime_env))
            self._session = stack
        return self._ray

    def close(self) -> None:
        """Disconnect (stopping a local cluster this executor started)."""
        if self._session is not None:
            self._session.close()
        self._session = self._ray = None

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        ray = self._connect()
        task = ray.remote(num_cpus=self.cpus_per_task, max_retries=self.max_retries)(fn)
        refs = [task.remote(*args) for args in zip(*iterables)]
        return self._results(ray, refs, getattr(fn, "__name__", "task"))

    @staticmethod
    def _results(ray, refs: list, name: str) -> Iterator[Any]:
        k = 0
        try:
            for k, ref in enumerate(refs):
                try:
                    result = ray.get(ref)
                except Exception as e:
                    raise _cluster_failure(e, f"a Ray task ({name}) failed") from None
                yield result
            k = len(refs)
        finally:
            if k < len(refs):  # stopped early: cancel what is left, and take its errors off Ray's hands
                rest = refs[k + 1:]
                for ref in rest:
                    ray.cancel(ref, force=True)
                for ref in rest:
                    try:
                        ray.get(ref)
                    except Exception:
                        pass
