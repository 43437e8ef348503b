"""Emails in failure rows, alerts and logs: masked by default, or keyed HMAC tokens (`[privacy]`)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.errors import ConnectorError
from connectors.retry import RetryBounds
from sync_engine import redact
from sync_engine.config import load_config
from sync_engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _default_policy() -> Iterator[None]:
    yield
    redact.configure(redact.Privacy())


def _config(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "mappings").symlink_to(ROOT / "mappings")
    text = (ROOT / "config.example.toml").read_text().replace('rules = "mappings/rules.toml"', "")
    path = tmp_path / "config.toml"
    path.write_text(text + extra)
    return path


def test_mask_is_the_default_and_hides_tokens() -> None:
    out = redact.redact("Jane.Doe@Acme.com refused; Authorization: Bearer s3cr3t")
    assert out == "J***@Acme.com refused; Authorization: Bearer ****"


def test_hash_gives_one_token_per_person_whatever_the_case_and_never_the_address() -> None:
    p = redact.Privacy("hash", b"key-1")
    out = redact.redact("Jane.Doe@Acme.com and jane.doe@acme.com, not bob@acme.com", p)
    a, b, c = (w.strip(",") for w in out.split() if w.startswith(redact.HASH_PREFIX))
    assert a == b != c and "acme" not in out.lower()
    assert redact.redact("jane.doe@acme.com", redact.Privacy("hash", b"key-2")) != a, "the key matters"


def test_hash_needs_a_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, '\n[privacy]\nemail_in_failures = "hash"\nhash_key_env = "REVHUB_TEST_HASH_KEY"\n')
    monkeypatch.delenv("REVHUB_TEST_HASH_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "privacy.email_in_failures" in str(err.value) and "REVHUB_TEST_HASH_KEY" in str(err.value)
    monkeypatch.setenv("REVHUB_TEST_HASH_KEY", "a-long-random-secret")
    load_config(path)
    assert redact.redact("jane@acme.com") == redact.email_token("JANE@acme.com ", b"a-long-random-secret")
    assert "a-long-random-secret" not in repr(redact.policy())


def test_retry_bounds_come_from_options_and_bad_ones_name_file_and_key(tmp_path: Path) -> None:
    assert RetryBounds.from_options({}) == RetryBounds()
    assert RetryBounds.from_options({"retry_attempts": 2, "retry_total": 5}) == RetryBounds(2, 0.2, 20.0, 5.0)
    with pytest.raises(ConnectorError):
        RetryBounds.from_options({"retry_attempts": 0})
    path = _config(tmp_path, "")
    path.write_text(path.read_text().replace('ca_file = ".revhub', 'retry_base_wait = -1\nca_file = ".revhub'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "systems.salesforce.options.retry_base_wait" in str(err.value) and "config.toml:" in str(err.value)
