"""Identity matching, measured: precision and recall on a seeded ground truth, and records/s on one core.

    .venv/bin/python -m bench.identity_bench [--people N] [--seed S] [--repeats R]
    .venv/bin/python -m bench.identity_bench --instructions --people 20000   # callgrind: load-independent

System A's records (clean) build the index: person key -> person, company key -> company. Each of
B's observations is normalized and looked up: its email gives a person (by normalized address) and
an account (lead-to-account, by the registrable domain of the address, free-mail excluded); each
company observation's website gives a company. The deterministic rules must reach precision and
recall 1.0 on the variants they cover; typos must match nothing.

Scoring uses `analyze_email` (the full answer, with the role and free-mail flags); the timed pass uses
`email_keys`, the key-only path matching runs on (`identify.canonical_key`, lead-to-account), and the
scoring pass counts every record where the two disagree (the bench fails unless that count is 0).
"""
from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import tldextract

from bench.identity_truth import Truth, generate
from sync_engine import identity
from sync_engine.identity import EmailOptions, analyze_domain, analyze_email, email_keys, email_keys_for

FOLDING = EmailOptions(fold_plus_tags=True, fold_gmail_dots=True)


class Score:
    """Counts per variant: a hit is the right id; a false match is any wrong id; a miss is no right id."""

    def __init__(self) -> None:
        self.tp: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()
        self.n: Counter[str] = Counter()

    def add(self, variant: str, truth: int | None, found: int | None) -> None:
        self.n[variant] += 1
        if truth is not None and found == truth:
            self.tp[variant] += 1
            return
        if found is not None:
            self.fp[variant] += 1
        if truth is not None:
            self.fn[variant] += 1

    @staticmethod
    def _pr(tp: int, fp: int, fn: int) -> tuple[str, str]:
        p = f"{tp / (tp + fp):.4f}" if tp + fp else "  -   "
        r = f"{tp / (tp + fn):.4f}" if tp + fn else "  -   "
        return p, r

    def total(self) -> tuple[str, str]:
        return self._pr(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))

    def lines(self, title: str) -> Iterable[str]:
        p, r = self.total()
        yield f"{title}: precision {p}  recall {r}  ({sum(self.n.values()):,} records)"
        for variant in sorted(self.n):
            p, r = self._pr(self.tp[variant], self.fp[variant], self.fn[variant])
            yield (f"    {variant:<14} {self.n[variant]:>9,}  precision {p}  recall {r}  "
                   f"false matches {self.fp[variant]:,}")


def reserved_names() -> frozenset[str]:
    """Names no company can own: free-mail domains, and public suffixes and their parents (`deno.net`)."""
    rules = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True).tlds
    split = (rule.lstrip("!").split(".") for rule in rules)
    suffixes = {".".join(labels[i:]) for labels in split for i in range(len(labels))}
    return identity.FREE_MAIL_DOMAINS | suffixes


def build_index(truth: Truth, options: EmailOptions) -> tuple[dict[str, int], dict[str, int]]:
    people = {}
    for p in truth.people:
        key = analyze_email(p.email, options).value
        assert key is not None and key not in people, f"system A has a bad or duplicate key: {p.email}"
        people[key] = p.id
    companies = {}
    for c in truth.companies:
        key = analyze_domain(c.website).company_key
        assert key is not None and key not in companies, f"system A has a bad or duplicate domain: {c.website}"
        companies[key] = c.id
    return people, companies


def score(truth: Truth, options: EmailOptions) -> tuple[Score, Score, Score, Counter[str]]:
    people, companies = build_index(truth, options)
    person, account, site, flags = Score(), Score(), Score(), Counter[str]()
    role_ids = {p.id for p in truth.people if p.kind == "role"}
    for o in truth.person_observations:
        r = analyze_email(o.raw, options)
        flags["fast path disagrees with analyze_email"] += (
            email_keys(o.raw, options) != ((r.value if r.valid else None), r.company_domain))
        person.add(o.variant, o.person_id, people.get(r.value or "") if r.valid else None)  # "": no key
        account.add(o.variant, o.company_id, companies.get(r.company_domain or ""))
        if o.person_id is not None:
            is_role = o.person_id in role_ids
            flags["role addresses"] += is_role
            flags["role addresses flagged"] += is_role and r.role
            flags["other addresses flagged as role"] += not is_role and r.role
        flags["free-mail addresses"] += r.free_mail
        flags["free-mail addresses given a company key"] += r.free_mail and r.company_domain is not None
    for s in truth.site_observations:
        site.add(s.variant, s.company_id, companies.get(analyze_domain(s.raw).company_key or ""))
    return person, account, site, flags


def match_pass(raws: list[str], options: EmailOptions, people: dict[str, int], companies: dict[str, int]) -> int:
    """Normalize every address and look up its person and its account; how many found their person.

    Runs inside `functools.reduce` so `--instructions` can count exactly this pass: callgrind collects
    only while the C function `functools_reduce` runs (`--toggle-collect`), and nothing else here calls it.
    """
    keys = email_keys_for(options)

    def step(matched: int, raw: str) -> int:
        person_key, company_key = keys(raw)
        companies.get(company_key)  # type: ignore[arg-type]
        return matched + (people.get(person_key) is not None)  # type: ignore[arg-type]

    return functools.reduce(step, raws, 0)


