"""The stage map (mappings/stages.toml): file errors with file:line, and (pipeline, stage) pairs both ways."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import Record
from sync_engine import stages
from sync_engine.errors import ConfigError, FailureCode, RecordError
from sync_engine.mapping import load_mappings

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
[pipelines.new_business]
hubspot = "default"
salesforce = "New_Business"

[pipelines.new_business.stages]
prospecting = { hubspot = "appointmentscheduled", salesforce = "Prospecting" }
qualification = { hubspot = "qualifiedtobuy", salesforce = ["Qualification", "Needs Analysis"] }
closed_won = { hubspot = "closedwon", salesforce = "Closed Won" }

[pipelines.renewal]
hubspot = "75e28846"
salesforce = "Renewal"

[pipelines.renewal.stages]
renewal_due = { hubspot = "1001", salesforce = "Qualification" }
closed_won = { hubspot = "1003", salesforce = "Closed Won" }
"""


def _load(tmp_path: Path, text: str) -> stages.StageMap:
    path = tmp_path / "stages.toml"
    path.write_text(text)
    return stages.load(path)


def _error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return caught.value


def _line(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), start=1) if fragment in line)


def test_reading_resolves_the_pipeline_and_stage_pair(tmp_path: Path) -> None:
    sm = _load(tmp_path, GOOD)
    # the same StageName means different canonical stages in different record types
    assert sm.to_canonical("salesforce", {"pipeline": "Renewal", "stage": "Qualification"}) == \
        {"pipeline": "renewal", "stage": "renewal_due"}
    assert sm.to_canonical("salesforce", {"pipeline": "new_business", "stage": "Needs Analysis"}) == \
        {"pipeline": "new_business", "stage": "qualification"}
    assert sm.to_canonical("hubspot", {"pipeline": "75e28846", "stage": "1003"}) == \
        {"pipeline": "renewal", "stage": "closed_won"}
    # no record type: the first pipeline of the file
    assert sm.to_canonical("salesforce", {"pipeline": None, "stage": "Prospecting"}) == \
        {"pipeline": "new_business", "stage": "prospecting"}


def test_writing_produces_the_native_pair_and_takes_the_pipeline_from_the_record(tmp_path: Path) -> None:
    sm = _load(tmp_path, GOOD)
    assert sm.to_native("hubspot", {"stage": "closed_won"}, {"pipeline": "renewal", "stage": "closed_won"}) == \
        {"pipeline": "75e28846", "stage": "1003"}
    assert sm.to_native("salesforce", {"pipeline": "renewal", "stage": "renewal_due", "name": "x"}) == \
        {"pipeline": "Renewal", "stage": "Qualification", "name": "x"}
    assert sm.to_native("salesforce", {"stage": "qualification"}, {}) == \
        {"pipeline": "New_Business", "stage": "Qualification"}  # the first listed value is written
    assert sm.to_native("hubspot", {"name": "only the name"}) == {"name": "only the name"}


def test_a_stage_outside_its_pipelines_map_is_quarantined_with_the_maps_line(tmp_path: Path) -> None:
    sm = _load(tmp_path, GOOD)
    where = f"{tmp_path / 'stages.toml'}:{_line(GOOD, '[pipelines.renewal.stages]')}"
    with pytest.raises(RecordError) as read:
        sm.to_canonical("salesforce", {"pipeline": "Renewal", "stage": "Prospecting"})
    assert read.value.code is FailureCode.PICKLIST_MISMATCH
    assert "'Prospecting'" in read.value.reasons[0] and where in read.value.reasons[0]
    with pytest.raises(RecordError) as write:
        sm.to_native("hubspot", {"stage": "prospecting"}, {"pipeline": "renewal"})
    assert write.value.code is FailureCode.PICKLIST_MISMATCH and where in write.value.reasons[0]
    with pytest.raises(RecordError) as unknown:
        sm.to_canonical("hubspot", {"pipeline": "999", "stage": "1"})
    assert "'999'" in unknown.value.reasons[0] and "stages.toml:1" in unknown.value.reasons[0]


def test_a_native_stage_listed_twice_in_one_pipeline_names_both_lines(tmp_path: Path) -> None:
    text = GOOD.replace('closed_won = { hubspot = "closedwon", salesforce = "Closed Won" }',
                        'closed_won = { hubspot = "closedwon", salesforce = "Needs Analysis" }')
    err = _error(tmp_path, text)
    assert err.line == _line(text, 'salesforce = "Needs Analysis" }')
    assert "`Needs Analysis`" in err.message and f"line {_line(text, 'qualification =')}" in err.message
    assert err.hint


def test_a_hubspot_stage_id_of_another_pipeline_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('renewal_due = { hubspot = "1001"', 'renewal_due = { hubspot = "qualifiedtobuy"')
    err = _error(tmp_path, text)
    assert err.line == _line(text, "renewal_due =")
    assert "belongs to pipeline new_business" in err.message and "75e28846" in err.hint


def test_a_pipeline_without_a_system_value_used_by_a_stage_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('hubspot = "75e28846"\n', "")
    err = _error(tmp_path, text)
    assert err.line == _line(text, "renewal_due =") and "no hubspot" in err.message
    err = _error(tmp_path, GOOD + '\n[pipelines.expansion]\n[pipelines.expansion.stages]\nx = { hubspot = "2" }\n')
    assert "names no system pipeline" in err.message and err.line


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = GOOD.replace('salesforce = "Renewal"', 'salesfroce = "Renewal"')
    err = _error(tmp_path, text)
    assert err.line == _line(text, "salesfroce") and "salesforce" in err.hint


def test_the_same_record_type_under_two_pipelines_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('salesforce = "Renewal"', 'salesforce = "new_business"')
    err = _error(tmp_path, text)
    assert err.line == _line(text, 'salesforce = "new_business"') and "new_business" in err.message


def test_shipped_mappings_read_a_salesforce_renewal_into_hubspots_renewals_pipeline() -> None:
    mappings = load_mappings(ROOT / "mappings")
    sf, hs = mappings[("salesforce", "Opportunity")], mappings[("hubspot", "deals")]
    opp = Record("Opportunity", "006A", {"Name": "Acme renewal", "StageName": "Negotiation/Review",
                                         "RecordType.DeveloperName": "Renewal"}, datetime(2026, 1, 1, tzinfo=UTC))
    canonical = sf.to_canonical(opp, lambda _k, _v: None)
    assert (canonical["pipeline"], canonical["stage"]) == ("renewal", "negotiation")
    fields, _links = hs.to_native({"stage": canonical["stage"]}, lambda _k, _v: None, canonical)
    assert fields == {"pipeline": "75e28846", "dealstage": "1002"}
    bad = Record("Opportunity", "006B", {"Name": "x", "StageName": "Prospecting",
                                         "RecordType.DeveloperName": "Renewal"}, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(RecordError) as caught:
        sf.to_canonical(bad, lambda _k, _v: None)
    assert caught.value.code is FailureCode.PICKLIST_MISMATCH and "stages.toml:" in caught.value.reasons[0]
