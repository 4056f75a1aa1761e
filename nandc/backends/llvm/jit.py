"""Compiling a NandNetlist to machine code and running it bit-parallel.

Every llvmlite call of nandc lives in this module, and llvmlite is imported
only inside the functions that need it, so ``import nandc`` stays light.

Pipeline (see :mod:`.codegen` for the code and its ABI):

1. :func:`compile_netlist` selects ops, plans chunks and emits one LLVM
   module per chunk (plus one for the driver).  On x86-64 with AVX2 a chunk's
   module holds its code as assembly (:mod:`.asm`), which LLVM only assembles:
   an order of magnitude faster than LLVM's code generator; elsewhere (or with
   ``NANDC_JIT_CODEGEN=ir``) it is LLVM IR (:mod:`.codegen`).
2. Each module is compiled to object code.  Large netlists are compiled by
   worker processes (``python -m nandc.backends.llvm.jit --worker``), one per
   job, because llvmlite serializes all LLVM calls of a process behind one
   lock; the workers also switch off LLVM passes that cost more compile time
   than they win on straight-line bit-slice code (``_WORKER_LLVM_OPTIONS``),
   without touching the LLVM settings of the calling process.  If the workers cannot
   run, the modules are compiled in this process.
3. The object code is cached on disk (:func:`cache_key`), then loaded into an
   MCJIT engine (:class:`JitModule`) and wrapped in a :class:`JitProgram`.

A :class:`JitProgram` runs sample vectors (256 samples each) in blocks; Python
threads each call the native driver on their own range of vectors and their
own scratch buffers.  ctypes releases the GIL for the call, so threads run in
parallel.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import os
import pickle
import secrets
import stat
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from nandc.backends.llvm import asm, codegen, fused
from nandc.backends.llvm.packing import (
    LANES,
    SAMPLES_PER_VECTOR,
    aligned_contiguous,
    aligned_empty,
    num_vectors,
    pack_inputs,
    slices_to_vectors,
    unpack_outputs,
    vectors_to_slices,
)
from nandc.errors import BackendError
from nandc.files.fsutil import atomic_write
from nandc.ir.evaluate import input_bits, outputs_from_bits
from nandc.ir.netlist import NandNetlist

__all__ = [
    "CACHE_ENV",
    "Target",
    "ObjectCode",
    "JitModule",
    "JitProgram",
    "host_target",
    "cache_key",
    "default_cache_dir",
    "compile_object_code",
    "compile_netlist",
    "run_netlist",
    "FusedRunner",
]

log = logging.getLogger(__name__)

CACHE_ENV = "NANDC_CACHE_DIR"
"""Environment variable overriding the default cache directory ``~/.cache/nandc/jit``."""

_CACHE_MAGIC = b"NANDCJIT\n"
_CACHE_FORMAT = 2
_WORKER_MIN_OPS = 8192  # below this, compiling in-process is faster than starting workers
_ASM_WORKER_MIN_OPS = 1 << 17  # the same for the (much cheaper) assembly codegen
# LLVM options of the compile workers: the instruction schedulers and the DAG
# combiner cost most of the compile time of straight-line bit-slice code and
# win nothing measurable on it (the ops come pre-selected); a few machine-level
# clean-ups go too.
_WORKER_LLVM_OPTIONS = (
    "-enable-misched=false", "-disable-post-ra", "-combiner-disabled", "-disable-lsr",
    "-disable-machine-sink", "-disable-machine-cse", "-disable-machine-licm",
)
_MIN_VECTORS_PER_THREAD = 4
_SINGLE_CHUNK_BLOCK = 256
_MULTI_CHUNK_BLOCK = 16
_RUN_BATCH_SAMPLES = 1 << 20  # samples packed at once by JitProgram.run
_LOADED_PROGRAMS = 8  # programs kept loaded in this process, most recent first

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: NAND gates compiled so far out of the netlist's total."""


# ---------------------------------------------------------------------- LLVM setup
@functools.lru_cache(maxsize=None)
def _llvm():
    """llvmlite.binding, initialized for the host (imported on first use)."""
    try:
        import llvmlite.binding as llvm
    except ImportError as e:  # pragma: no cover - llvmlite is a dependency
        raise BackendError(f"the LLVM backend needs llvmlite, which failed to import: {e}") from e
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()  # chunks written as assembly (see .asm)
    return llvm


