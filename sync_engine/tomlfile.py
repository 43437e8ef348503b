"""Reads the TOML files people edit and finds the line of any key, so every error can say file:line."""
from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sync_engine.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

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
                table = _indexed(_split_dotted(header.group(2)), counters, header.group(1) == "[[")
                candidates = [table, table[:-1]] if header.group(1) == "[[" else [table]
            else:
                key = _KEY.match(raw)
                if not key:
                    continue
                candidates = [table + _split_dotted(key.group(1))]
            for path in candidates:  # an array's first [[header]] also stands for the whole array
                n = len(path)
                if n > best_len and want[:n] == path:
                    best, best_len = number, n
        return best

    def first_line(self) -> int:
        """The first line that holds a key or a header: where the file's top-level table begins."""
        return next((n for n, raw in enumerate(self.lines, start=1) if raw.strip() and not
                     raw.lstrip().startswith("#")), 1)


def _indexed(parts: list[str], counters: dict[str, int], array: bool) -> list[str]:
    """A header's key path with the index of each array of tables it lies in: [[fields]] -> fields.3."""
    out: list[str] = []
    for k, part in enumerate(parts):
        out.append(part)
        joined = ".".join(parts[:k + 1])
        if k == len(parts) - 1 and array:
            counters[joined] = counters.get(joined, -1) + 1
            for nested in [c for c in counters if c.startswith(joined + ".")]:
                del counters[nested]  # a new element starts its own sub-arrays from 0
            out.append(str(counters[joined]))
        elif k < len(parts) - 1 and joined in counters:
            out.append(str(counters[joined]))
    return out


def load(path: str | Path) -> TomlFile:
    """Parse a TOML file; a syntax error becomes a ConfigError naming file, line and column."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path),
                          hint="check the path; relative paths are read from the config file's folder") from None
    except UnicodeDecodeError as exc:
        raw = p.read_bytes()
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        raise ConfigError(f"not valid UTF-8 text (byte {raw[exc.start]:#04x}, column {column})", file=str(path),
                          line=bad_line, hint="save the file as UTF-8; the file may be cut short or hold a "
                          "character from another encoding") from None
    except OSError as exc:  # a folder, or a file this user may not read
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=str(path),
                          hint="name a TOML file; relative paths are read from the config file's folder") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some Windows editors write; TOML refuses it
    lines = tuple(text.split("\n"))  # the lines TOML counts: only \n ends one (not \x85, \u2028, ...)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if m:
            message += f" (column {m.group(2)})"
        elif "end of document" in message:  # cut short: point at the last line that says something
            message = message.replace(" (at end of document)", "") + " at the end of the file"
            line = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
        raise ConfigError(f"not valid TOML: {message}", file=str(path), line=line,
                          hint="compare with the example file; strings need quotes, tables need [brackets]"
                          ) from None
    except RecursionError:  # tomllib recurses once per nested [ or {: point at the line with the most
        line = max(range(len(lines)), key=lambda n: lines[n].count("[") + lines[n].count("{")) + 1
        raise ConfigError("not valid TOML: arrays or tables nested too deeply", file=str(path), line=line,
                          hint="look for a run of [ or { brackets") from None
    return TomlFile(str(path), data, lines)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def _members(tp: Any) -> list[Any]:
    """The types a field may hold: Annotated and Optional unwrapped, unions spread out."""
    if get_origin(tp) is Annotated:
        return _members(get_args(tp)[0])
    if get_origin(tp) in (Union, UnionType):
        return [m for a in get_args(tp) if a is not type(None) for m in _members(a)]
    return [tp]


def _fields_at(model: type[BaseModel], loc: Sequence[str]) -> list[str]:
    """The keys allowed in the table that holds `loc[-1]`: walk the model along the path.

    Where the path meets a union (an alert channel of any type), the keys of every member count.
    """
    current: list[Any] = [model]
    for part in loc[:-1]:
        following: list[Any] = []
        for tp in (m for c in current for m in _members(c)):
            if get_origin(tp) in (list, dict):  # the part is an index or a table key
                following += _members(get_args(tp)[-1])
            elif isinstance(tp, type) and issubclass(tp, BaseModel):
                fields = {f.alias or name: f for name, f in tp.model_fields.items()}
                if part in fields:
                    following += _members(fields[part].annotation)
        current = following
    names: dict[str, None] = {}
    for tp in (m for c in current for m in _members(c)):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            names.update((f.alias or name, None) for name, f in tp.model_fields.items())
    return list(names)


def validate(f: TomlFile, model: type[M], *, ignore: frozenset[str] = frozenset()) -> M:
    """Validate a parsed file against its pydantic model; the first problem becomes a ConfigError
    naming file:line, the key, and a hint (did-you-mean for unknown keys, what to add for missing ones).

    `ignore`: path parts pydantic adds that the file does not have (a tagged union's tag).
    """
    try:
        return model.model_validate(f.data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key is both "unknown" and "missing": the unknown one names what to fix
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raw = err["loc"]  # a tagged union's tag follows a list index (channels.0.slack), never a table key
        loc = [str(x) for k, x in enumerate(raw) if not (x in ignore and k and isinstance(raw[k - 1], int))]
        hint = ""
        if err["type"] == "extra_forbidden":
            allowed = list(_fields_at(model, loc))
            hint = did_you_mean(loc[-1], allowed) or (f"allowed here: {', '.join(allowed)}" if allowed else
                                                     "remove it, or check the spelling")
        elif err["type"] == "missing":
            hint = f"add `{loc[-1]} = ...` (see the example files)"
        # only pydantic's message, never its full text: that echoes the input, which may be a pasted secret
        # a top-level key that is missing has no line of its own: point at the top of the file
        line = f.line_of(loc) or f.first_line()
        raise ConfigError(err["msg"], file=f.path, line=line, key=".".join(loc), hint=hint) from None
