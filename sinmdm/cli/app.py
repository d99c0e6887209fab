"""The ``sinmdm`` command line. Every subcommand reports user errors as one line on
stderr and a non-zero exit code; only a bug in sinmdm itself shows a traceback. The
commands live in :mod:`.clips`, :mod:`.training`, :mod:`.sampling` and :mod:`.evaluation`."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from ..base.allocator import keep_freed_memory
from ..base.errors import SinmdmError
from . import clips, evaluation, following, sampling, training

app = typer.Typer(
    name="sinmdm",
    help="Learn the motifs of one BVH clip of any skeleton and synthesise new motion from it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command in (clips.info, clips.convert, training.train, sampling.generate, sampling.expand, sampling.inbetween,
                sampling.compose, sampling.transfer, following.follow, sampling.crowd, clips.render, training.export):
    app.command()(command)
app.command(name="eval")(evaluation.evaluate_command)


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code; user errors become one line on stderr."""
    try:
        app(args=argv, prog_name="sinmdm")  # standalone: always ends in SystemExit
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except SinmdmError as exc:
        typer.echo(f"sinmdm: error: {exc}", err=True)
        return 1
    return 0


def main() -> None:
    keep_freed_memory()
    sys.exit(run())
