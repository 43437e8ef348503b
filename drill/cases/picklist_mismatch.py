"""PICKLIST_MISMATCH: RevOps drops a stage from mappings/stages.toml; deals are quarantined."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    mapping = drill.work / "mappings" / "stages.toml"
    stage_map = 'closed_won = { hubspot = "closedwon", salesforce = "Closed Won" }\n'
    good_mapping = mapping.read_text(encoding="utf-8")

    def break_stage_map() -> None:
        drill.expect(stage_map in good_mapping, f"mappings/stages.toml maps `{stage_map.strip()}`")
        mapping.write_text(good_mapping.replace(stage_map, ""), encoding="utf-8")
        drill.say("inject", f"RevOps drops `{stage_map.strip()}` from the new_business stages of "
                            "mappings/stages.toml")

    def restore_stage_map() -> str:
        mapping.write_text(good_mapping, encoding="utf-8")
        return "closed_won mapped to closedwon / Closed Won again in mappings/stages.toml"

    return [
        Case("PICKLIST_MISMATCH: the deal stage map lost closed_won", "PICKLIST_MISMATCH", "quarantine",
             break_stage_map, restore_stage_map, replay="retry",
             records={"hubspot_contacts": 0, "salesforce_contacts": 0, "opportunities": 3,
                      "stage": "Closed Won"}),
    ]
