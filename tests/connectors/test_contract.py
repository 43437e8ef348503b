"""The connector contract: every connector registered under `revhub.connectors`, against its own emulator.

One suite, parametrized by system, proves what the engine relies on (connectors/base.py): `check` fails on a
refused token with an auth code and no transient retries; `read` yields keyed, aware-UTC, ascending
records and honours `since` inclusively; `lookup` ignores case; `write` answers one result per op, in order,
is idempotent when repeated, and refuses one bad record without failing the others; `describe` knows the
fields written. A connector without an entry in `CONTRACTS` fails here: it cannot ship untested.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.base import Connector, ConnectorSettings, ObjectSchema, Record, Secret, WriteOp, WriteResult
from connectors.emulator import EmulatorServer
from connectors.errors import ConnectorError, FailureCode, RemoteError
from connectors.registry import connector_class, connector_names, emulator_class

TOKEN = "contract-token"
AUTH_CODES = {FailureCode.AUTH_EXPIRED, FailureCode.AUTH_INVALID}


@dataclass(frozen=True)
class Contract:
    """What the suite needs to know about one system; everything else it learns through the interface."""

    object: str
    key: str  # the natural key `lookup` matches on (an email, here)
    valid: Callable[[str], dict[str, Any]]  # a record the system accepts, with that natural key value
    invalid: dict[str, Any]  # a record the system refuses
    invalid_code: FailureCode  # ... and the code that refusal maps to
    emulator_kwargs: Callable[[Path], dict[str, Any]] = field(default=lambda tmp: {})
    options: Callable[[Any], dict[str, Any]] = field(default=lambda emulator: {})


CONTRACTS: dict[str, Contract] = {
    "hubspot": Contract(
        object="contacts",
        key="email",
        valid=lambda email: {"email": email, "firstname": "Ada", "lastname": "Contract"},
        invalid={"email": "not-an-email", "lastname": "Refused"},  # INVALID_EMAIL
        invalid_code=FailureCode.REMOTE_REJECTED,
        options=lambda emulator: {"rate_limit_wait": 0.02, "lock_wait": 0.01, "retry_max_wait": 0.2},
    ),
    "salesforce": Contract(
        object="Contact",
        key="Email",
        valid=lambda email: {"Email": email, "FirstName": "Ada", "LastName": "Contract"},
        invalid={"FirstName": "No last name"},  # REQUIRED_FIELD_MISSING
        invalid_code=FailureCode.REMOTE_REJECTED,
        emulator_kwargs=lambda tmp: {"cert_dir": tmp},
        options=lambda emulator: {"ca_file": emulator.ca_file},
    ),
}


def _contract(system: str) -> Contract:
    if system not in CONTRACTS:
        pytest.fail(f"connector {system!r} is registered under revhub.connectors but has no entry in "
                    f"CONTRACTS ({__file__}): add its object, natural key, a valid and an invalid record")
    return CONTRACTS[system]


class Admin:
    """The emulator's shared admin API (connectors/emulator.py), over the same HTTP(S) as the connector."""

    def __init__(self, url: str, verify: str | bool) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify

    def post(self, action: str, body: Any = None) -> Any:
        response = self.session.post(f"{self.url}/__emulator__/{action}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def total(self) -> int:
        response = self.session.get(f"{self.url}/__emulator__/stats", timeout=10)
        response.raise_for_status()
        return int(response.json()["total"])


@dataclass
class Rig:
    system: str
    contract: Contract
    server: EmulatorServer
    options: dict[str, Any]
    admin: Admin

    def connector(self, token: str = TOKEN) -> Connector:
        settings = ConnectorSettings(self.system, self.server.url, Secret(token), self.options, timeout=10)
        return connector_class(self.system)(settings)


@pytest.fixture(scope="module", params=connector_names())
def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    system: str = request.param
    contract = _contract(system)
    try:
        cls = emulator_class(system)
    except KeyError:
        pytest.fail(f"connector {system!r} has no emulator registered under revhub.emulators")
    emulator = cls(token=TOKEN, **contract.emulator_kwargs(tmp_path_factory.mktemp(f"{system}-emulator")))
    server = EmulatorServer(emulator, 0).start()
    options = contract.options(emulator)
    try:
        yield Rig(system, contract, server, options, Admin(server.url, options.get("ca_file", True)))
    finally:
        server.stop()


@pytest.fixture
def connector(rig: Rig) -> Iterator[Connector]:
    rig.admin.post("reset")
    conn = rig.connector()
    yield conn
    conn.close()


def _email(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex[:8]}@contract.example.com"


def _read_all(connector: Connector, object: str, since: datetime | None, fields: list[str]) -> list[Record]:
    pages = list(connector.read(object, since, fields))
    assert all(isinstance(page, list) for page in pages), "read yields pages (lists) of records"
    return [record for page in pages for record in page]


def _create(connector: Connector, contract: Contract, *records: dict[str, Any]) -> list[WriteResult]:
    ops = [WriteOp(ref=f"op-{i}", id=None, fields=r) for i, r in enumerate(records)]
    results = connector.write(contract.object, ops)
    assert [r.ref for r in results] == [op.ref for op in ops], "one result per op, in order"
    return results


# --- the registry ----------------------------------------------------------------------------------
def test_every_registered_connector_has_a_contract_and_an_emulator() -> None:
    names = connector_names()
    assert {"hubspot", "salesforce"} <= set(names)
    missing = sorted(set(names) - set(CONTRACTS))
    assert not missing, f"registered connectors without a CONTRACTS entry: {missing}"
    for name in names:
        emulator_class(name)  # KeyError: the connector ships without an emulator to test it against
        assert connector_class(name).system == name


# --- check -----------------------------------------------------------------------------------------
def test_check_passes_then_fails_with_an_auth_code_once_the_token_expires(rig: Rig,
                                                                          connector: Connector) -> None:
    connector.check()
    rig.admin.post("faults", {"expire_tokens": True})
    before = rig.admin.total()
    with pytest.raises(ConnectorError) as err:
        connector.check()
    assert err.value.code in AUTH_CODES and err.value.code.fatal
    assert rig.admin.total() - before == 1, "an auth failure is raised at once, not retried as transient"


def test_check_refuses_a_token_the_system_does_not_know(rig: Rig, connector: Connector) -> None:
    stranger = rig.connector("not-the-token")
    try:
        before = rig.admin.total()
        with pytest.raises(ConnectorError) as err:
            stranger.check()
        assert err.value.code in AUTH_CODES and err.value.code.fatal
        assert rig.admin.total() - before == 1, "an auth failure is raised at once, not retried as transient"
    finally:
        stranger.close()


# --- read ------------------------------------------------------------------------------------------
def test_read_yields_keyed_utc_records_oldest_first_and_since_is_inclusive(rig: Rig,
                                                                           connector: Connector) -> None:
    c = rig.contract
    written: list[str] = []
    for i in range(4):  # separate calls, a little apart, so the stamps differ
        (result,) = _create(connector, c, c.valid(_email(f"read{i}")))
        assert result.ok and result.id
        written.append(result.id)
        time.sleep(0.005)
    records = _read_all(connector, c.object, None, [c.key])
    assert all(isinstance(r, Record) and r.object == c.object for r in records)
    assert all(isinstance(r.id, str) and r.id for r in records)
    assert len({r.id for r in records}) == len(records), "no record twice in one read"
    assert set(written) <= {r.id for r in records}
    stamps = [r.modified_at for r in records]
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in stamps), "aware UTC"
    assert stamps == sorted(stamps), "oldest first"
    assert all(r.fields.get(c.key) for r in records if r.id in written), "the fields asked for are read"

    by_id = {r.id: r for r in records}
    boundary = by_id[written[2]].modified_at
    since = _read_all(connector, c.object, boundary, [c.key])
    assert {r.id for r in since} == {r.id for r in records if r.modified_at >= boundary}
    assert written[2] in {r.id for r in since}, "a record stamped exactly `since` is read (inclusive)"
    assert [r.modified_at for r in since] == sorted(r.modified_at for r in since)


