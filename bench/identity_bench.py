"""Identity matching, measured: precision and recall on a seeded ground truth, and records/s on one core.

    .venv/bin/python -m bench.identity_bench [--people N] [--seed S]

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
import gc
import os
import platform
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterable

import tldextract

from bench.identity_truth import Truth, generate
from sync_engine import identity
from sync_engine.identity import EmailOptions, analyze_domain, analyze_email, email_keys

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
        person.add(o.variant, o.person_id, people.get(r.value) if r.valid else None)
        account.add(o.variant, o.company_id, companies.get(r.company_domain))
        if o.person_id is not None:
            is_role = o.person_id in role_ids
            flags["role addresses"] += is_role
            flags["role addresses flagged"] += is_role and r.role
            flags["other addresses flagged as role"] += not is_role and r.role
        flags["free-mail addresses"] += r.free_mail
        flags["free-mail addresses given a company key"] += r.free_mail and r.company_domain is not None
    for s in truth.site_observations:
        site.add(s.variant, s.company_id, companies.get(analyze_domain(s.raw).company_key))
    return person, account, site, flags


def clear_caches() -> None:
    identity._host.cache_clear()
    identity._fast_mail_host.cache_clear()


def speed(truth: Truth, options: EmailOptions, repeats: int) -> tuple[float, float, int]:
    """Best seconds of `repeats` to index A, and to normalize and match every person observation of B.

    Every pass starts with empty per-domain caches, as a first sync after start-up does.
    """
    raws = [o.raw for o in truth.person_observations]
    best_index = best_match = float("inf")
    matched = 0
    for _ in range(repeats):
        clear_caches()
        t0 = time.perf_counter()
        people, companies = build_index(truth, options)
        t1 = time.perf_counter()
        clear_caches()
        matched = 0
        t2 = time.perf_counter()
        for raw in raws:
            person_key, company_key = email_keys(raw, options)
            if people.get(person_key) is not None:
                matched += 1
            companies.get(company_key)
        t3 = time.perf_counter()
        best_index, best_match = min(best_index, t1 - t0), min(best_match, t3 - t2)
    return best_index, best_match, matched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="people to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is printed")
    args = parser.parse_args(argv)
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
    print(f"index A:          {n_index:>9,} records in {index_s:6.2f} s = {n_index / index_s:>9,.0f} records/s")
    print(f"normalize+match:  {n:>9,} people  in {match_s:6.2f} s = {n / match_s:>9,.0f} records/s "
          f"(email -> person and -> account; {matched:,} matched)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"timing: best of {args.repeats} passes, each from empty per-domain caches, ground truth frozen "
          f"out of gc; load average now {load}")
    exact = all(s.total() == ("1.0000", "1.0000") for s in (person, account, site))
    if not exact or flags["fast path disagrees with analyze_email"]:
        print("FAIL: precision or recall below 1.0, or the fast path disagrees with analyze_email")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
