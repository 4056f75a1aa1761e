"""Per-layer gate-count reports of a :class:`~nandc.ir.NandNetlist`.

A :class:`Report` has one :class:`LayerRow` per layer tag: NAND2 gates, AIG
nodes (when the :class:`~nandc.ir.Circuit` is given), logic depth and share of
all gates.  Every number is counted directly from the netlist (and circuit):

* ``nand2`` is the number of gates carrying the layer's tag;
* ``aig_nodes`` is the number of AND nodes of the circuit that are reachable
  from its outputs and carry the tag;
* ``depth`` is the largest NAND level of the layer's gates, levels being
  counted from the primary inputs through the whole netlist (so it says how
  deep into the network the layer ends, not how deep the layer is alone);
* ``share`` is ``nand2 / total_nand2`` (0 when there are no gates).

Rows come in the order their layers first appear among the gates (layers
that only the circuit has follow), then untagged gates as ``(untagged)``,
then the output head (see :func:`is_head_layer`).  The report renders as an
aligned text table, a Markdown table, JSON (which :func:`from_json` reads
back) or a PNG bar chart (:func:`plot`, needs matplotlib).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nandc.errors import BackendError, ParseError
from nandc.fsutil import atomic_write
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = [
    "LayerRow",
    "Report",
    "UNTAGGED",
    "DEFAULT_HEAD_LAYERS",
    "is_head_layer",
    "build_report",
    "format_text",
    "format_markdown",
    "to_json",
    "from_json",
    "plot",
]

UNTAGGED = "(untagged)"
DEFAULT_HEAD_LAYERS = ("head", "argmax")
_JSON_FORMAT = "nandc-report"
_JSON_VERSION = 1


@dataclass(frozen=True)
class LayerRow:
    """Counts of one layer tag (see the module docstring for each number)."""

    layer: str
    nand2: int
    aig_nodes: int | None
    depth: int
    share: float


@dataclass(frozen=True)
class Report:
    """A per-layer table plus totals; ``total_aig`` is None without a circuit.

    ``depth`` is the netlist's depth (largest level of an output); a layer's
    depth can exceed it only if the netlist has gates that reach no output.
    ``inputs`` and ``outputs`` count bits.
    """

    name: str
    rows: tuple[LayerRow, ...]
    total_nand2: int
    total_aig: int | None
    depth: int
    inputs: int
    outputs: int

    def __str__(self) -> str:
        """The aligned text table (:func:`format_text`)."""
        return format_text(self)


def is_head_layer(name: str, head_layers: Sequence[str] = DEFAULT_HEAD_LAYERS) -> bool:
    """Whether layer ``name`` belongs to the output head.

    True if ``name`` is one of ``head_layers`` or ends with ``"." + h`` for
    one of them (``"fc3.argmax"`` with the default ``("head", "argmax")``).
    """
    return any(name == h or name.endswith("." + h) for h in head_layers)


# ---------------------------------------------------------------------- counting
def _first_appearance(ids: np.ndarray) -> list[int]:
    """Distinct values of ``ids`` in the order they first occur."""
    values, first = np.unique(ids, return_index=True)
    return values[np.argsort(first, kind="stable")].tolist()


def _gate_counts(netlist: NandNetlist) -> dict[str, tuple[int, int]]:
    """``layer -> (NAND2 gates, max level of those gates)``, in first-appearance order."""
    ids = netlist.gate_layers()
    if not len(ids):
        return {}
    levels = netlist.levels()[netlist.first_gate:]
    counts = np.bincount(ids)
    depth = np.zeros(len(counts), dtype=np.int64)
    np.maximum.at(depth, ids, levels)
    names = netlist.layer_names
    return {names[i]: (int(counts[i]), int(depth[i])) for i in _first_appearance(ids)}


def _aig_counts(circuit: Circuit) -> dict[str, int]:
    """``layer -> AND nodes reachable from the outputs``, in first-appearance order."""
    f0, _, layer = circuit.arrays()
    ids = layer[circuit.reachable() & (f0 != 0)]
    if not len(ids):
        return {}
    counts = np.bincount(ids)
    names = circuit.layer_names
    return {names[i]: int(counts[i]) for i in _first_appearance(ids)}


def _ordered_layers(names: Sequence[str], head_layers: Sequence[str]) -> list[str]:
    """Body layers in the given order, then the untagged layer, then head layers."""
    body = [n for n in names if n and not is_head_layer(n, head_layers)]
    heads = [n for n in names if n and is_head_layer(n, head_layers)]
    return body + ([""] if "" in names else []) + heads


def build_report(netlist: NandNetlist, circuit: Circuit | None = None,
                 head_layers: Sequence[str] = DEFAULT_HEAD_LAYERS) -> Report:
    """Count gates, AIG nodes and depth per layer of ``netlist`` (and ``circuit``).

    Requires: a valid netlist; ``circuit``, if given, is the AIG the netlist
    was lowered from (any Circuit is accepted; its layers are matched by
    name).  Ensures: the rows' ``nand2`` sum to ``total_nand2 ==
    netlist.num_gates``, their ``aig_nodes`` to ``total_aig``; the row order
    is the one the module docstring describes.
    """
    if not isinstance(netlist, NandNetlist):
        raise BackendError(f"a report needs a NandNetlist, found {type(netlist).__name__}")
    if circuit is not None and not isinstance(circuit, Circuit):
        raise BackendError(f"the circuit of a report must be a Circuit, found {type(circuit).__name__}")
    gates = _gate_counts(netlist)
    aig = _aig_counts(circuit) if circuit is not None else {}
    names = list(gates) + [n for n in aig if n not in gates]
    total = netlist.num_gates
    rows = tuple(
        LayerRow(
            layer=name or UNTAGGED,
            nand2=gates.get(name, (0, 0))[0],
            aig_nodes=None if circuit is None else aig.get(name, 0),
            depth=gates.get(name, (0, 0))[1],
            share=gates.get(name, (0, 0))[0] / total if total else 0.0,
        )
        for name in _ordered_layers(names, head_layers)
    )
    return Report(
        name=netlist.name,
        rows=rows,
        total_nand2=total,
        total_aig=None if circuit is None else sum(aig.values()),
        depth=netlist.depth(),
        inputs=netlist.num_inputs,
        outputs=len(netlist.output_signals()),
    )


# ---------------------------------------------------------------------- tables
def _table_cells(report: Report) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, body rows and totals row as strings (AIG column only with a circuit)."""
    with_aig = report.total_aig is not None
    header = ["layer", "NAND2"] + (["AIG nodes"] if with_aig else []) + ["depth", "share"]

    def cells(layer: str, nand2: int, aig: int | None, depth: int, share: float) -> list[str]:
        aig_cell = [f"{aig:,}"] if with_aig else []
        return [layer, f"{nand2:,}"] + aig_cell + [str(depth), f"{100 * share:.1f}%"]

    body = [cells(r.layer, r.nand2, r.aig_nodes, r.depth, r.share) for r in report.rows]
    total = cells("total", report.total_nand2, report.total_aig, report.depth,
                  1.0 if report.total_nand2 else 0.0)
    return header, body, total


