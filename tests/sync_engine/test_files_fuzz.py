"""Malformed config, mapping and rules files: a clear ConfigError naming file:line, never a traceback.

Issue 4, "Done when": truncated TOML, wrong types, unknown keys, unknown transform, a mapping to a
field that does not exist, duplicate targets and a cycle of two-way rules each produce an error with
file and line; a property-based test feeds random edits to every shipped file and finds no traceback.

Known bugs in files this test may not fix are listed in KNOWN_BUGS with a strict xfail each: when one
is fixed its xfail flips and the entry goes, so the random test then checks that case too.
"""
from __future__ import annotations

import difflib
import re
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from sync_engine import transforms
from sync_engine.app import open_app
from sync_engine.canonical import KINDS
from sync_engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "config.toml"


def _shipped() -> dict[str, str]:
    """Every file `open_app` reads, by its path in a project folder (text, bytes kept via surrogateescape)."""
    files = {CONFIG: (ROOT / "config.example.toml").read_bytes()}
    for p in sorted((ROOT / "mappings").rglob("*.toml")):
        files[p.relative_to(ROOT).as_posix()] = p.read_bytes()
    return {name: data.decode("utf-8", "surrogateescape") for name, data in files.items()}


SHIPPED = _shipped()


def write_project(root: Path, edited: dict[str, str] | None = None) -> Path:
    """The shipped config and mappings under `root`, with `edited` files replaced; returns the config path."""
    for name, text in {**SHIPPED, **(edited or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return root / CONFIG


# --- what a clear error is -------------------------------------------------------------------------------
def assert_clear(err: ConfigError, root: Path, target: str) -> None:
    """The error names a file (the edited one, or the config), a line for any key, and says so in render()."""
    edited, config = (root / target).resolve(), (root / CONFIG).resolve()
    where = Path(err.file).resolve() if err.file else None
    text = err.render()
    assert err.message.strip(), "an empty message"
    assert where is not None, f"no file named: {text}"
    if where not in (edited, config):
        # a config edit may point `mappings`/`rules` at another existing file; a mapping edit may clash
        # with another mapping file, and then the message names the edited one
        assert (target == CONFIG and where.is_file()) or str(edited) in text, f"blames the wrong file: {text}"
    assert Path(err.file).name in text, f"render() does not name the file: {text}"
    if err.key:
        assert err.line is not None, f"a problem with key `{err.key}` but no line: {text}"
    if err.line is not None:
        assert where.is_file(), f"a line in something that is not a file: {text}"
        lines = where.read_bytes().split(b"\n")
        assert 1 <= err.line <= len(lines), f"line {err.line} is outside the file ({len(lines)} lines): {text}"
        said = lines[err.line - 1].strip()
        if err.key and any(x.strip() and not x.strip().startswith(b"#") for x in lines):
            assert said and not said.startswith(b"#"), f"line {err.line} of a key problem is {said!r}: {text}"
        assert f":{err.line}" in text


@dataclass(frozen=True)
class KnownBug:
    """A failure the fuzz may meet that is a bug in a file this test may not edit; see its xfail below."""

    reason: str
    matches: Callable[[BaseException, str], bool]  # (exception, edited file) -> is it this bug


def _raised_in(exc: BaseException, filename: str, function: str) -> bool:
    return any(f.filename.endswith(filename) and f.name == function for f in traceback.extract_tb(exc.__traceback__))


def _config_error(exc: BaseException) -> ConfigError | None:
    return exc if isinstance(exc, ConfigError) else None


KNOWN_BUGS: list[KnownBug] = []  # none open: add one with its strict xfail when a fuzz finds a bug


def open_checked(root: Path, target: str) -> None:
    """open_app on the project; a non-ConfigError or an unclear ConfigError fails unless it is a known bug."""
    try:
        open_app(root / CONFIG)
    except ConfigError as err:
        try:
            assert_clear(err, root, target)
        except AssertionError as unclear:
            if not any(bug.matches(err, target) for bug in KNOWN_BUGS):
                raise unclear from err
    except Exception as exc:
        if not any(bug.matches(exc, target) for bug in KNOWN_BUGS):
            raise


# --- random edits ----------------------------------------------------------------------------------------
KEYS = sorted({
    "mappings", "rules", "store", "url", "systems", "connector", "base_url", "token_env", "token_file", "timeout",
    "daily_budget", "quota_reserve", "options", "pipelines", "from", "to", "every_minutes", "enabled", "failures",
    "max_attempts", "keep_records_days", "alerts", "throttle_minutes", "channels", "type", "url_env",
    "min_severity", "system", "object", "canonical", "lookup", "fields", "field", "direction", "read", "write",
    "rule", "owner", "id", "kind", "check", "value", "compare", "transition", "change", "if", "message", "action",
    "targets", "when", "op", "other", "equals", "one_of", "not_one_of", "empty", "not_empty", "min", "max",
    "more_than_percent", "requires", "unknown", "separator", "timezone",
})
CANONICAL = sorted({f for k in KINDS.values() for f in k.fields})
WORDS = sorted({
    *transforms.REGISTRY, *CANONICAL, *KINDS, *KEYS, "hubspot", "salesforce", "hubspot.contacts",
    "salesforce.Contact", "x.y", "today", "quarantine", "warn", "drop_field", "fail_run", "keep", "both",
    "required", "email", "url", "regex", "always salesforce", "always hubspot", "set if empty", "never sync",
    "latest change wins", "prefer hubspot unless blank", "always nowhere", "mappings", ".", "mappings/rules.toml",
    "mappings/hubspot/contacts.toml", "sqlite:///:memory:", "", " ", "(", "[a-", "a{99999999999}", "2026-01-31",
    "links.companies", "Id", "Email",
})
_VALUE = re.compile(r"""(?P<key>[A-Za-z0-9_-]+|"[^"\n]*")[ \t]*=[ \t]*(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'"""
                    r"""|\[[^\]\n]*\]|\{[^}\n]*\}|[^\s,}\]#]+)""")
_TRANSFORM = re.compile(r"""(?<=["{ ])(""" + "|".join(sorted(transforms.REGISTRY, key=len, reverse=True))
                        + r""")(?=["\s=])""")
_STRING_OF = {k: re.compile(rf"""(?m)(?<![A-Za-z0-9_]){k}[ \t]*=[ \t]*(?P<value>"[^"\n]*")""")
              for k in ("canonical", "field")}
# characters that break files in interesting ways; \udcXX are raw bytes that are not UTF-8 once written
ODD = ["\udcff", "\udcc3", "\x00", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\ufeff", "\t", "\\", '"',
       "'", "[", "]", "[[", "{", "}", "=", "#", ".", ",", "\n", "\u00e9", "\U0001f600", "\u0301"]


def toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _float(x: float) -> str:
    return "nan" if x != x else repr(x)


_strings = st.one_of(st.sampled_from(WORDS), st.text(max_size=12)).map(toml_string)
_scalars = st.one_of(
    _strings,
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats().map(_float),
    st.sampled_from(["true", "false"]),
    st.dates().map(lambda d: d.isoformat()),
)
_bare_keys = st.one_of(st.sampled_from(KEYS), st.from_regex(r"[a-z_][a-z0-9_-]{0,9}", fullmatch=True))
VALUES = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.dictionaries(_bare_keys, _scalars, max_size=3).map(
        lambda d: "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }"),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
)


@st.composite
def typo(draw: st.DrawFn, word: str) -> str:
    """A person's slip: a letter dropped, doubled, swapped or changed, a wrong case, a plural."""
    if not word:
        return draw(st.sampled_from(KEYS))
    i = draw(st.integers(0, len(word) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_-0"))
    how = draw(st.sampled_from(["drop", "double", "swap", "change", "upper", "plural", "other"]))
    if how == "drop" and len(word) > 1:
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if how == "upper":
        return word.upper() if word != word.upper() else word.lower()
    if how == "plural":
        return word + "s"
    if how == "other":
        return draw(st.sampled_from(KEYS))
    return word[:i] + letter + word[i + 1:]


def _lines_edit(fn: Callable[[st.DrawFn, list[str]], None]) -> Callable[[st.DrawFn, str], str]:
    def edit(draw: st.DrawFn, text: str) -> str:
        lines = text.split("\n")
        fn(draw, lines)
        return "\n".join(lines)
    edit.__name__ = fn.__name__
    return edit


def _index(draw: st.DrawFn, lines: list[str]) -> int:
    return draw(st.integers(0, max(0, len(lines) - 1)))


@_lines_edit
def delete_line(draw: st.DrawFn, lines: list[str]) -> None:
    if lines:
        del lines[_index(draw, lines)]


@_lines_edit
def duplicate_line(draw: st.DrawFn, lines: list[str]) -> None:
    if lines:
        i = _index(draw, lines)
        lines.insert(draw(st.integers(0, len(lines))), lines[i])


@_lines_edit
def swap_lines(draw: st.DrawFn, lines: list[str]) -> None:
    if lines:
        i, j = _index(draw, lines), _index(draw, lines)
        lines[i], lines[j] = lines[j], lines[i]


@_lines_edit
def insert_unknown_key(draw: st.DrawFn, lines: list[str]) -> None:
    lines.insert(draw(st.integers(0, len(lines))), f"{draw(_bare_keys)} = {draw(VALUES)}")


def truncate(draw: st.DrawFn, text: str) -> str:
    data = text.encode("utf-8", "surrogateescape")
    return data[:draw(st.integers(0, len(data)))].decode("utf-8", "surrogateescape")


def insert_characters(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    odd = draw(st.one_of(st.sampled_from(ODD), st.text(st.characters(exclude_categories=["Cs"]), min_size=1,
                                                       max_size=3)))
    return text[:at] + odd + text[at:]


def _replace(draw: st.DrawFn, text: str, pattern: re.Pattern[str], group: str, new: st.SearchStrategy[str]) -> str:
    found = list(pattern.finditer(text))
    if not found:
        return text
    m = draw(st.sampled_from(found))
    return text[:m.start(group)] + draw(new) + text[m.end(group):]


def replace_value(draw: st.DrawFn, text: str) -> str:
    return _replace(draw, text, _VALUE, "value", VALUES)


def rename_key(draw: st.DrawFn, text: str) -> str:
    found = list(_VALUE.finditer(text))
    if not found:
        return text
    m = draw(st.sampled_from(found))
    key = m["key"]
    new = draw(typo(key.strip('"')))
    new = toml_string(new) if key.startswith('"') or not re.fullmatch(r"[A-Za-z0-9_-]+", new) else new
    return text[:m.start("key")] + new + text[m.end("key"):]


def change_transform(draw: st.DrawFn, text: str) -> str:
    found = list(_TRANSFORM.finditer(text))
    if not found:
        return text
    m = draw(st.sampled_from(found))
    new = draw(st.one_of(st.sampled_from(sorted(transforms.REGISTRY)), typo(m[1]),
                         st.from_regex(r"[a-z_]{1,12}", fullmatch=True)))
    return text[:m.start(1)] + new + text[m.end(1):]


def change_canonical(draw: st.DrawFn, text: str) -> str:
    name = st.one_of(st.sampled_from(CANONICAL), st.sampled_from(CANONICAL).flatmap(typo), st.text(max_size=8))
    return _replace(draw, text, _STRING_OF["canonical"], "value", name.map(toml_string))


def change_field(draw: st.DrawFn, text: str) -> str:
    """`field = ...` pointed elsewhere: another entry's field (a duplicate target), a typo, a canonical name."""
    fields = [m["value"].strip('"') for m in _STRING_OF["field"].finditer(text)] or ["x"]
    name = st.one_of(st.sampled_from(fields), st.sampled_from(fields).flatmap(typo), st.sampled_from(CANONICAL),
                     st.text(max_size=8))
    return _replace(draw, text, _STRING_OF["field"], "value", name.map(toml_string))


EDITS = [delete_line, duplicate_line, truncate, swap_lines, replace_value, rename_key, insert_unknown_key,
         change_transform, change_canonical, change_field, insert_characters]


@st.composite
def edited_file(draw: st.DrawFn) -> tuple[str, str]:
    """(file, its text after one to three random edits)."""
    target = draw(st.sampled_from(sorted(SHIPPED)))
    text = SHIPPED[target]
    for edit in draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=3)):
        text = edit(draw, text)
    return target, text


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(edited_file())
def test_random_edits_give_a_clear_error_or_load(case: tuple[str, str]) -> None:
    target, text = case
    note(f"{target}:\n" + "".join(difflib.unified_diff(SHIPPED[target].splitlines(keepends=True),
                                                      text.splitlines(keepends=True), n=1)))
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        write_project(root, {target: text})
        open_checked(root, target)


def test_shipped_files_load(tmp_path: Path) -> None:
    app = open_app(write_project(tmp_path))
    assert app.mappings and app.rules and app.config.pipelines


# --- one case per "Done when" item ----------------------------------------------------------------------
Edit = Callable[[str], str]


def replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, f"the shipped file no longer has {old!r}: update this case"
        return text.replace(old, new, 1)
    return edit


def cut_after(marker: str) -> Edit:
    def edit(text: str) -> str:
        assert marker in text, f"the shipped file no longer has {marker!r}: update this case"
        return text[:text.index(marker) + len(marker)]
    return edit


def append(extra: str) -> Edit:
    return lambda text: text + extra


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # the file edited, as in SHIPPED
    edit: Edit
    message: str  # a part of the error message
    at: str | None  # a part of the line the error must name (its first line holding it); None: no line
    key: str = ""  # a part of the key the error names
    hint: str = ""  # a part of the hint
    xfail: str = ""  # the reason, when a known bug makes this case fail
    error_file: str = ""  # the file the error names, when not the edited one


C, RULES = CONFIG, "mappings/rules.toml"
HS_CONTACTS, HS_COMPANIES = "mappings/hubspot/contacts.toml", "mappings/hubspot/companies.toml"
HS_DEALS, SF_CONTACT = "mappings/hubspot/deals.toml", "mappings/salesforce/contact.toml"
SF_ACCOUNT, SF_OPPORTUNITY = "mappings/salesforce/account.toml", "mappings/salesforce/opportunity.toml"
STAGES = "mappings/stages.toml"

CASES = [
    # truncated TOML
    Case("truncated-config-mid-header", C, cut_after("[pipelines.contacts-hub"), "not valid TOML",
         "[pipelines.contacts-hub"),
    Case("truncated-mapping-mid-value-map", HS_COMPANIES, cut_after('{ COMPUTER_SOFTWARE = "Techn'), "not valid TOML",
         '{ COMPUTER_SOFTWARE = "Techn'),
    Case("truncated-rules-mid-inline-table", RULES, cut_after('compare = { field = "close_date", op'),
         "not valid TOML", 'compare = { field = "close_date", op'),
    Case("truncated-at-end-of-document", STAGES, cut_after('prospecting = { hubspot ='),
         "not valid TOML", "prospecting = { hubspot ="),
    Case("truncated-inside-a-utf8-character", HS_CONTACTS,
         lambda t: (t + "\n# caf\u00e9").encode()[:-1].decode("utf-8", "surrogateescape"),
         "not valid UTF-8", "# caf"),
    Case("truncated-to-nothing", SF_ACCOUNT, lambda _t: "", "Field required", "", key="system"),
    Case("nested-too-deeply", RULES, replace("value = 0", "value = " + "[" * 3000 + "]" * 3000),
         "nested too deeply", "value = [[[["),
    # wrong types
    Case("wrong-type-every-minutes", C, replace("every_minutes = 5", 'every_minutes = "five"'), "valid number",
         'every_minutes = "five"', key="pipelines.companies-hubspot-to-salesforce.every_minutes"),
    Case("wrong-type-timeout", C, replace('token_env = "REVHUB_SALESFORCE_TOKEN"',
                                          'token_env = "REVHUB_SALESFORCE_TOKEN"\ntimeout = "fast"'),
         "valid number", 'timeout = "fast"', key="systems.salesforce.timeout"),
    Case("wrong-type-mappings-folder", C, replace('mappings = "mappings"', "mappings = 3"), "valid string",
         "mappings = 3", key="mappings"),
    Case("wrong-type-throttle", C, replace("throttle_minutes = 30", "throttle_minutes = [30]"), "",
         "throttle_minutes = [30]", key="alerts.throttle_minutes"),
    Case("wrong-type-direction", HS_CONTACTS, replace('direction = "read"', "direction = 3"), "",
         "direction = 3", key="fields.5.direction"),
    Case("wrong-type-read-not-a-list", SF_CONTACT, replace('read = ["normalize_email"]', 'read = "normalize_email"'),
         "valid list", 'read = "normalize_email"', key="fields.0.read"),
    Case("wrong-type-rule-min", RULES, replace("value = 0", 'value = "zero"'), "`min` needs a number",
         'value = "zero"', key="rules[6].value"),
    Case("wrong-type-rule-targets", RULES, replace('targets = ["salesforce"]', 'targets = "salesforce"'),
         "valid list", 'targets = "salesforce"', key="rules.2.targets"),
    Case("wrong-type-transform-option", HS_COMPANIES, replace('unknown = "empty" }]', "unknown = 7 }]"), "",
         "unknown = 7 }", key="fields[3].write"),
    # unknown keys
    Case("unknown-key-top-of-config", C, replace('mappings = "mappings"', 'mapping = "mappings"'), "Extra inputs",
         'mapping = "mappings"', key="mapping", hint="did you mean `mappings`?"),
    Case("unknown-key-system", C, replace('token_env = "REVHUB_HUBSPOT_TOKEN"', 'tokn_env = "REVHUB_HUBSPOT_TOKEN"'),
         "Extra inputs", "tokn_env", key="systems.hubspot.tokn_env", hint="did you mean `token_env`?"),
    Case("unknown-key-mapping-entry", HS_COMPANIES, replace('canonical = "website"', 'canonicl = "website"'),
         "Extra inputs", 'canonicl = "website"', key="fields.2.canonicl", hint="did you mean `canonical`?"),
    Case("unknown-key-rule", RULES, replace('message = "a deal needs a name"', 'mesage = "a deal needs a name"'),
         "Extra inputs", "mesage =", key="rules.4.mesage", hint="did you mean `message`?"),
    Case("unknown-key-inline-table", RULES, replace('op = ">="', 'opp = ">="'), "Extra inputs",
         'compare = { field = "close_date", opp', key="rules.8.compare.opp", hint="did you mean `op`?"),
    Case("unknown-key-alert-channel", C, append('\n[[alerts.channels]]\ntype = "slack"\nurl_env = "X"\nmin_sevrity '
                                                '= "info"\n'), "Extra inputs", "min_sevrity",
         key="alerts.channels.0.min_sevrity", hint="did you mean `min_severity`?"),
    Case("unknown-transform-option", HS_COMPANIES, replace('unknown = "empty" }]', 'unknwn = "empty" }]'),
         "unknown option 'unknwn' for map_values; did you mean `unknown`?", "unknwn", key="fields[3].write"),
    # unknown transform
    Case("unknown-transform", HS_COMPANIES, replace('read = ["strip"]', 'read = ["stirp"]'), "unknown transform",
         'read = ["stirp"]', key="fields[1].read[0]", hint="did you mean `strip`?"),
    Case("unknown-transform-in-a-table", HS_COMPANIES, replace("{ map_values = {", "{ map_vals = {"),
         "unknown transform `map_vals`", "map_vals", hint="did you mean `map_values`?"),
    Case("unknown-transform-on-write", HS_DEALS, replace('write = ["to_string"]', 'write = ["to_strng"]'),
         "unknown transform", 'write = ["to_strng"]', key="fields[2].write[0]", hint="did you mean `to_string`?"),
    # a mapping to a field that does not exist
    Case("canonical-field-does-not-exist", HS_CONTACTS, replace('canonical = "first_name"', 'canonical = "frist_name"'),
         "is not a person field", 'canonical = "frist_name"', key="fields[1].canonical",
         hint="did you mean `first_name`?"),
    Case("canonical-kind-does-not-exist", SF_ACCOUNT, replace('canonical = "company"', 'canonical = "comapny"'),
         "unknown canonical kind", 'canonical = "comapny"', key="canonical", hint="did you mean `company`?"),
    Case("rule-field-does-not-exist", RULES, replace('field = "amount"', 'field = "amout"'), "is not a deal field",
         'field = "amout"', key="rules[6].field", hint="did you mean `amount`?"),
    Case("rule-compare-other-does-not-exist", RULES, replace('other = "today"', 'other = "tody"'),
         "is not a deal field", 'other = "tody"', key="rules[8].compare.other", hint="did you mean `today`?"),
    Case("no-field-maps-to-the-key", HS_CONTACTS, replace('canonical = "email"', 'canonical = "owner"'),
         "no field maps to `email`", "[[fields]]", key="fields"),
    Case("pipeline-names-an-unknown-system", C, replace('from = "hubspot.contacts"', 'from = "hubspot2.contacts"'),
         "unknown system `hubspot2`", 'from = "hubspot2.contacts"', hint="did you mean `hubspot`?"),
    # duplicate targets
    Case("duplicate-target-field", SF_CONTACT, append('\n[[fields]]\nfield = "Phone"\ncanonical = "title"\n'),
         "written by two mappings", 'field = "Phone"\ncanonical = "title"', key="fields[7].field"),
    Case("duplicate-rule-id", RULES, replace('id = "deal-name-required"', 'id = "person-email-valid"'),
         "used twice", 'id = "person-email-valid"\nkind = "deal"', key="rules[4].id"),
    Case("duplicate-pipeline", C, append('\n[pipelines.contacts-hubspot-to-salesforce]  # again\n'),
         "not valid TOML", "# again"),
    Case("duplicate-key", HS_DEALS, replace('field = "amount"', 'field = "amount"\nfield = "amount2"'),
         "not valid TOML", 'field = "amount2"'),
    Case("second-mapping-for-one-object", HS_DEALS, replace('object = "deals"', 'object = "contacts"'),
         "a second mapping", 'object = "contacts"', key="object"),
    # the deal stage map (mappings/stages.toml)
    Case("stage-listed-twice-in-a-pipeline", STAGES,
         replace('salesforce = "Value Proposition" }', 'salesforce = "Prospecting" }'), "listed twice",
         'value_proposition = { hubspot = "presentationscheduled", salesforce = "Prospecting"',
         key="pipelines.new_business.stages.value_proposition.salesforce"),
    Case("stage-id-of-another-pipeline", STAGES,
         replace('renewal_due = { hubspot = "1001"', 'renewal_due = { hubspot = "qualifiedtobuy"'),
         "belongs to pipeline new_business", "renewal_due = {", hint="75e28846"),
    Case("unknown-key-in-stage-map", STAGES, replace('salesforce = "Renewal"', 'salesfroce = "Renewal"'),
         "Extra inputs", "salesfroce", key="pipelines.renewal.salesfroce", hint="did you mean `salesforce`?"),
    Case("stage-map-pipeline-without-ids", STAGES, replace('hubspot = "8a3f02d1"\nsalesforce = "Expansion"\n', ""),
         "names no system pipeline", "[pipelines.expansion]", key="pipelines.expansion"),
    # a cycle of two-way rules: the two files of a pair give one field two different owners
    Case("two-owners-for-one-field", HS_COMPANIES, replace('rule = "prefer salesforce unless blank"',
                                                           'rule = "always hubspot"'),
         "two different rules", 'rule = "prefer salesforce unless blank"', key="industry",
         error_file=SF_ACCOUNT),  # the pair's other file; the message names this one with its line
    Case("rule-names-an-unknown-system", SF_CONTACT, replace('rule = "prefer salesforce unless blank"',
                                                             'rule = "prefer salesfroce unless blank"'),
         "not a configured system", 'rule = "prefer salesfroce unless blank"', hint="did you mean `salesforce`?"),
    Case("unknown-ownership-rule", SF_ACCOUNT, replace('rule = "prefer salesforce unless blank"',
                                                       'rule = "salesforce wins"'),
         "unknown rule", 'rule = "salesforce wins"', key="fields[3].rule"),
    # a missing key: its table's header
    Case("missing-key-in-pipeline", C, replace('to = "salesforce.Account"\n', ""), "Field required",
         "[pipelines.companies-hubspot-to-salesforce]", key="pipelines.companies-hubspot-to-salesforce.to"),
    Case("missing-key-in-system", C, replace('connector = "salesforce"\n', ""), "Field required",
         "[systems.salesforce]", key="systems.salesforce.connector"),
    Case("missing-key-in-mapping-entry", HS_CONTACTS, replace('[[fields]]\nfield = "lastname"\ncanonical = '
                                                              '"last_name"', '[[fields]]  # this one\nfield = '
                                                              '"lastname"'),
         "Field required", "# this one", key="fields.2.canonical"),
    Case("missing-key-in-rule", RULES, replace('check = "required"\nmessage = "a deal needs a name"',
                                               'check = "required"'),
         "Field required", '[[rules]]\nid = "deal-name-required"', key="rules.4.message"),
    Case("missing-top-level-key", SF_ACCOUNT, replace('system = "salesforce"\n', ""), "Field required",
         'object = "Account"', key="system"),
    Case("missing-systems-table", C, lambda t: re.sub(r"(?ms)^\[systems\.hubspot\].*?(?=^# Pipelines)", "", t),
         "Field required", 'mappings = "mappings"', key="systems"),
    # paths in the config, pipelines and files that do not fit together
    Case("rules-file-missing", C, replace('rules = "mappings/rules.toml"', 'rules = "mappings/rule.toml"'),
         "not found", 'rules = "mappings/rule.toml"'),
    Case("mappings-folder-missing", C, replace('mappings = "mappings"', 'mappings = "mapings"'), "not found",
         'mappings = "mapings"'),
    Case("rules-is-a-folder", C, replace('rules = "mappings/rules.toml"', 'rules = "mappings"'), "cannot read",
         'rules = "mappings"', error_file=C),
    Case("pipeline-object-without-mapping", HS_DEALS, replace('object = "deals"', 'object = "deal"'),
         "no mapping file for hubspot.deals", 'to = "hubspot.deals"', error_file=C),
    Case("pipeline-maps-one-kind-onto-another", C, replace('to = "salesforce.Account"', 'to = "salesforce.Contact"'),
         "onto a person", "[pipelines.companies-hubspot-to-salesforce]"),
    Case("regex-too-large", RULES, replace('check = "email"', 'check = "regex"\nvalue = "a{99999999999}"'),
         "regular expression", 'value = "a{99999999999}"'),
    Case("regex-nested-too-deeply", RULES, replace('check = "email"', f'check = "regex"\nvalue = "{"(" * 2000}'
                                                                      f'{")" * 2000}"'),
         "regular expression", 'value = "(((('),
    # characters a person's editor may add
    Case("line-separators-do-not-shift-lines", HS_CONTACTS,
         lambda t: replace('read = ["strip"]', 'read = ["strp"]')(t.replace("# HubSpot", "# Hub\x85Spot\u2028")),
         "unknown transform", 'read = ["strp"]'),
    Case("crlf-line-endings", SF_CONTACT,
         lambda t: replace('read = ["strip"]', 'read = ["strp"]')(t).replace("\n", "\r\n"),
         "unknown transform", 'read = ["strp"]'),
    Case("control-character-in-a-string", RULES, replace('message = "a deal needs a name"',
                                                         'message = "a deal needs\x01 a name"'),
         "not valid TOML", "a deal needs\x01"),
    Case("invalid-utf8-byte", C, replace("throttle_minutes = 30", "throttle_minutes = 30 # \udcff"),
         "not valid UTF-8", "throttle_minutes = 30"),
]


def _expected_line(text: str, at: str) -> int:
    assert at in text, f"{at!r} is not in the edited file"
    return text[:text.index(at)].count("\n") + 1


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
    for c in CASES])
