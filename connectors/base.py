"""The boundary between the engine and every connector: the `Connector` base and the values crossing it.

A connector knows one system: auth, reading changes, writing batches, looking records up by a
natural key, describing its schema and translating the vendor's errors into `FailureCode`s. It
never touches the store, the mappings or another connector. The engine drives the loop.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connectors.errors import ConnectorError, FailureCode, RemoteError

__all__ = ["CallCounter", "Connector", "ConnectorSettings", "FieldSchema", "Links", "Merge", "ObjectSchema",
           "ObjectSpec", "Record", "Secret", "WriteOp", "WriteResult"]

Links = Mapping[str, tuple[str, ...]]


class Secret(str):
    """A credential. It prints as `****` so it cannot leak through logs, reprs or failure rows."""

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    """What a connector needs to reach its system. Built by the engine from config + environment."""

    system: str
    base_url: str
    token: Secret
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """Facts about one object of a system that the engine plans with."""

    name: str
    cursor_field: str
    batch_size: int


@dataclass(frozen=True, slots=True)
class Record:
    """One record as read from a system: native field names, values as the API returns them.

    `links` holds associations to other objects of the same system (object name -> ids), for
    systems that keep them outside the record's fields (HubSpot associations).
    """

    object: str
    id: str
    fields: Mapping[str, Any]
    modified_at: datetime
    links: Links = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One record to write. `id=None` creates; otherwise updates that record.

    `ref` is the caller's correlation key, echoed in the `WriteResult`.
    `links` asks for associations to be created (object name -> ids of that object).
    `upsert` (creates only) names a unique field of `fields` (a HubSpot unique property, a Salesforce
    external id): the connector then creates-or-updates by it, so a retried create, a rerun after a
    crash or a second worker creating the same record never makes a twin (docs/decisions.md 14).
    """

    ref: str
    id: str | None
    fields: Mapping[str, Any]
    links: Links = field(default_factory=dict)
    upsert: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one `WriteOp`, in the same order as the ops. `error` is None on success."""

    ref: str
    id: str | None
    created: bool = False
    error: RemoteError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class FieldSchema:
    name: str
    type: str
    label: str = ""
    required: bool = False
    createable: bool = True
    updateable: bool = True
    length: int | None = None
    picklist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    object: str
    fields: Mapping[str, FieldSchema]


@dataclass(frozen=True, slots=True)
class Merge:
    """A merge done inside the system: `loser_ids` were folded into `survivor_id` at `merged_at`.

    HubSpot lists the absorbed ids on the survivor (`hs_merged_object_ids`); Salesforce keeps each
    loser in the recycle bin with `MasterRecordId` naming the survivor.
    """

    object: str
    survivor_id: str
    loser_ids: tuple[str, ...]
    merged_at: datetime


@dataclass(slots=True)
class CallCounter:
    """API calls made, by kind. The engine reports these per system in `revhub sync --json`."""

    read: int = 0
    write: int = 0


class Connector(ABC):
    """Base of every connector. Subclasses declare `system` and `objects` and implement five methods.

    Constructors do no I/O: the first network call happens in one of the methods below.
    """

    system: ClassVar[str]
    objects: ClassVar[Mapping[str, ObjectSpec]]

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        self.calls = CallCounter()

    def spec(self, object: str) -> ObjectSpec:
        return self.objects[object]

    @abstractmethod
    def check(self) -> None:
        """Prove the credentials and connection work; raise `ConnectorError` otherwise."""

    @abstractmethod
    def read(self, object: str, since: datetime | None, fields: Sequence[str]) -> Iterator[list[Record]]:
        """Yield pages of records modified at or after `since` (inclusive), oldest first.

        Inclusive on purpose: records sharing the boundary timestamp are read again rather than lost;
        the engine drops the ones it has already seen by (id, modified_at).
        """

    @abstractmethod
    def lookup(self, object: str, field: str, values: Sequence[str], fields: Sequence[str] = ()) -> list[Record]:
        """Candidate records whose `field` equals, or for URL-like fields contains, one of `values`.

        Each candidate carries `field` and the extra `fields` asked for (the engine asks for every
        mapped field, so a matched record's current values are known before anything is written).

        Case-insensitive. The engine re-checks every candidate with its own normalization, so a
        connector may return more than the matches but never fewer. Used to match before creating,
        so a retry after a crash finds what the crashed run already created.
        """

    @abstractmethod
    def write(self, object: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Write in the largest batches the API allows; one result per op, in order.

        A record the system refuses gets a `WriteResult.error`; a failure of the whole call
        (auth, rate limit, outage) raises `ConnectorError`.
        """

    @abstractmethod
    def describe(self, object: str) -> ObjectSchema:
        """The object's fields: types, picklists, required, createable, updateable."""

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) of the system's daily API allocation as the vendor last reported it, or None."""
        return None

    # How long the system still reports a merge after it was made; None: for ever. A run that looks
    # for merges less often than this misses some, and the engine says so (`merge.follow`).
    merge_memory: ClassVar[timedelta | None] = None

    def merges(self, object: str, since: datetime | None) -> list[Merge]:
        """Merges done inside the system whose survivor changed at or after `since`, oldest first.

        Optional: a system that cannot report merges returns none, and the engine then only sees the
        loser disappear. Losers are never read again by `read`, which is why the engine asks here.
        """
        return []

    def merge(self, object: str, survivor_id: str, loser_id: str, fields: Mapping[str, Any] | None = None) -> str:
        """Merge `loser_id` into `survivor_id`, first setting `fields` (native names) on the survivor.

        Returns the id the system says survived: HubSpot may give the survivor a new id, so callers
        store the returned id, never the one they asked for. Raises `ConnectorError`
        (CONFIG_ERROR when the system has no merge).
        """
        raise ConnectorError(FailureCode.CONFIG_ERROR, f"{self.system} has no merge for {object}")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
