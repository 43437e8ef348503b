"""Config and mapping files: a person's mistake is refused with file:line, the key and a hint."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sync_engine.app import open_app
from sync_engine.cli import main
from sync_engine.config import EMULATOR_TOKEN, load_config
from sync_engine.errors import ConfigError
from sync_engine.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    return tmp_path


def test_example_config_and_mappings_pass_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(project / "config.toml")]) == 0
    assert "5 pipelines" in capsys.readouterr().out


def test_unknown_system_in_pipeline_names_line_and_suggests(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text().replace('to = "salesforce.Account"', 'to = "salesfroce.Account"'))
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    err = exc.value
    line = next(i for i, t in enumerate(cfg.read_text().splitlines(), 1) if "salesfroce" in t)
    assert err.line == line and err.file.endswith("config.toml")
    assert "did you mean `salesforce`" in err.hint


def test_truncated_toml_is_refused_with_line(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text() + '\n[pipelines.broken\nfrom = "x"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert exc.value.line == len(cfg.read_text().splitlines()) - 1
    assert "not valid TOML" in exc.value.message


def test_misspelled_key_gets_did_you_mean(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text().replace("every_minutes = 5\n", "every_minuts = 5\n", 1))
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert "every_minuts" in exc.value.key
    assert exc.value.line is not None and "every_minuts" in cfg.read_text().splitlines()[exc.value.line - 1]


def test_check_exit_code_2_and_message_on_stderr(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = project / "mappings" / "salesforce" / "contact.toml"
    m.write_text(m.read_text().replace('read = ["normalize_email"]', 'read = ["normalise_email"]'))
    assert main(["check", "--config", str(project / "config.toml")]) == 2
    err = capsys.readouterr().err
    assert "contact.toml:" in err and "unknown transform `normalise_email`" in err
    assert "did you mean `normalize_email`" in err


def test_mapping_to_unknown_canonical_field(project: Path) -> None:
    m = project / "mappings" / "hubspot" / "contacts.toml"
    m.write_text(m.read_text().replace('canonical = "first_name"', 'canonical = "firstname"'))
    with pytest.raises(ConfigError) as exc:
        load_mapping(m)
    assert "did you mean `first_name`" in exc.value.hint
    assert 'canonical = "firstname"' in m.read_text().splitlines()[exc.value.line - 1]


def test_two_fields_written_to_one_target_is_refused(project: Path) -> None:
    m = project / "mappings" / "salesforce" / "contact.toml"
    m.write_text(m.read_text() + '\n[[fields]]\nfield = "Phone"\ncanonical = "title"\n')
    with pytest.raises(ConfigError, match="written by two mappings"):
        load_mapping(m)


def test_loopback_system_needs_no_token_but_real_one_does(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVHUB_HUBSPOT_TOKEN", raising=False)
    cfg = load_config(project / "config.toml")
    assert cfg.settings("hubspot").token.reveal() == EMULATOR_TOKEN
    cfg_path = project / "config.toml"
    cfg_path.write_text(cfg_path.read_text().replace("http://127.0.0.1:8710", "https://api.hubapi.com"))
    with pytest.raises(ConfigError, match="no credentials for hubspot") as exc:
        load_config(cfg_path).settings("hubspot")
    assert "REVHUB_HUBSPOT_TOKEN" in exc.value.hint
    monkeypatch.setenv("REVHUB_HUBSPOT_TOKEN", "pat-na1-secret")
    token = load_config(cfg_path).settings("hubspot").token
    assert token.reveal() == "pat-na1-secret" and "secret" not in repr(token) and str(token) == "****"


def test_pipeline_with_kind_mismatch_is_refused(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text().replace('from = "salesforce.Opportunity"', 'from = "salesforce.Contact"'))
    with pytest.raises(ConfigError, match="maps a person"):
        open_app(cfg)


def test_misspelt_key_inside_a_mapping_field_suggests_the_right_one(project: Path) -> None:
    m = project / "mappings" / "hubspot" / "contacts.toml"
    m.write_text(m.read_text().replace('canonical = "first_name"', 'canonicl = "first_name"'))
    with pytest.raises(ConfigError) as exc:
        load_mapping(m)
    assert "did you mean `canonical`" in exc.value.hint
    assert 'canonicl = "first_name"' in m.read_text().splitlines()[exc.value.line - 1]


def test_misspelt_alert_channel_key_names_its_line(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text() + '\n[[alerts.channels]]\ntype = "slack"\nurl_evn = "X"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert exc.value.line == len(cfg.read_text().splitlines())
    assert "did you mean `url_env`" in exc.value.hint


def test_a_field_is_never_sent_to_a_system_not_cleared_for_its_class(project: Path) -> None:
    cfg = project / "config.toml"
    cfg.write_text(cfg.read_text().replace('[systems.hubspot]\n', '[systems.hubspot]\nreceives = ["personal"]\n'))
    with pytest.raises(ConfigError) as exc:
        open_app(cfg)
    err = exc.value
    assert "deals-salesforce-to-hubspot" in err.message and "revenue" in err.message
    assert err.file.endswith("opportunity.toml")
    lines = Path(err.file).read_text().splitlines()
    assert lines[err.line - 1] == "[[fields]]" and lines[err.line] == 'field = "Amount"'  # the tagged entry
    cfg.write_text(cfg.read_text().replace('receives = ["personal"]', 'receives = ["personal", "revenue"]'))
    open_app(cfg)
