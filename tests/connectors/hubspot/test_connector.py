"""HubSpotConnector against the real emulator over HTTP: reads, lookups, batch writes, errors and retries."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ConnectorSettings, Secret, WriteOp
from connectors.emulator import EmulatorServer
from connectors.errors import ConnectorError, FailureCode
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator
from tests.connectors.hubspot.conftest import Admin, contact

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _stamp(seconds: float) -> str:
    moment = T0 + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_incremental_read_is_inclusive_ascending_and_keeps_boundary_ties(
    connector: HubSpotConnector, admin: Admin
) -> None:
    admin.seed(
        {
            "companies": [{"id": "5", "properties": {"name": "Acme"}}],
            "contacts": [
                contact("1", "a@x.com", _stamp(1)),
                contact("2", "b@x.com", _stamp(5)),
                contact("3", "c@x.com", _stamp(5)),
                contact("4", "d@x.com", _stamp(9)),
            ],
            "associations": [
                {
                    "from": {"object": "contacts", "id": "3"},
                    "to": {"object": "companies", "id": "5"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
                }
            ],
        }
    )
    records = [
        r
        for page in connector.read("contacts", T0 + timedelta(seconds=5), ["email", "firstname"])
        for r in page
    ]
    assert [r.id for r in records] == ["2", "3", "4"]  # both records at the boundary stamp come back
    assert records[0].fields == {"email": "b@x.com", "firstname": None}
    assert records[0].modified_at == T0 + timedelta(seconds=5) and records[0].modified_at.tzinfo is not None
    assert records[1].links == {"companies": ("5",)} and records[0].links == {}
    everything = [r.id for page in connector.read("contacts", None, ["email"]) for r in page]
    assert everything == ["1", "2", "3", "4"]


def test_read_restarts_past_the_search_cap_without_losing_or_repeating(
    connector: HubSpotConnector, admin: Admin, emulator: HubSpotEmulator
) -> None:
    # 10,050 contacts, seven to a stamp, so the restart lands inside a run of equal stamps.
    emulator.rate_limits.search_per_second = 1_000
    admin.seed({"contacts": [contact(str(10_000 + i), f"p{i}@x.com", _stamp(i // 7)) for i in range(10_050)]})
    started = time.monotonic()
    pages = list(connector.read("contacts", None, ["email"]))
    ids = [r.id for page in pages for r in page]
    assert len(ids) == len(set(ids)) == 10_050
    stamps = [r.modified_at for page in pages for r in page]
    assert stamps == sorted(stamps)
    stats = admin.stats()
    assert stats["POST /crm/v3/objects/{object}/search"] == connector.calls.read
    assert connector.calls.read == 10_000 // 200 + 1  # 50 pages up to the cap, then one restarted search
    assert time.monotonic() - started < 20


def test_lookup_matches_emails_case_insensitively(connector: HubSpotConnector, admin: Admin) -> None:
    admin.seed(
        {
            "contacts": [contact("1", "Ann@Acme.com"), contact("2", "bob@acme.com")],
            "companies": [
                {
                    "id": "7",
                    "properties": {"name": "Acme", "domain": "acme.com", "website": "https://www.acme.com/"},
                }
            ],
        }
    )
    found = connector.lookup("contacts", "email", ["ANN@acme.COM", " bob@ACME.com ", "ghost@acme.com"])
    assert sorted((r.id, r.fields["email"]) for r in found) == [("1", "ann@acme.com"), ("2", "bob@acme.com")]
    assert [r.id for r in connector.lookup("contacts", "firstname", ["nobody"])] == []
    assert [r.id for r in connector.lookup("companies", "domain", ["ACME.com"])] == ["7"]
    assert [r.id for r in connector.lookup("companies", "website", ["acme.com"])] == ["7"]
    assert [r.id for r in connector.lookup("companies", "name", ["acme"])] == ["7"]


def test_creates_go_in_batches_of_100(connector: HubSpotConnector, admin: Admin) -> None:
    ops = [WriteOp(f"r{i}", None, {"email": f"new{i}@x.com", "firstname": f"N{i}"}) for i in range(250)]
    results = connector.write("contacts", ops)
    assert [r.ref for r in results] == [op.ref for op in ops]
    assert all(r.ok and r.created and r.id for r in results)
    # no email is taken: plain batch creates, none re-sent as upserts (docs/decisions.md 14)
    assert admin.stats()["POST /crm/v3/objects/{object}/batch/create"] == math.ceil(250 / 100)
    assert "POST /crm/v3/objects/{object}/batch/upsert" not in admin.stats()
    assert connector.calls.write == 3
    stored = {c["properties"]["email"]: c["id"] for c in admin.dump("contacts")}
    assert all(stored[f"new{i}@x.com"] == results[i].id for i in range(250))


def test_refused_records_get_their_own_codes_while_the_rest_are_written(
    connector: HubSpotConnector, admin: Admin
) -> None:
    admin.seed({"contacts": [contact("1", "taken@x.com"), contact("2", "keep@x.com")]})
    creates = [
        WriteOp("ok1", None, {"email": "fine1@x.com"}),
        WriteOp("drift", None, {"email": "d@x.com", "favourite_colour": "red"}),
        WriteOp("pick", None, {"email": "p@x.com", "lifecyclestage": "Lead"}),
        WriteOp("mail", None, {"email": "not-an-email"}),
        WriteOp("dupe", None, {"email": "TAKEN@x.com"}),  # refused as taken, re-sent as an upsert by email
        WriteOp("ok2", None, {"email": "fine2@x.com"}),
    ]
    updates = [
        WriteOp("u-ok", "2", {"jobtitle": "CEO"}),
        WriteOp("u-bad", "2", {"lifecyclestage": "nope"}),
        WriteOp("u-gone", "999", {"jobtitle": "x"}),
        WriteOp("u-ok2", "1", {"firstname": "Tia"}),
    ]
    results = {r.ref: r for r in connector.write("contacts", creates + updates)}
    codes = {ref: (r.error.code if r.error else None) for ref, r in results.items()}
    assert codes == {
        "ok1": None,
        "drift": FailureCode.SCHEMA_DRIFT,
        "pick": FailureCode.PICKLIST_MISMATCH,
        "mail": FailureCode.REMOTE_REJECTED,
        "dupe": None,
        "ok2": None,
        "u-ok": None,
        "u-bad": FailureCode.PICKLIST_MISMATCH,
        "u-gone": FailureCode.RECORD_NOT_FOUND,
        "u-ok2": None,
    }
    assert results["drift"].error and results["drift"].error.fields == ("favourite_colour",)
    stored = {c["properties"]["email"]: c["properties"] for c in admin.dump("contacts")}
    assert {"fine1@x.com", "fine2@x.com"} <= set(stored) and "d@x.com" not in stored
    assert stored["keep@x.com"]["jobtitle"] == "CEO" and stored["taken@x.com"]["firstname"] == "Tia"
    assert results["dupe"].id == "1" and not results["dupe"].created, "the existing contact, not a twin"
    assert sum(1 for c in admin.dump("contacts") if c["properties"]["email"].lower() == "taken@x.com") == 1


def test_deals_are_created_and_updated_with_their_associations(
    connector: HubSpotConnector, admin: Admin
) -> None:
    admin.seed(
        {
            "companies": [{"id": "5", "properties": {"name": "Acme"}}],
            "contacts": [contact("101", "ann@acme.com"), contact("102", "bob@acme.com")],
            "deals": [{"id": "900", "properties": {"dealname": "Old", "dealstage": "closedwon"}}],
        }
    )
    results = connector.write(
        "deals",
        [
            WriteOp(
                "new",
                None,
                {"dealname": "Big", "dealstage": "contractsent", "amount": 5000},
                {"companies": ("5",), "contacts": ("101", "102")},
            ),
            WriteOp("old", "900", {"amount": "10"}, {"contacts": ("101",)}),
            WriteOp("c-missing", "900", {"amount": "11"}, {"companies": ("4040",)}),
        ],
    )
    assert results[0].ok and results[0].created and results[1].ok
    assert results[2].error is not None and results[2].error.code is FailureCode.RECORD_NOT_FOUND
    links = {
        (a["from"]["id"], a["to"]["object"], a["to"]["id"]): {t["associationTypeId"] for t in a["types"]}
        for a in admin.dump("associations")
    }
    deal = results[0].id
    assert links[(deal, "companies", "5")] == {5, 341}  # primary company, plus the unlabeled link
    assert links[(deal, "contacts", "101")] == {3} and links[(deal, "contacts", "102")] == {3}
    assert links[("900", "contacts", "101")] == {3}
    read = {r.id: r for page in connector.read("deals", None, ["dealname", "amount"]) for r in page}
    assert read[deal].links == {"companies": ("5",), "contacts": ("101", "102")}
    assert read[deal].fields == {"dealname": "Big", "amount": "5000"}  # strings, as on the wire
    assert read["900"].links == {"contacts": ("101",)}


def test_rate_limited_calls_are_retried_until_they_succeed(connector: HubSpotConnector, admin: Admin) -> None:
    admin.seed({"contacts": [contact("1", "a@x.com", _stamp(1))]})
    admin.faults(rate_429=0.6, seed=7)
    pages = list(connector.read("contacts", None, ["email"]))
    assert [r.id for page in pages for r in page] == ["1"]
    assert connector.calls.read > 1  # the 429s were real calls, counted, then retried


def test_window_429_without_retry_after_waits_the_configured_time(
    connector: HubSpotConnector, emulator: HubSpotEmulator
) -> None:
    emulator.rate_limits.per_10s = 1
    connector.check()
    with pytest.raises(ConnectorError) as caught:  # the window stays shut for 10 s: retries are bounded
        connector.check()
    assert (
        caught.value.code is FailureCode.RATE_LIMITED and caught.value.vendor_code == "TEN_SECONDLY_ROLLING"
    )
    assert connector.calls.read == 1 + 5


def test_expired_token_is_auth_expired_and_not_retried(connector: HubSpotConnector, admin: Admin) -> None:
    admin.faults(expire_tokens=["pat-test-token"])
    with pytest.raises(ConnectorError) as caught:
        connector.check()
    assert caught.value.code is FailureCode.AUTH_EXPIRED and caught.value.status == 401
    assert connector.calls.read == 1


def test_daily_quota_and_outages_map_to_their_codes(
    connector: HubSpotConnector, admin: Admin, emulator: HubSpotEmulator
) -> None:
    emulator.rate_limits.daily = 0
    with pytest.raises(ConnectorError) as caught:
        connector.describe("contacts")
    assert caught.value.code is FailureCode.DAILY_QUOTA_EXHAUSTED and connector.calls.read == 1
    emulator.rate_limits.daily = 1_000_000
    admin.faults(rate_5xx=1.0)
    with pytest.raises(ConnectorError) as outage:
        connector.write("companies", [WriteOp("x", None, {"name": "Acme"})])
    assert outage.value.code is FailureCode.REMOTE_UNAVAILABLE and connector.calls.write == 5
    assert admin.dump("companies") == []


def test_unreachable_host_is_a_network_error(server: EmulatorServer) -> None:
    dead = EmulatorServer(HubSpotEmulator())
    url = dead.url
    dead.httpd.server_close()  # the port is free again: nothing listens there
    conn = HubSpotConnector(
        ConnectorSettings(
            "hubspot", url, Secret("t"), {"retry_attempts": 2, "retry_max_wait": 0.01}, timeout=2
        )
    )
    with pytest.raises(ConnectorError) as caught:
        conn.check()
    assert caught.value.code is FailureCode.NETWORK and conn.calls.read == 2


def test_describe_returns_types_picklists_and_writability(connector: HubSpotConnector) -> None:
    deals = connector.describe("deals")
    assert {"closedwon", "closedlost", "1003"} <= set(deals.fields["dealstage"].picklist)
    assert deals.fields["amount"].type == "number" and deals.fields["amount"].updateable
    assert not deals.fields["hs_is_closed_won"].updateable and not deals.fields["hs_object_id"].createable
    contacts = connector.describe("contacts")
    assert contacts.fields["lifecyclestage"].picklist[:2] == ("subscriber", "lead")
    assert not contacts.fields["lastmodifieddate"].updateable
    assert connector.calls.read == 2
