"""The ``nandc`` command line (placeholder until the CLI issue lands)."""

from __future__ import annotations

import argparse
import sys

from nandc import __version__
from nandc.errors import NandcError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nandc",
        description="Compile trained quantized PyTorch models into NAND2-only netlists.",
    )
    parser.add_argument("--version", action="version", version=f"nandc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("passes", help="list the registered passes")
    p.set_defaults(func=_cmd_passes)
    return parser


def _cmd_passes(args: argparse.Namespace) -> int:
    from nandc.passes import PASSES

    width = max(len(n) for n in PASSES)
    for name, info in PASSES.items():
        print(f"{name:<{width}}  {info.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except NandcError as exc:
        print(f"nandc: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
