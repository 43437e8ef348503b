"""Duplicates: find records inside one system that are the same person, company or deal, and report them.

`revhub duplicates --system S --object O` reads every record of the object, maps it to canonical and
groups the records whose normalized key is equal: email for people, registrable domain for companies
(free-mail never), source key for deals. Each cluster names the rule that joined it and the
normalization steps that made its keys equal, so a person can check it. Records that only look alike
(same full name at the same company domain, same company name under different domains) are listed
apart as suggestions: a fuzzy match is never a match (issue 5, DESIGN.md 1).

Read-only. Members carry what a survivorship step needs to pick a survivor later (modified time, how
complete, the canonical values); this module never chooses one and never merges.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from connectors.base import Record
from sync_engine import identity, merge_log
from sync_engine.app import App
from sync_engine.errors import ConfigError, RecordError
from sync_engine.identity import DEFAULT_EMAIL_OPTIONS, EmailOptions
from sync_engine.mapping import LINK_PREFIX, Mapping_
from sync_engine.store import Store
from sync_engine.tomlfile import did_you_mean

__all__ = ["CSV_COLUMNS", "Cluster", "DuplicateReport", "MatchRule", "Member", "Suggestion", "as_json",
           "find_duplicates", "normalize_name", "render_csv", "render_json", "render_text"]


class MatchRule(StrEnum):
    """Why records were grouped. The value is the stable id in JSON and CSV; `text` is what people read."""

    SAME_EMAIL = "same_email"
    SAME_DOMAIN = "same_domain"
    SAME_SOURCE_KEY = "same_source_key"
    SAME_NAME_AND_COMPANY_DOMAIN = "same_name_and_company_domain"  # suggestion only
    SAME_COMPANY_NAME = "same_company_name"                        # suggestion only

    @property
    def text(self) -> str:
        return _RULE_TEXT[self]

    @property
    def automatic(self) -> bool:
        """True for the deterministic rules a merge may act on; False for suggestions."""
        return self in (MatchRule.SAME_EMAIL, MatchRule.SAME_DOMAIN, MatchRule.SAME_SOURCE_KEY)


_RULE_TEXT = {
    MatchRule.SAME_EMAIL: "same email after normalization",
    MatchRule.SAME_DOMAIN: "same registrable domain",
    MatchRule.SAME_SOURCE_KEY: "same source record id",
    MatchRule.SAME_NAME_AND_COMPANY_DOMAIN: "same full name and company domain, different emails",
    MatchRule.SAME_COMPANY_NAME: "same company name, different domains",
}
_KEY_RULE = {"person": MatchRule.SAME_EMAIL, "company": MatchRule.SAME_DOMAIN, "deal": MatchRule.SAME_SOURCE_KEY}


@dataclass(frozen=True, slots=True)
class Member:
    """One record of a cluster or suggestion, with the facts survivorship decides on."""

    id: str
    key: str | None             # its normalized key (email, registrable domain, source key); None if it has none
    raw: str | None             # the key's value as the system stores it
    steps: tuple[str, ...]      # what normalization did to `raw` to reach `key`
    modified_at: datetime
    filled: int                 # mapped canonical fields with a value
    mapped: int                 # mapped canonical fields in all
    name: str | None = None     # full name (people) or company name, as mapped
    free_mail: bool = False     # a company whose domain is free-mail or an ISP: it has no key on purpose
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # canonical, for survivorship


@dataclass(frozen=True, slots=True)
class Cluster:
    """Records joined by a deterministic rule: the same entity written more than once."""

    rule: MatchRule
    key: str
    members: tuple[Member, ...]  # by id; the order is not a survivor choice
    steps: tuple[str, ...]       # every normalization step that was needed to make the keys equal
    notes: tuple[str, ...] = ()  # e.g. a role address: one shared inbox, maybe several people


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Records that look alike but have different keys: for a person to judge, never merged automatically."""

    rule: MatchRule
    key: str                     # what they share: normalized name (and company domain)
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class DuplicateReport:
    system: str
    object: str
    kind: str
    options: EmailOptions
    records_read: int
    without_key: int             # no usable key: invalid or missing email, no website/domain
    free_mail: int               # companies whose domain is free-mail or an ISP: never clustered
    not_mapped: tuple[str, ...]  # ids whose mapping failed (see `revhub explain`)
    read_calls: int
    clusters: tuple[Cluster, ...]
    suggestions: tuple[Suggestion, ...]
    # twins revhub left after following a merge made in another CRM (merge write-back off, or refused)
    pending_merges: tuple[Mapping[str, Any], ...] = ()

    @property
    def records_in_clusters(self) -> int:
        return sum(len(c.members) for c in self.clusters)


