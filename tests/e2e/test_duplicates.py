"""`duplicates`: clusters inside one system, found on the emulators after seeding variants of the same record."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from sync_engine.duplicates import (
    CSV_COLUMNS,
    DuplicateReport,
    MatchRule,
    find_duplicates,
    render_csv,
    render_json,
    render_text,
)
from sync_engine.errors import ConfigError
from sync_engine.identity import EmailOptions
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _sf_id(prefix: str, n: int) -> str:
    return f"{prefix}5g0000{n:03d}DUPAAA"  # 18 characters, kept as given by the seed


def _hs_person(rid: str, email: str, first: str = "Jane", last: str = "Doe", **more: str) -> dict:
    updated = more.pop("updatedAt", "2026-02-01T10:00:00.000Z")
    return {"id": rid, "properties": {"email": email, "firstname": first, "lastname": last, **more},
            "updatedAt": updated}


def _sf_person(n: int, email: str, first: str = "Jane", last: str = "Doe", **more: str) -> dict:
    return {"Id": _sf_id("003", n), "Email": email, "FirstName": first, "LastName": last, **more}


def _clusters(report: DuplicateReport) -> dict[str, tuple[MatchRule, list[str]]]:
    return {c.key: (c.rule, [m.id for m in c.members]) for c in report.clusters}


def test_salesforce_contacts_written_differently_cluster_by_email_and_typos_do_not(world: World) -> None:
    world.salesforce.emulator.seed({"Contact": [
        _sf_person(1, "Jane.Doe@DupAcme.com", Phone="+1 555 0100", LastModifiedDate="2026-02-01T10:00:00.000+0000"),
        _sf_person(2, "  jane.doe@dupacme.com ", LastModifiedDate="2026-02-03T10:00:00.000+0000"),
        _sf_person(3, "jane.doe@dupacme.com", Title="CEO"),
        _sf_person(4, "jane.deo@dupacme.com"),               # a typo: same name, same company, other email
        _sf_person(5, "jane.doe+news@dupacme.com", first="J", last="D"),  # plus tag kept by default
        _sf_person(6, "jon.smith@dupacme.com", first="Jon", last="Smith"),
        _sf_person(7, "jon.smyth@dupacme.com", first="Jonathan", last="Smith"),  # a typo and another name
    ]})
    app = world.app()
    try:
        report = find_duplicates(app, "salesforce", "Contact")
    finally:
        app.close()

    assert _clusters(report) == {"jane.doe@dupacme.com": (MatchRule.SAME_EMAIL, [_sf_id("003", n) for n in (1, 2, 3)])}
    cluster = report.clusters[0]
    assert cluster.rule.text == "same email after normalization"
    assert set(cluster.steps) == {"lower-cased", "trimmed whitespace"}
    by_id = {m.id: m for m in cluster.members}
    assert by_id[_sf_id("003", 1)].steps == ("lower-cased",)
    assert by_id[_sf_id("003", 2)].steps == ("trimmed whitespace",)
    assert by_id[_sf_id("003", 3)].steps == ()
    assert by_id[_sf_id("003", 2)].modified_at == datetime(2026, 2, 3, 10, tzinfo=UTC)
    # completeness: the one with a phone has one mapped field more than the bare one
    assert by_id[_sf_id("003", 1)].filled == by_id[_sf_id("003", 2)].filled + 1
    assert by_id[_sf_id("003", 1)].mapped == by_id[_sf_id("003", 2)].mapped

    # the typo is not in a cluster, only suggested, with the cluster's members (same name at dupacme.com)
    assert [(s.rule, s.key, sorted({m.key for m in s.members})) for s in report.suggestions] == [
        (MatchRule.SAME_NAME_AND_COMPANY_DOMAIN, "jane doe @ dupacme.com",
         ["jane.deo@dupacme.com", "jane.doe@dupacme.com"])]
    assert not MatchRule.SAME_NAME_AND_COMPANY_DOMAIN.automatic
    assert report.records_read == len(world.data.salesforce["Contact"]) + 7
    assert report.records_in_clusters == 3
    assert report.read_calls >= 1


def test_plus_tags_cluster_only_when_the_options_fold_them(world: World) -> None:
    world.salesforce.emulator.seed({"Contact": [_sf_person(1, "jane.doe@dupacme.com"),
                                                _sf_person(2, "Jane.Doe+News@dupacme.com")]})
    app = world.app()
    try:
        kept = find_duplicates(app, "salesforce", "Contact")
        folded = find_duplicates(app, "salesforce", "Contact", options=EmailOptions(fold_plus_tags=True))
    finally:
        app.close()
    assert kept.clusters == ()
    assert [s.rule for s in kept.suggestions] == [MatchRule.SAME_NAME_AND_COMPANY_DOMAIN]
    assert _clusters(folded) == {"jane.doe@dupacme.com": (MatchRule.SAME_EMAIL, [_sf_id("003", 1), _sf_id("003", 2)])}
    assert folded.clusters[0].steps == ("lower-cased", "folded plus tag '+news'")
    assert folded.suggestions == ()  # one key now: nothing left to suggest
    assert "plus tags folded" in render_text(folded)


def test_hubspot_contacts_cluster_and_emails_are_masked_unless_asked(world: World) -> None:
    # HubSpot stores emails trimmed and lower-cased, so case variants arrive identical.
    world.hubspot.emulator.seed({"contacts": [
        _hs_person("990001", "Jane.Doe@DupAcme.com", updatedAt="2026-02-01T10:00:00.000Z"),
        _hs_person("990002", " jane.doe@dupacme.com", phone="+1 555 0100", updatedAt="2026-02-02T10:00:00.000Z"),
        _hs_person("990003", "info@dupacme.com", first="Info", last="Desk"),
        _hs_person("990004", "INFO@dupacme.com", first="Sales", last="Team"),
    ]})
    app = world.app()
    try:
        report = find_duplicates(app, "hubspot", "contacts")
    finally:
        app.close()
    assert _clusters(report) == {"info@dupacme.com": (MatchRule.SAME_EMAIL, ["990003", "990004"]),
                                 "jane.doe@dupacme.com": (MatchRule.SAME_EMAIL, ["990001", "990002"])}
    info = next(c for c in report.clusters if c.key.startswith("info@"))
    assert info.notes and "role address" in info.notes[0]

    text = render_text(report)
    assert "j***@dupacme.com: same email after normalization (identical as stored)" in text
    assert "jane.doe@" not in text and "Jane" not in text
    assert "990001  modified 2026-02-01T10:00:00Z" in text
    assert "jane.doe@dupacme.com: same email" in render_text(report, show_pii=True)

    doc = json.loads(render_json(report))
    assert doc["pii"] == "masked" and "jane.doe@" not in json.dumps(doc) and "Jane" not in json.dumps(doc)
    assert doc["totals"] == {"records_read": report.records_read, "clusters": 2, "records_in_clusters": 4,
                             "possible_duplicates": 0, "without_key": report.without_key, "free_mail": 0,
                             "not_mapped": 0, "api_read_calls": report.read_calls}
    jane = next(c for c in doc["clusters"] if c["key"] == "j***@dupacme.com")
    assert jane["rule"] == "same_email" and jane["rule_text"] == "same email after normalization"
    assert [m["id"] for m in jane["members"]] == ["990001", "990002"]
    assert set(jane["members"][0]) == {"id", "key", "raw", "steps", "name", "modified_at", "filled", "mapped"}
    assert jane["members"][0]["name"] == "J*** D***"
    assert jane["members"][1]["filled"] == jane["members"][0]["filled"] + 1
    shown = json.loads(render_json(report, show_pii=True))
    assert any(c["key"] == "jane.doe@dupacme.com" for c in shown["clusters"]) and shown["pii"] == "shown"

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["group_type"], r["group"], r["rule"], r["id"]) for r in rows] == [
        ("cluster", "1", "same_email", "990003"), ("cluster", "1", "same_email", "990004"),
        ("cluster", "2", "same_email", "990001"), ("cluster", "2", "same_email", "990002")]
    assert all("@dupacme.com" in r["group_key"] and "***" in r["group_key"] for r in rows)
    assert "jane.doe@dupacme.com" in render_csv(report, show_pii=True)


def test_companies_cluster_by_registrable_domain_and_free_mail_never(world: World) -> None:
    world.salesforce.emulator.seed({"Account": [
        {"Id": _sf_id("001", 1), "Name": "Dupwidget", "Website": "https://www.dupwidget.co.uk",
         "LastModifiedDate": "2026-02-01T10:00:00.000+0000"},
        {"Id": _sf_id("001", 2), "Name": "Dupwidget Ltd", "Website": "dupwidget.co.uk/about", "Phone": "+44 20 1"},
        {"Id": _sf_id("001", 3), "Name": "Dupwidget UK", "Website": "http://shop.dupwidget.co.uk/?ref=x"},
        {"Id": _sf_id("001", 4), "Name": "Dupwidget Inc.", "Website": "dupwidget.com"},   # other domain: suggested
        {"Id": _sf_id("001", 5), "Name": "Dupwidgets", "Website": "dupwidgets.co.uk"},    # a typo: nothing
        {"Id": _sf_id("001", 6), "Name": "Joe's Plumbing", "Website": "https://gmail.com/joe"},
        {"Id": _sf_id("001", 7), "Name": "Ann's Bakery", "Website": "www.gmail.com"},
    ]})
    app = world.app()
    try:
        report = find_duplicates(app, "salesforce", "Account")
    finally:
        app.close()
    assert _clusters(report) == {"dupwidget.co.uk": (MatchRule.SAME_DOMAIN, [_sf_id("001", n) for n in (1, 2, 3)])}
    cluster = report.clusters[0]
    assert cluster.rule.text == "same registrable domain"
    steps = {m.id: m.steps for m in cluster.members}
    assert steps[_sf_id("001", 1)] == ("removed scheme 'https://'", "removed 'www.'")
    assert steps[_sf_id("001", 2)] == ("removed path, query and fragment '/about'",)
    assert "removed subdomain 'shop' (public suffix 'co.uk')" in steps[_sf_id("001", 3)]
    assert report.free_mail == 2  # the two gmail.com websites share a domain and still do not cluster

    assert [(s.rule, s.key, [m.id for m in s.members]) for s in report.suggestions] == [
        (MatchRule.SAME_COMPANY_NAME, "dupwidget", [_sf_id("001", n) for n in (1, 2, 4)])]
    text = render_text(report)
    assert "possible duplicates (not matched automatically):" in text
    assert "2 with a free-mail domain (never a company key)" in text
    assert "dupwidget.co.uk: same registrable domain (removed scheme 'https://'" in text
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [r["group_type"] for r in rows] == ["cluster"] * 3 + ["possible_duplicate"] * 3
    assert rows[0]["raw"] == "https://www.dupwidget.co.uk"  # company websites are not personal data


def test_hubspot_companies_cluster_from_the_domain_property(world: World) -> None:
    world.hubspot.emulator.seed({"companies": [
        {"id": "990101", "properties": {"name": "Dupco", "domain": "dupco.com"}},
        {"id": "990102", "properties": {"name": "Dupco", "domain": "HTTPS://WWW.DUPCO.COM/"}},
        {"id": "990103", "properties": {"name": "Solo", "domain": "hotmail.com"}},
        {"id": "990104", "properties": {"name": "Solo", "domain": "hotmail.com"}},
    ]})
    app = world.app()
    try:
        report = find_duplicates(app, "hubspot", "companies")
    finally:
        app.close()
    assert _clusters(report) == {"dupco.com": (MatchRule.SAME_DOMAIN, ["990101", "990102"])}
    assert {"lower-cased", "removed scheme 'https://'", "removed 'www.'"} <= set(report.clusters[0].steps)
    assert report.free_mail == 2
    # same name, but free-mail domains are no key at all: two keyless records are a suggestion
    assert [(s.key, [m.id for m in s.members]) for s in report.suggestions] == [("solo", ["990103", "990104"])]


def test_an_unknown_system_or_object_is_a_config_error(world: World) -> None:
    app = world.app()
    try:
        with pytest.raises(ConfigError, match="no system named `hubspt`") as exc:
            find_duplicates(app, "hubspt", "contacts")
        assert "hubspot" in exc.value.hint
        with pytest.raises(ConfigError, match=r"no mapping file for salesforce\.Contacts") as exc:
            find_duplicates(app, "salesforce", "Contacts")
        assert "Contact" in exc.value.hint
    finally:
        app.close()


def test_the_sample_data_has_no_duplicates_inside_a_system(world: World) -> None:
    app = world.app()
    try:
        for system, obj in (("hubspot", "contacts"), ("salesforce", "Account"), ("salesforce", "Opportunity")):
            report = find_duplicates(app, system, obj)
            assert report.clusters == () and report.suggestions == (), (system, obj)
            assert "no duplicates found" in render_text(report)
    finally:
        app.close()


def test_cli_duplicates_report_and_usage_errors(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    from sync_engine.cli import main

    assert main(["--config", str(world.config), "duplicates", "--system", "salesforce", "--object", "Contact",
                 "--json"]) == 0
    assert "clusters" in capsys.readouterr().out
    assert main(["--config", str(world.config), "duplicates", "--system", "hubspt", "--object", "contacts"]) == 2
    assert "hubspot" in capsys.readouterr().err
