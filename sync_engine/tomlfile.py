"""Reads the TOML files people edit and finds the line of any key, so every error can say file:line."""
from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync_engine.errors import ConfigError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.\s]+', text)
    return [p.strip("\"'") for p in parts]


@dataclass(frozen=True, slots=True)
class TomlFile:
    """A parsed TOML file that remembers where each key was written."""

    path: str
    data: dict[str, Any]
    lines: tuple[str, ...]

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of a key path such as ("pipelines", "x", "from") or ("fields", 2, "transforms").

        Returns the line that matches the longest prefix of the path: the key itself when it is
        written, else its table header, so an error about a missing key points at its table.
        """
        want = [str(p) for p in loc]
        best, best_len = None, 0
        table: list[str] = []
        counters: dict[str, int] = {}
        for number, raw in enumerate(self.lines, start=1):
            header = _HEADER.match(raw)
            if header:
                table = _split_dotted(header.group(2))
                if header.group(1) == "[[":
                    joined = ".".join(table)
                    counters[joined] = counters.get(joined, -1) + 1
                    table = [*table, str(counters[joined])]
                path = table
            else:
                key = _KEY.match(raw)
                if not key:
                    continue
                path = table + _split_dotted(key.group(1))
            n = len(path)
            if n > best_len and want[:n] == path:
                best, best_len = number, n
        return best


def load(path: str | Path) -> TomlFile:
    """Parse a TOML file; a syntax error becomes a ConfigError naming file, line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path),
                          hint="check the path; relative paths are read from the config file's folder") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if m:
            message += f" (column {m.group(2)})"
        raise ConfigError(f"not valid TOML: {message}", file=str(path), line=line,
                          hint="compare with the example file; strings need quotes, tables need [brackets]"
                          ) from None
    return TomlFile(str(path), data, tuple(text.splitlines()))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
