"""The world the sample data draws from: its companies and people, its clock, and its fair draws.

Shared by the dataset's builder (`sample_data`) and the two systems' record shapes (`sample_systems`),
so neither imports the other's internals. Timestamps are fixed offsets from `BASE_TIME`: no clock.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

__all__ = ["BASE_TIME", "Company", "Person", "iso_at", "spread"]

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass(slots=True)
class Company:
    name: str
    legal_name: str
    domain: str
    kind: tuple[str, str, str]
    country: str
    employees: int
    phone: str
    owner: int
    in_hs: bool
    in_sf: bool
    weight: float  # how many of the people work there, relatively: a few large accounts, many small ones
    hs_id: str | None = None
    sf_id: str | None = None
    no_website: bool = False
    won: bool = False


@dataclass(slots=True)
class Person:
    first: str
    last: str
    email: str  # the normalized key; for an invalid person the broken address itself
    company: Company | None
    in_hs: bool
    in_sf: bool
    title: str | None
    phone: str | None
    invalid: bool = False
    free: bool = False
    hs_linked: bool = True
    sf_linked: bool = True
    hs_id: str | None = None
    sf_id: str | None = None
    no_lastname: bool = False


def iso_at(ms: int, zone: str) -> str:
    moment = BASE_TIME + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{zone}"


def spread(rng: random.Random, n: int, required: Sequence[T], pool: Sequence[T],
            weights: Sequence[float] | None = None) -> list[T]:
    """`n` draws from `pool` in which every `required` value appears at least once when `n` allows.

    This is what keeps every kind of mess present at the small sizes tests use.
    """
    out = list(required[:n]) + rng.choices(pool, weights=weights, k=max(0, n - len(required)))
    rng.shuffle(out)
    return out
