"""The HubSpot emulator over real HTTP: every answer checked against HubSpot's published OpenAPI specs.

Each call goes through `Api.call`, which validates status and body with openapi-core against the spec
that owns the path (deals are `/crm/v3/objects/0-3` there; owners have no trailing slash). Pipelines have no
spec in the collection: their shape is asserted directly.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from connectors.emulator import EmulatorServer
from connectors.hubspot.emulator import HubSpotEmulator
from tests.connectors.hubspot.conftest import Admin, contact

SPECS = (Path(__file__).resolve().parents[3] / "../shared/specs/hubspot").resolve()
if not SPECS.is_dir():
    pytest.skip(f"HUBSPOT SPEC CONFORMANCE SKIPPED: no specs at {SPECS}", allow_module_level=True)

SPEC_OF = {
    "/crm/v3/objects/contacts": "contacts-v3.json",
    "/crm/v3/objects/companies": "companies-v3.json",
    "/crm/v3/objects/deals": "deals-v3.json",
    "/crm/v4/": "associations-v4.json",
    "/crm/v3/owners": "owners-v3.json",
    "/crm/v3/properties/": "properties-v3.json",
}
AUTH = {"Authorization": "Bearer pat-test"}


def _drop_empty_content(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("content") == {}:
            del node["content"]
        for value in node.values():
            _drop_empty_content(value)
    elif isinstance(node, list):
        for value in node:
            _drop_empty_content(value)


@cache
def _spec(name: str) -> OpenAPI:
    """The spec, with two quirks of the published files read the way HubSpot means them, since openapi-core
    would otherwise fail every answer: error bodies declared `*/*` are JSON, and a 204's `content: {}` means
    no body."""
    spec = json.loads((SPECS / name).read_text(encoding="utf-8").replace('"*/*"', '"application/json"'))
    _drop_empty_content(spec)
    return OpenAPI.from_dict(spec)


class Api:
    """Calls the emulator and validates every answer against the spec owning its path."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.validated = 0

    def call(
        self, method: str, path: str, *, expect: int, token: str | None = "pat-test", **kw: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = requests.request(method, self.url + path, headers=headers, timeout=10, **kw)
        assert resp.status_code == expect, resp.text
        spec = next((v for k, v in SPEC_OF.items() if path.startswith(k)), None)
        if spec:
            canonical = path.replace("/objects/deals", "/objects/0-3")
            if canonical.startswith("/crm/v3/owners/?"):  # the client's trailing slash; the spec has none
                canonical = canonical.replace("/owners/?", "/owners?", 1)
            req = requests.Request(method, "https://api.hubapi.com" + canonical, json=kw.get("json"))
            _spec(spec).validate_response(RequestsOpenAPIRequest(req), RequestsOpenAPIResponse(resp))
            self.validated += 1
        return resp


@pytest.fixture
def api(server: EmulatorServer, emulator: HubSpotEmulator) -> Api:
    return Api(server.url)


def _seed_basics(admin: Admin) -> None:
    admin.seed(
        {
            "companies": [{"id": "5", "properties": {"name": "Acme", "domain": "acme.com"}}],
            "contacts": [contact("101", "Ann@Acme.com", firstname="Ann")],
            "owners": [
                {"id": "77", "email": "rep@acme.com", "firstName": "Rita", "lastName": "Rep", "userId": 9001}
            ],
        }
    )


def test_single_record_lifecycle_matches_the_spec(api: Api, admin: Admin) -> None:
    _seed_basics(admin)
    created = api.call(
        "POST",
        "/crm/v3/objects/contacts",
        expect=201,
        json={
            "properties": {"email": "Bob@Acme.COM", "firstname": "Bob", "jobtitle": None},
            "associations": [],
        },
    ).json()
    assert created["properties"]["email"] == "bob@acme.com"  # HubSpot stores emails lower-cased
    assert created["properties"]["hs_object_id"] == created["id"] and created["id"].isdigit()
    got = api.call(
        "GET", "/crm/v3/objects/contacts/bob@acme.com?idProperty=email&properties=email,firstname", expect=200
    ).json()
    assert got["id"] == created["id"] and set(got["properties"]) == {"email", "firstname"}
    patched = api.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{created['id']}",
        expect=200,
        json={"properties": {"lifecyclestage": "lead"}},
    ).json()
    assert patched["properties"]["lastmodifieddate"] >= created["properties"]["lastmodifieddate"]
    assert patched["updatedAt"] == patched["properties"]["lastmodifieddate"]
    api.call("DELETE", f"/crm/v3/objects/contacts/{created['id']}", expect=204)
    missing = api.call("GET", f"/crm/v3/objects/contacts/{created['id']}", expect=404).json()
    assert missing["category"] == "OBJECT_NOT_FOUND"
    archived = api.call("GET", "/crm/v3/objects/contacts?archived=True", expect=200).json()["results"]
    assert [r["id"] for r in archived] == [created["id"]] and archived[0]["archived"] is True


