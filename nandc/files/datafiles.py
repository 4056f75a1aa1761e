"""Input files for batch runs: find them, cut them into shards, read a shard.

``nandc run --inputs DIR_OR_GLOB`` and :func:`nandc.distributed.run` take
their samples from ``.npy`` arrays (first axis: samples) and Parquet tables
(one row per sample).  This module turns an input spec -- a file, a
directory, a glob or a list of them -- into an ordered list of files
(:func:`find_inputs`), reads their headers only (:func:`inspect_file`), plans
shards of consecutive rows with their global row offsets (:func:`plan_shards`)
and reads one shard (:func:`read_shard`).  Rows are numbered in file order,
then row order, so a distributed run can put every result back in its place.

A Parquet sample is one column holding a fixed-size list (nested lists are
flattened), a variable-size list of the right length, or an Arrow tensor
extension array; or, for a table of scalar columns only, all columns in
schema order.  Its values are reshaped to the model's input shape.

numpy only at import; pyarrow (a dependency of Ray Data) is imported when a
Parquet file is read.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nandc.errors import NandcError, ParseError

__all__ = ["InputFile", "Shard", "SUFFIXES", "find_inputs", "inspect_file", "inspect_inputs", "plan_shards",
           "read_shard", "read_all", "check_shape"]

SUFFIXES = (".npy", ".parquet")
"""Extensions of the input files a batch run reads."""

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class InputFile:
    """One input file, as its header describes it.

    ``kind`` is ``"npy"`` or ``"parquet"``; ``rows`` its samples.  For
    ``.npy``, ``sample_shape`` and ``dtype`` are the array's; for Parquet,
    ``groups`` holds the rows of each row group and ``columns`` the column
    names.
    """

    path: str
    kind: str
    rows: int
    sample_shape: tuple[int, ...] = ()
    dtype: str = ""
    groups: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shard:
    """Rows ``start .. stop - 1`` of one file; ``offset`` is the global number of row ``start``.

    For Parquet, ``groups`` is the range of row groups the shard covers
    (shards of a Parquet file are whole row groups).
    """

    path: str
    kind: str
    start: int
    stop: int
    offset: int
    groups: tuple[int, int] = (0, 0)

    @property
    def rows(self) -> int:
        return self.stop - self.start


# ---------------------------------------------------------------------- finding files
def _kind(path: str) -> str | None:
    suffix = os.path.splitext(path)[1].lower()
    return suffix[1:] if suffix in SUFFIXES else None


def _expand(spec: str) -> list[str]:
    if os.path.isdir(spec):
        try:
            names = sorted(os.listdir(spec))
        except OSError as e:
            raise NandcError(f"cannot list the input folder {spec!r}: {(e.strerror or str(e)).lower()}") from None
        found = [os.path.join(spec, n) for n in names if _kind(n) and os.path.isfile(os.path.join(spec, n))]
        if not found:
            raise NandcError(f"no input files in the folder {spec!r}: expected .npy or .parquet files in it")
        return found
    if os.path.isfile(spec):
        if _kind(spec) is None:
            raise NandcError(f"cannot read {spec!r} as input: expected a .npy or .parquet file")
        return [spec]
    if any(c in spec for c in _GLOB_CHARS):
        matched = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
        found = [p for p in matched if _kind(p)]
        if not found:
            extra = f" ({len(matched)} other file(s) matched)" if matched else ""
            raise NandcError(f"no input files match {spec!r}: expected .npy or .parquet files{extra}")
        return found
    raise NandcError(f"no such file or folder: {spec}")


def find_inputs(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The input files of ``spec``, in order.

    ``spec`` is a ``.npy`` or ``.parquet`` file, a folder (its ``.npy`` and
    ``.parquet`` files, by name), a glob (matches sorted by name) or a list of
    these (in the list's order).  Raises :class:`NandcError` when nothing
    matches, naming the spec.
    """
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not specs:
        raise NandcError("no inputs given: expected a .npy or .parquet file, a folder or a glob")
    files: list[str] = []
    for s in specs:
        files.extend(_expand(os.fspath(s)))
    return files


