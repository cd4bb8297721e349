"""Clean exits of the service commands: one plain line on stderr, never wrapped."""

from __future__ import annotations

import typer

EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2


def exit_with(message: str, code: int = EXIT_BAD_SETTINGS) -> typer.Exit:
    """Print ``error: <message>`` as one line on stderr; the caller raises what this returns."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)
