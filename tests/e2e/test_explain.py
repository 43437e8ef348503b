"""`explain`: one record followed through map, validate, identify and plan against both emulators, read-only."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import WriteOp
from sync_engine.errors import ConfigError
from sync_engine.explain import Decision, Explanation, RecordExplanation, Step, as_json, explain, render_text
from sync_engine.identity import normalize_email
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

HS_TO_SF = "contacts-hubspot-to-salesforce"


def _only(expl: Explanation) -> RecordExplanation:
    assert expl.found, expl.message
    assert len(expl.records) == 1, [r.id for r in expl.records]
    return expl.records[0]


def _hubspot_only(world: World) -> tuple[str, str]:
    """A valid HubSpot contact with a last name and no Salesforce twin: a run creates it."""
    skip = {r[2] for r in world.data.truth["missing_required"]} | {i for _s, i in world.data.truth["invalid_emails"]}
    return next((email, ids["hubspot"]) for email, ids in sorted(world.data.truth["people"].items())
                if ids["hubspot"] and not ids["salesforce"] and ids["hubspot"] not in skip)


def test_a_contact_to_be_created_shows_each_mapping_line_and_transform_and_writes_nothing(world: World) -> None:
    email, hs_id = _hubspot_only(world)
    app = world.app()
    before = {s: world.stats(s) for s in ("hubspot", "salesforce")}
    rec = _only(explain(app, HS_TO_SF, email))
    assert (rec.system, rec.object, rec.id, rec.decision, rec.step) == ("hubspot", "contacts", hs_id,
                                                                        Decision.CREATE, "plan")
    assert {"email", "last_name"} <= set(rec.changed)
    for f in rec.fields:  # each value names its [[fields]] entry, which maps that source field
        path, line = f.mapping.rsplit(":", 1)
        text = (world.root / path).read_text().splitlines()
        assert text[int(line) - 1].strip() == "[[fields]]"
        assert f'field = "{f.source_field}"' in text[int(line)]
        assert f.sensitivity == ("personal" if f.canonical == "email" else None)  # as tagged in the mapping
    by_name = {f.canonical: f for f in rec.fields}
    assert by_name["email"].steps == (Step("normalize_email", normalize_email(by_name["email"].raw)),)
    assert by_name["email"].value == email
    assert by_name["lifecycle_stage"].steps == ()  # no transform: the value as read
    assert rec.identity is not None
    assert (rec.identity.key, rec.identity.entity_id, rec.identity.source_linked, rec.identity.matched_by) == (
        email, None, False, "none")
    rules = {t.id: t for t in rec.rules}
    assert rules["person-email-valid"].passed and rules["person-last-name-required-by-salesforce"].passed
    assert rules["person-last-name-required-by-salesforce"].when == "create"
    planned = {t.canonical: t for t in rec.plan}
    assert planned["email"].written and planned["email"].target_field == "Email"
    assert planned["email"].mapping.startswith("mappings/salesforce/contact.toml:")
    assert not planned["lifecycle_stage"].written
    assert "no field for `lifecycle_stage`" in planned["lifecycle_stage"].reason
    text = render_text(explain(app, HS_TO_SF, email))
    assert "CREATE" in text and "normalize_email ->" in text and "mappings/hubspot/contacts.toml:" in text
    assert "no match: it would be created" in text
    # read-only: no write reached either system, no entity or link was made
    assert [world.writes(s, before[s]) for s in ("hubspot", "salesforce")] == [0, 0]
    assert app.store.entity_count() == 0
    assert app.store.links("hubspot", "contacts", [hs_id]) == {}
    app.close()


def test_after_a_sync_the_contact_is_unchanged_and_linked_by_the_crosswalk(world: World) -> None:
    email, hs_id = _hubspot_only(world)
    app = world.app()
    app.sync()
    rec = _only(explain(app, HS_TO_SF, email))
    assert rec.decision is Decision.UNCHANGED
    assert rec.identity is not None and rec.identity.source_linked and rec.identity.matched_by == "crosswalk"
    sf_id = next(iter(app.store.links_of_entities("salesforce", "Contact", [rec.identity.entity_id]).values()))
    assert rec.identity.target_id == sf_id.external_id
    text = render_text(explain(app, HS_TO_SF, hs_id))
    assert "UNCHANGED" in text and "by the crosswalk" in text and sf_id.external_id in text
    app.close()


def test_an_invalid_email_is_quarantined_naming_the_rule(world: World) -> None:
    hs_id = next(i for s, i in world.data.truth["invalid_emails"] if s == "hubspot")
    app = world.app()
    rec = _only(explain(app, HS_TO_SF, hs_id))
    assert (rec.decision, rec.step) == (Decision.QUARANTINED, "validate")
    assert "person-email-valid" in rec.rule_ids
    assert rec.plan == ()
    assert rec.identity is not None and rec.identity.key is None and rec.identity.invalid
    assert next(t for t in rec.rules if t.id == "person-email-valid").passed is False
    assert "QUARANTINED by person-email-valid" in render_text(explain(app, HS_TO_SF, hs_id))
    app.close()


def test_a_missing_last_name_is_quarantined_only_when_creating(world: World) -> None:
    app = world.app()
    for _system, _obj, hs_id, _field in [r for r in world.data.truth["missing_required"] if r[0] == "hubspot"]:
        rec = _only(explain(app, HS_TO_SF, hs_id))
        if rec.identity is not None and rec.identity.target_id is None:
            assert rec.rule_ids == ("person-last-name-required-by-salesforce",)
        else:  # an existing Contact already has a last name: the update goes through
            assert rec.decision is not Decision.QUARANTINED
            assert "person-last-name-required-by-salesforce" not in {t.id for t in rec.rules}
    app.close()


def test_a_title_owned_by_salesforce_is_not_written_on_update(world: World) -> None:
    """mappings/salesforce/contact.toml gives Title to Salesforce; HubSpot's new job title stays in HubSpot."""
    app = world.app()
    app.sync()
    sf = app.connectors["salesforce"]
    pairs = [ids for _e, ids in sorted(world.data.truth["people"].items()) if ids["hubspot"] and ids["salesforce"]]
    titled = {r.id for r in sf.lookup("Contact", "Id", [p["salesforce"] for p in pairs], ["Title"])
              if r.fields.get("Title")}
    hs_id = next(p["hubspot"] for p in pairs if p["salesforce"] in titled)
    result = app.connectors["hubspot"].write("contacts", [WriteOp("t", hs_id, {"jobtitle": "Chief Explainer",
                                                                                "firstname": "Explained"})])
    assert result[0].ok, result[0].error
    rec = _only(explain(app, HS_TO_SF, hs_id))
    assert rec.decision is Decision.UPDATE
    assert "first_name" in rec.changed and "title" not in rec.changed
    planned = {t.canonical: t for t in rec.plan}
    title = planned["title"]
    assert (title.target_field, title.new, title.written) == ("Title", "Chief Explainer", False)
    rule = str(app.mappings[("salesforce", "Contact")].owner_of("title"))  # `prefer salesforce unless blank`
    assert title.old and "owned by salesforce" in title.reason and f"rule `{rule}`" in title.reason
    assert "mappings/salesforce/contact.toml:" in title.reason
    first = planned["first_name"]
    assert (first.written, first.new, first.native) == (True, "Explained", "Explained")
    assert rec.old_from.startswith("crosswalk")
    assert "owned by salesforce" in render_text(explain(app, HS_TO_SF, hs_id))
    app.close()


