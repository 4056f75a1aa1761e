"""The exceptions nandc raises for anything that is the user's input's fault.

Every error says what was expected, what was found, and where (a layer name,
a file and line, a bus).  The command line prints ``nandc: error: <message>``
and exits with status 1 for any :class:`NandcError`; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "NandcError",
    "CircuitError",
    "ParseError",
    "UnsupportedLayer",
    "QuantizationError",
    "PassError",
    "BackendError",
    "EquivalenceError",
    "OutputError",
    "ClusterError",
]


class NandcError(Exception):
    """Base class of every error nandc raises for bad input."""


class CircuitError(NandcError):
    """A circuit or netlist violates an invariant, or is used inconsistently."""


class ParseError(NandcError):
    """A netlist file (AIGER, BLIF, ...) is malformed.

    ``path`` and ``line`` locate the problem; the message says what was
    expected and what was found.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class UnsupportedLayer(NandcError):
    """One or more nodes of a traced model have no converter.

    ``nodes`` lists ``(node name, target description)`` for every offending node,
    so a user sees all of them at once.
    """

    def __init__(self, nodes: list[tuple[str, str]]):
        self.nodes = list(nodes)
        lines = "\n".join(f"  - {name}: {target}" for name, target in self.nodes)
        super().__init__(
            f"{len(self.nodes)} node(s) of the model have no nandc converter:\n{lines}\n"
            "Supported layers are listed by `nandc compile --help` and in the README."
        )


class QuantizationError(NandcError):
    """A non-integer (float) tensor would reach the circuit."""


class PassError(NandcError):
    """A pass or pipeline string is invalid."""


class BackendError(NandcError):
    """A backend cannot handle its input (e.g. wrong input shape for run)."""


class EquivalenceError(NandcError):
    """Two circuits cannot be compared (their interfaces differ)."""


class ClusterError(NandcError):
    """A distributed run or compile cannot use its cluster: Ray missing, no cluster at the
    address, a failed worker whose work could not be retried, results lost or duplicated."""


class OutputError(NandcError, OSError):
    """An output file cannot be written (missing directory, no permission, disk full, ...).

    Also an :class:`OSError` (with ``errno``), so code that tolerates failed
    writes (the JIT cache) keeps doing so.
    """

    def __init__(self, code: int, message: str):
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.strerror