@dataclasses.dataclass(frozen=True)
class Target:
    """The machine code generates for (the host): part of every cache key."""

    triple: str
    cpu: str
    features: str
    llvm_version: str

    @property
    def has_ternlog(self) -> bool:
        """Whether ``vpternlogq`` on 256-bit vectors exists (AVX-512F and VL)."""
        features = self.features.split(",")
        return "+avx512f" in features and "+avx512vl" in features

    @property
    def registers(self) -> int:
        """Values the generated code keeps in vector registers (see :func:`codegen.chunk_code`)."""
        if "+avx512vl" in self.features.split(","):
            return 28  # 32 ymm registers
        if "+avx2" in self.features.split(",") or "+avx" in self.features.split(","):
            return codegen.DEFAULT_REGISTERS  # 16 ymm registers
        return 6  # SSE: two xmm registers per value


FEATURES_ENV = "NANDC_JIT_FEATURES"
CODEGEN_ENV = "NANDC_JIT_CODEGEN"
"""``asm`` or ``ir``: force how chunk functions are written (default: ``asm`` where possible)."""
CODEGENS = ("asm", "ir")


def codegen_mode(target: "Target", mode: str | None = None) -> str:
    """``"asm"`` (x86-64 AVX2 assembly) where the target allows it, else ``"ir"``.

    ``mode`` (or ``$NANDC_JIT_CODEGEN``) forces one; ``"asm"`` on a target
    without x86-64 AVX2 is an error.
    """
    mode = mode or os.environ.get(CODEGEN_ENV, "") or None
    capable = target.triple.startswith("x86_64") and "+avx2" in target.features.split(",")
    if mode is None:
        return "asm" if capable else "ir"
    if mode not in CODEGENS:
        raise BackendError(f"JIT codegen must be one of {CODEGENS}, found {mode!r} (${CODEGEN_ENV}?)")
    if mode == "asm" and not capable:
        raise BackendError(f"the asm codegen needs an x86-64 CPU with AVX2; this target is {target.triple} "
                           f"without it (use 'ir')")
    return mode


@functools.lru_cache(maxsize=None)
def host_target() -> Target:
    """The host CPU as LLVM sees it.

    ``$NANDC_JIT_FEATURES`` (e.g. ``-avx512f,-avx512vl``) overrides features,
    for instance to measure AVX2 code on an AVX-512 machine (read once per
    process).
    """
    llvm = _llvm()
    flags = llvm.get_host_cpu_features()
    for item in os.environ.get(FEATURES_ENV, "").split(","):
        item = item.strip()
        if item[:1] in "+-" and len(item) > 1:
            flags[item[1:]] = item[0] == "+"
        elif item:
            raise BackendError(f"${FEATURES_ENV}: expected +feature or -feature, found {item!r}")
    return Target(
        triple=llvm.get_process_triple(),
        cpu=llvm.get_host_cpu_name(),
        features=flags.flatten(),
        llvm_version=".".join(map(str, llvm.llvm_version_info)),
    )


def _target_machine(target: Target, opt: int):
    llvm = _llvm()
    return llvm.Target.from_triple(target.triple).create_target_machine(
        cpu=target.cpu, features=target.features, opt=opt, reloc="default", codemodel="jitdefault"
    )


def _emit_object(machine, text: str) -> bytes:
    """Object code of one IR module."""
    llvm = _llvm()
    module = llvm.parse_assembly(text)
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    return bytes(machine.emit_object(module))


def _check_opt(opt: int) -> None:
    if opt not in (0, 1, 2, 3):
        raise BackendError(f"opt must be one of 0, 1, 2, 3, found {opt!r}")


# ---------------------------------------------------------------------- object code
@dataclasses.dataclass(frozen=True)
class ObjectCode:
    """Compiled code of one netlist and what is needed to run it (what the cache stores).

    ``objects[0]`` holds the driver, ``objects[1:]`` the chunk functions
    (symbols ``codegen.chunk_name(k)``, ``k < num_chunks``).
    """

    objects: tuple[bytes, ...]
    num_chunks: int
    num_inputs: int
    num_outputs: int
    num_slots: int
    spill_slots: int
    num_ops: int
    num_gates: int

    def meta(self) -> dict[str, int]:
        """Every field but the object code."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "objects"}


def cache_key(netlist: NandNetlist, target: Target, opt: int, chunk_gates: int, mode: str = "ir") -> str:
    """Key of the compiled code: netlist structure, codegen version and parameters, CPU, LLVM."""
    fields = {
        "mode": mode,
        "netlist": netlist.structural_hash(),
        "codegen": codegen.CODEGEN_VERSION,
        "chunk_gates": chunk_gates,
        "registers": target.registers,
        "segment": codegen.SEGMENT_OPS,
        "ternary": target.has_ternlog,
        "opt": opt,
        "target": [target.triple, target.cpu, target.features, target.llvm_version],
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def default_cache_dir() -> Path:
    """``$NANDC_CACHE_DIR`` if set, else ``~/.cache/nandc/jit``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "nandc" / "jit"


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.nandcjit"


