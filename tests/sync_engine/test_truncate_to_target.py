"""`truncate_to_target`: text cut to the target field's describe length, bound once per run, said in the preview."""
from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import FieldSchema, ObjectSchema
from sync_engine import transforms
from sync_engine.errors import ConfigError
from sync_engine.mapping import load_mapping

ACCOUNT = """\
system = "salesforce"
object = "Account"
canonical = "company"

[[fields]]
field = "Website"
canonical = "domain"
direction = "read"
read = ["domain_from_url"]

[[fields]]
field = "Name"
canonical = "name"
write = ["strip", "truncate_to_target"]

[[fields]]
field = "Phone"
canonical = "phone"
write = ["truncate_to_target"]
"""

SCHEMA = ObjectSchema("Account", {"name": FieldSchema("Name", "string", length=10),  # Salesforce: any case
                                  "Phone": FieldSchema("Phone", "phone")})  # no length stated


def _mapping(tmp_path: Path, text: str = ACCOUNT):
    path = tmp_path / "account.toml"
    path.write_text(text)
    return load_mapping(path)


def test_unbound_it_keeps_the_value_whole() -> None:
    name, fn = transforms.build("truncate_to_target")
    assert name == "truncate_to_target"
    assert fn("x" * 500) == "x" * 500 and fn(None) is None and fn(42) == 42


def test_bound_it_cuts_to_the_length_and_says_by_how_much() -> None:
    bound = transforms.bind_lengths((("strip", transforms.build("strip")[1]),
                                     ("truncate_to_target", transforms.TruncateToTarget())), 5)
    value = "  Hello world "
    for _name, fn in bound:
        value = fn(value)
    assert value == "Hello"
    assert transforms.truncation(bound, "  Hello world ") == (
        "truncated from 11 to 5 characters, the length of the target field (truncate_to_target)")
    assert transforms.truncation(bound, "Hi") is None  # short enough: nothing to say
    assert transforms.TruncateToTarget(5)("Hello world") == "Hello"
    assert transforms.TruncateToTarget(5)("") is None


def test_a_run_binds_the_lengths_from_describe_and_the_write_is_cut(tmp_path: Path) -> None:
    m = _mapping(tmp_path)
    assert m.uses_target_lengths
    long_name, long_phone = "Acme Widgets International", "+1 650 253 0000 ext 12345678901234567890"
    unbound, _ = m.to_native({"name": long_name, "phone": long_phone}, lambda _k, _v: None)
    assert unbound == {"Name": long_name, "Phone": long_phone}  # no lengths known: written whole
    bound = m.with_target_lengths(SCHEMA)
    fields, _links = bound.to_native({"name": f" {long_name} ", "phone": long_phone}, lambda _k, _v: None)
    assert fields == {"Name": "Acme Widge", "Phone": long_phone}  # Phone: describe states no length
    assert bound.truncations({"name": long_name, "phone": long_phone}) == [
        "Name (mapping line 11): truncated from 26 to 10 characters, the length of the target field "
        "(truncate_to_target)"]
    assert bound.truncations({"name": "Acme"}) == []
    assert m.to_native({"name": long_name}, lambda _k, _v: None)[0] == {"Name": long_name}  # the original is unbound


def test_a_mapping_without_it_needs_no_describe(tmp_path: Path) -> None:
    assert not _mapping(tmp_path, ACCOUNT.replace('"truncate_to_target"', '"strip"')).uses_target_lengths


def test_on_read_it_is_refused_with_file_line_and_hint(tmp_path: Path) -> None:
    text = ACCOUNT.replace('write = ["strip", "truncate_to_target"]', 'read = ["truncate_to_target"]')
    with pytest.raises(ConfigError) as exc:
        _mapping(tmp_path, text)
    err = exc.value
    assert err.file.endswith("account.toml") and err.line == 14 and err.key == "fields[1].read[0]"
    assert "only when writing" in err.message and "write = [...]" in err.hint


def test_a_misspelt_name_suggests_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _mapping(tmp_path, ACCOUNT.replace('"truncate_to_target"]', '"truncate_to_targt"]', 1))
    assert exc.value.message == "unknown transform `truncate_to_targt`"
    assert "truncate_to_target" in exc.value.hint