# --- lookup ----------------------------------------------------------------------------------------
def test_lookup_finds_a_record_by_its_natural_key_ignoring_case(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    email = _email("Lookup.Person")
    (result,) = _create(connector, c, c.valid(email))
    assert result.ok
    _create(connector, c, c.valid(_email("someone.else")))
    found = connector.lookup(c.object, c.key, [email.upper(), _email("nobody")])
    assert result.id in {r.id for r in found}
    match = next(r for r in found if r.id == result.id)
    assert str(match.fields[c.key]).lower() == email.lower(), "a candidate carries the key field"
    assert all(str(r.fields[c.key]).lower() == email.lower() for r in found)  # nobody else's email
    assert connector.lookup(c.object, c.key, [_email("nobody")]) == []


# --- write -----------------------------------------------------------------------------------------
def test_write_creates_and_repeating_it_as_updates_changes_nothing(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    values = [c.valid(_email("write.a")), c.valid(_email("write.b"))]
    created = _create(connector, c, *values)
    assert all(r.ok and r.created and isinstance(r.id, str) and r.id for r in created)
    ids = [r.id for r in created]
    assert len(set(ids)) == 2
    before = _read_all(connector, c.object, None, [c.key])
    assert set(ids) <= {r.id for r in before}

    for _ in range(2):  # a rerun after a crash writes the same values again
        ops = [WriteOp(ref=f"again-{i}", id=rid, fields=v) for i, (rid, v) in enumerate(zip(ids, values,
                                                                                           strict=True))]
        again = connector.write(c.object, ops)
        assert [r.ref for r in again] == [op.ref for op in ops]
        assert all(r.ok and not r.created for r in again)
        assert [r.id for r in again] == ids
    after = _read_all(connector, c.object, None, [c.key])
    assert sorted(r.id for r in after) == sorted(r.id for r in before), "no new records"
    assert {r.id: str(r.fields[c.key]).lower() for r in after if r.id in ids} == {
        rid: str(v[c.key]).lower() for rid, v in zip(ids, values, strict=True)}


def test_write_refuses_one_bad_record_and_writes_the_others(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    results = _create(connector, c, c.valid(_email("good.a")), c.invalid, c.valid(_email("good.b")))
    good, bad, other = results
    assert good.ok and good.created and other.ok and other.created
    assert not bad.ok and bad.id is None and not bad.created
    assert isinstance(bad.error, RemoteError)
    assert bad.error.code is c.invalid_code, bad.error
    assert bad.error.message
    stored = {r.id for r in _read_all(connector, c.object, None, [c.key])}
    assert {good.id, other.id} <= stored
    assert len(stored) == 2, "the refused record was not written"


# --- describe --------------------------------------------------------------------------------------
def test_describe_lists_the_fields_written(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    schema = connector.describe(c.object)
    assert isinstance(schema, ObjectSchema) and schema.object == c.object
    written = set(c.valid(_email("describe"))) | {c.key}
    assert written <= set(schema.fields), sorted(written - set(schema.fields))
    assert all(schema.fields[name].name == name for name in written)
    assert all(schema.fields[name].createable for name in written)


# --- merges ----------------------------------------------------------------------------------------
def test_merge_folds_the_loser_into_the_survivor_and_merges_reports_it(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    start = datetime.now(UTC) - timedelta(seconds=2)
    survivor, loser = _create(connector, c, c.valid(_email("merge.keep")), c.valid(_email("merge.lose")))
    assert survivor.ok and loser.ok and survivor.id and loser.id
    assert connector.merges(c.object, start) == [], "no merge yet"

    kept = connector.merge(c.object, survivor.id, loser.id)
    assert isinstance(kept, str) and kept, "the surviving id, as the system answers it"
    ids = {r.id for r in _read_all(connector, c.object, None, [c.key])}
    assert kept in ids and loser.id not in ids, "the loser is gone from reads; the survivor is not"

    merges = connector.merges(c.object, start)
    assert [(m.survivor_id, m.loser_ids) for m in merges] == [(kept, (loser.id,))]
    assert merges[0].merged_at.tzinfo is not None and merges[0].merged_at >= start
    later = max(r.modified_at for r in _read_all(connector, c.object, None, [c.key])) + timedelta(seconds=1)
    assert connector.merges(c.object, later) == [], "`since` filters merges like reads"


def test_merge_of_an_unknown_record_raises_a_connector_error(rig: Rig, connector: Connector) -> None:
    c = rig.contract
    (survivor,) = _create(connector, c, c.valid(_email("merge.alone")))
    assert survivor.ok and survivor.id
    with pytest.raises(ConnectorError) as err:
        connector.merge(c.object, survivor.id, survivor.id[:3] + "Dn000ZZZZZZZ" if rig.system == "salesforce"
                        else "999999999")
    assert err.value.code in {FailureCode.RECORD_NOT_FOUND, FailureCode.REMOTE_REJECTED}, err.value
    assert survivor.id in {r.id for r in _read_all(connector, c.object, None, [c.key])}