# A cache entry is native code that this process will run, so it must come
# from this user: its header and code are authenticated with an HMAC under a
# per-user secret (``jit-cache.key`` in the user's config directory, mode
# 0600), never stored in the cache directory itself.  An entry written by
# anyone without the secret -- another user of a shared cache directory, or an
# edit of a header field, of the code, or of the key -- is ignored and
# recompiled.  The header is also checked against the netlist it is loaded
# for (key, inputs, outputs, gates).
_SECRET_BYTES = 32
_TAG_BYTES = 32
SECRET_FILE = "jit-cache.key"


def cache_secret_path() -> Path:
    """``$XDG_CONFIG_HOME/nandc/jit-cache.key`` (default ``~/.config/nandc/jit-cache.key``)."""
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "nandc" / SECRET_FILE


def _read_secret(path: Path) -> bytes:
    """The secret in ``path``; ValueError if the file is not this user's private 32-byte key."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ValueError(f"it must be a regular file of user {os.getuid()} with mode 0600, "
                             f"found mode {stat.S_IMODE(st.st_mode):04o} of user {st.st_uid}")
        data = os.read(fd, _SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != _SECRET_BYTES:
        raise ValueError(f"it must hold {_SECRET_BYTES} bytes, found {len(data)}")
    return data


def _cache_secret() -> bytes | None:
    """This user's cache secret, created on first use; None (disk cache unused) if unusable."""
    path = cache_secret_path()
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        log.warning("not using the JIT disk cache: the key file %s is unusable (%s)", path, e)
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, secrets.token_bytes(_SECRET_BYTES))
        finally:
            os.close(fd)
    except FileExistsError:
        pass  # another process created it first
    except OSError as e:
        log.warning("not using the JIT disk cache: cannot create the key file %s (%s)", path, e)
        return None
    try:
        return _read_secret(path)
    except (OSError, ValueError) as e:
        log.warning("not using the JIT disk cache: the key file %s is unusable (%s)", path, e)
        return None


def _encode_cache(key: str, code: ObjectCode, secret: bytes) -> bytes:
    payload = b"".join(code.objects)
    header = json.dumps({
        "format": _CACHE_FORMAT,
        "key": key,
        "sizes": [len(o) for o in code.objects],
        "meta": code.meta(),
    }, sort_keys=True).encode()
    body = struct.pack("<Q", len(header)) + header + payload
    return _CACHE_MAGIC + hmac.new(secret, body, hashlib.sha256).digest() + body


def _decode_cache(key: str, data: bytes, secret: bytes, netlist: NandNetlist | None = None) -> ObjectCode | None:
    """The cached code, or None if ``data`` is not an authentic, valid entry for ``key`` (and ``netlist``)."""
    try:
        if not data.startswith(_CACHE_MAGIC):
            return None
        tag, body = data[len(_CACHE_MAGIC):len(_CACHE_MAGIC) + _TAG_BYTES], data[len(_CACHE_MAGIC) + _TAG_BYTES:]
        if not hmac.compare_digest(tag, hmac.new(secret, body, hashlib.sha256).digest()):
            return None
        (size,) = struct.unpack_from("<Q", body, 0)
        header = json.loads(body[8:8 + size].decode())
        payload = body[8 + size:]
        sizes = [int(s) for s in header["sizes"]]
        meta = {k: int(v) for k, v in header["meta"].items()}
        if (header["format"] != _CACHE_FORMAT or header["key"] != key or min(sizes) < 0
                or sum(sizes) != len(payload) or len(sizes) != meta["num_chunks"] + 1
                or min(meta.values()) < 0):
            return None
        if netlist is not None and (meta["num_inputs"], meta["num_outputs"], meta["num_gates"]) != (
                netlist.num_inputs, len(netlist.output_signals()), netlist.num_gates):
            return None
        bounds = np.cumsum([0] + sizes).tolist()
        objects = tuple(payload[a:b] for a, b in zip(bounds, bounds[1:]))
        return ObjectCode(objects, **meta)
    except Exception:  # any malformation means "not a valid entry"
        return None


_MAX_ENTRY_BYTES = 4 << 30


