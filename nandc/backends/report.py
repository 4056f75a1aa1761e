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

A staged program (:func:`build_program_report`) has one row per layer of
every kernel: ``nand2`` is then per position, ``positions`` says how many
positions of a sample the kernel runs, and ``evaluations = nand2 *
positions`` is the gate evaluations per sample, whose share the ``share``
column gives.  ``depth`` is the depth inside the stage.  The data movement
between kernels is listed under the table.
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
from nandc.files.fsutil import atomic_write
from nandc.interface import HEAD_LAYERS
from nandc.ir.circuit import Circuit
from nandc.ir.netlist import NandNetlist

__all__ = [
    "LayerRow",
    "Report",
    "UNTAGGED",
    "DEFAULT_HEAD_LAYERS",
    "is_head_layer",
    "build_report",
    "build_program_report",
    "format_text",
    "format_markdown",
    "to_json",
    "from_json",
    "plot",
]

UNTAGGED = "(untagged)"
DEFAULT_HEAD_LAYERS = HEAD_LAYERS
_JSON_FORMAT = "nandc-report"
_JSON_VERSION = 2
_JSON_VERSIONS = (1, 2)


@dataclass(frozen=True)
class LayerRow:
    """Counts of one layer tag (see the module docstring for each number).

    ``stage`` and ``positions`` are set for the rows of a staged program.
    """

    layer: str
    nand2: int
    aig_nodes: int | None
    depth: int
    share: float
    stage: str = ""
    positions: int = 1

    @property
    def evaluations(self) -> int:
        """NAND2 gate evaluations per sample (``nand2 * positions``)."""
        return self.nand2 * self.positions


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
    gate_evaluations: int | None = None  # per sample; set for staged programs
    movement: tuple[str, ...] = ()  # what the program does, op by op (staged programs)

    @property
    def staged(self) -> bool:
        return self.gate_evaluations is not None

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


def build_program_report(program, head_layers: Sequence[str] = DEFAULT_HEAD_LAYERS) -> Report:
    """Per stage and layer: NAND2 per position, positions per sample, gate evaluations per sample.

    Requires a program whose stages hold netlists (their frontend circuits,
    when present, give the AIG column).  Ensures: ``total_nand2`` counts
    each stage's netlist once; ``gate_evaluations`` is the sum of the rows'
    evaluations; shares are of gate evaluations.
    """
    from nandc.ir.program import Kernel, describe

    rows: list[LayerRow] = []
    with_aig = all(s.circuit is not None for s in program.stages)
    for op in program.ops:
        if not isinstance(op, Kernel):
            continue
        stage = program.stages[op.stage]
        if stage.netlist is None:
            raise BackendError(f"stage {stage.name!r} is not compiled to a NAND netlist")
        sub = build_report(stage.netlist, stage.circuit if with_aig else None, head_layers)
        positions = program.positions(op)
        rows += [LayerRow(r.layer, r.nand2, r.aig_nodes, r.depth, 0.0, stage.name, positions) for r in sub.rows]
    evaluations = sum(r.evaluations for r in rows)
    rows = [LayerRow(r.layer, r.nand2, r.aig_nodes, r.depth, r.evaluations / evaluations if evaluations else 0.0,
                     r.stage, r.positions) for r in rows]
    first = program.stages[program.kernels[0].stage].netlist if program.kernels else None
    return Report(
        name=program.name,
        rows=tuple(rows),
        total_nand2=sum(s.netlist.num_gates for s in program.stages),
        total_aig=sum(s.circuit.num_ands for s in program.stages) if with_aig else None,
        depth=max((s.netlist.depth() for s in program.stages), default=0),
        inputs=program.tensors[program.input].size * program.tensors[program.input].bits if first else 0,
        outputs=sum(program.tensors[t].size for t in program.outputs.values()),
        gate_evaluations=evaluations,
        movement=tuple(describe(program)),
    )


