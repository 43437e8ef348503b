"""Parses the SOQL subset revhub and its users send into a small syntax tree (no schema knowledge here).

Supported: `SELECT f1, Rel.f2 FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]`, with AND / OR / NOT / parentheses, `= != <> < <= > >= IN NOT IN LIKE`, and the
literals of crm-apis.md A5: quoted strings with backslash escapes, unquoted datetimes and dates,
numbers, true / false / null. Like Salesforce, mixing AND and OR at one level without parentheses
is an error. Field names stay as written; `connectors.salesforce.query` resolves them against a schema.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.salesforce.values import parse_datetime


class SoqlError(Exception):
    """A query Salesforce would refuse; `code` is the errorCode it answers with (400)."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime
    value: Any


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Literal | tuple[Literal, ...] | re.Pattern[str]


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Condition | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: Expr | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
                       "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SoqlError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


def decode_string(body: str, *, like: bool = False) -> str:
    """Undo SOQL escapes. In LIKE patterns `\\%` and `\\_` survive as escapes for `like_pattern`."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt.lower() in _ESCAPES:
            out.append(_ESCAPES[nxt.lower()])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif like and nxt in "%_":
            out.append("\\" + nxt)
            i += 2
        else:
            raise SoqlError(f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}' in "
                            "string literal.")
    return "".join(out)


def like_pattern(decoded: str) -> re.Pattern[str]:
    """A LIKE pattern (`%` any run, `_` one char, `\\%`/`\\_` literal) as a case-insensitive regex."""
    parts, i = [], 0
    while i < len(decoded):
        ch = decoded[i]
        if ch == "\\" and i + 1 < len(decoded) and decoded[i + 1] in "%_":
            parts.append(re.escape(decoded[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise SoqlError("unexpected end of query")
        self.i += 1
        return token

    def at(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.word in words

    def expect_word(self, word: str) -> None:
        token = self.next()
        if token.word != word:
            raise SoqlError(f"unexpected token: '{token.text}' (expected {word})")

    def expect_punct(self, char: str) -> None:
        token = self.next()
        if token.text != char:
            raise SoqlError(f"unexpected token: '{token.text}' (expected '{char}')")

    def name(self) -> str:
        token = self.next()
        if token.kind != "name" or token.word in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{token.text}'")
        return token.text

    def query(self) -> Query:
        self.expect_word("SELECT")
        fields = [self.name()]
        while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
            self.next()
            fields.append(self.name())
        self.expect_word("FROM")
        sobject = self.name()
        where = None
        if self.at("WHERE"):
            self.next()
            where = self.expr()
        order: list[OrderItem] = []
        if self.at("ORDER"):
            self.next()
            self.expect_word("BY")
            order.append(self.order_item())
            while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
                self.next()
                order.append(self.order_item())
        limit = self.count("LIMIT")
        offset = self.count("OFFSET")
        if self.peek() is not None:
            raise SoqlError(f"unexpected token: '{self.next().text}'")
        return Query(tuple(fields), sobject, where, tuple(order), limit, offset)

    def count(self, word: str) -> int | None:
        if not self.at(word):
            return None
        self.next()
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError(f"{word} needs a non-negative integer, not '{token.text}'")
        return int(token.text)

    def order_item(self) -> OrderItem:
        field = self.name()
        descending = False
        if self.at("ASC", "DESC"):
            descending = self.next().word == "DESC"
        nulls_last = descending
        if self.at("NULLS"):
            self.next()
            token = self.next()
            if token.word not in ("FIRST", "LAST"):
                raise SoqlError(f"unexpected token: '{token.text}' (expected FIRST or LAST)")
            nulls_last = token.word == "LAST"
        return OrderItem(field, descending, nulls_last)

    def expr(self) -> Expr:
        items = [self.term()]
        joiner = ""
        while self.at("AND", "OR"):
            word = self.next().word
            if joiner and word != joiner:
                raise SoqlError(f"unexpected token: '{word}': use parentheses to mix AND and OR")
            joiner = word
            items.append(self.term())
        return BoolOp(joiner, tuple(items)) if joiner else items[0]

    def term(self) -> Expr:
        if self.at("NOT"):
            self.next()
            return Not(self.term())
        token = self.peek()
        if token is not None and token.text == "(":
            self.next()
            inner = self.expr()
            self.expect_punct(")")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        field = self.name()
        token = self.next()
        if token.kind == "op":
            return Condition(field, "!=" if token.text == "<>" else token.text, self.literal())
        if token.word == "LIKE":
            value = self.next()
            if value.kind != "string":
                raise SoqlError(f"LIKE needs a quoted string, not '{value.text}'")
            return Condition(field, "LIKE", like_pattern(decode_string(value.text[1:-1], like=True)))
        negated = token.word == "NOT"
        if negated:
            token = self.next()
        if token.word != "IN":
            raise SoqlError(f"unexpected token: '{token.text}'")
        self.expect_punct("(")
        values = [self.literal()]
        while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
            self.next()
            values.append(self.literal())
        self.expect_punct(")")
        return Condition(field, "NOT IN" if negated else "IN", tuple(values))

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            return Literal("string", decode_string(token.text[1:-1]))
        if token.kind == "number":
            number = float(token.text)
            return Literal("number", int(number) if number.is_integer() and "." not in token.text else number)
        if token.kind == "datetime":
            return Literal("datetime", parse_datetime(token.text))
        if token.kind == "date":
            try:
                return Literal("date", date.fromisoformat(token.text))
            except ValueError as exc:
                raise SoqlError(f"invalid date: {token.text}") from exc
        if token.word in ("TRUE", "FALSE"):
            return Literal("boolean", token.word == "TRUE")
        if token.word == "NULL":
            return Literal("null", None)
        raise SoqlError(f"unexpected token: '{token.text}' (expected a value)")


def parse(text: str) -> Query:
    """Parse one SOQL statement; raises `SoqlError` (MALFORMED_QUERY) on anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("query is empty")
    return _Parser(text).query()

