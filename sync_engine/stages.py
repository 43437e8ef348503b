"""The map step for deal pipelines and stages: `mappings/stages.toml` pairs each canonical pipeline with
its HubSpot pipeline and Salesforce record type, and each canonical stage with its stage id / StageName.

Stage ids are per pipeline in HubSpot, and which StageNames a Salesforce opportunity may take depends on
its record type, so a stage cannot be mapped on its own: reading resolves the (pipeline, stage) pair of
a record to canonical values, writing produces the native pair. A stage missing from its pipeline's
map quarantines the record (PICKLIST_MISMATCH) with the file:line of that map.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sync_engine import tomlfile
from sync_engine.errors import ConfigError, FailureCode, RecordError

SYSTEMS = ("hubspot", "salesforce")
NATIVE_NAMES = {"hubspot": ("pipeline id", "stage id"), "salesforce": ("record type", "StageName")}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _StageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hubspot: str | list[str] | None = None
    salesforce: str | list[str] | None = None


class _PipelineModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hubspot: str | None = None  # the HubSpot deal pipeline id ("default", "75e28846")
    salesforce: str | None = None  # the Opportunity record type's DeveloperName
    stages: dict[str, _StageModel] = Field(default_factory=dict)


class _StagesFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pipelines: dict[str, _PipelineModel]


@dataclass(frozen=True, slots=True)
class StageEntry:
    """One canonical stage of one pipeline. Per system the first value is written; all of them read."""

    canonical: str
    native: Mapping[str, tuple[str, ...]]
    line: int | None


@dataclass(frozen=True, slots=True)
class PipelineMap:
    canonical: str
    native: Mapping[str, str]  # system -> HubSpot pipeline id / Salesforce record type DeveloperName
    stages: tuple[StageEntry, ...]
    line: int | None
    stages_line: int | None

    def stage(self, canonical: str) -> StageEntry | None:
        return next((s for s in self.stages if s.canonical == canonical), None)

    def native_stage(self, system: str, value: str) -> StageEntry | None:
        return next((s for s in self.stages if value in s.native.get(system, ())), None)


@dataclass(frozen=True, slots=True)
class StageMap:
    """The whole file. The first pipeline listed is the default: a record with no pipeline / record type
    reads as it, and a deal with no canonical pipeline is written to it."""

    path: str
    pipelines: tuple[PipelineMap, ...]

    def where(self, line: int | None) -> str:
        return f"{self.path}:{line}" if line else self.path

    def pipeline(self, canonical: str | None) -> PipelineMap | None:
        if canonical in (None, ""):
            return self.pipelines[0] if self.pipelines else None
        return next((p for p in self.pipelines if p.canonical == canonical), None)

    def native_pipeline(self, system: str, value: str | None) -> PipelineMap | None:
        if value in (None, ""):
            return next((p for p in self.pipelines if system in p.native), None)
        folded = str(value).lower()  # Salesforce names are case-insensitive; HubSpot ids are lower case
        return next((p for p in self.pipelines if p.native.get(system, "").lower() == folded), None)

    def to_canonical(self, system: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` holds the native pipeline and stage under the canonical names `pipeline` and `stage`."""
        if system not in SYSTEMS:
            return {}
        native_p, native_s = values.get("pipeline"), values.get("stage")
        kind_p, kind_s = NATIVE_NAMES[system]
        p = self.native_pipeline(system, None if native_p is None else str(native_p))
        if p is None:
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [
                f"{system} {kind_p} {native_p!r} is not in the stage map ({self.where(self._first_line())}); "
                f"add it as `{system} = \"{native_p}\"` to a [pipelines.<name>] table"])
        if native_s in (None, ""):
            return {"pipeline": p.canonical, "stage": None}
        entry = p.native_stage(system, str(native_s))
        if entry is None:
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [
                f"{system} {kind_s} {native_s!r} is not in the stage map of pipeline {p.canonical} "
                f"({self.where(p.stages_line or p.line)}); add it to [pipelines.{p.canonical}.stages]"])
        return {"pipeline": p.canonical, "stage": entry.canonical}

    def to_native(self, system: str, values: Mapping[str, Any], context: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
        """Canonical `pipeline`/`stage` in `values` -> the native pair, under the same keys.

        A write that changes only the stage still needs the deal's pipeline (stage ids are per
        pipeline), so the one missing from `values` comes from `context`, the deal's full canonical
        values. Both are written together: HubSpot and Salesforce check a stage against its pipeline.
        """
        if system not in SYSTEMS or ("pipeline" not in values and "stage" not in values):
            return dict(values)
        ctx = context or {}
        pipeline = values["pipeline"] if "pipeline" in values else ctx.get("pipeline")
        stage = values["stage"] if "stage" in values else ctx.get("stage")
        p = self.pipeline(pipeline)
        if p is None:
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [
                f"pipeline {pipeline!r} is not in the stage map ({self.where(self._first_line())}); "
                f"pipelines: {', '.join(x.canonical for x in self.pipelines)}"])
        if system not in p.native:
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [
                f"pipeline {p.canonical} has no {system} {NATIVE_NAMES[system][0]} in the stage map "
                f"({self.where(p.line)}); add `{system} = \"...\"` to [pipelines.{p.canonical}]"])
        out = {k: v for k, v in values.items() if k not in ("pipeline", "stage")}
        out["pipeline"] = p.native[system]
        if stage in (None, ""):
            return out
        entry = p.stage(str(stage))
        if entry is None or not entry.native.get(system):
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [
                f"stage {stage!r} is not in the stage map of pipeline {p.canonical} "
                f"({self.where(entry.line if entry else p.stages_line or p.line)}); "
                f"add `{stage} = {{ {system} = \"...\" }}` to [pipelines.{p.canonical}.stages]"])
        out["stage"] = entry.native[system][0]
        return out

    def _first_line(self) -> int | None:
        return self.pipelines[0].line if self.pipelines else None