# ---------------------------------------------------------------------- tables
def _table_cells(report: Report) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, body rows and totals row as strings (AIG column only with a circuit)."""
    with_aig = report.total_aig is not None
    staged = report.staged
    header = (["stage"] if staged else []) + ["layer", "NAND2/position" if staged else "NAND2"]
    header += (["positions", "evaluations"] if staged else []) + (["AIG nodes"] if with_aig else [])
    header += ["depth", "share"]

    def cells(row: LayerRow) -> list[str]:
        out = ([row.stage] if staged else []) + [row.layer, f"{row.nand2:,}"]
        out += [f"{row.positions:,}", f"{row.evaluations:,}"] if staged else []
        out += [f"{row.aig_nodes:,}" if row.aig_nodes is not None else "-"] if with_aig else []
        return out + [str(row.depth), f"{100 * row.share:.1f}%"]

    body = [cells(r) for r in report.rows]
    total = cells(LayerRow("total", report.total_nand2, report.total_aig, report.depth,
                           1.0 if report.total_nand2 else 0.0, "", 1))
    if staged:  # the totals row: NAND2 of all stages, gate evaluations per sample
        total = [""] + total[1:3] + ["", f"{report.gate_evaluations:,}"] + total[5:]
    return header, body, total


def _summary(report: Report) -> str:
    text = (f"{report.inputs:,} input bits, {report.outputs:,} output "
            f"{'values' if report.staged else 'bits'}, {report.total_nand2:,} NAND2 gates")
    if report.staged:
        return text + f" in {len({r.stage for r in report.rows})} stages, " \
                      f"{report.gate_evaluations:,} gate evaluations per sample, stage depth {report.depth}"
    return text + f", depth {report.depth}"


_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    """``text`` with control characters (newlines, tabs) shown as ``\\xNN`` escapes."""
    return _CONTROL_CHAR.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def format_text(report: Report) -> str:
    """An aligned plain-text table: layer names left, numbers right, a totals row.

    Control characters in names are shown as ``\\xNN`` so every row is one line.
    """
    header, body, total = _table_cells(report)
    texts = 2 if report.staged else 1
    body = [[_one_line(c) for c in row[:texts]] + row[texts:] for row in body]
    widths = [max(len(row[i]) for row in [header, total, *body]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        left = [c.ljust(w) for c, w in zip(row[:texts], widths)]
        return "  ".join(left + [c.rjust(w) for c, w in zip(row[texts:], widths[texts:])]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [f"{_one_line(report.name)}: {_summary(report)}", "", line(header), rule]
    lines += [line(row) for row in body] + [rule, line(total)]
    if report.movement:
        lines += ["", "program:"] + [f"  {_one_line(m)}" for m in report.movement]
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL = "\\`*_[]<>|#"


def _markdown_escape(text: str) -> str:
    out = "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)
    return " ".join(out.splitlines()) or " "


def format_markdown(report: Report) -> str:
    """A GitHub-flavoured Markdown section: heading, summary line, table with a bold totals row."""
    header, body, total = _table_cells(report)
    texts = 2 if report.staged else 1
    align = ["---"] * texts + ["--:"] * (len(header) - texts)

    def line(row: list[str]) -> str:
        return "| " + " | ".join(row) + " |"

    rows = [[_markdown_escape(c) for c in row[:texts]] + row[texts:] for row in body]
    lines = [f"### {_markdown_escape(report.name)}", "", _summary(report) + ".", ""]
    lines += [line(header), line(align)] + [line(r) for r in rows]
    lines.append(line([f"**{c}**" if c else " " for c in total]))
    if report.movement:
        lines += ["", "Program:", ""] + [f"- {_markdown_escape(m)}" for m in report.movement]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- JSON
def to_json(report: Report) -> str:
    """The report as indented JSON (``from_json`` reads it back to an equal Report)."""
    doc = {"format": _JSON_FORMAT, "version": _JSON_VERSION, **asdict(report)}
    doc["rows"] = [asdict(r) for r in report.rows]
    doc["movement"] = list(report.movement)
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
        stage=_field(doc, "stage", (str,), where) if "stage" in doc else "",
        positions=_field(doc, "positions", (int,), where) if "positions" in doc else 1,
    )


def from_json(text: str) -> Report:
    """Read a report written by :func:`to_json`; :class:`ParseError` if it is not one."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"report JSON: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("format") != _JSON_FORMAT:
        raise ParseError(f"report JSON: expected an object with \"format\": \"{_JSON_FORMAT}\"")
    if doc.get("version") not in _JSON_VERSIONS:
        raise ParseError(
            f"report JSON: expected version {' or '.join(map(str, _JSON_VERSIONS))}, found {doc.get('version')!r}"
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
        gate_evaluations=_field(doc, "gate_evaluations", (int, type(None)), "the report")
        if "gate_evaluations" in doc else None,
        movement=tuple(str(m) for m in _field(doc, "movement", (list,), "the report"))
        if "movement" in doc else (),
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
    labels = [_plain_text(f"{r.stage}: {r.layer}" if report.staged else r.layer) for r in report.rows]
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
    ax.bar_label(bars, labels=[(f"{r.nand2:,} x {r.positions:,} positions ({100 * r.share:.1f}%)"
                                if report.staged else f"{r.nand2:,} ({100 * r.share:.1f}%)")
                               for r in report.rows], padding=3)
    ax.set_yticks(positions + (height / 2 if with_aig else 0), labels=labels)
    ax.invert_yaxis()
    ax.margins(x=0.25)
    ax.set_xlabel("gates per position" if report.staged else "gates")
    title = f"{_plain_text(report.name)}: {report.total_nand2:,} NAND2 gates"
    if report.staged:
        title += f", {report.gate_evaluations:,} gate evaluations per sample"
    ax.set_title(title + f", depth {report.depth}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    target = Path(path)
    with atomic_write(target, "wb") as f:
        f.write(buffer.getvalue())
    return target