# --- finding ----------------------------------------------------------------------------------------

def find_duplicates(app: App, system: str, object: str, *,
                    options: EmailOptions = DEFAULT_EMAIL_OPTIONS) -> DuplicateReport:
    """Read every record of `system`.`object`, map it, and cluster by its normalized key.

    Raises ConfigError (exit 2) for a system or object with no mapping file.
    """
    mapping = _mapping(app, system, object)
    connector = app.connectors[system]
    before = connector.calls.read
    read, not_mapped = 0, []
    members: list[Member] = []
    for page in connector.read(object, None, mapping.source_fields()):
        for record in page:
            if record.deleted:
                continue
            read += 1
            try:
                values = mapping.to_canonical(record, lambda _kind, value: value)  # ids as they are: no store
            except RecordError:
                not_mapped.append(record.id)
                continue
            members.append(_member(mapping, record, values, options))
    clusters = _clusters(mapping.kind, members, options)
    suggestions = _suggestions(mapping.kind, members, options)
    free_mail = sum(1 for m in members if m.free_mail)
    return DuplicateReport(system, object, mapping.kind, options, read,
                           sum(1 for m in members if m.key is None) - free_mail, free_mail, tuple(sorted(not_mapped)),
                           connector.calls.read - before, clusters, suggestions)


def with_pending_merges(report: DuplicateReport, store: Store) -> DuplicateReport:
    """The report plus the twins revhub recorded after following a merge made in another CRM."""
    pending = merge_log.entries(store, system=report.system, object=report.object, actions=["pending", "failed"])
    return replace(report, pending_merges=tuple(pending))


def _mapping(app: App, system: str, object: str) -> Mapping_:
    if system not in app.config.systems:
        raise ConfigError(f"no system named `{system}`", file=str(app.config.path), key="systems",
                          hint=did_you_mean(system, app.config.systems) or "known: " + ", ".join(app.config.systems))
    if (system, object) not in app.mappings:
        known = sorted(o for s, o in app.mappings if s == system)
        raise ConfigError(f"no mapping file for {system}.{object}", file=str(app.config.mappings_dir),
                          hint=did_you_mean(object, known) or "objects with a mapping: " + ", ".join(known))
    return app.mappings[(system, object)]


def _raw(mapping: Mapping_, record: Record, canonical: str) -> Any:
    """The stored value of the native field a canonical field is read from (None for links and concat)."""
    for f in mapping.fields:
        if f.reads and f.canonical == canonical and not f.field.startswith(LINK_PREFIX):
            return record.fields.get(f.field)
    return None


def _member(mapping: Mapping_, record: Record, values: Mapping[str, Any], options: EmailOptions) -> Member:
    filled = sum(1 for v in values.values() if v not in (None, "", [], {}))
    key, raw, steps, free_mail = _key(mapping, record, values, options)
    if mapping.kind == "person":
        name = " ".join(str(values[n]).strip() for n in ("first_name", "last_name") if values.get(n)) or None
    else:
        name = str(values["name"]).strip() if values.get("name") else None
    return Member(record.id, key, None if raw is None else str(raw), steps, record.modified_at, filled, len(values),
                  name, free_mail, dict(values))


def _key(mapping: Mapping_, record: Record, values: Mapping[str, Any], options: EmailOptions
         ) -> tuple[str | None, Any, tuple[str, ...], bool]:
    """(normalized key, stored value, steps). Steps are told from the stored value, so they show the
    variant (case, spaces, scheme) the mapping's own transforms have already removed from `values`."""
    if mapping.kind == "person":
        raw = _raw(mapping, record, "email")
        found, mapped = identity.analyze_email(raw, options), identity.analyze_email(values.get("email"), options)
        if not mapped.valid:
            return None, raw, found.steps, False
        if found.valid and found.value == mapped.value:
            return found.value, raw, found.steps, False
        return mapped.value, raw, ("the mapping's read transforms", *mapped.steps), False
    if mapping.kind == "company":
        canonical = "domain" if values.get("domain") else "website"
        raw = _raw(mapping, record, canonical)
        site = identity.analyze_domain(raw)
        mapped_site = identity.analyze_domain(values.get(canonical))
        if not (site.valid and site.value == mapped_site.value):
            site = mapped_site  # the mapping's transforms changed more than normalization would
        return site.company_key, raw, site.steps, site.free_mail
    key = values.get("source_key")
    return (None if key in (None, "") else str(key)), key, (), False