def _summary(report: Report) -> str:
    return (f"{report.inputs:,} input bits, {report.outputs:,} output bits, "
            f"{report.total_nand2:,} NAND2 gates, depth {report.depth}")


_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    """``text`` with control characters (newlines, tabs) shown as ``\\xNN`` escapes."""
    return _CONTROL_CHAR.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def format_text(report: Report) -> str:
    """An aligned plain-text table: layer names left, numbers right, a totals row.

    Control characters in names are shown as ``\\xNN`` so every row is one line.
    """
    header, body, total = _table_cells(report)
    body = [[_one_line(row[0])] + row[1:] for row in body]
    widths = [max(len(row[i]) for row in [header, total, *body]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [f"{_one_line(report.name)}: {_summary(report)}", "", line(header), rule]
    lines += [line(row) for row in body] + [rule, line(total)]
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL = "\\`*_[]<>|#"


def _markdown_escape(text: str) -> str:
    out = "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)
    return " ".join(out.splitlines()) or " "


def format_markdown(report: Report) -> str:
    """A GitHub-flavoured Markdown section: heading, summary line, table with a bold totals row."""
    header, body, total = _table_cells(report)
    align = ["---"] + ["--:"] * (len(header) - 1)

    def line(row: list[str]) -> str:
        return "| " + " | ".join(row) + " |"

    rows = [[_markdown_escape(row[0])] + row[1:] for row in body]
    lines = [f"### {_markdown_escape(report.name)}", "", _summary(report) + ".", ""]
    lines += [line(header), line(align)] + [line(r) for r in rows]
    lines.append(line([f"**{c}**" for c in total]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- JSON
def to_json(report: Report) -> str:
    """The report as indented JSON (``from_json`` reads it back to an equal Report)."""
    doc = {"format": _JSON_FORMAT, "version": _JSON_VERSION, **asdict(report)}
    doc["rows"] = [asdict(r) for r in report.rows]
    return json.dumps(doc, indent=2) + "\n"


def _field(doc: dict, key: str, kinds: tuple[type, ...], where: str) -> Any:
    if key not in doc:
        raise ParseError(f"report JSON: {where} has no field {key!r}")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise ParseError(f"report JSON: {where} field {key!r} must be {names}, found {value!r}")
    return value


def _row_from_json(doc: Any, index: int) -> LayerRow:
    where = f"row {index}"
    if not isinstance(doc, dict):
        raise ParseError(f"report JSON: {where} must be an object, found {doc!r}")
    return LayerRow(
        layer=_field(doc, "layer", (str,), where),
        nand2=_field(doc, "nand2", (int,), where),
        aig_nodes=_field(doc, "aig_nodes", (int, type(None)), where),
        depth=_field(doc, "depth", (int,), where),
        share=float(_field(doc, "share", (float, int), where)),
    )


def from_json(text: str) -> Report:
    """Read a report written by :func:`to_json`; :class:`ParseError` if it is not one."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"report JSON: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("format") != _JSON_FORMAT:
        raise ParseError(f"report JSON: expected an object with \"format\": \"{_JSON_FORMAT}\"")
    if doc.get("version") != _JSON_VERSION:
        raise ParseError(
            f"report JSON: expected version {_JSON_VERSION}, found {doc.get('version')!r}"
        )
    rows = _field(doc, "rows", (list,), "the report")
    return Report(
        name=_field(doc, "name", (str,), "the report"),
        rows=tuple(_row_from_json(r, i) for i, r in enumerate(rows)),
        total_nand2=_field(doc, "total_nand2", (int,), "the report"),
        total_aig=_field(doc, "total_aig", (int, type(None)), "the report"),
        depth=_field(doc, "depth", (int,), "the report"),
        inputs=_field(doc, "inputs", (int,), "the report"),
        outputs=_field(doc, "outputs", (int,), "the report"),
    )


# ---------------------------------------------------------------------- plot
def _plain_text(text: str) -> str:
    """``text`` with ``$`` escaped, so matplotlib shows it instead of parsing math."""
    return text.replace("$", r"\$")


def plot(report: Report, path: str | Path) -> Path:
    """Write a PNG bar chart of NAND2 gates (and AIG nodes) per layer; returns the path.

    Needs matplotlib (``pip install nandc[plot]``); raises
    :class:`BackendError` naming that command if it is missing.  Uses no
    global pyplot state.  The file is written atomically.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise BackendError(
            "plotting a report needs matplotlib, which is not installed; "
            "install it with `pip install nandc[plot]`"
        ) from None
    labels = [_plain_text(r.layer) for r in report.rows]
    positions = np.arange(len(labels))
    with_aig = report.total_aig is not None
    height = 0.4 if with_aig else 0.7
    fig = Figure(figsize=(8, 1.5 + 0.45 * max(len(labels), 1)), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.barh(positions, [r.nand2 for r in report.rows], height=height, label="NAND2 gates")
    if with_aig:
        ax.barh(positions + height, [r.aig_nodes or 0 for r in report.rows], height=height,
                label="AIG nodes", color="0.7")
        ax.legend(loc="best")
    ax.bar_label(bars, labels=[f"{r.nand2:,} ({100 * r.share:.1f}%)" for r in report.rows], padding=3)
    ax.set_yticks(positions + (height / 2 if with_aig else 0), labels=labels)
    ax.invert_yaxis()
    ax.margins(x=0.25)
    ax.set_xlabel("gates")
    ax.set_title(f"{_plain_text(report.name)}: {report.total_nand2:,} NAND2 gates, depth {report.depth}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    target = Path(path)
    with atomic_write(target, "wb") as f:
        f.write(buffer.getvalue())
    return target
