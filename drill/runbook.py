"""A runbook as on-call reads it: its `## ` sections, and the `revhub` commands of a section's shell blocks."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(slots=True)
class Runbook:
    code: str
    path: Path
    sections: dict[str, str]

    @classmethod
    def open(cls, code: str) -> Runbook:
        path = ROOT / "runbooks" / f"{code}.md"
        sections: dict[str, str] = {}
        current = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                current = line[3:].strip()
                sections[current] = ""
            elif current:
                sections[current] += line + "\n"
        return cls(code, path, sections)

    def commands(self, section: str, pipeline: str) -> list[str]:
        """The `revhub` lines of a section's shell blocks, with PIPELINE filled in."""
        text = self.sections.get(section, "")
        out = []
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("revhub "):
                    out.append(line.replace("PIPELINE", pipeline))
        return out
