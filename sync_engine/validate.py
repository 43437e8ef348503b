"""Declarative validation rules on canonical records; a failing record is quarantined with every reason.

Rules live in a TOML file RevOps edit (`mappings/rules.toml`), each with an id, the kind and field it
checks, a check, a message and an action. Only `quarantine` and `warn` exist in this first version.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync_engine import identity, tomlfile
from sync_engine.canonical import KINDS
from sync_engine.errors import ConfigError


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    field: str
    check: Literal["required", "email", "one_of", "max_length", "regex"]
    value: Any = None
    message: str
    action: Literal["quarantine", "warn"] = "quarantine"
    targets: list[str] = Field(default_factory=list)
    when: Literal["always", "create"] = "always"


class _RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[_RuleModel] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    field: str
    check: str
    value: Any
    message: str
    action: str
    targets: tuple[str, ...]
    when: str = "always"

    def passes(self, value: Any) -> bool:
        if self.check == "required":
            return value not in (None, "")
        if value in (None, ""):
            return True  # only `required` judges emptiness
        if self.check == "email":
            return identity.is_valid_email(str(value))
        if self.check == "one_of":
            return value in self.value
        if self.check == "max_length":
            return len(str(value)) <= int(self.value)
        return re.fullmatch(str(self.value), str(value)) is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    quarantine: list[str]  # "rule-id: message" for each failed quarantine rule
    warnings: list[str]


def validate(rules: list[Rule], kind: str, target: str, record: Mapping[str, Any], *, creating: bool = False
             ) -> Verdict:
    """Check `record` against the rules for its kind and target.

    `creating=False` checks the rules that always apply; `creating=True` only the `when = "create"`
    ones, which the engine checks once it knows the target has no such record yet (a field the
    target requires on create is not needed to update a record that already has it).
    """
    bad: list[str] = []
    warn: list[str] = []
    for rule in rules:
        if rule.kind != kind or (rule.targets and target not in rule.targets):
            continue
        if (rule.when == "create") != creating:
            continue
        if not rule.passes(record.get(rule.field)):
            (bad if rule.action == "quarantine" else warn).append(f"{rule.id}: {rule.message}")
    return Verdict(bad, warn)


def load_rules(path: Path | None) -> list[Rule]:
    if path is None:
        return []
    f = tomlfile.load(path)
    model = tomlfile.validate(f, _RulesModel)
    rules: list[Rule] = []
    for i, r in enumerate(model.rules):
        if r.kind not in KINDS:
            raise ConfigError(f"unknown kind `{r.kind}`", file=str(path), line=f.line_of(["rules", i, "kind"]),
                              key=f"rules[{i}].kind", hint=tomlfile.did_you_mean(r.kind, KINDS))
        if r.field not in KINDS[r.kind].fields:
            raise ConfigError(f"`{r.field}` is not a {r.kind} field", file=str(path),
                              line=f.line_of(["rules", i, "field"]), key=f"rules[{i}].field",
                              hint=tomlfile.did_you_mean(r.field, KINDS[r.kind].fields))
        rules.append(Rule(r.id, r.kind, r.field, r.check, r.value, r.message, r.action, tuple(r.targets), r.when))
    return rules