# ---------------------------------------------------------------------- headers
def _npy_header(path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(f)
        raise ValueError(f"unsupported .npy format version {version}")


def inspect_file(path: str) -> InputFile:
    """The header of one input file (no sample data is read); a damaged file is a ParseError."""
    kind = _kind(path)
    if kind == "npy":
        try:
            shape, _, dtype = _npy_header(path)
        except OSError as e:
            raise ParseError(f"cannot read the file: {(e.strerror or str(e)).lower()}", path) from None
        except (ValueError, EOFError) as e:
            raise ParseError(f"not a .npy array file: {e}", path) from None
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ParseError(f"expected numbers (bool, integer or float), found dtype {dtype}", path)
        if len(shape) < 1:
            raise ParseError("expected an array of samples (N, ...), found a scalar", path)
        return InputFile(path, "npy", int(shape[0]), tuple(int(d) for d in shape[1:]), dtype.str)
    if kind == "parquet":
        pq = _parquet()
        try:
            meta = pq.ParquetFile(path).metadata
        except OSError as e:
            raise ParseError(f"not a readable Parquet file: {e}", path) from None
        except Exception as e:  # pyarrow raises ArrowInvalid and others for a damaged footer
            raise ParseError(f"not a readable Parquet file: {type(e).__name__}: {e}", path) from None
        groups = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
        columns = tuple(meta.schema.to_arrow_schema().names)
        return InputFile(path, "parquet", int(meta.num_rows), groups=groups, columns=columns)
    raise NandcError(f"cannot read {path!r} as input: expected a .npy or .parquet file")


def inspect_inputs(spec) -> list[InputFile]:
    """:func:`find_inputs` then :func:`inspect_file` of each."""
    return [inspect_file(p) for p in find_inputs(spec)]


def check_shape(files: Sequence[InputFile], input_shape: Sequence[int], column: str | None = None) -> None:
    """Check what the headers tell before any sample is read.

    Every ``.npy`` file must hold samples of ``input_shape``, and every
    Parquet file must have ``column`` (if given).  Raises NandcError naming
    the first file that does not.
    """
    shape = tuple(int(d) for d in input_shape)
    for f in files:
        if f.kind == "npy" and f.sample_shape != shape:
            dims = ", ".join(map(str, shape))
            raise NandcError(f"{f.path}: expected an array of samples (N, {dims}), found an array of shape "
                             f"{(f.rows,) + f.sample_shape}")
        if f.kind == "parquet" and column is not None and column not in f.columns:
            raise ParseError(_no_column(column, f.columns), f.path)


def _no_column(column: str, names: Sequence[str]) -> str:
    return f"no column {column!r}; the columns are {', '.join(map(repr, names))}"


# ---------------------------------------------------------------------- shards
def plan_shards(files: Sequence[InputFile], rows_per_shard: int) -> list[Shard]:
    """Consecutive rows of each file in shards of about ``rows_per_shard``, with global offsets.

    A shard never spans two files; a Parquet shard is whole row groups (at
    least one), so it may be larger.
    """
    if rows_per_shard < 1:
        raise NandcError(f"rows per shard must be at least 1, found {rows_per_shard}")
    shards: list[Shard] = []
    offset = 0
    for f in files:
        if f.kind == "npy":
            for start in range(0, f.rows, rows_per_shard):
                stop = min(f.rows, start + rows_per_shard)
                shards.append(Shard(f.path, "npy", start, stop, offset + start))
        else:
            start = g0 = 0
            rows = 0
            for g, n in enumerate(f.groups):
                rows += n
                if rows >= rows_per_shard or g == len(f.groups) - 1:
                    if rows:
                        shards.append(Shard(f.path, "parquet", start, start + rows, offset + start, (g0, g + 1)))
                    start, g0, rows = start + rows, g + 1, 0
        offset += f.rows
    return shards


# ---------------------------------------------------------------------- reading
def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise NandcError("reading Parquet inputs needs pyarrow: pip install pyarrow "
                         "(it comes with the ray extra: pip install 'nandc[ray]')") from None
    return pq


def _column_values(column, path: str, name: str) -> np.ndarray:
    """``(rows, values)`` of one Arrow column (lists flattened; fixed-size per row)."""
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    rows = len(arr)
    if arr.null_count:
        raise ParseError(f"column {name!r} holds {arr.null_count} null value(s); expected a number in every row",
                         path)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
        return arr.to_numpy(zero_copy_only=False).reshape(rows, 1)
    values = arr
    while pa.types.is_fixed_size_list(values.type) or pa.types.is_list(values.type) or \
            pa.types.is_large_list(values.type):
        if not pa.types.is_fixed_size_list(values.type):
            lengths = np.diff(np.asarray(values.offsets))
            if lengths.size and not np.all(lengths == lengths[0]):
                raise ParseError(f"column {name!r}: expected lists of one length, found lengths "
                                 f"{int(lengths.min())} to {int(lengths.max())}", path)
        values = values.flatten()
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)):
        raise ParseError(f"column {name!r}: expected numbers or lists of numbers, found {column.type}", path)
    if values.null_count:
        raise ParseError(f"column {name!r} holds null values; expected a number everywhere", path)
    flat = values.to_numpy(zero_copy_only=False)
    return flat.reshape(rows, -1) if rows else flat.reshape(0, 0)


