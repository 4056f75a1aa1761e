"""Netlist file formats: AIGER (ASCII and binary), BLIF, and a readable text dump.

:func:`write` and :func:`read` choose the format by file extension from
:data:`FORMATS`:

=========  ==========================================  =====
extension  format                                      read
=========  ==========================================  =====
``.aag``   AIGER 1.9, ASCII                            yes
``.aig``   AIGER 1.9, binary                           yes
``.blif``  BLIF (``.names``; netlists also ``.gate``)  yes
``.txt``   text listing (:func:`dump`)                 no
=========  ==========================================  =====

Every file is written atomically; reading returns a
:class:`~nandc.ir.Circuit` whose inputs and outputs are all in named buses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from nandc.errors import NandcError
from nandc.ir.circuit import Circuit
from nandc.ir.io.aiger import aiger_bytes, parse_aiger, read_aiger, write_aiger
from nandc.ir.io.blif import blif_text, genlib_path, parse_blif, read_blif, write_blif
from nandc.ir.io.text import dump, write_text
from nandc.ir.netlist import NandNetlist

__all__ = [
    "FORMATS", "Format", "write", "read", "dump", "aiger_bytes", "parse_aiger", "read_aiger",
    "write_aiger", "blif_text", "parse_blif", "read_blif", "write_blif", "write_text", "genlib_path",
]


@dataclass(frozen=True)
class Format:
    """A file format: ``writer(obj, path, **options)`` and ``reader(path)`` (None: write only)."""

    extension: str
    description: str
    writer: Callable[..., None]
    reader: Callable[[str], Circuit] | None


FORMATS: dict[str, Format] = {
    f.extension: f
    for f in (
        Format(".aag", "AIGER 1.9, ASCII", partial(write_aiger, binary=False), read_aiger),
        Format(".aig", "AIGER 1.9, binary", partial(write_aiger, binary=True), read_aiger),
        Format(".blif", "BLIF (.names covers, or .gate cells of nand.genlib for netlists)", write_blif, read_blif),
        Format(".txt", "readable text listing", write_text, None),
    )
}


def _format_of(path, reading: bool) -> Format:
    ext = Path(path).suffix.lower()
    fmt = FORMATS.get(ext)
    usable = [e for e, f in FORMATS.items() if f.reader is not None or not reading]
    verb = "read" if reading else "write"
    if fmt is None:
        raise NandcError(
            f"cannot {verb} {str(path)!r}: unknown extension {ext or '(none)'!r}; "
            f"supported extensions are {', '.join(usable)}"
        )
    if reading and fmt.reader is None:
        raise NandcError(
            f"cannot read {str(path)!r}: {ext} ({fmt.description}) is write only; "
            f"readable extensions are {', '.join(usable)}"
        )
    return fmt


def write(obj: Circuit | NandNetlist, path, **options) -> None:
    """Write ``obj`` to ``path`` in the format its extension names (atomically).

    ``options`` go to the format's writer, e.g. ``style="gates"`` for BLIF or
    ``layers=False`` to leave layer tags out of AIGER and BLIF.
    """
    _format_of(path, reading=False).writer(obj, path, **options)


def read(path) -> Circuit:
    """Read a netlist file (``.aag``, ``.aig`` or ``.blif``) into a :class:`Circuit`."""
    return _format_of(path, reading=True).reader(path)
