"""Every command and option the README names exists in the CLI (README lines stay true)."""

import re
from pathlib import Path

import click
import pytest

from cli.fphtr import main as fphtr
from cli.synthgen import main as synthgen

README = Path(__file__).resolve().parents[1] / "README.md"
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _commands() -> dict[str, click.Command]:
    """``"synthgen render"``, ``"synthgen fonts fetch"``, ``"fphtr train"`` ... -> command."""
    out = {}

    def walk(group: click.Group, prefix: str):
        for name, cmd in group.commands.items():
            out[f"{prefix} {name}"] = cmd
            if isinstance(cmd, click.Group):
                walk(cmd, f"{prefix} {name}")

    walk(synthgen, "synthgen")
    walk(fphtr, "fphtr")
    return out


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in [*getattr(p, "opts", ()),
                                            *getattr(p, "secondary_opts", ())]} | {"--help"}


def _command_lines() -> list[tuple[int, str, str]]:
    """(line number, command, the text that follows it) for every command the README shows,
    a trailing backslash joining continuation lines."""
    lines = README.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        text, start = lines[i], i + 1
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i]
        for m in re.finditer(r"\b(synthgen|fphtr)((?: [a-z]+)+)", text):
            words = m.group(2).split()
            name = m.group(1)
            while words and f"{name} {words[0]}" in _COMMANDS:
                name = f"{name} {words.pop(0)}"
            if name in _COMMANDS:
                found.append((start, name, text[m.end(1):]))
        i += 1
    return found


_COMMANDS = _commands()


def test_every_command_line_in_the_readme_uses_real_options():
    shown = _command_lines()
    assert len(shown) > 20  # the parser found the README's command lines
    bad = []
    for lineno, name, rest in shown:
        rest = re.split(r"\b(?:synthgen|fphtr) ", rest)[0]  # up to the next command
        for opt in OPTION.findall(rest):
            if opt not in _options(_COMMANDS[name]):
                bad.append(f"README line {lineno}: {name} has no option {opt}")
    assert not bad, "\n".join(bad)


def test_every_option_in_the_render_table_exists():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Rendering"):text.index("## The sample format")]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `--")]
    assert len(rows) > 10
    render = _options(_COMMANDS["synthgen render"])
    missing = {o for row in rows for o in OPTION.findall(row.split("|")[1])} - render
    assert not missing, f"README render table names options render lacks: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_command_has_help(name):
    assert (_COMMANDS[name].help or "").strip(), f"{name} has no --help text"
