"""`revhub check --remote` against both emulators: mapped fields checked against the live describe / properties."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync_engine.check_remote import Problem, check_remote
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _check(world: World) -> list[Problem]:
    app = world.app()
    try:
        return check_remote(app)
    finally:
        app.close()


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; the line of the `[[fields]]` entry holding it (FieldMap.line), else of `old` itself."""
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    before = text[:text.index(old)].split("\n")
    return max((n for n, line in enumerate(before, start=1) if line.strip() == "[[fields]]"),
               default=len(before))


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def test_shipped_mappings_have_no_errors_and_describe_each_object_once(world: World) -> None:
    problems = _check(world)
    report = "\n".join(p.render() for p in problems)
    assert not _errors(problems), report
    assert all(p.file and p.line and p.key and p.message and p.hint for p in problems), report
    # one describe per object used by a pipeline (3 per system in config.example.toml)
    assert world.stats("hubspot")["GET /crm/v3/properties/{objectType}"] == 3
    assert world.stats("salesforce")["GET /services/data/v{version}/sobjects/{sobject}/describe"] == 3


def test_a_field_that_does_not_exist_names_file_line_and_a_suggestion(world: World) -> None:
    path = world.root / "mappings" / "salesforce" / "contact.toml"
    line = _edit(path, 'field = "Title"', 'field = "Titel"')
    lookup_line = _edit(path, 'lookup = "Email"', 'lookup = "Emial"')
    errors = _errors(_check(world))
    title = next(p for p in errors if p.key.endswith(".field"))
    assert (title.file, title.line) == (str(path), line)
    assert "`Titel`" in title.message and "Contact" in title.message and "`Title`" in title.hint
    lookup = next(p for p in errors if p.key == "lookup")
    assert lookup.line == lookup_line and "`Email`" in lookup.hint
    assert len(errors) == 2, [p.render() for p in errors]


@pytest.mark.parametrize(("file", "old", "new", "name"), [
    ("hubspot/deals.toml", 'field = "dealname"', 'field = "hs_object_id"', "hs_object_id"),
    ("salesforce/account.toml", 'field = "Phone"', 'field = "SystemModstamp"', "SystemModstamp"),
])
def test_writing_a_read_only_field_is_an_error(world: World, file: str, old: str, new: str, name: str) -> None:
    path = world.root / "mappings" / file
    line = _edit(path, old, new)
    errors = _errors(_check(world))
    assert len(errors) == 1, [p.render() for p in errors]
    assert (errors[0].file, errors[0].line) == (str(path), line)
    assert f"`{name}`" in errors[0].message and "read-only" in errors[0].message
    assert 'direction = "read"' in errors[0].hint


def _stage_problems(world: World, old: str, new: str) -> tuple[Path, int, list[Problem]]:
    """Edit mappings/stages.toml once; the edited line and the errors check --remote reports in that file."""
    path = world.root / "mappings" / "stages.toml"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    line = next(n for n, row in enumerate(path.read_text().split("\n"), start=1) if new.split("\n")[0] in row)
    return path, line, [p for p in _errors(_check(world)) if p.file == str(path)]


def test_a_hubspot_stage_id_missing_from_its_pipeline_names_the_stage_map_line(world: World) -> None:
    _path, line, errors = _stage_problems(world, 'closed_won = { hubspot = "closedwon"',
                                         'closed_won = { hubspot = "closedwonn"')
    assert len(errors) == 1, [p.render() for p in errors]
    assert (errors[0].line, errors[0].key) == (line, "pipelines.new_business.stages.closed_won.hubspot")
    assert "`closedwonn`" in errors[0].message and "`default`" in errors[0].message
    assert "`closedwon`" in errors[0].hint


def test_a_hubspot_stage_id_of_another_pipeline_says_which(world: World) -> None:
    # 2003 is the Expansion pipeline's Negotiation in HubSpot, not a stage of Renewals
    path = world.root / "mappings" / "stages.toml"
    path.write_text(path.read_text().replace('negotiation = { hubspot = "2003", salesforce = "Negotiation/Review" }\n',
                                             ""))
    _path, line, errors = _stage_problems(world, 'negotiation = { hubspot = "1002"', 'negotiation = { hubspot = "2003"')
    assert len(errors) == 1, [p.render() for p in errors]
    assert errors[0].line == line and "belongs to pipeline id `8a3f02d1`" in errors[0].message


def test_a_stage_name_the_record_type_does_not_allow_is_an_error(world: World) -> None:
    # Prospecting is a StageName of the org, but the Renewal sales process does not allow it
    _path, line, errors = _stage_problems(world, 'renewal_due = { hubspot = "1001", salesforce = "Qualification" }',
                                          'renewal_due = { hubspot = "1001", salesforce = "Prospecting" }')
    assert len(errors) == 1, [p.render() for p in errors]
    assert errors[0].line == line and "`Prospecting`" in errors[0].message and "`Renewal`" in errors[0].message
    assert "Qualification" in errors[0].hint


def test_an_unknown_record_type_gets_a_did_you_mean(world: World) -> None:
    _path, line, errors = _stage_problems(world, 'salesforce = "Renewal"\n', 'salesforce = "Renewals"\n')
    assert len(errors) == 1, [p.render() for p in errors]
    assert (errors[0].line, errors[0].key) == (line, "pipelines.renewal.salesforce")
    assert "`Renewals`" in errors[0].message and "`Renewal`" in errors[0].hint


def test_an_expired_token_is_one_problem_with_its_runbook(world: World) -> None:
    world.salesforce.emulator._set_faults({"expire_tokens": ["local-emulator"]})
    problems = _check(world)
    salesforce = [p for p in problems if p.key == "systems.salesforce" or "/salesforce/" in p.file]
    assert len(salesforce) == 1, [p.render() for p in salesforce]
    down = salesforce[0]
    assert down.severity == "error" and down.file == str(world.config) and down.line
    assert "AUTH_EXPIRED" in down.message and "runbooks/AUTH_EXPIRED.md" in down.hint
    assert any("/hubspot/" in p.file for p in problems)  # HubSpot was still checked


def test_cli_check_remote_exit_codes_and_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    from sync_engine.cli import main

    assert main(["--config", str(world.config), "check", "--remote", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["remote"] and all(p["severity"] == "warning" for p in doc["problems"])
    m = world.root / "mappings" / "salesforce" / "contact.toml"
    m.write_text(m.read_text().replace('field = "Title"', 'field = "Titel"'))
    assert main(["--config", str(world.config), "check", "--remote"]) == 2
    out = capsys.readouterr().out
    assert "contact.toml:" in out and "Titel" in out and "Title" in out