def _table_samples(table, path: str, input_shape: tuple[int, ...], column: str | None) -> np.ndarray:
    size = math.prod(input_shape)
    names = list(table.column_names)
    if column is not None:
        if column not in names:
            raise ParseError(_no_column(column, names), path)
        values = _column_values(table.column(column), path, column)
    elif len(names) == 1:
        values = _column_values(table.column(0), path, names[0])
    else:
        parts = [_column_values(table.column(n), path, n) for n in names]
        if any(p.shape[1] != 1 for p in parts) or len(parts) != size:
            raise ParseError(f"expected one column of samples (pass the column name) or {size} scalar columns, "
                             f"found {len(names)} columns: {', '.join(map(repr, names[:6]))}"
                             f"{' ...' if len(names) > 6 else ''}", path)
        values = np.concatenate(parts, axis=1) if parts else np.zeros((table.num_rows, 0))
    if values.shape[1] != size and table.num_rows:
        raise ParseError(f"expected {size} values per row (input shape ({', '.join(map(str, input_shape))})), "
                         f"found {values.shape[1]}", path)
    return values.reshape((table.num_rows,) + input_shape)


def read_shard(shard: Shard, input_shape: Sequence[int], column: str | None = None) -> np.ndarray:
    """The samples of ``shard`` as an array ``(rows, *input_shape)`` in the file's dtype."""
    shape = tuple(int(d) for d in input_shape)
    if shard.kind == "npy":
        try:
            arr = np.load(shard.path, mmap_mode="r", allow_pickle=False)
        except OSError as e:
            raise ParseError(f"cannot read the file: {(e.strerror or str(e)).lower()}", shard.path) from None
        except (ValueError, EOFError) as e:
            raise ParseError(f"not a .npy array file: {e}", shard.path) from None
        if arr.ndim < 1 or tuple(arr.shape[1:]) != shape or arr.shape[0] < shard.stop:
            raise ParseError(f"expected an array (N >= {shard.stop}, {', '.join(map(str, shape))}), found "
                             f"{arr.shape} (did the file change during the run?)", shard.path)
        return np.array(arr[shard.start:shard.stop])
    pq = _parquet()
    try:
        pf = pq.ParquetFile(shard.path)
        names = pf.schema_arrow.names
        if column is not None and column not in names:
            raise ParseError(_no_column(column, names), shard.path)
        table = pf.read_row_groups(list(range(*shard.groups)), columns=[column] if column else None)
    except ParseError:
        raise
    except Exception as e:
        raise ParseError(f"cannot read row groups {shard.groups[0]}..{shard.groups[1] - 1}: "
                         f"{type(e).__name__}: {e}", shard.path) from None
    if table.num_rows != shard.rows:
        raise ParseError(f"expected {shard.rows} rows in row groups {shard.groups[0]}..{shard.groups[1] - 1}, "
                         f"found {table.num_rows} (did the file change during the run?)", shard.path)
    return _table_samples(table, shard.path, shape, column)


def read_all(files: Sequence[InputFile], input_shape: Sequence[int], column: str | None = None) -> np.ndarray:
    """Every sample of ``files`` in order, ``(rows, *input_shape)`` (one dtype for all)."""
    check_shape(files, input_shape, column)
    parts = [read_shard(s, input_shape, column) for s in plan_shards(files, 1 << 62)]
    if not parts:
        return np.zeros((0,) + tuple(input_shape), dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