def _values(raw: str | list[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (raw,) if isinstance(raw, str) else tuple(raw)


def load(path: str | Path) -> StageMap:
    """Parse and check the stage map. Errors name file:line and a fix, like every file `revhub check` reads."""
    f = tomlfile.load(path)
    model = tomlfile.validate(f, _StagesFileModel)
    where = str(path)
    pipelines: list[PipelineMap] = []
    native_owner: dict[tuple[str, str], tuple[str, int | None]] = {}  # (system, pipeline id) -> canonical
    hubspot_stage_owner: dict[str, tuple[str, int | None]] = {}  # HubSpot stage ids are unique per portal
    for name, pm in model.pipelines.items():
        line = f.line_of(["pipelines", name])
        if not _NAME.match(name):
            raise ConfigError(f"pipeline name `{name}` is not a canonical name", file=where, line=line,
                              key=f"pipelines.{name}", hint="use lower case words joined by _, e.g. new_business")
        native = {s: v for s in SYSTEMS if (v := getattr(pm, s))}
        if not native:
            raise ConfigError(f"pipeline {name} names no system pipeline", file=where, line=line,
                              key=f"pipelines.{name}", hint='add `hubspot = "<pipeline id>"` and/or '
                              '`salesforce = "<record type DeveloperName>"`')
        for system, value in native.items():
            seen = native_owner.get((system, value.lower()))
            if seen:
                raise ConfigError(f"{system} {NATIVE_NAMES[system][0]} `{value}` is already pipeline {seen[0]} "
                                  f"(line {seen[1]})", file=where, line=f.line_of(["pipelines", name, system]),
                                  key=f"pipelines.{name}.{system}",
                                  hint="each system pipeline belongs to one canonical pipeline")
            native_owner[(system, value.lower())] = (name, f.line_of(["pipelines", name, system]))
        stages_line = f.line_of(["pipelines", name, "stages"])
        if not pm.stages:
            raise ConfigError(f"pipeline {name} has no stages", file=where, line=stages_line or line,
                              key=f"pipelines.{name}.stages", hint=f"add a [pipelines.{name}.stages] table: "
                              'prospecting = { hubspot = "...", salesforce = "..." }')
        entries: list[StageEntry] = []
        listed: dict[tuple[str, str], tuple[str, int | None]] = {}
        for stage, sm in pm.stages.items():
            sline = f.line_of(["pipelines", name, "stages", stage])
            key = f"pipelines.{name}.stages.{stage}"
            if not _NAME.match(stage):
                raise ConfigError(f"stage name `{stage}` is not a canonical name", file=where, line=sline,
                                  key=key, hint="use lower case words joined by _, e.g. closed_won")
            values = {s: _values(getattr(sm, s)) for s in SYSTEMS if getattr(sm, s) is not None}
            for system, vals in values.items():
                if system not in native:
                    raise ConfigError(f"stage {stage} has a {system} value but pipeline {name} has no {system} "
                                      f"{NATIVE_NAMES[system][0]}", file=where, line=sline, key=key,
                                      hint=f'add `{system} = "..."` to [pipelines.{name}], or remove it here')
                if not vals or any(not v for v in vals):
                    raise ConfigError(f"stage {stage} has an empty {system} value", file=where, line=sline,
                                      key=f"{key}.{system}", hint=f"name the {NATIVE_NAMES[system][1]}")
                for v in vals:
                    if (system, v.lower()) in listed:
                        other, other_line = listed[(system, v.lower())]
                        raise ConfigError(f"{system} {NATIVE_NAMES[system][1]} `{v}` is listed twice in pipeline "
                                          f"{name}: as {other} (line {other_line}) and {stage}", file=where,
                                          line=sline, key=f"{key}.{system}", hint="a stage reads back as one "
                                          "canonical stage: keep it under one of them")
                    listed[(system, v.lower())] = (stage, sline)
                    if system == "hubspot":
                        owner = hubspot_stage_owner.get(v)
                        if owner and owner[0] != name:
                            raise ConfigError(f"hubspot stage id `{v}` belongs to pipeline {owner[0]} (line "
                                              f"{owner[1]}), not {name}", file=where, line=sline,
                                              key=f"{key}.hubspot", hint="HubSpot stage ids are per pipeline: "
                                              f"use a stage id of pipeline `{native['hubspot']}`")
                        hubspot_stage_owner[v] = (name, sline)
            entries.append(StageEntry(stage, values, sline))
        pipelines.append(PipelineMap(name, native, tuple(entries), line, stages_line))
    return StageMap(where, tuple(pipelines))


@dataclass(frozen=True, slots=True)
class LiveProblem:
    """A stage map entry the live system does not have; check_remote turns it into a Problem."""

    line: int | None
    key: str
    message: str
    hint: str


def check_live(stage_map: StageMap, system: str, vendor: str, live: Mapping[str, Sequence[str]]) -> list[LiveProblem]:
    """Check every pipeline and stage the map names for `system` against the live metadata `live`:
    HubSpot pipeline id -> stage ids (pipelines API), or Salesforce record type DeveloperName -> the
    StageNames its sales process allows (UI API picklist values per record type)."""
    f = tomlfile.load(stage_map.path)
    kind_p, kind_s = NATIVE_NAMES.get(system, ("pipeline", "stage"))
    folded = {k.lower(): k for k in live}
    out: list[LiveProblem] = []
    for p in stage_map.pipelines:
        native = p.native.get(system)
        if native is None:
            continue
        found = folded.get(native.lower())
        if found is None:
            out.append(LiveProblem(f.line_of(["pipelines", p.canonical, system]), f"pipelines.{p.canonical}.{system}",
                                   f"{vendor} has no {kind_p} `{native}` (pipeline {p.canonical})",
                                   tomlfile.did_you_mean(native, live) or f"{vendor} has: {', '.join(sorted(live))}"))
            continue
        allowed = list(live[found])
        for entry in p.stages:
            for value in entry.native.get(system, ()):
                if value in allowed:
                    continue
                other = next((k for k, stages in live.items() if k != found and value in stages), None)
                where = f" (it belongs to {kind_p} `{other}`)" if other and system == "hubspot" else ""
                out.append(LiveProblem(entry.line, f"pipelines.{p.canonical}.stages.{entry.canonical}.{system}",
                                       f"{kind_s} `{value}` is not valid for {vendor} {kind_p} `{found}`{where}",
                                       tomlfile.did_you_mean(value, allowed) or
                                       f"`{found}` allows: {', '.join(allowed)}"))
    return out
