"""Runs a parsed SOQL query against the emulator's records with Salesforce's comparison rules.

Those rules: field names are case-insensitive, string comparisons are case-insensitive, `!=` and
`NOT IN` match null values while `<`, `>` and LIKE never do, a literal must have the field's type
(a quoted datetime is an error), and ORDER BY puts nulls first ascending, last descending.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.salesforce import describe
from connectors.salesforce.soql import BoolOp, Condition, Expr, Literal, Not, Query, SoqlError
from connectors.salesforce.values import parse_datetime, to18

Row = dict[str, Any]
Resolve = Callable[[str, str], Row | None]  # (object, id) -> stored record or None

_KIND_FOR_TYPE = {"boolean": "boolean", "date": "date", "datetime": "datetime",
                  **dict.fromkeys(describe.NUMBER_TYPES, "number"),
                  **dict.fromkeys(describe.STRING_TYPES, "string")}


@dataclass(frozen=True, slots=True)
class _Path:
    """A resolved field reference: `Email`, or `Account.Name` through the AccountId lookup."""

    field: describe.Field
    via: describe.Field | None = None

    @property
    def column(self) -> str:
        return f"{self.via.relationship}.{self.field.name}" if self.via else self.field.name

    def get(self, row: Row, resolve: Resolve) -> Any:
        if self.via is None:
            return row.get(self.field.name)
        parent = self._parent(row, resolve)
        return parent.get(self.field.name) if parent else None

    def _parent(self, row: Row, resolve: Resolve) -> Row | None:
        assert self.via is not None
        ref = row.get(self.via.name)
        if not ref:
            return None
        return next((p for t in self.via.reference_to if (p := resolve(t, ref)) is not None), None)


def _resolve(sobject: str, name: str) -> _Path:
    if "." in name:
        rel, _, rest = name.partition(".")
        via = describe.relationship(sobject, rel)
        target = via.reference_to[0] if via and via.reference_to else None
        if via and target in describe.SCHEMAS and "." not in rest and (f := describe.field(target, rest)):
            return _Path(f, via)
    elif (f := describe.field(sobject, name)) is not None:
        return _Path(f)
    raise SoqlError(f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your "
                    "WSDL or the describe call for the appropriate names.", "INVALID_FIELD")


def _typed(kind: str, value: Any, type_: str) -> Any:
    """A comparable form of a stored value: case-folded text, 18-char ids, parsed datetimes."""
    if value is None:
        return None
    if kind == "datetime":
        return parse_datetime(value) if isinstance(value, str) else value
    if kind == "date":
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if kind == "string":
        text = str(value)
        return to18(text).casefold() if type_ in ("id", "reference") and len(text) == 15 else text.casefold()
    return value


def _check_literal(path: _Path, literal: Literal) -> None:
    kind = _KIND_FOR_TYPE.get(path.field.type, "string")
    if literal.kind not in (kind, "null"):
        quoted = " and should not be enclosed in quotes" if literal.kind == "string" else ""
        raise SoqlError(f"value of filter criterion for field '{path.field.name}' must be of type "
                        f"{path.field.type}{quoted}")


class _Matcher:
    def __init__(self, sobject: str, resolve: Resolve) -> None:
        self.sobject = sobject
        self.resolve = resolve

    def compile(self, expr: Expr) -> Callable[[Row], bool]:
        if isinstance(expr, BoolOp):
            parts = [self.compile(item) for item in expr.items]
            if expr.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        if isinstance(expr, Not):
            inner = self.compile(expr.item)
            return lambda row: not inner(row)
        return self.condition(expr)

    def condition(self, cond: Condition) -> Callable[[Row], bool]:
        path = _resolve(self.sobject, cond.field)
        kind, type_ = _KIND_FOR_TYPE.get(path.field.type, "string"), path.field.type
        if cond.op == "LIKE":
            if kind != "string":
                raise SoqlError(f"invalid operator on {type_} field: LIKE", "INVALID_QUERY_FILTER_OPERATOR")
            pattern = cond.value
            return lambda row: (v := path.get(row, self.resolve)) is not None and bool(
                pattern.fullmatch(str(v)))  # type: ignore[union-attr]
        if cond.op in ("IN", "NOT IN"):
            literals = cond.value if isinstance(cond.value, tuple) else ()
            for lit in literals:
                _check_literal(path, lit)
            wanted = {_typed(kind, lit.value, type_) for lit in literals}
            negate = cond.op == "NOT IN"
            return lambda row: (_typed(kind, path.get(row, self.resolve), type_) in wanted) != negate
        literal = cond.value
        assert isinstance(literal, Literal)
        _check_literal(path, literal)
        if kind == "boolean" and cond.op not in ("=", "!="):
            raise SoqlError(f"invalid operator on boolean field: {cond.op}", "INVALID_QUERY_FILTER_OPERATOR")
        target = _typed(kind, literal.value, type_)
        op = cond.op

        def test(row: Row) -> bool:
            value = _typed(kind, path.get(row, self.resolve), type_)
            if op == "=":
                return bool(value == target)
            if op == "!=":
                return bool(value != target)
            if value is None or target is None:
                return False
            return bool({"<": value < target, "<=": value <= target,
                         ">": value > target, ">=": value >= target}[op])
        return test


def run(query: Query, rows: Iterable[Row], resolve: Resolve, version: str) -> list[Row]:
    """Filter, order, limit and project `rows` (all of `query.sobject`); returns API-shaped records."""
    sobject = describe.object_name(query.sobject)
    if sobject is None:
        raise SoqlError(f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                        "custom object, be sure to append the '__c' after the entity name.", "INVALID_TYPE")
    columns = [_resolve(sobject, name) for name in query.fields]
    keep = _Matcher(sobject, resolve).compile(query.where) if query.where else None
    selected = [row for row in rows if keep is None or keep(row)]
    for item in reversed(query.order_by):  # stable sorts, last key first
        path = _resolve(sobject, item.field)
        selected = _ordered(selected, path, item.descending, item.nulls_last, resolve)
    start = query.offset or 0
    selected = selected[start:start + query.limit] if query.limit is not None else selected[start:]
    return [_project(sobject, row, columns, resolve, version) for row in selected]


def _ordered(rows: list[Row], path: _Path, descending: bool, nulls_last: bool, resolve: Resolve) -> list[Row]:
    kind = _KIND_FOR_TYPE.get(path.field.type, "string")
    keyed = [(_typed(kind, path.get(row, resolve), path.field.type), row) for row in rows]
    nonnull = [pair for pair in keyed if pair[0] is not None]
    nonnull.sort(key=lambda pair: pair[0], reverse=descending)
    nulls = [row for value, row in keyed if value is None]
    values = [row for _, row in nonnull]
    return values + nulls if nulls_last else nulls + values


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _project(sobject: str, row: Row, columns: list[_Path], resolve: Resolve, version: str) -> Row:
    out: Row = {"attributes": attributes(sobject, row["Id"], version)}
    for path in columns:
        if path.via is None:
            out[path.field.name] = row.get(path.field.name)
            continue
        rel = path.via.relationship or path.via.name
        parent = path._parent(row, resolve)
        if parent is None:
            out[rel] = None
            continue
        nested = out.get(rel) or {"attributes": attributes(_type_of(path.via, parent), parent["Id"], version)}
        nested[path.field.name] = parent.get(path.field.name)
        out[rel] = nested
    return out


def _type_of(via: describe.Field, parent: Row) -> str:
    prefix = str(parent.get("Id", ""))[:3]
    return next((t for t in via.reference_to if describe.KEY_PREFIXES.get(t) == prefix), via.reference_to[0])