def _clusters(kind: str, members: Iterable[Member], options: EmailOptions) -> tuple[Cluster, ...]:
    groups: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        if m.key is not None:
            groups[m.key].append(m)
    out = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda m: m.id)
        if len(group) < 2:
            continue
        steps = tuple(dict.fromkeys(s for m in group for s in m.steps))
        notes: tuple[str, ...] = ()
        if kind == "person" and identity.analyze_email(key, options).role:
            notes = ("role address: a shared inbox, perhaps several people",)
        out.append(Cluster(_KEY_RULE[kind], key, tuple(group), steps, notes))
    return tuple(out)


_LEGAL_FORMS = frozenset({"inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
                          "company", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "plc", "bv", "nv", "pty", "oy",
                          "ab", "as", "kg"})


def normalize_name(text: str | None, *, company: bool = False) -> str:
    """Case, accents, punctuation and spacing folded; for companies, trailing legal forms (Inc, GmbH) dropped."""
    if not text:
        return ""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    words = re.sub(r"[^\w]+", " ", folded.replace("&", " and ")).split()
    while company and len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _suggestions(kind: str, members: Iterable[Member], options: EmailOptions) -> tuple[Suggestion, ...]:
    """Look-alikes with different keys. People: same name at the same company domain (an email typo, a
    second address); companies: same name under other domains, or none (a website left blank)."""
    groups: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        if kind == "person" and m.key:
            first, last = m.values.get("first_name"), m.values.get("last_name")
            domain = identity.analyze_email(m.key, options).company_domain
            if first and last and domain:
                groups[f"{normalize_name(f'{first} {last}')} @ {domain}"].append(m)
        elif kind == "company" and m.name:
            name = normalize_name(m.name, company=True)
            if name:
                groups[name].append(m)
    rule = MatchRule.SAME_NAME_AND_COMPANY_DOMAIN if kind == "person" else MatchRule.SAME_COMPANY_NAME
    out = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda m: m.id)
        if len({m.key or f"#{m.id}" for m in group}) >= 2:  # a record without a key differs from every other
            out.append(Suggestion(rule, key, tuple(group)))
    return tuple(out)


# --- rendering -------------------------------------------------------------------------------------

def _masker(report: DuplicateReport, show_pii: bool) -> tuple[Any, Any]:
    """(mask an email-bearing value, mask a name): identity unless people's data is to be hidden."""
    if show_pii or report.kind != "person":
        return (lambda v: v), (lambda v: v)
    return _mask_email, _mask_name


def _mask_email(value: str | None) -> str | None:
    """`jane.doe@acme.com` -> `j***@acme.com`; also for stored variants (` Jane@Acme.com`, no `@`)."""
    if not value:
        return value
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return f"{domain[:1]}***"
    return f"{re.sub(r'(?i)^mailto:', '', local).strip()[:1]}***@{domain}"


def _mask_name(text: str | None) -> str | None:
    """`jane doe @ acme.com` -> `j*** d*** @ acme.com`: initials only, the domain kept."""
    if text is None:
        return None
    name, at, domain = text.partition(" @ ")
    masked = " ".join(f"{w[0]}***" for w in name.split())
    return f"{masked}{at}{domain}"