def speed(truth: Truth, options: EmailOptions, repeats: int) -> tuple[list[float], list[float], int]:
    """Seconds of each of `repeats` passes to index A, and to normalize and match every person of B.

    Every pass starts with empty per-domain caches, as a first sync after start-up does.
    """
    raws = [o.raw for o in truth.person_observations]
    index_s, match_s, matched = [], [], 0
    for _ in range(repeats):
        identity.clear_caches()
        t0 = time.perf_counter()
        people, companies = build_index(truth, options)
        t1 = time.perf_counter()
        identity.clear_caches()
        matched = match_pass(raws, options, people, companies)
        t2 = time.perf_counter()
        index_s.append(t1 - t0)
        match_s.append(t2 - t1)
    return index_s, match_s, matched


def count_instructions(people: int, seed: int) -> int:
    """CPU instructions of one normalize+match pass, counted by callgrind: the same on a busy machine.

    Seconds on a shared machine move with whatever else runs there (the same build measured 158k and
    245k records/s an hour apart); an instruction count does not, so it is the figure to compare across
    changes. The child runs with a fixed hash seed, so two runs of one build count the same.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce",
                   f"--callgrind-out-file={out}", sys.executable, "-m", "bench.identity_bench",
                   "--people", str(people), "--seed", str(seed), "--one-pass"]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 (our own argv)
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[0].split()[1])


def one_pass(people: int, seed: int) -> int:
    """The child of `--instructions`: build the truth and index uncounted, then one counted match pass."""
    truth = generate(people, seed, reserved_names())
    index = build_index(truth, FOLDING)
    gc.collect()
    gc.freeze()
    identity.clear_caches()
    match_pass([o.raw for o in truth.person_observations], FOLDING, *index)
    return 0


def instructions_report(people: int, seed: int) -> int:
    n = len(generate(people, seed, reserved_names()).person_observations)
    print(f"counting instructions with callgrind: {n:,} people, one pass from empty per-domain caches ...",
          flush=True)
    total = count_instructions(people, seed)
    print(f"normalize+match:  {total:,} instructions = {total / n:,.0f} instructions a record "
          f"(python {platform.python_version()}, callgrind, load-independent)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="people to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed passes; the best and the median are printed (default 5)")
    parser.add_argument("--instructions", action="store_true",
                        help="count the CPU instructions of one match pass with valgrind's callgrind instead of "
                             "timing it: a figure a busy machine does not move (use --people 20000: ~1 min)")
    parser.add_argument("--one-pass", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_pass:
        return one_pass(args.people, args.seed)
    if args.instructions:
        return instructions_report(args.people, args.seed)
    print("command: " + shlex.join([".venv/bin/python", "-m", "bench.identity_bench", *sys.argv[1:]]))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {platform.python_version()} on {platform.machine()}, one thread (one core); "
          f"{os.cpu_count()} cores, load average {load}; {len(identity.FREE_MAIL_DOMAINS):,} free-mail domains")
    t = time.perf_counter()
    truth = generate(args.people, args.seed, reserved_names())
    print(f"ground truth: {len(truth.people):,} people, {len(truth.companies):,} companies, "
          f"{len(truth.person_observations):,} + {len(truth.site_observations):,} observations "
          f"({time.perf_counter() - t:.1f} s to generate)")
    print()
    person, account, site, flags = score(truth, FOLDING)
    print(f"rules: {FOLDING}")
    for s, title in ((person, "person (email)"), (account, "person -> company (email domain)"),
                     (site, "company (website)")):
        print("\n".join(s.lines(title)))
    print("flags: " + ", ".join(f"{k} {v:,}" for k, v in flags.items()))
    plain, *_ = score(truth, EmailOptions())
    p, r = plain.total()
    print(f"with {EmailOptions()}: person precision {p} recall {r} "
          f"(plus_tag, gmail_dots and googlemail are then not covered)")
    print()
    # The ground truth is millions of objects no sync holds; keep the collector from rescanning them.
    gc.collect()
    gc.freeze()
    index_s, match_s, matched = speed(truth, FOLDING, args.repeats)
    n_index = len(truth.people) + len(truth.companies)
    n = len(truth.person_observations)
    for title, count, unit, passes in (("index A:        ", n_index, "records", index_s),
                                       ("normalize+match:", n, "people ", match_s)):
        best, median = min(passes), statistics.median(passes)
        print(f"{title}  {count:>9,} {unit} in {best:6.2f} s = {count / best:>9,.0f} records/s best, "
              f"{count / median:>9,.0f} median, {count / max(passes):>9,.0f} worst")
    print(f"                  (normalize+match: email -> person and -> account; {matched:,} matched)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"timing: {args.repeats} passes, each from empty per-domain caches, ground truth frozen "
          f"out of gc; load average now {load}")
    exact = all(s.total() == ("1.0000", "1.0000") for s in (person, account, site))
    if not exact or flags["fast path disagrees with analyze_email"]:
        print("FAIL: precision or recall below 1.0, or the fast path disagrees with analyze_email")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
