"""Every failure code has a runbook an on-call engineer can follow at 3 a.m., indexed in the README."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from connectors.errors import FailureCode
from sync_engine.cli import build_parser

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"
SECTIONS = ("## What the alert means", "## Impact", "## How to confirm", "## Fix", "## Replay", "## Escalate")
CODES = [code.value for code in FailureCode]

# The revhub commands a runbook may show: (subcommand path) -> {option: takes a value}. Only `sync`
# takes positionals (pipeline names).
# Every command is also parsed with the real CLI parser (`sync_engine.cli.build_parser`), so a renamed
# subcommand or option fails here too; this allow-list sits on top of it, since the CLI offers more
# (e.g. `daemon`, `demo`) than runbooks should tell an on-call engineer to run.
ALLOWED: dict[tuple[str, ...], dict[str, bool]] = {
    ("check",): {"--config": True, "--remote": False, "--json": False},
    ("sync",): {"--dry-run": False, "--json": False, "--full": False, "--config": True},
    ("status",): {"--json": False},
    ("failures", "list"): {"--pipeline": True, "--code": True, "--json": False, "--status": True},
    ("failures", "show"): {"--json": False},
    ("failures", "retry"): {"--pipeline": True, "--code": True, "--system": True, "--json": False},
    ("emulator", "start"): {"--system": True, "--port": True, "--seed": True},
}
VALUES = {"--code": set(CODES), "--system": {"hubspot", "salesforce"}}


def sections(text: str) -> list[tuple[str, str]]:
    """(heading line, body) pairs; `#` lines inside fenced blocks are not headings."""
    out: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return [(heading, "\n".join(body)) for heading, body in out]


def shell_lines(text: str) -> list[str]:
    """Every non-blank line inside ```sh blocks."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = line.strip() == "```sh" if not fenced else False
        elif fenced and line.strip():
            out.append(line)
    return out


def command_problem(command: str) -> str | None:
    """Why `command` is not one a runbook may show, or None."""
    words = shlex.split(command)
    if words[:1] != ["revhub"]:
        return "not a revhub command"
    words = words[1:]
    path = next((p for p in ALLOWED if tuple(words[:len(p)]) == p), None)
    if path is None:
        return f"`revhub {' '.join(words[:2])}` is not a subcommand runbooks may use"
    options, rest, given = ALLOWED[path], words[len(path):], set()
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            if path not in (("sync",), ("failures", "show"), ("failures", "retry")):
                return f"unexpected argument {word!r}"
            continue
        name, eq, value = word.partition("=")
        if name not in options:
            return f"option {name} is not allowed for `revhub {' '.join(path)}`"
        if options[name] and not eq:
            if not rest or rest[0].startswith("-"):
                return f"{name} needs a value"
            value = rest.pop(0)
        elif not options[name] and eq:
            return f"{name} takes no value"
        if name in VALUES and value not in VALUES[name]:
            return f"{name} {value!r} is not one of {sorted(VALUES[name])}"
        if name == "--port" and not value.isdigit():
            return f"--port {value!r} is not a number"
        given.add(name)
    if path == ("emulator", "start") and "--system" not in given:
        return "`revhub emulator start` needs --system"
    return None


def read(code: str) -> str:
    return (RUNBOOKS / f"{code}.md").read_text(encoding="utf-8")


def test_every_code_has_a_runbook_and_every_runbook_a_code() -> None:
    assert {code.runbook for code in FailureCode} == {f"runbooks/{c}.md" for c in CODES}
    on_disk = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert on_disk == set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_runbook_has_exactly_the_sections_in_order_each_with_a_body(code: str) -> None:
    found = sections(read(code))
    assert re.fullmatch(rf"# {code}: \S.*", found[0][0]), found[0][0]
    assert tuple(heading for heading, _ in found[1:]) == SECTIONS
    assert not found[0][1].strip(), "text between the title and the first section"
    for heading, body in found[1:]:
        assert body.strip(), f"{code}: {heading} is empty"


@pytest.mark.parametrize("code", list(FailureCode))
def test_runbook_states_what_revhub_does_with_the_code(code: FailureCode) -> None:
    meaning = dict(sections(read(code.value)))["## What the alert means"]
    yes_no = {True: "yes", False: "no"}
    expected = (f"**Retried automatically:** {yes_no[code.retryable]} · **Stops the run:** "
                f"{yes_no[code.fatal]} · **Severity:** {code.severity.value}")
    assert meaning.strip().splitlines()[0] == expected


@pytest.mark.parametrize("code", CODES)
def test_runbook_is_short_and_shows_commands(code: str) -> None:
    text = read(code)
    assert 25 <= len(text.splitlines()) <= 50
    assert shell_lines(text), "a runbook with nothing to run"


@pytest.mark.parametrize("name", [*CODES, "README"])
def test_commands_are_alone_on_their_line_and_allowed(name: str) -> None:
    text = read(name)
    commands = shell_lines(text)
    for line in commands:
        assert line.startswith("revhub "), f"{name}: only revhub commands, one per line: {line!r}"
    commands += re.findall(r"`(revhub [^`]*)`", text)  # commands named in the prose, too
    problems = {command: command_problem(command) for command in commands}
    assert not {c: p for c, p in problems.items() if p}
    for command in commands:  # and the real CLI accepts each one
        build_parser().parse_args(shlex.split(command)[1:])


@pytest.mark.parametrize("command", [
    "revhub failures ignore 3", "revhub sync --fulll", "revhub daemon", "revhub emulator start",
    "revhub failures list --code NOT_A_CODE", "revhub status PIPELINE", "revhub check --config",
    "revhub emulator start --system zendesk", "revhub sync --json=yes", "git status",
])
def test_command_check_refuses_what_the_cli_does_not_offer_runbooks(command: str) -> None:
    assert command_problem(command)


def test_readme_indexes_every_code_with_its_taxonomy_facts() -> None:
    lines = [line for line in read("README").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        rows[cells["Code"].strip("`")] = cells
    assert set(rows) == set(CODES)
    for code in FailureCode:
        row = rows[code.value]
        assert row["Retryable"] == ("yes" if code.retryable else "no"), code
        assert row["Stops the run"] == ("yes" if code.fatal else "no"), code
        assert row["Severity"] == code.severity.value, code
        assert row["Meaning"], code
        assert row["Runbook"] == f"[{code.value}.md]({code.value}.md)", code


@pytest.mark.parametrize("name", ["AUTH_EXPIRED", "AUTH_INVALID", "PERMISSION_DENIED", "CONFIG_ERROR",
                                  "README"])
def test_credentials_are_set_through_the_environment_not_files(name: str) -> None:
    text = read(name)
    assert "`token_env`" in text and "environment variable" in text