def test_by_system_id_and_by_email_find_the_same_record_both_ways(world: World) -> None:
    email, ids = next((e, i) for e, i in sorted(world.data.truth["people"].items()) if i["hubspot"] and
                      i["salesforce"] and "@" in e)
    app = world.app()
    for pipeline, system, own_id in ((HS_TO_SF, "hubspot", ids["hubspot"]),
                                     ("contacts-salesforce-to-hubspot", "salesforce", ids["salesforce"])):
        by_id, by_email = explain(app, pipeline, own_id), explain(app, pipeline, email.upper())
        assert (by_id.key_kind, by_email.key_kind) == ("id", "email")
        assert own_id in [r.id for r in by_email.records]
        assert _only(by_id).system == system and _only(by_id).id == own_id
        assert _only(by_id).identity.target_id == ids["hubspot" if system == "salesforce" else "salesforce"]
    app.close()


def test_a_company_by_domain(world: World) -> None:
    domain, ids = next((d, i) for d, i in sorted(world.data.truth["companies"].items()) if i["hubspot"])
    app = world.app()
    expl = explain(app, "companies-hubspot-to-salesforce", f"https://www.{domain}/about")
    assert expl.key_kind == "domain"
    rec = next(r for r in expl.records if r.id == ids["hubspot"])
    assert rec.identity is not None and rec.identity.key == domain
    app.close()


def test_unknown_keys_and_pipelines(world: World) -> None:
    app = world.app()
    for key, kind in (("nobody@example.com", "email"), ("99999999", "id")):
        expl = explain(app, HS_TO_SF, key)
        assert (expl.found, expl.key_kind, expl.records) == (False, kind, ())
        assert "not found in hubspot contacts" in expl.message
        assert "not found in hubspot contacts" in render_text(expl)
    expl = explain(app, "deals-salesforce-to-hubspot", "acme.com")
    assert not expl.found and "found by its id" in expl.message
    with pytest.raises(ConfigError, match="no pipeline named"):
        explain(app, "contacts-hubspot-to-salesforc", "x@y.com")
    app.close()


def test_json_and_masking(world: World, tmp_path: Path) -> None:
    email, _hs_id = _hubspot_only(world)
    app = world.app()
    data = json.loads(json.dumps(as_json(explain(app, HS_TO_SF, email))))
    assert data["found"] and data["records"][0]["decision"] == "create"
    assert data["records"][0]["fields"][0]["value"] == email
    masked = json.dumps(as_json(explain(app, HS_TO_SF, email, mask=True)))
    assert email not in masked and f"{email[0]}***@{email.split('@')[1]}" in masked
    assert '"decision": "create"' in masked
    app.close()


def test_explain_shows_each_fields_sensitivity_class(world: World) -> None:
    app = world.app()
    opportunity = world.data.salesforce["Opportunity"][0]["Id"]
    doc = as_json(explain(app, "deals-salesforce-to-hubspot", opportunity))
    text = json.dumps(doc)
    assert '"sensitivity": "revenue"' in text
    assert "[revenue]" in render_text(explain(app, "deals-salesforce-to-hubspot", opportunity))
    app.close()