def test_list_pages_with_an_opaque_cursor_and_caps_limit(api: Api, admin: Admin) -> None:
    admin.seed({"companies": [{"id": str(i), "properties": {"name": f"Co {i}"}} for i in range(1, 26)]})
    seen, after, pages = [], "", 0
    while True:
        body = api.call(
            "GET", f"/crm/v3/objects/companies?limit=10&properties=name&properties=domain{after}", expect=200
        ).json()
        pages += 1
        seen += [r["id"] for r in body["results"]]
        if "paging" not in body:
            break
        cursor = body["paging"]["next"]["after"]
        assert not cursor.isdigit() and cursor in body["paging"]["next"]["link"]
        after = f"&after={cursor}"
    assert pages == 3 and seen == [str(i) for i in range(1, 26)]
    api.call("GET", "/crm/v3/objects/companies?limit=101", expect=400)
    default = api.call("GET", "/crm/v3/objects/companies", expect=200).json()
    assert len(default["results"]) == 10 and set(default["results"][0]["properties"]) == {
        "name",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_validation_errors_carry_hubspot_codes(api: Api, admin: Admin) -> None:
    _seed_basics(admin)
    cases = [
        ("contacts", {"email": "x@y.com", "favourite_colour": "red"}, "PROPERTY_DOESNT_EXIST"),
        ("contacts", {"email": "not-an-email"}, "INVALID_EMAIL"),
        ("contacts", {"email": "z@y.com", "lifecyclestage": "Lead"}, "INVALID_OPTION"),
        ("contacts", {"email": "w@y.com", "hs_object_id": "5"}, "READ_ONLY_VALUE"),
        (
            "deals",
            {"dealname": "D", "dealstage": "1001"},
            "INVALID_OPTION",
        ),  # a Renewals stage, default pipeline
    ]
    for obj, props, code in cases:
        body = api.call(
            "POST", f"/crm/v3/objects/{obj}", expect=400, json={"properties": props, "associations": []}
        ).json()
        assert body["category"] == "VALIDATION_ERROR" and code in body["message"]
        assert [e["code"] for e in body["errors"]] == [code]
    renewal = api.call(
        "POST",
        "/crm/v3/objects/deals",
        expect=201,
        json={
            "properties": {"dealname": "R", "pipeline": "75e28846", "dealstage": "1003"},
            "associations": [],
        },
    ).json()
    assert renewal["properties"]["hs_is_closed_won"] == "true"
    dup = api.call(
        "POST",
        "/crm/v3/objects/contacts",
        expect=409,
        json={"properties": {"email": "ANN@acme.com"}, "associations": []},
    ).json()
    assert dup["category"] == "CONFLICT" and dup["message"] == "Contact already exists. Existing ID: 101"


def test_batch_endpoints_cap_inputs_and_answer_multi_status(api: Api, admin: Admin) -> None:
    _seed_basics(admin)
    base = "/crm/v3/objects/contacts/batch"
    too_many = {"inputs": [{"properties": {"email": f"u{i}@x.com"}} for i in range(101)]}
    assert (
        api.call("POST", f"{base}/create", expect=400, json=too_many).json()["category"] == "VALIDATION_ERROR"
    )
    good = {"properties": {"email": "g@x.com"}, "associations": [], "objectWriteTraceId": "t1"}
    bad = {"properties": {"email": "nope"}, "associations": [], "objectWriteTraceId": "t2"}
    multi = api.call("POST", f"{base}/create", expect=207, json={"inputs": [good, bad]}).json()
    assert multi["numErrors"] == 1 and multi["errors"][0]["context"] == {"objectWriteTraceId": ["t2"]}
    assert [r["objectWriteTraceId"] for r in multi["results"]] == ["t1"]
    # Without trace ids the batch is all-or-nothing: nothing of it is written.
    untraced = [
        {"properties": {"email": "h@x.com"}, "associations": []},
        {"properties": {"email": "no"}, "associations": []},
    ]
    api.call("POST", f"{base}/create", expect=400, json={"inputs": untraced})
    assert "h@x.com" not in {r["properties"].get("email") for r in admin.dump("contacts")}
    read = api.call(
        "POST",
        f"{base}/read",
        expect=207,
        json={
            "inputs": [{"id": "ANN@acme.com"}, {"id": "ghost@x.com"}],
            "idProperty": "email",
            "properties": ["email"],
            "propertiesWithHistory": [],
        },
    ).json()
    assert [r["id"] for r in read["results"]] == ["101"] and read["errors"][0]["context"]["ids"] == [
        "ghost@x.com"
    ]
    upd = api.call(
        "POST",
        f"{base}/update",
        expect=207,
        json={"inputs": [{"id": "101", "properties": {"jobtitle": "CFO"}}, {"id": "999", "properties": {}}]},
    ).json()
    assert (
        upd["results"][0]["properties"]["jobtitle"] == "CFO"
        and upd["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    )
    ups = api.call(
        "POST",
        f"{base}/upsert",
        expect=200,
        json={
            "inputs": [
                {"id": "ann@acme.com", "idProperty": "email", "properties": {"lastname": "Lee"}},
                {"id": "new@x.com", "idProperty": "email", "properties": {"firstname": "Nu"}},
            ]
        },
    ).json()
    assert sorted(r["new"] for r in ups["results"]) == [False, True]
    api.call("POST", f"{base}/archive", expect=204, json={"inputs": [{"id": "101"}]})
    api.call("GET", "/crm/v3/objects/contacts/101", expect=404)


def test_merge_archives_the_loser_and_records_it(api: Api, admin: Admin) -> None:
    admin.seed(
        {
            "companies": [
                {"id": "5", "properties": {"name": "Acme"}},
                {"id": "6", "properties": {"name": "Acme Inc", "domain": "acme.com"}},
            ]
        }
    )
    merged = api.call(
        "POST",
        "/crm/v3/objects/companies/merge",
        expect=200,
        json={"primaryObjectId": "5", "objectIdToMerge": "6"},
    ).json()
    assert merged["id"] == "5" and merged["properties"]["hs_merged_object_ids"] == "6"
    assert merged["properties"]["domain"] == "acme.com" and merged["properties"]["name"] == "Acme"
    api.call("GET", "/crm/v3/objects/companies/6", expect=404)


SEARCH_SEED = [
    contact("1", "ann@acme.com", "2026-01-01T00:00:01.000Z", firstname="Ann", lifecyclestage="lead"),
    contact("2", "bob@acme.com", "2026-01-01T00:00:02.000Z", firstname="Bob", lifecyclestage="customer"),
    contact("3", "cy@other.org", "2026-01-01T00:00:03.000Z", firstname="Cy"),
]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "EQ", "propertyName": "email", "value": "ANN@acme.com"}, ["1"]),
        ({"operator": "NEQ", "propertyName": "firstname", "value": "ann"}, ["2", "3"]),
        ({"operator": "LT", "propertyName": "lastmodifieddate", "value": "1767225602000"}, ["1"]),
        ({"operator": "LTE", "propertyName": "lastmodifieddate", "value": "1767225602000"}, ["1", "2"]),
        ({"operator": "GT", "propertyName": "lastmodifieddate", "value": "2026-01-01T00:00:02Z"}, ["3"]),
        ({"operator": "GTE", "propertyName": "lastmodifieddate", "value": "1767225602000"}, ["2", "3"]),
        (
            {
                "operator": "BETWEEN",
                "propertyName": "lastmodifieddate",
                "value": "1767225601500",
                "highValue": "1767225603000",
            },
            ["2", "3"],
        ),
        ({"operator": "IN", "propertyName": "email", "values": ["bob@acme.com", "cy@other.org"]}, ["2", "3"]),
        ({"operator": "IN", "propertyName": "email", "values": ["BOB@ACME.COM"]}, []),  # IN wants lower case
        ({"operator": "NOT_IN", "propertyName": "lifecyclestage", "values": ["lead"]}, ["2", "3"]),
        ({"operator": "HAS_PROPERTY", "propertyName": "lifecyclestage"}, ["1", "2"]),
        ({"operator": "NOT_HAS_PROPERTY", "propertyName": "lifecyclestage"}, ["3"]),
        ({"operator": "CONTAINS_TOKEN", "propertyName": "email", "value": "*@acme.com"}, ["1", "2"]),
        ({"operator": "NOT_CONTAINS_TOKEN", "propertyName": "email", "value": "*@acme.com"}, ["3"]),
        (
            {"operator": "EQ", "propertyName": "lifecyclestage", "value": "LEAD"},
            [],
        ),  # enumerations: case-sensitive
    ],
)
def test_search_operators(api: Api, admin: Admin, flt: dict[str, Any], expected: list[str]) -> None:
    admin.seed({"contacts": SEARCH_SEED})
    body = api.call(
        "POST",
        "/crm/v3/objects/contacts/search",
        expect=200,
        json={
            "filterGroups": [{"filters": [flt]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        },
    ).json()
    assert [r["id"] for r in body["results"]] == expected and body["total"] == len(expected)


def test_search_groups_sort_defaults_and_limits(api: Api, admin: Admin, emulator: HubSpotEmulator) -> None:
    admin.seed({"contacts": SEARCH_SEED})
    emulator.rate_limits.search_per_second = 100  # this test is about search itself, not its rate
    search = "/crm/v3/objects/contacts/search"
    either = {
        "filterGroups": [
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "ann"}]},
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "cy"}]},
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
    }
    body = api.call("POST", search, expect=200, json=either).json()
    assert [r["id"] for r in body["results"]] == ["3", "1"]
    assert set(body["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
    }  # lastname unset: not sent
    six = [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6
    assert (
        api.call("POST", search, expect=400, json={"filterGroups": six}).json()["category"]
        == "VALIDATION_ERROR"
    )
    api.call("POST", search, expect=400, json={"limit": 201})
    two_sorts = {"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]}
    api.call("POST", search, expect=400, json=two_sorts)
    emulator.search_limits.max_results = 2  # the 10,000 cap, shrunk
    first = api.call("POST", search, expect=200, json={"limit": 2}).json()
    assert first["total"] == 3 and first["paging"]["next"]["after"] == "2"
    api.call("POST", search, expect=400, json={"limit": 2, "after": "2"})


def test_ten_second_window_answers_429_with_hubspot_headers(api: Api, emulator: HubSpotEmulator) -> None:
    emulator.rate_limits.per_10s = 3
    for remaining in ("2", "1", "0"):
        r = api.call("GET", "/crm/v3/objects/contacts", expect=200)
        assert r.headers["X-HubSpot-RateLimit-Remaining"] == remaining
        assert r.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    limited = api.call("GET", "/crm/v3/objects/contacts", expect=429)
    body = limited.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert limited.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(1_000_000 - 3)


def test_search_secondly_and_daily_limits(api: Api, emulator: HubSpotEmulator) -> None:
    emulator.rate_limits.search_per_second = 2
    for _ in range(2):
        api.call("POST", "/crm/v3/objects/deals/search", expect=200, json={})
    body = api.call("POST", "/crm/v3/objects/deals/search", expect=429, json={}).json()
    assert body["policyName"] == "SECONDLY" and body["message"] == "You have reached your secondly limit."
    emulator.rate_limits.daily = 2  # the two searches used it up
    assert api.call("GET", "/crm/v3/objects/deals", expect=429).json()["policyName"] == "DAILY"


def test_auth_answers_and_injected_faults(api: Api, admin: Admin) -> None:
    assert (
        api.call("GET", "/crm/v3/objects/contacts", expect=401, token=None).json()["category"]
        == "INVALID_AUTHENTICATION"
    )
    admin.faults(expire_tokens=["pat-test"])
    expired = api.call("GET", "/crm/v3/objects/contacts", expect=401).json()
    assert expired["category"] == "EXPIRED_AUTHENTICATION" and "expired" in expired["message"]
    api.call("GET", "/crm/v3/objects/contacts", expect=200, token="another")
    admin.faults(rate_5xx=1.0)
    assert (
        api.call("GET", "/crm/v3/objects/contacts", expect=503, token="another").json()["status"] == "error"
    )
    admin.faults(rate_5xx=0.0, rate_429=1.0)
    limited = api.call("GET", "/crm/v3/objects/contacts", expect=429, token="another")
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING" and "Retry-After" not in limited.headers


def test_associations_are_two_way_and_set_the_primary_company(api: Api, admin: Admin) -> None:
    _seed_basics(admin)
    admin.seed(
        {
            "companies": [{"id": "6", "properties": {"name": "Beta"}}],
            "deals": [{"id": "900", "properties": {"dealname": "Big", "dealstage": "qualifiedtobuy"}}],
        }
    )
    before = admin.dump("contacts")[0]["properties"]["lastmodifieddate"]
    api.call("PUT", "/crm/v4/objects/contacts/101/associations/default/companies/5", expect=200)
    ann = api.call(
        "GET",
        "/crm/v3/objects/contacts/101?properties=associatedcompanyid,lastmodifieddate&associations=companies",
        expect=200,
    ).json()
    assert ann["properties"]["associatedcompanyid"] == "5" and ann["properties"]["lastmodifieddate"] > before
    assert {a["type"] for a in ann["associations"]["companies"]["results"]} == {
        "contact_to_company",
        "contact_to_company_unlabeled",
    }
    back = api.call("GET", "/crm/v4/objects/companies/5/associations/contacts", expect=200).json()["results"]
    assert back[0]["toObjectId"] == "101" and {t["typeId"] for t in back[0]["associationTypes"]} == {2, 280}
    spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
    api.call("PUT", "/crm/v4/objects/contacts/101/associations/companies/6", expect=201, json=spec)
    assert admin.dump("contacts")[0]["properties"]["associatedcompanyid"] == "6"  # one primary at a time
    v4 = "/crm/v4/associations/deals"
    made = api.call(
        "POST",
        f"{v4}/contacts/batch/create",
        expect=201,
        json={
            "inputs": [
                {
                    "from": {"id": "900"},
                    "to": {"id": "101"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
                }
            ]
        },
    ).json()
    assert made["results"][0]["toObjectId"] == "101"
    api.call(
        "POST",
        f"{v4}/companies/batch/associate/default",
        expect=200,
        json={"inputs": [{"from": {"id": "900"}, "to": {"id": "5"}}]},
    )
    read = api.call(
        "POST",
        "/crm/v4/associations/contacts/deals/batch/read",
        expect=207,
        json={"inputs": [{"id": "101"}, {"id": "5555"}]},
    ).json()
    assert read["results"][0]["to"][0]["toObjectId"] == "900" and read["numErrors"] == 1
    api.call(
        "POST",
        f"{v4}/contacts/batch/archive",
        expect=204,
        json={"inputs": [{"from": {"id": "900"}, "to": [{"id": "101"}]}]},
    )
    api.call("DELETE", "/crm/v4/objects/companies/6/associations/contacts/101", expect=204)
    assert "associatedcompanyid" not in admin.dump("contacts")[0]["properties"]
    left = {(a["from"]["object"], a["to"]["object"], a["to"]["id"]) for a in admin.dump("associations")}
    assert left == {("contacts", "companies", "5"), ("deals", "companies", "5")}
    bad = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]
    api.call("PUT", "/crm/v4/objects/contacts/101/associations/companies/5", expect=400, json=bad)


def test_properties_owners_and_pipelines(api: Api, admin: Admin, server: EmulatorServer) -> None:
    _seed_basics(admin)
    props = {p["name"]: p for p in api.call("GET", "/crm/v3/properties/deals", expect=200).json()["results"]}
    assert "closedwon" in [o["value"] for o in props["dealstage"]["options"]]
    assert props["hs_lastmodifieddate"]["modificationMetadata"]["readOnlyValue"] is True
    email = api.call("GET", "/crm/v3/properties/contacts/email", expect=200).json()
    assert email["hasUniqueValue"] is True
    api.call("GET", "/crm/v3/properties/contacts/nope", expect=404)
    owners = api.call("GET", "/crm/v3/owners/?limit=1", expect=200).json()["results"]
    assert owners[0]["email"] == "rep@acme.com"
    assert api.call("GET", "/crm/v3/owners?email=REP@acme.com", expect=200).json()["results"][0]["id"] == "77"
    api.call("GET", "/crm/v3/owners/9001?idProperty=userId", expect=200)
    pipes = requests.get(f"{server.url}/crm/v3/pipelines/deals", headers=AUTH, timeout=5).json()["results"]
    default = next(p for p in pipes if p["id"] == "default")
    assert [s["id"] for s in default["stages"]][-2:] == ["closedwon", "closedlost"]
    assert default["stages"][-2]["metadata"] == {"isClosed": "true", "probability": "1.0"}
    renewal = next(p for p in pipes if p["id"] != "default")
    stages = requests.get(
        f"{server.url}/crm/v3/pipelines/deals/{renewal['id']}/stages", headers=AUTH, timeout=5
    ).json()["results"]
    assert all(s["id"].isdigit() for s in stages)


def test_admin_stats_count_route_templates(api: Api, admin: Admin, server: EmulatorServer) -> None:
    _seed_basics(admin)
    api.call("GET", "/crm/v3/objects/contacts/101", expect=200)
    api.call("GET", "/crm/v3/objects/companies/5", expect=200)
    api.call("POST", "/crm/v3/objects/deals/search", expect=200, json={})
    stats = requests.get(f"{server.url}/__emulator__/stats", timeout=5).json()
    assert stats["requests"] == {
        "GET /crm/v3/objects/{object}/{id}": 2,
        "POST /crm/v3/objects/{object}/search": 1,
    }
    assert stats["total"] == 3


def test_seed_dir_loads_native_files_and_dump_round_trips(emulator: HubSpotEmulator, tmp_path: Path) -> None:
    (tmp_path / "contacts.json").write_text(
        '[{"id": "101", "properties": {"email": "A@B.co"}, "updatedAt": "2026-01-01T00:00:00.000Z"}]'
    )
    (tmp_path / "companies.json").write_text(
        '[{"id": "102", "properties": {"name": "Acme"}}, {"properties": {"name": "No Id Yet"}}]'
    )
    (tmp_path / "associations.json").write_text(
        '[{"from": {"object": "contacts", "id": "101"}, "to": '
        '{"object": "companies", "id": "102"}, "types": []}]'
    )
    counts = emulator.seed_dir(tmp_path)
    assert counts["contacts"] == 1 and counts["companies"] == 2 and counts["associations"] == 1
    ann = emulator.dump("contacts")[0]
    assert ann["properties"]["email"] == "a@b.co" and ann["updatedAt"] == "2026-01-01T00:00:00.000Z"
    assert ann["properties"]["lastmodifieddate"] == "2026-01-01T00:00:00.000Z"  # seeding keeps the stamps
    assert ann["properties"]["associatedcompanyid"] == "102"
    assigned = emulator.dump("companies")[1]
    assert assigned["id"].isdigit() and assigned["properties"]["hs_object_id"] == assigned["id"]
    assert assigned["createdAt"]  # missing timestamps become "now"