def _stamp(value: datetime, timespec: str = "milliseconds") -> str:
    """UTC as `2026-01-05T09:00:00.000Z`; naive times are taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec=timespec) + "Z"


def _member_json(m: Member, mask: Any, mask_name: Any) -> dict[str, Any]:
    return {"id": m.id, "key": mask(m.key), "raw": mask(m.raw), "steps": list(m.steps),
            "name": mask_name(m.name), "modified_at": _stamp(m.modified_at), "filled": m.filled, "mapped": m.mapped}


def as_json(report: DuplicateReport, *, show_pii: bool = False) -> dict[str, Any]:
    mask, mask_name = _masker(report, show_pii)
    return {
        "system": report.system, "object": report.object, "kind": report.kind, "pii": "shown" if show_pii else "masked",
        "email_options": {"fold_plus_tags": report.options.fold_plus_tags,
                          "fold_gmail_dots": report.options.fold_gmail_dots},
        "totals": {"records_read": report.records_read, "clusters": len(report.clusters),
                   "records_in_clusters": report.records_in_clusters, "possible_duplicates": len(report.suggestions),
                   "without_key": report.without_key, "free_mail": report.free_mail,
                   "not_mapped": len(report.not_mapped), "api_read_calls": report.read_calls},
        "clusters": [{"rule": c.rule.value, "rule_text": c.rule.text, "key": mask(c.key), "steps": list(c.steps),
                      "notes": list(c.notes), "members": [_member_json(m, mask, mask_name) for m in c.members]}
                     for c in report.clusters],
        "possible_duplicates": [{"rule": s.rule.value, "rule_text": s.rule.text, "key": mask_name(s.key),
                                 "members": [_member_json(m, mask, mask_name) for m in s.members]}
                                for s in report.suggestions],
        "not_mapped": list(report.not_mapped),
        "pending_merges": [{"survivor_id": p["survivor_id"], "loser_ids": list(p["loser_ids"]), "rule": p["rule"],
                            "status": p["action"], "message": p["message"]} for p in report.pending_merges],
    }


def render_json(report: DuplicateReport, *, show_pii: bool = False) -> str:
    return json.dumps(as_json(report, show_pii=show_pii), ensure_ascii=False)


CSV_COLUMNS = ("group_type", "group", "rule", "group_key", "id", "key", "raw", "steps", "name", "modified_at",
               "filled", "mapped")


def render_csv(report: DuplicateReport, *, show_pii: bool = False) -> str:
    """One row per member; `group_type` is `cluster` or `possible_duplicate`, `group` numbers it from 1."""
    doc = as_json(report, show_pii=show_pii)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for group_type, groups in (("cluster", doc["clusters"]), ("possible_duplicate", doc["possible_duplicates"])):
        for n, g in enumerate(groups, 1):
            for m in g["members"]:
                writer.writerow([group_type, n, g["rule"], g["key"], m["id"], m["key"] or "", m["raw"] or "",
                                 "; ".join(m["steps"]), m["name"] or "", m["modified_at"], m["filled"], m["mapped"]])
    return buf.getvalue()


def render_text(report: DuplicateReport, *, show_pii: bool = False) -> str:
    mask, mask_name = _masker(report, show_pii)
    r = report
    lines = [f"{r.system} {r.object} ({r.kind}): {_n(r.records_read, 'record')} read, "
             f"{_n(len(r.clusters), 'cluster')} ({_n(r.records_in_clusters, 'record')}), "
             f"{_n(len(r.suggestions), 'possible duplicate')}; {_n(r.read_calls, 'API read call')}"]
    if r.kind == "person":
        lines.append(f"email options: plus tags {'folded' if r.options.fold_plus_tags else 'kept'}, "
                     f"Gmail dots {'folded' if r.options.fold_gmail_dots else 'kept'}")
    skipped = [f"{r.without_key} without a key", f"{r.free_mail} with a free-mail domain (never a company key)"
               if r.free_mail else "", f"{len(r.not_mapped)} not mapped (see `revhub explain`)" if r.not_mapped else ""]
    if r.without_key or r.free_mail or r.not_mapped:
        lines.append("not clustered: " + ", ".join(s for s in skipped if s))

    def member(m: Member, with_key: bool) -> str:
        text = f"    {m.id}  modified {_stamp(m.modified_at, 'seconds')}  complete {m.filled}/{m.mapped}"
        if with_key:
            text += f"  key {mask(m.key) or '(none)'}"
        if m.raw is not None and m.raw != m.key:
            text += f"  stored as {mask(m.raw)!r}"
        if m.steps:
            text += f"  ({'; '.join(m.steps)})"
        return text

    for n, c in enumerate(r.clusters, 1):
        how = f" ({'; '.join(c.steps)})" if c.steps else " (identical as stored)"
        lines.append(f"cluster {n}: {mask(c.key)}: {c.rule.text}{how}")
        lines += [f"  note: {note}" for note in c.notes]
        lines += [member(m, with_key=False) for m in c.members]
    if r.suggestions:
        lines.append("possible duplicates (not matched automatically):")
        for n, s in enumerate(r.suggestions, 1):
            lines.append(f"  {n}: {mask_name(s.key)}: {s.rule.text}")
            lines += [member(m, with_key=True) for m in s.members]
    if r.pending_merges:
        lines.append("left by a merge in another system (`revhub merge` merges them when enabled):")
        lines += [f"  {', '.join(p['loser_ids'])} -> {p['survivor_id']}: {p['rule']} ({p['action']})"
                  for p in r.pending_merges]
    if not r.clusters and not r.suggestions and not r.pending_merges:
        lines.append("no duplicates found")
    elif r.kind == "person" and not show_pii:
        lines.append("emails and names are masked (j***@acme.com); --show-pii shows them")
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