def test_malformed_file_is_refused_with_file_and_line(case: Case, tmp_path: Path) -> None:
    text = case.edit(SHIPPED[case.file])
    config = write_project(tmp_path, {case.file: text})
    with pytest.raises(ConfigError) as exc:
        open_app(config)
    err = exc.value
    error_file = case.error_file or case.file
    assert Path(err.file).resolve() == (tmp_path / error_file).resolve(), err.render()
    assert case.message in err.message, err.render()
    assert case.key in err.key, err.render()
    assert case.hint in err.hint, err.render()
    if case.at is None:
        assert err.line is None, err.render()
    else:
        shown = (tmp_path / error_file).read_bytes().decode("utf-8", "surrogateescape")
        if case.at:
            assert err.line == _expected_line(shown.replace("\r\n", "\n"), case.at), err.render()
        else:
            assert err.line == 1, err.render()
    assert f"{Path(error_file).name}" in err.render()
    assert_clear(err, tmp_path, case.file)


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    open_app(write_project(tmp_path, {RULES: "\ufeff" + SHIPPED[RULES], CONFIG: "\ufeff" + SHIPPED[CONFIG]}))


def test_an_options_subtable_of_an_array_element_has_its_line(tmp_path: Path) -> None:
    """line_of counts [[array]] elements into their sub-tables: [alerts.channels.x] after [[alerts.channels]]."""
    from sync_engine.tomlfile import TomlFile

    lines = ("[[fields]]", 'a = 1', "[[fields]]", "[fields.options]", "b = 2", "[[fields]]", "c = 3")
    f = TomlFile("x.toml", {}, lines)
    assert f.line_of(["fields", 1, "options", "b"]) == 5
    assert f.line_of(["fields", 2, "c"]) == 7
    assert f.line_of(["fields"]) == 1
    assert f.line_of(["fields", 1, "options", "z"]) == 4
