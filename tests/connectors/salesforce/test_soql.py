"""The SOQL subset: parsing (escapes, literals, structure, errors) and Salesforce's comparison rules."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from simple_salesforce import format_soql

from connectors.salesforce import query
from connectors.salesforce.soql import BoolOp, Condition, Literal, Not, SoqlError, parse

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_incremental_query_as_the_connector_builds_it() -> None:
    text = format_soql("SELECT Id, SystemModstamp, Email FROM Contact WHERE SystemModstamp >= {} "
                       "ORDER BY SystemModstamp, Id LIMIT 500", T0)
    q = parse(text)
    assert q.fields == ("Id", "SystemModstamp", "Email")
    assert q.sobject == "Contact"
    assert q.where == Condition("SystemModstamp", ">=", Literal("datetime", T0))
    assert [(o.field, o.descending) for o in q.order_by] == [("SystemModstamp", False), ("Id", False)]
    assert q.limit == 500


@pytest.mark.parametrize(("body", "expected"), [
    (r"O\'Brien", "O'Brien"),
    (r"back\\slash", "back\\slash"),
    (r"say \"hi\"", 'say "hi"'),
    (r"two\nlines\tand\rmore", "two\nlines\tand\rmore"),
    (r"UPPER\NCASE", "UPPER\nCASE"),
    (r"caf\u00e9", "café"),
])
def test_string_escapes(body: str, expected: str) -> None:
    assert parse(f"SELECT Id FROM Contact WHERE LastName = '{body}'").where == \
        Condition("LastName", "=", Literal("string", expected))


def test_format_soql_output_round_trips() -> None:
    value = "o'brien\\x@y.z"
    q = parse(format_soql("SELECT Id FROM Contact WHERE Email = {} AND LastName IN {}", value, ["A", "B'C"]))
    assert q.where == BoolOp("AND", (
        Condition("Email", "=", Literal("string", value)),
        Condition("LastName", "IN", (Literal("string", "A"), Literal("string", "B'C"))),
    ))


@pytest.mark.parametrize("bad", [r"a\xb", r"50\%", r"under\_score", "trailing\\"])
def test_invalid_escapes_outside_like_are_refused(bad: str) -> None:
    with pytest.raises(SoqlError) as err:
        parse(f"SELECT Id FROM Contact WHERE LastName = '{bad}'")
    assert err.value.code == "MALFORMED_QUERY"


def test_like_wildcards_escapes_and_case() -> None:
    where = parse(r"SELECT Id FROM Account WHERE Name LIKE '%50\%\_off%'").where
    pattern = where.value  # type: ignore[union-attr]
    assert pattern.fullmatch("Get 50%_OFF today")
    assert not pattern.fullmatch("Get 50XXoff today")
    single = parse("SELECT Id FROM Account WHERE Name LIKE 'Ac_e'").where.value  # type: ignore[union-attr]
    assert single.fullmatch("ACME") and not single.fullmatch("Acmme")


@pytest.mark.parametrize(("literal", "expected"), [
    ("2024-01-02T03:04:05Z", T0),
    ("2024-01-02T03:04:05+00:00", T0),
    ("2024-01-02T03:04:05.000+0000", T0),
    ("2024-01-02T05:04:05+02:00", T0),
])
def test_datetime_literals_are_unquoted_and_normalised_to_utc(literal: str, expected: datetime) -> None:
    where = parse(f"SELECT Id FROM Contact WHERE SystemModstamp > {literal}").where
    assert where == Condition("SystemModstamp", ">", Literal("datetime", expected))


def test_dates_numbers_booleans_null_not_and_not_in() -> None:
    q = parse("SELECT Id FROM Opportunity WHERE NOT (CloseDate < 2024-03-31 OR Amount >= -12.5) "
              "AND IsWon = TRUE AND AccountId != null AND StageName NOT IN ('Closed Lost')")
    assert q.where == BoolOp("AND", (
        Not(BoolOp("OR", (Condition("CloseDate", "<", Literal("date", date(2024, 3, 31))),
                          Condition("Amount", ">=", Literal("number", -12.5))))),
        Condition("IsWon", "=", Literal("boolean", True)),
        Condition("AccountId", "!=", Literal("null", None)),
        Condition("StageName", "NOT IN", (Literal("string", "Closed Lost"),)),
    ))


def test_keywords_are_case_insensitive() -> None:
    q = parse("select Id from Contact where Email like '%@x.com' order by LastName desc nulls last limit 3")
    assert q.order_by[0].descending and q.order_by[0].nulls_last and q.limit == 3


@pytest.mark.parametrize("text", [
    "",
    "SELECT FROM Contact",
    "SELECT Id Contact",
    "SELECT Id FROM Contact WHERE",
    "SELECT Id FROM Contact WHERE Email = 'open",
    "SELECT Id FROM Contact WHERE Email = 'a' AND LastName = 'b' OR FirstName = 'c'",
    "SELECT Id FROM Contact LIMIT ten",
    "SELECT Id FROM Contact WHERE Email IN 'a'",
    "SELECT Id FROM Contact WHERE CreatedDate > TODAY",
    "SELECT Id FROM Contact ORDER BY",
    "SELECT Id FROM Contact extra",
])
def test_malformed_queries(text: str) -> None:
    with pytest.raises(SoqlError) as err:
        parse(text)
    assert err.value.code == "MALFORMED_QUERY"


# --- evaluation against rows (what the emulator answers) ---------------------------------------
ROWS = [
    {"Id": "003Dn0000000001IAA", "LastName": "Zed", "Email": "Pat@Example.COM", "SystemModstamp":
        "2024-01-02T03:04:05.000+0000", "AccountId": None},
    {"Id": "003Dn0000000002IAA", "LastName": "adams", "Email": None, "SystemModstamp":
        "2024-01-02T03:04:05.000+0000", "AccountId": "001Dn0000000001IAA"},
    {"Id": "003Dn0000000003IAA", "LastName": "Baker", "Email": "kim@other.org", "SystemModstamp":
        "2024-02-01T00:00:00.000+0000", "AccountId": None},
]
ACCOUNTS = {"001Dn0000000001IAA": {"Id": "001Dn0000000001IAA", "Name": "Acme"}}


def run(text: str) -> list[dict]:
    return query.run(parse(text), ROWS, lambda obj, rid: ACCOUNTS.get(rid) if obj == "Account" else None,
                     "59.0")


def ids(rows: list[dict]) -> list[str]:
    return [r["Id"][-6:-3] for r in rows]


def test_string_comparisons_ignore_case() -> None:
    assert ids(run("SELECT Id FROM Contact WHERE Email = 'pat@example.com'")) == ["001"]
    assert ids(run("SELECT Id FROM Contact WHERE email IN ('PAT@EXAMPLE.com', 'x@y.z')")) == ["001"]
    assert ids(run("SELECT Id FROM Contact WHERE Email LIKE '%EXAMPLE%'")) == ["001"]


def test_null_semantics_match_salesforce() -> None:
    assert ids(run("SELECT Id FROM Contact WHERE Email != 'pat@example.com'")) == ["002", "003"]
    assert ids(run("SELECT Id FROM Contact WHERE Email = null")) == ["002"]
    assert ids(run("SELECT Id FROM Contact WHERE Email LIKE '%'")) == ["001", "003"]


def test_datetime_filter_order_limit_and_projection() -> None:
    rows = run("SELECT Id, LastName, Account.Name FROM Contact WHERE SystemModstamp >= 2024-01-02T03:04:05Z "
               "ORDER BY SystemModstamp DESC, LastName LIMIT 2")
    assert ids(rows) == ["003", "002"]
    assert rows[1]["Account"]["Name"] == "Acme" and rows[1]["Account"]["attributes"]["type"] == "Account"
    assert rows[0]["Account"] is None
    assert list(rows[0]) == ["attributes", "Id", "LastName", "Account"]


def test_order_by_text_is_case_insensitive_with_nulls_first() -> None:
    assert ids(run("SELECT Id FROM Contact ORDER BY LastName")) == ["002", "003", "001"]
    assert ids(run("SELECT Id FROM Contact ORDER BY Email")) == ["002", "003", "001"]
    assert ids(run("SELECT Id FROM Contact ORDER BY Email DESC")) == ["001", "003", "002"]


def test_unknown_field_and_wrong_literal_type() -> None:
    with pytest.raises(SoqlError) as err:
        run("SELECT Id, Emial FROM Contact")
    assert err.value.code == "INVALID_FIELD" and "Emial" in err.value.message
    with pytest.raises(SoqlError) as err:
        run("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'")
    assert err.value.code == "MALFORMED_QUERY"
    with pytest.raises(SoqlError) as err:
        run("SELECT Id FROM Nope__c")
    assert err.value.code == "INVALID_TYPE"