def _read_entry(path: Path) -> bytes | None:
    """The bytes of a regular file (never blocking on a FIFO, never following a link), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_ENTRY_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(_MAX_ENTRY_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_cache(cache_dir: Path, key: str, netlist: NandNetlist | None = None) -> ObjectCode | None:
    data = _read_entry(_cache_path(cache_dir, key))
    if data is None:
        return None
    secret = _cache_secret()
    if secret is None:
        return None
    code = _decode_cache(key, data, secret, netlist)
    if code is None:
        log.warning("ignoring invalid JIT cache entry %s", _cache_path(cache_dir, key))
    return code


def _write_cache(cache_dir: Path, key: str, code: ObjectCode) -> None:
    """Store ``code``; a failure is logged, never raised."""
    secret = _cache_secret()
    if secret is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(_cache_path(cache_dir, key), "wb") as f:
            f.write(_encode_cache(key, code, secret))
    except OSError as e:
        log.warning("could not write the JIT cache in %s: %s", cache_dir, e)


# ---------------------------------------------------------------------- compile workers
# A task is ("driver",) or ("chunk", ChunkSpec, registers, mode); its result is
# (object code, spill vectors).  Workers receive tasks pickled (from this
# process only) and write the IR text themselves, so that work runs in parallel too.
Task = tuple


def _build(machine, task: Task) -> tuple[bytes, int]:
    """Object code of one task (see ``Task``)."""
    if task[0] == "driver":
        return _emit_object(machine, codegen.driver_module_text()), 0
    _, spec, registers, mode = task
    if mode == "asm":
        text, spill = asm.module_asm_text(spec, registers)
        return _emit_object(machine, text), spill
    code = codegen.module_text([spec], registers, name=codegen.chunk_name(spec.index))
    return _emit_object(machine, code.text), code.spill_slots


def _send(stream, kind: bytes, payload: bytes) -> None:
    stream.write(kind + struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def _receive(stream) -> tuple[bytes, bytes]:
    head = stream.read(9)
    if len(head) != 9:
        raise EOFError("compile worker closed its pipe")
    (size,) = struct.unpack("<Q", head[1:])
    payload = stream.read(size)
    if len(payload) != size:
        raise EOFError("compile worker closed its pipe")
    return head[:1], payload


def _worker_main() -> int:
    """Body of a compile worker: a config, then tasks in, results out (stdin/stdout)."""
    stdin = sys.stdin.buffer
    # answer on a private copy of stdout; stray prints go to stderr instead
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _, payload = _receive(stdin)
    config = json.loads(payload.decode())
    llvm = _llvm()
    for option in config["llvm_options"]:
        llvm.set_option("nandc-worker", option)
    machine = _target_machine(Target(**config["target"]), config["opt"])
    while True:
        try:
            kind, payload = _receive(stdin)
        except EOFError:
            return 0
        if kind == b"Q":
            return 0
        try:
            _send(stdout, b"O", pickle.dumps(_build(machine, pickle.loads(payload))))
        except Exception as e:  # reported to the parent, which then builds the task itself
            _send(stdout, b"E", f"{type(e).__name__}: {e}".encode())


class _Worker:
    """One compile process."""

    def __init__(self, target: Target, opt: int):
        package_root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        for threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(threads, "1")  # a worker needs no numpy thread pool
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nandc.backends.llvm.jit", "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        config = {"target": target.__dict__, "opt": opt, "llvm_options": list(_WORKER_LLVM_OPTIONS)}
        _send(self.process.stdin, b"C", json.dumps(config).encode())

    def build(self, task: Task) -> tuple[bytes, int]:
        _send(self.process.stdin, b"T", pickle.dumps(task))
        kind, payload = _receive(self.process.stdout)
        if kind != b"O":
            raise RuntimeError(payload.decode(errors="replace"))
        return pickle.loads(payload)

    def close(self) -> None:
        try:
            _send(self.process.stdin, b"Q", b"")
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


class _Builder:
    """Builds tasks on worker processes if it has any, else in this process."""

    def __init__(self, target: Target, opt: int, workers: int):
        self.target = target
        self.opt = opt
        self.idle: collections.deque[_Worker] = collections.deque()
        self.lock = threading.Lock()
        self.local_machine = None
        for _ in range(workers):
            try:
                self.idle.append(_Worker(target, opt))
            except OSError as e:
                log.warning("could not start a compile worker (%s); compiling in-process", e)
                break

    def build(self, task: Task) -> tuple[bytes, int]:
        with self.lock:
            worker = self.idle.popleft() if self.idle else None
        if worker is not None:
            try:
                result = worker.build(task)
            except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as e:
                log.warning("compile worker failed (%s); compiling in-process", e)
                worker.close()
            else:
                with self.lock:
                    self.idle.append(worker)
                return result
        with self.lock:
            if self.local_machine is None:
                self.local_machine = _target_machine(self.target, self.opt)
            machine = self.local_machine
        return _build(machine, task)

    def close(self) -> None:
        while self.idle:
            self.idle.popleft().close()


# ---------------------------------------------------------------------- compiling
def compile_object_code(netlist: NandNetlist, target: Target | None = None, opt: int = 2,
                        chunk_gates: int = codegen.DEFAULT_CHUNK_GATES, jobs: int | None = None,
                        progress: ProgressFn | None = None,
                        registers: int | None = None, mode: str | None = None) -> ObjectCode:
    """Compile ``netlist`` to object code for ``target`` (default: the host).

    ``jobs`` compile processes are used for large netlists (default: one per
    CPU).  ``progress(done, total)`` is called from this thread when the
    chunks are planned (``done == 0``) and as they finish, counting NAND gates.  ``registers`` overrides
    :attr:`Target.registers` (the values the code holds in registers);
    ``mode`` picks the chunk codegen (:func:`codegen_mode`).
    """
    _check_opt(opt)
    target = host_target() if target is None else target
    mode = codegen_mode(target, mode)
    registers = target.registers if registers is None else registers
    plan = codegen.plan_netlist(netlist, chunk_gates, ternary=target.has_ternlog)
    jobs = max(1, os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
    threshold = _ASM_WORKER_MIN_OPS if mode == "asm" else _WORKER_MIN_OPS
    workers = jobs if plan.selection.num_ops >= threshold else 0
    builder = _Builder(target, opt, workers)
    results: list = [None] * (plan.num_chunks + 1)
    if progress is not None:
        progress(0, plan.selection.num_gates)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: collections.deque = collections.deque()
            pending.append((-1, pool.submit(builder.build, ("driver",))))
            for k in range(plan.num_chunks):
                task = ("chunk", codegen.chunk_spec(plan, k), registers, mode)
                pending.append((k, pool.submit(builder.build, task)))
                while pending and (len(pending) > 2 * max(1, workers) or pending[0][1].done()):
                    _collect(pending.popleft(), results, plan, progress)
            while pending:
                _collect(pending.popleft(), results, plan, progress)
    finally:
        builder.close()
    objects = tuple(obj for obj, _ in results)
    spill = max(s for _, s in results)
    return ObjectCode(objects, plan.num_chunks, plan.num_inputs, plan.num_outputs,
                      plan.num_slots, spill, plan.selection.num_ops, netlist.num_gates)


def _collect(item, results: list, plan: codegen.CodePlan, progress: ProgressFn | None) -> None:
    k, future = item
    results[k + 1] = future.result()
    if progress is not None and k >= 0:
        progress(plan.gates_done(k + 1), plan.selection.num_gates)


# ---------------------------------------------------------------------- loading and running
class JitModule:
    """Object code loaded into this process: the driver and the chunk function table."""

    def __init__(self, code: ObjectCode, target: Target | None = None):
        llvm = _llvm()
        target = host_target() if target is None else target
        self.code = code
        self._machine = _target_machine(target, 2)
        empty = llvm.parse_assembly("")
        empty.triple = self._machine.triple
        self._engine = llvm.create_mcjit_compiler(empty, self._machine)
        for obj in code.objects:
            self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        addresses = [self._engine.get_function_address(codegen.chunk_name(k))
                     for k in range(code.num_chunks)]
        driver = self._engine.get_function_address(codegen.DRIVER_NAME)
        if not driver or not all(addresses):
            raise BackendError("compiled code lacks a function (stale or corrupted object code)")
        self._table = (ctypes.c_void_p * code.num_chunks)(*addresses)
        self._driver = _DRIVER_TYPE(driver)

    def call(self, inputs: int, outputs: int, rows: int, spill: int, v0: int, v1: int, block: int) -> None:
        """Evaluate sample vectors ``v0 .. v1 - 1`` (raw pointers; see :mod:`.codegen`)."""
        self._driver(ctypes.addressof(self._table), self.code.num_chunks,
                     inputs, outputs, rows, spill, v0, v1, block)


_DRIVER_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
)


def _split(count: int, parts: int, block: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``0 .. count``, cut at multiples of ``block``."""
    blocks = -(-count // block)
    edges = [min(count, (blocks * i // parts) * block) for i in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


class JitProgram:
    """A netlist compiled to machine code, ready to run on samples.

    Layouts: :meth:`run` takes per-sample bits ``(N, num_inputs)``;
    :meth:`run_slices` takes ``(num_inputs, words)`` uint64 bit slices like
    ``nandc.ir.evaluate.simulate_netlist``; :meth:`run_packed` takes the vector
    layout of :mod:`.packing`.  Inputs are in the netlist's input signal order,
    outputs bus by bus.  A program is safe to call from several threads.
    """

    def __init__(self, module: JitModule, netlist_name: str = "netlist"):
        self.module = module
        self.name = netlist_name
        code = module.code
        self.num_inputs = code.num_inputs
        self.num_outputs = code.num_outputs
        self.num_gates = code.num_gates
        self.num_ops = code.num_ops
        self.num_chunks = code.num_chunks

    def __repr__(self) -> str:
        return (f"JitProgram({self.name!r}, inputs={self.num_inputs}, outputs={self.num_outputs}, "
                f"gates={self.num_gates}, ops={self.num_ops}, chunks={self.num_chunks})")

    def default_block(self) -> int:
        """Sample vectors run through one chunk before the next."""
        return _SINGLE_CHUNK_BLOCK if self.num_chunks == 1 else _MULTI_CHUNK_BLOCK

    def run_packed(self, vectors: np.ndarray, threads: int | None = None,
                   block: int | None = None) -> np.ndarray:
        """``(V, num_inputs, 4)`` uint64 -> ``(V, num_outputs, 4)`` uint64 (vector layout).

        ``threads=None`` uses one thread per CPU (never more than there are
        blocks of work); ``block`` overrides :meth:`default_block`.
        """
        vectors = np.asarray(vectors)
        expected = (self.num_inputs, LANES)
        if vectors.ndim != 3 or vectors.shape[1:] != expected or vectors.dtype != np.uint64:
            raise BackendError(
                f"{self.name}: expected packed inputs of shape (vectors, {expected[0]}, {expected[1]}) "
                f"and dtype uint64, found {vectors.dtype} {vectors.shape}"
            )
        block = self.default_block() if block is None else int(block)
        if block < 1:
            raise BackendError(f"block must be at least 1, found {block}")
        inputs = aligned_contiguous(vectors)
        n = inputs.shape[0]
        outputs = aligned_empty((n, self.num_outputs, LANES))
        if n == 0:
            return outputs
        threads = (os.cpu_count() or 1) if threads is None else int(threads)
        if threads < 1:
            raise BackendError(f"threads must be at least 1, found {threads}")
        parts = max(1, min(threads, n // _MIN_VECTORS_PER_THREAD, -(-n // block)))
        ranges = _split(n, parts, block)
        if len(ranges) == 1:
            self._run_range(inputs, outputs, ranges[0], block)
        else:
            workers = [threading.Thread(target=self._run_range, args=(inputs, outputs, r, block))
                       for r in ranges]
            for t in workers:
                t.start()
            for t in workers:
                t.join()
        return outputs

    def _run_range(self, inputs: np.ndarray, outputs: np.ndarray, span: tuple[int, int],
                   block: int) -> None:
        code = self.module.code
        rows = aligned_empty((min(block, span[1] - span[0]), max(code.num_slots, 1), LANES))
        spill = aligned_empty((max(code.spill_slots, 1), LANES))
        self.module.call(inputs.ctypes.data, outputs.ctypes.data, rows.ctypes.data,
                         spill.ctypes.data, span[0], span[1], block)

    def run_slices(self, slices: np.ndarray, threads: int | None = None) -> np.ndarray:
        """``(num_inputs, W)`` uint64 bit slices -> ``(num_outputs, W)`` (as ``simulate_netlist``)."""
        slices = np.asarray(slices)
        if slices.ndim != 2 or slices.shape[0] != self.num_inputs:
            raise BackendError(
                f"{self.name}: expected bit slices of shape ({self.num_inputs}, words), "
                f"found {slices.shape}"
            )
        out = self.run_packed(slices_to_vectors(slices), threads)
        return vectors_to_slices(out, slices.shape[1])

    def run(self, bits: np.ndarray, threads: int | None = None) -> np.ndarray:
        """``(N, num_inputs)`` 0/1 array -> ``(N, num_outputs)`` uint8 0/1.

        Each thread packs, runs and unpacks its own share of the samples, so
        the conversions run in parallel too; batches of
        ``_RUN_BATCH_SAMPLES`` keep the packed copies small.
        """
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.num_inputs:
            raise BackendError(
                f"{self.name}: expected input bits of shape (N, {self.num_inputs}), found {bits.shape}"
            )
        threads = (os.cpu_count() or 1) if threads is None else int(threads)
        if threads < 1:
            raise BackendError(f"threads must be at least 1, found {threads}")
        n = bits.shape[0]
        out = np.empty((n, self.num_outputs), dtype=np.uint8)
        for start in range(0, n, _RUN_BATCH_SAMPLES):
            stop = min(n, start + _RUN_BATCH_SAMPLES)
            vectors = num_vectors(stop - start)
            parts = max(1, min(threads, vectors // _MIN_VECTORS_PER_THREAD))
            spans = [(start + SAMPLES_PER_VECTOR * a, min(stop, start + SAMPLES_PER_VECTOR * b))
                     for a, b in _split(vectors, parts, 1)]
            if len(spans) == 1:
                self._run_samples(bits, out, spans[0], threads)
                continue
            workers = [threading.Thread(target=self._run_samples, args=(bits, out, span, 1)) for span in spans]
            for t in workers:
                t.start()
            for t in workers:
                t.join()
        return out

    def _run_samples(self, bits: np.ndarray, out: np.ndarray, span: tuple[int, int], threads: int) -> None:
        """Pack, run and unpack samples ``span[0] .. span[1] - 1``."""
        part = bits[span[0]:span[1]]
        out[span[0]:span[1]] = unpack_outputs(self.run_packed(pack_inputs(part), threads), len(part))


# ---------------------------------------------------------------------- fused float-to-output runs
_FUSED_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_void_p, ctypes.c_int64,
)
_fused_modules: collections.OrderedDict[str, "_FusedModule"] = collections.OrderedDict()


@functools.lru_cache(maxsize=None)
def _cpu_count() -> int:
    return os.cpu_count() or 1


class _FusedModule:
    """The compiled ``nandc_fused`` function of one :class:`~.fused.FusedSpec` (kept loaded)."""

    def __init__(self, text: str, target: Target):
        llvm = _llvm()
        machine = _target_machine(target, 3)
        module = llvm.parse_assembly(text)
        module.triple = machine.triple
        module.data_layout = str(machine.target_data)
        module.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pb = llvm.create_pass_builder(machine, pto)
        pb.getModulePassManager().run(module, pb)
        self._engine = llvm.create_mcjit_compiler(module, machine)
        self._engine.finalize_object()
        address = self._engine.get_function_address(fused.FUSED_NAME)
        if not address:
            raise BackendError("the fused module lacks its function")
        self.function = _FUSED_TYPE(address)


def _fused_module(spec: "fused.FusedSpec") -> _FusedModule:
    text = fused.fused_module_text(spec)
    key = hashlib.sha256(text.encode()).hexdigest()
    with _loaded_lock:
        mod = _fused_modules.get(key)
        if mod is not None:
            _fused_modules.move_to_end(key)
            return mod
    mod = _FusedModule(text, host_target())
    with _loaded_lock:
        _fused_modules[key] = mod
        while len(_fused_modules) > 4 * _LOADED_PROGRAMS:
            _fused_modules.popitem(last=False)
    return mod


class FusedRunner:
    """Float inputs -> output words in one native loop per thread (see :mod:`.fused`).

    ``run(x)`` takes a C-contiguous ``(N, elements)`` float32 (``spec.ftype ==
    "float"``) or float64 array and returns one ``(N, size)`` int64 array per
    entry of ``spec.blocks``, or None when an input has no code (NaN under a
    ``uniform`` encoding): the caller then reports the reference path's error.
    """

    def __init__(self, program: JitProgram, spec: "fused.FusedSpec"):
        if (spec.num_inputs, spec.num_outputs) != (program.num_inputs, program.num_outputs):
            raise BackendError(f"fused spec of {spec.num_inputs} inputs and {spec.num_outputs} outputs does "
                               f"not match {program!r}")
        self.program = program
        self.spec = spec
        self.module = _fused_module(spec)
        self.vectors = fused.vectors_per_call(spec, program.default_block())
        self._local = threading.local()
        self.dtype = np.dtype(np.float32 if spec.ftype == "float" else np.float64)
        jm = program.module
        self._netlist_args = (ctypes.cast(jm._driver, ctypes.c_void_p).value, ctypes.addressof(jm._table),
                              jm.code.num_chunks)

    def _scratch(self) -> tuple[int, ...]:
        """This thread's scratch buffers (kept between calls) as addresses."""
        args = getattr(self._local, "args", None)
        if args is None:
            code = self.program.module.code
            shapes = fused.scratch_shapes(self.spec, self.vectors, code.num_slots, code.spill_slots)
            self._local.bufs = bufs = [aligned_empty(shape) for shape in shapes.values()]
            args = self._local.args = tuple(b.ctypes.data for b in bufs)
        return args

    def _call(self, x: np.ndarray, outs: list[np.ndarray], start: int, stop: int, status: list, k: int) -> None:
        x_ptr = x.__array_interface__["data"][0] + start * x.strides[0]
        out_ptrs = (ctypes.c_void_p * len(outs))(
            *[o.__array_interface__["data"][0] + start * o.strides[0] for o in outs])
        status[k] = self.module.function(x_ptr, stop - start, ctypes.addressof(out_ptrs), *self._netlist_args,
                                         *self._scratch(), self.vectors)

    def run(self, x: np.ndarray, threads: int | None = None) -> list[np.ndarray] | None:
        if (x.ndim != 2 or x.shape[1] != self.spec.elements or x.dtype != self.dtype
                or not x.flags.c_contiguous):
            raise BackendError(f"fused run: expected a C-contiguous {self.dtype} array of shape "
                               f"(N, {self.spec.elements}), found {x.dtype} {x.shape}")
        n = x.shape[0]
        out = [np.empty((n, size), dtype=np.int64) for size in self.spec.blocks]
        threads = _cpu_count() if threads is None else int(threads)
        if threads < 1:
            raise BackendError(f"threads must be at least 1, found {threads}")
        vectors = num_vectors(n)
        parts = max(1, min(threads, vectors // _MIN_VECTORS_PER_THREAD))
        spans = [(SAMPLES_PER_VECTOR * a, min(n, SAMPLES_PER_VECTOR * b)) for a, b in _split(vectors, parts, 1)]
        status = [0] * max(1, len(spans))
        if len(spans) <= 1:
            if n:
                self._call(x, out, 0, n, status, 0)
        else:
            workers = [threading.Thread(target=self._call, args=(x, out, a, b, status, k))
                       for k, (a, b) in enumerate(spans)]
            for t in workers:
                t.start()
            for t in workers:
                t.join()
        return None if any(status) else out


# ---------------------------------------------------------------------- entry points
_loaded: collections.OrderedDict[str, JitProgram] = collections.OrderedDict()
_loaded_lock = threading.Lock()


def compile_netlist(netlist: NandNetlist, cache_dir: str | os.PathLike | None = None, opt: int = 2,
                    *, chunk_gates: int = codegen.DEFAULT_CHUNK_GATES, jobs: int | None = None,
                    progress: ProgressFn | None = None, use_cache: bool = True) -> JitProgram:
    """Compile ``netlist`` for this machine (or load it from the cache) and return the runner.

    ``cache_dir`` defaults to :func:`default_cache_dir`; ``use_cache=False``
    neither reads nor writes it.  A missing, unreadable or corrupted cache
    entry is recompiled; a cache that cannot be written is skipped (both are
    logged, neither fails the call).  ``opt`` is LLVM's code generation level
    (0-3).  See :func:`compile_object_code` for ``chunk_gates``, ``jobs`` and
    ``progress``.
    """
    _check_opt(opt)
    if chunk_gates < 1:
        raise BackendError(f"chunk_gates must be at least 1, found {chunk_gates}")
    target = host_target()
    mode = codegen_mode(target)
    key = cache_key(netlist, target, opt, chunk_gates, mode)
    with _loaded_lock:
        program = _loaded.get(key) if use_cache else None
        if program is not None:
            _loaded.move_to_end(key)
    if program is not None:
        if progress is not None:
            progress(netlist.num_gates, netlist.num_gates)
        return program
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    code = _read_cache(directory, key, netlist) if use_cache else None
    module = None
    if code is not None:
        try:
            module = JitModule(code, target)
        except Exception as e:  # a cache problem must never fail the call
            log.warning("cached JIT code for %s does not load (%s); recompiling", netlist.name, e)
        else:
            if progress is not None:
                progress(netlist.num_gates, netlist.num_gates)
    if module is None:
        code = compile_object_code(netlist, target, opt, chunk_gates, jobs, progress, mode=mode)
        module = JitModule(code, target)
        if use_cache:
            _write_cache(directory, key, code)
    program = JitProgram(module, netlist.name)
    if use_cache:
        with _loaded_lock:
            _loaded[key] = program
            while len(_loaded) > _LOADED_PROGRAMS:
                _loaded.popitem(last=False)
    return program


def run_netlist(netlist: NandNetlist, inputs: Mapping[str, np.ndarray] | np.ndarray,
                threads: int | None = None, as_words: bool = True,
                cache_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Evaluate ``netlist`` with the JIT; same conventions as ``nandc.ir.evaluate.evaluate``.

    Each input is bits ``(N, *bus.shape)`` or integer words
    ``(N, *bus.shape[:-1])``; outputs come back per bus as words (or bits if
    ``as_words`` is false).  The compiled code is cached (see
    :func:`compile_netlist`).
    """
    table = input_bits(netlist, inputs)
    program = compile_netlist(netlist, cache_dir)
    return outputs_from_bits(netlist, program.run(table, threads), as_words)


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    raise SystemExit(_worker_main())
