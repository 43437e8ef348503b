"""`duplicates` without emulators: clustering, suggestions and masking over records a fake connector yields."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import sync_engine.duplicates
from connectors.base import CallCounter, Record
from sync_engine.duplicates import MatchRule, find_duplicates, normalize_name, render_csv, render_json, render_text
from sync_engine.identity import EmailOptions
from sync_engine.mapping import load_mapping

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


class _Connector:
    """Yields the given records in pages of two, counting one read call a page."""

    def __init__(self, records: list[Record]) -> None:
        self.records, self.calls = records, CallCounter()

    def read(self, object: str, since: datetime | None, fields: Sequence[str]) -> Iterator[list[Record]]:
        assert since is None
        for i in range(0, len(self.records), 2):
            self.calls.read += 1
            yield self.records[i:i + 2]


def _app(system: str, file: str, records: list[Record]) -> Any:
    mapping = load_mapping(MAPPINGS / system / file)
    return SimpleNamespace(config=SimpleNamespace(systems={system: None}, path=Path("config.toml"),
                                                  mappings_dir=MAPPINGS),
                           mappings={(system, mapping.object): mapping}, connectors={system: _Connector(records)})


def _contact(rid: str, email: str | None, first: str = "Zoë", last: str = "Núñez", **more: Any) -> Record:
    return Record("Contact", rid, {"Email": email, "FirstName": first, "LastName": last, **more}, T0)


def test_the_public_names_are_pinned() -> None:
    assert sorted(sync_engine.duplicates.__all__) == [
        "CSV_COLUMNS", "Cluster", "DuplicateReport", "MatchRule", "Member", "Suggestion", "as_json",
        "find_duplicates", "normalize_name", "render_csv", "render_json", "render_text"]


@pytest.mark.parametrize(("raw", "company", "expected"), [
    ("  Zoë   Núñez ", False, "zoe nunez"),
    ("O'Brien-Smith", False, "o brien smith"),
    ("Acme Widgets, Inc.", True, "acme widgets"),
    ("Acme & Sons GmbH", True, "acme and sons"),
    ("Inc", True, "inc"),            # a name that is only a legal form keeps it
    ("Acme Inc", False, "acme inc"),  # people keep every word
    (None, False, ""),
])
def test_names_are_folded_for_suggestions(raw: str | None, company: bool, expected: str) -> None:
    assert normalize_name(raw, company=company) == expected


def test_clusters_suggestions_and_what_is_left_out() -> None:
    app = _app("salesforce", "contact.toml", [
        _contact("003A", "Zoë.Núñez@Dup.example.co.uk", Phone="+1"),
        _contact("003B", "mailto:zoë.núñez@dup.example.co.uk"),
        _contact("003C", "zoe.nunez@dup.example.co.uk"),   # accents dropped: another address, a suggestion
        _contact("003D", "not an email"),
        _contact("003E", None),
        _contact("003F", "j.smith@gmail.com", "Jo", "Smith"),
        _contact("003G", "jsmith@gmail.com", "Jo", "Smith"),  # free-mail: no company domain, no suggestion
        Record("Contact", "003H", {"Email": "zoe.nunez@dup.example.co.uk"}, T0, deleted=True),
    ])
    report = find_duplicates(app, "salesforce", "Contact")
    assert [(c.rule, c.key, [m.id for m in c.members]) for c in report.clusters] == [
        (MatchRule.SAME_EMAIL, "zoë.núñez@dup.example.co.uk", ["003A", "003B"])]
    assert report.clusters[0].steps == ("lower-cased", "removed 'mailto:'")
    assert [(s.key, [m.id for m in s.members]) for s in report.suggestions] == [
        ("zoe nunez @ example.co.uk", ["003A", "003B", "003C"])]
    assert (report.records_read, report.without_key, report.read_calls) == (7, 2, 4)
    assert report.records_in_clusters == 2

    folded = find_duplicates(app, "salesforce", "Contact", options=EmailOptions(fold_gmail_dots=True))
    assert [c.key for c in folded.clusters] == ["jsmith@gmail.com", "zoë.núñez@dup.example.co.uk"]
    assert "removed dots (Gmail ignores them)" in folded.clusters[0].steps

    text = render_text(report)
    assert "Zoë" not in text and "zoë.núñez" not in text and "z*** n*** @ example.co.uk" in text
    assert "z***@dup.example.co.uk" in text and "m***" not in text  # `mailto:` is not taken for the initial
    assert "zoë.núñez@dup.example.co.uk" in render_text(report, show_pii=True)
    assert "Zoë" not in render_json(report) and "Zoë" not in render_csv(report)


def test_a_record_the_mapping_refuses_is_counted_not_clustered() -> None:
    app = _app("hubspot", "companies.toml", [
        Record("companies", "1", {"name": "Dup", "domain": "dup.com", "numberofemployees": "12"}, T0),
        Record("companies", "2", {"name": "Dup", "domain": "dup.com", "numberofemployees": "twelve"}, T0),
        Record("companies", "3", {"name": "Dup", "domain": "www.dup.com"}, T0),
    ])
    report = find_duplicates(app, "hubspot", "companies")
    assert report.not_mapped == ("2",)
    assert [(c.key, [m.id for m in c.members]) for c in report.clusters] == [("dup.com", ["1", "3"])]
    assert [m.filled for m in report.clusters[0].members] == [3, 2]
    assert "1 not mapped (see `revhub explain`)" in render_text(report)
    assert render_csv(report).splitlines()[1].startswith("cluster,1,same_domain,dup.com,1,dup.com,dup.com,,Dup,")
