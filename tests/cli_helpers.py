"""Helpers shared by the command-line tests: run a click command as a user would, and
check that a user mistake came back as one clear line."""

from __future__ import annotations

from click.testing import CliRunner


def invoke(command, *args):
    """Run ``command`` with ``args`` (each turned into a string); click's Result."""
    return CliRunner().invoke(command, [str(a) for a in args])


def assert_one_line_error(result, *needles):
    """Exit status 2, no traceback, one non-blank output line containing every needle."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(err) == 1, result.output
    for n in needles:
        assert n in err[0], err[0]
