"""The sample dataset: deterministic, well-formed, and carrying every kind of mess its truth claims."""
from __future__ import annotations

import json
import re
import string
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import tldextract

from sync_engine.sample_data import SampleData, generate, write_seeds

SMALL = {"companies": 20, "contacts": 120, "opportunities": 25}
DEFAULT = {"companies": 300, "contacts": 2400, "opportunities": 400}
FREE_MAIL = {"gmail.com", "yahoo.com", "outlook.com", "hotmail.com"}
SF_PREFIX = {"Account": "001", "Contact": "003", "Opportunity": "006", "User": "005", "RecordType": "012"}
SF_STAGES = {"Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
             "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"}
HS_STAGES = {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
             "contractsent", "closedwon", "closedlost"}
LIFECYCLE = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"}
BASE_DATE = date(2026, 1, 5)
HS_STAMP = re.compile(r"^2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SF_STAMP = re.compile(r"^2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
# Deliberately simple: one @, no whitespace, a dot in the domain, no empty labels.
VALID_EMAIL = re.compile(r"^[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+$")
# The bundled public suffix list only: a test must not fetch it from the network.
registrable = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
Sized = tuple[dict[str, int], SampleData]


@pytest.fixture(scope="module", params=["small", "default"])
def sized(request: pytest.FixtureRequest) -> Sized:
    sizes = SMALL if request.param == "small" else DEFAULT
    return sizes, generate(**sizes)


def norm(email: str) -> str:
    return email.strip().lower()


def by_id(records: list[dict[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in records}


def sf_checksum(id15: str) -> str:
    """Salesforce's documented 15 -> 18 suffix, written out again here rather than imported."""
    out = ""
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start:start + 5]):
            if char in string.ascii_uppercase:
                bits |= 1 << position
        out += (string.ascii_uppercase + "012345")[bits]
    return out


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    assert generate(**SMALL) == generate(**SMALL)
    assert generate(seed=8, **SMALL) != generate(**SMALL)


def test_write_seeds_writes_identical_bytes_one_json_list_per_object(tmp_path: Path) -> None:
    first = write_seeds(tmp_path / "a", generate(**SMALL))
    second = write_seeds(tmp_path / "b", generate(**SMALL))
    assert set(first) == {"hubspot", "salesforce"}
    data = generate(**SMALL)
    for system, objects in (("hubspot", data.hubspot), ("salesforce", data.salesforce)):
        names = sorted(p.name for p in first[system].iterdir())
        assert names == sorted(f"{name}.json" for name in objects)
        for name in names:
            raw = (first[system] / name).read_bytes()
            assert raw == (second[system] / name).read_bytes()
            assert json.loads(raw) == objects[name.removesuffix(".json")]
    assert set(first["hubspot"].parent.iterdir()) == {first["hubspot"], first["salesforce"]}


def test_sizes_and_overlap_add_up(sized: Sized) -> None:
    sizes, data = sized
    truth, hs, sf = data.truth, data.hubspot, data.salesforce
    assert set(hs) == {"contacts", "companies", "deals", "owners", "associations", "properties"}
    assert [p["name"] for p in hs["properties"]] == ["salesforce_opportunity_id", "amount_change_reason"]
    assert set(sf) == {"Account", "Contact", "Opportunity", "User", "RecordType"}
    assert len(truth["companies"]) == sizes["companies"]
    assert len(truth["people"]) + len(truth["invalid_emails"]) == sizes["contacts"]
    assert len(hs["deals"]) + len(sf["Opportunity"]) == sizes["opportunities"]
    assert 0 < len(hs["deals"]) < len(sf["Opportunity"])
    shared_people = sum(1 for ids in truth["people"].values() if ids["hubspot"] and ids["salesforce"])
    assert shared_people == round(sizes["contacts"] * 0.35)
    assert len(hs["contacts"]) + len(sf["Contact"]) == sizes["contacts"] + shared_people
    shared_companies = sum(1 for ids in truth["companies"].values() if ids["hubspot"] and ids["salesforce"])
    assert shared_companies == round(sizes["companies"] * 0.35)
    assert len(hs["companies"]) + len(sf["Account"]) == sizes["companies"] + shared_companies


@pytest.mark.parametrize("overlap", [0.0, 1.0])
def test_overlap_extremes(overlap: float) -> None:
    truth = generate(overlap=overlap, **SMALL).truth
    shared = [ids for ids in truth["companies"].values() if ids["hubspot"] and ids["salesforce"]]
    assert len(shared) == round(SMALL["companies"] * overlap)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(overlap=1.5)
    with pytest.raises(ValueError):
        generate(contacts=-1)


def test_ids_are_unique_and_well_formed(sized: Sized) -> None:
    _, data = sized
    seen: set[str] = set()
    for obj, records in data.salesforce.items():
        for r in records:
            rid = r["Id"]
            assert re.fullmatch(r"[0-9A-Za-z]{18}", rid) and rid.startswith(SF_PREFIX[obj]), rid
            assert rid[15:] == sf_checksum(rid[:15]), rid
            assert r["attributes"] == {"type": obj, "url": f"/services/data/v59.0/sobjects/{obj}/{rid}"}
            assert rid.lower() not in seen  # 18-char ids are unique even compared case-insensitively
            seen.add(rid.lower())
    for obj in ("contacts", "companies", "deals", "owners"):
        ids = [r["id"] for r in data.hubspot[obj]]
        assert all(i.isdigit() for i in ids) and len(set(ids)) == len(ids), obj


def test_native_shapes(sized: Sized) -> None:
    _, data = sized
    for obj in ("contacts", "companies", "deals"):
        for r in data.hubspot[obj]:
            assert set(r) == {"id", "properties", "createdAt", "updatedAt", "archived"}
            assert r["archived"] is False
            props = r["properties"]
            assert all(isinstance(v, str) for v in props.values()), r
            assert props["hs_object_id"] == r["id"] and props["createdate"] == r["createdAt"]
            assert props["lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"] == r["updatedAt"]
            assert HS_STAMP.match(r["createdAt"]) and r["createdAt"] <= r["updatedAt"]
    assert {r["properties"]["lifecyclestage"] for r in data.hubspot["contacts"]} <= LIFECYCLE
    hs_industries = {r["properties"].get("industry") for r in data.hubspot["companies"]} - {None}
    assert hs_industries and all(re.fullmatch(r"[A-Z_]+", i) for i in hs_industries)
    assert {r["properties"]["pipeline"] for r in data.hubspot["deals"]} <= {"default", "75e28846"}
    for owner in data.hubspot["owners"]:
        assert isinstance(owner["userId"], int) and owner["archived"] is False and "@" in owner["email"]
    for records in data.salesforce.values():
        for r in records:
            assert list(r)[:2] == ["attributes", "Id"] and r["IsDeleted"] is False
            assert SF_STAMP.match(r["CreatedDate"]), r
            assert r["CreatedDate"] <= r["LastModifiedDate"] <= r["SystemModstamp"], r
    assert all(isinstance(a["NumberOfEmployees"], int) for a in data.salesforce["Account"])
    sf_industries = {a["Industry"] for a in data.salesforce["Account"]} - {None}
    assert sf_industries and all(i == i.title() != i.upper() for i in sf_industries)  # "Technology"


def test_every_reference_points_at_an_existing_record(sized: Sized) -> None:
    _, data = sized
    accounts, contacts = by_id(data.salesforce["Account"], "Id"), by_id(data.salesforce["Contact"], "Id")
    users = by_id(data.salesforce["User"], "Id")
    for c in data.salesforce["Contact"]:
        assert c["AccountId"] is None or c["AccountId"] in accounts
    assert sum(c["AccountId"] is not None for c in contacts.values()) > 0.8 * len(contacts)
    for opp in data.salesforce["Opportunity"]:
        assert opp["AccountId"] in accounts
        assert contacts[opp["ContactId"]]["AccountId"] == opp["AccountId"]  # a contact of that account
    for r in [*accounts.values(), *contacts.values(), *data.salesforce["Opportunity"]]:
        assert r["OwnerId"] in users
    companies, hs_contacts = by_id(data.hubspot["companies"]), by_id(data.hubspot["contacts"])
    deals, owners = by_id(data.hubspot["deals"]), by_id(data.hubspot["owners"])
    primary = {(a["from"]["id"], a["to"]["id"]) for a in data.hubspot["associations"]
               if a["from"]["object"] == "contacts" and a["types"][0]["associationTypeId"] == 1}
    linked = {(cid, c["properties"]["associatedcompanyid"]) for cid, c in hs_contacts.items()
              if "associatedcompanyid" in c["properties"]}
    assert primary == linked and len(linked) > 0.8 * len(hs_contacts)
    store = {"contacts": hs_contacts, "companies": companies, "deals": deals}
    for a in data.hubspot["associations"]:
        assert a["from"]["id"] in store[a["from"]["object"]] and a["to"]["id"] in store[a["to"]["object"]]
        assert a["types"][0]["associationCategory"] == "HUBSPOT_DEFINED"
    for r in [*companies.values(), *hs_contacts.values(), *deals.values()]:
        assert r["properties"]["hubspot_owner_id"] in owners


def test_truth_points_at_the_records_it_names(sized: Sized) -> None:
    _, data = sized
    hs_contacts, sf_contacts = by_id(data.hubspot["contacts"]), by_id(data.salesforce["Contact"], "Id")
    for key, ids in data.truth["people"].items():
        assert ids["hubspot"] or ids["salesforce"]
        if ids["hubspot"]:
            assert norm(hs_contacts[ids["hubspot"]]["properties"]["email"]) == key
        if ids["salesforce"]:
            assert norm(sf_contacts[ids["salesforce"]]["Email"]) == key
    companies, accounts = by_id(data.hubspot["companies"]), by_id(data.salesforce["Account"], "Id")
    no_website = {i for s, o, i, f in data.truth["missing_required"]
                  if (s, o, f) == ("salesforce", "Account", "Website")}
    for domain, ids in data.truth["companies"].items():
        assert domain not in FREE_MAIL
        if ids["hubspot"]:
            assert companies[ids["hubspot"]]["properties"]["domain"] == domain
        if ids["salesforce"] and ids["salesforce"] not in no_website:
            website = accounts[ids["salesforce"]]["Website"]
            assert registrable(website).top_domain_under_public_suffix.lower() == domain, website


def test_shared_people_differ_only_in_case_and_whitespace(sized: Sized) -> None:
    _, data = sized
    hs_contacts, sf_contacts = by_id(data.hubspot["contacts"]), by_id(data.salesforce["Contact"], "Id")
    pairs = [(hs_contacts[ids["hubspot"]]["properties"]["email"], sf_contacts[ids["salesforce"]]["Email"])
             for ids in data.truth["people"].values() if ids["hubspot"] and ids["salesforce"]]
    assert pairs and all(norm(h) == norm(s) for h, s in pairs)
    assert any(h != h.strip() for h, _ in pairs), "no HubSpot email with surrounding whitespace"
    assert any(h.strip() != h.strip().lower() for h, _ in pairs), "no HubSpot email with upper case"
    assert any(s != s.lower() for _, s in pairs), "no Salesforce email with upper case"
    assert all(s == s.strip() for _, s in pairs)


def test_websites_come_in_every_messy_form(sized: Sized) -> None:
    _, data = sized
    websites = [a["Website"] for a in data.salesforce["Account"] if a["Website"]]
    assert any(w.startswith("https://www.") and w.endswith("/") for w in websites)
    assert any(w.startswith("http://") and not w.startswith("http://www.") for w in websites)
    assert any("://" not in w and "/" in w for w in websites)  # acme.com/about
    assert any(w.startswith("www.") for w in websites)
    assert all(re.fullmatch(r"[a-z0-9.-]+", c["properties"]["domain"]) for c in data.hubspot["companies"])
    domains = list(data.truth["companies"])
    assert any(d.endswith(".co.uk") for d in domains) and any(d.endswith(".com.au") for d in domains)


def test_free_mail_people_exist_and_never_key_a_company(sized: Sized) -> None:
    sizes, data = sized
    free = data.truth["free_mail"]
    assert 0.03 * sizes["contacts"] <= len(free) <= 0.08 * sizes["contacts"]
    assert all(email.split("@")[1] in FREE_MAIL and email in data.truth["people"] for email in free)
    assert not FREE_MAIL & set(data.truth["companies"])
    others = [e for e in data.truth["people"] if e not in set(free)]
    assert all(e.split("@")[1] not in FREE_MAIL for e in others), "an unrecorded free-mail person"


def test_invalid_emails_are_on_both_sides_and_all_recorded(sized: Sized) -> None:
    sizes, data = sized
    recorded = set(data.truth["invalid_emails"])
    emails = {("hubspot", r["id"]): r["properties"]["email"] for r in data.hubspot["contacts"]}
    emails |= {("salesforce", r["Id"]): r["Email"] for r in data.salesforce["Contact"]}
    bad = {key for key, email in emails.items() if not VALID_EMAIL.match(norm(email)) or ".." in email}
    assert bad == recorded
    assert {system for system, _ in recorded} == {"hubspot", "salesforce"}
    assert len(recorded) <= max(2, 0.02 * sizes["contacts"])


def test_missing_required_fields_are_present_and_all_recorded(sized: Sized) -> None:
    _, data = sized
    missing = {(s, o, i, f) for s, o, i, f in data.truth["missing_required"]}
    found = {("hubspot", "contacts", r["id"], "lastname") for r in data.hubspot["contacts"]
             if not r["properties"].get("lastname")}
    found |= {("salesforce", "Account", r["Id"], "Website") for r in data.salesforce["Account"]
              if not r["Website"]}
    assert found == missing
    assert {(s, f) for s, _, _, f in missing} == {("hubspot", "lastname"), ("salesforce", "Website")}
    assert all(r["LastName"] for r in data.salesforce["Contact"])


def test_several_records_share_a_modified_timestamp(sized: Sized) -> None:
    _, data = sized
    stamps = data.truth["shared_modified"]
    for obj in ("contacts", "companies"):
        counts = Counter(r["updatedAt"] for r in data.hubspot[obj])
        assert stamps["hubspot"][obj] and all(counts[s] >= 2 for s in stamps["hubspot"][obj])
    for obj in ("Account", "Contact", "Opportunity"):
        counts = Counter(r["SystemModstamp"] for r in data.salesforce[obj])
        assert stamps["salesforce"][obj] and all(counts[s] >= 2 for s in stamps["salesforce"][obj])


def test_opportunities_span_every_stage_with_consistent_dates(sized: Sized) -> None:
    sizes, data = sized
    opps = data.salesforce["Opportunity"]
    assert {o["StageName"] for o in opps} == SF_STAGES
    for o in opps:
        assert isinstance(o["Amount"], float) and 5_000 <= o["Amount"] <= 250_000
        closed = o["StageName"].startswith("Closed")
        assert (o["IsClosed"], o["IsWon"]) == (closed, o["StageName"] == "Closed Won")
        close = date.fromisoformat(o["CloseDate"])
        assert close < BASE_DATE if closed else close >= BASE_DATE, o
        assert o["Type"] in {"New Business", "Existing Business"}
    for d in data.hubspot["deals"]:
        assert 5_000 <= int(d["properties"]["amount"]) <= 250_000
    if sizes is DEFAULT:
        default = [d for d in data.hubspot["deals"] if d["properties"]["pipeline"] == "default"]
        assert {d["properties"]["dealstage"] for d in default} == HS_STAGES


def test_deals_sit_in_several_pipelines_with_stages_their_pipeline_allows(sized: Sized) -> None:
    from connectors.hubspot.catalog import PIPELINE_BY_ID
    from connectors.salesforce.describe import stage_values

    sizes, data = sized
    for d in data.hubspot["deals"]:
        assert PIPELINE_BY_ID[d["properties"]["pipeline"]].stage(d["properties"]["dealstage"]), d
    types = {r["Id"]: r["DeveloperName"] for r in data.salesforce["RecordType"]}
    assert set(types.values()) == {"New_Business", "Expansion", "Renewal"}
    opps = data.salesforce["Opportunity"]
    used = {types[o["RecordTypeId"]] for o in opps}
    assert used == set(types.values()) if sizes is DEFAULT else len(used) >= 2
    for o in opps:
        assert o["StageName"] in stage_values(types[o["RecordTypeId"]]), o


def test_an_inactive_user_still_owns_accounts(sized: Sized) -> None:
    _, data = sized
    inactive = set(data.truth["inactive_users"])
    assert inactive == {u["Id"] for u in data.salesforce["User"] if not u["IsActive"]} != set()
    assert any(a["OwnerId"] in inactive for a in data.salesforce["Account"])
    assert {o["email"] for o in data.hubspot["owners"]} == {u["Email"] for u in data.salesforce["User"]}
