"""mappings/README.md "Walkthrough: a new field with a picklist value map", followed literally as a new RevOps
user would, on a copy of the shipped config and mappings, through the real `revhub` command line, against
the emulators: add the field, break it, read the error, fix it, preview, explain, sync."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, World

pytestmark = pytest.mark.e2e

PIPELINE = "contacts-hubspot-to-salesforce"
CONTACT = Path("mappings") / "salesforce" / "contact.toml"


def _readme_block(after: str, lang: str) -> str:
    """The first ```lang block after the line containing `after` in mappings/README.md, dedented."""
    text = (ROOT / "mappings" / "README.md").read_text()
    start = text.index(after)
    block = re.search(rf"```{lang}\n(.*?)```", text[start:], re.S)
    assert block, f"mappings/README.md has no ```{lang} block after {after!r}"
    return "\n".join(line[3:] if line.startswith("   ") else line for line in block.group(1).splitlines()) + "\n"


def revhub(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it: its own process, in the config's folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("REVHUB_STORE_URL", "REVHUB_CONFIG")}
    return subprocess.run([sys.executable, "-m", "sync_engine.cli", *args], cwd=world.root, env=env,
                          capture_output=True, text=True, timeout=300)


def _lead(world: World) -> tuple[str, str]:
    """A HubSpot contact in stage `lead`, with a last name and a valid email, that the sync writes."""
    skip = {r[2] for r in world.data.truth["missing_required"]} | {i for _s, i in world.data.truth["invalid_emails"]}
    return next((c["properties"]["email"], c["id"]) for c in world.data.hubspot["contacts"]
                if c["properties"].get("lifecyclestage") == "lead" and c["id"] not in skip
                and "@" in (c["properties"].get("email") or "") and c["properties"].get("lastname"))


def test_add_a_picklist_field_break_it_fix_it_preview_explain_sync(world: World) -> None:
    entry = _readme_block("1. Add an entry at the end of `mappings/salesforce/contact.toml`", "toml")
    assert 'field = "LeadSource"' in entry and "map_values" in entry
    path = world.root / CONTACT
    shipped = path.read_text()
    header_line = len(shipped.splitlines()) + 2  # after one blank line
    write_line = header_line + entry.splitlines().index(next(x for x in entry.splitlines() if x.startswith("write")))

    # 2. break it on purpose: `map_value` for `map_values`; check names the file, the line and the fix
    path.write_text(shipped + "\n" + entry.replace("map_values", "map_value"))
    broken = revhub(world, "check")
    assert broken.returncode == 2, broken.stdout + broken.stderr
    assert f"{CONTACT}:{write_line}: fields[7].write[0]: unknown transform `map_value`" in broken.stderr
    assert "hint: did you mean `map_values`?" in broken.stderr
    shown = _readme_block("2. `revhub check`", "")
    assert "unknown transform `map_value`" in shown and "hint: did you mean `map_values`?" in shown

    # a misspelt canonical field is caught the same way
    path.write_text(shipped + "\n" + entry.replace('canonical = "lifecycle_stage"', 'canonical = "lifecycle_stag"'))
    broken = revhub(world, "check")
    assert broken.returncode == 2 and f"{CONTACT}:{header_line + 2}: fields[7].canonical:" in broken.stderr
    assert "`lifecycle_stag` is not a person field" in broken.stderr
    assert "did you mean `lifecycle_stage`" in broken.stderr

    # fixed: check says ok
    path.write_text(shipped + "\n" + entry)
    fixed = revhub(world, "check")
    assert fixed.returncode == 0 and fixed.stdout.startswith("ok: config.toml"), fixed.stdout + fixed.stderr
    remote = revhub(world, "check", "--remote")
    assert "LeadSource" not in remote.stdout, remote.stdout  # the field exists and every mapped value is in its list

    # 3. the dry run shows the field old -> new, in canonical terms, the value sent, and writes nothing
    email, hs_id = _lead(world)
    before = world.stats("salesforce")
    preview = revhub(world, "sync", PIPELINE, "--dry-run")
    assert preview.returncode in (0, 1), preview.stderr
    block = preview.stdout.split(f"{PIPELINE}: ")
    mine = next(b for b in block if b.startswith(("create " + hs_id, "update " + hs_id)))
    assert "    lifecycle_stage: None -> 'lead'  (sent as LeadSource = 'Web')" in mine
    assert world.writes("salesforce", before) == 0

    # 4. explain names the mapping line and the value map, and the value Salesforce gets
    explained = revhub(world, "explain", PIPELINE, email)
    assert explained.returncode == 0, explained.stderr
    assert (f"LeadSource <- lifecycle_stage ({CONTACT}:{header_line}): None -> 'lead': write 'Web'"
            in explained.stdout), explained.stdout
    assert "      map_values -> 'Web'" in explained.stdout

    # 5. sync writes it
    synced = revhub(world, "sync", PIPELINE)
    assert synced.returncode in (0, 1), synced.stderr
    sf = {(r.get("Email") or "").strip().lower(): r for r in world.dump("salesforce", "Contact")}
    assert sf[email.strip().lower()]["LeadSource"] == "Web"


def test_a_field_mapped_after_the_first_sync_reaches_the_records_synced_before(world: World) -> None:
    """Records synced before the edit, and unchanged since at their source, still get the new field,
    once; the run after writes nothing again."""
    first = revhub(world, "sync", PIPELINE)
    assert first.returncode in (0, 1), first.stderr
    email, _hs_id = _lead(world)
    sf = {(r.get("Email") or "").strip().lower(): r for r in world.dump("salesforce", "Contact")}
    assert not sf[email.strip().lower()].get("LeadSource")

    entry = _readme_block("1. Add an entry at the end of `mappings/salesforce/contact.toml`", "toml")
    path = world.root / CONTACT
    path.write_text(path.read_text() + "\n" + entry)
    edited = revhub(world, "sync", PIPELINE, "--json")
    assert edited.returncode in (0, 1), edited.stderr
    assert "the mapping files changed" in edited.stdout
    sf = {(r.get("Email") or "").strip().lower(): r for r in world.dump("salesforce", "Contact")}
    assert sf[email.strip().lower()]["LeadSource"] == "Web"

    before = world.stats("salesforce")
    again = revhub(world, "sync", PIPELINE)
    assert again.returncode in (0, 1), again.stderr
    assert world.writes("salesforce", before) == 0
