"""The surfaces third-party connectors and scripts build on are pinned: changing them is a decision."""
from __future__ import annotations

import connectors.base
import sync_engine.errors
from connectors.errors import FailureCode


def test_connector_boundary_exports() -> None:
    assert sorted(connectors.base.__all__) == [
        "CallCounter", "Connector", "ConnectorSettings", "FieldSchema", "Links", "Merge", "ObjectSchema", "ObjectSpec",
        "Record", "Secret", "WriteOp", "WriteResult"]
    abstract = connectors.base.Connector.__abstractmethods__
    assert abstract == frozenset({"check", "read", "lookup", "write", "describe"})


def test_error_tree_exports() -> None:
    assert sorted(sync_engine.errors.__all__) == [
        "ConfigError", "ConnectorError", "FailureCode", "FatalError", "RecordError", "RemoteError", "RevhubError",
        "Severity", "TransientError"]


def test_failure_codes_are_the_documented_taxonomy() -> None:
    assert [c.value for c in FailureCode] == [
        "AUTH_EXPIRED", "AUTH_INVALID", "PERMISSION_DENIED", "RATE_LIMITED", "DAILY_QUOTA_EXHAUSTED",
        "REMOTE_UNAVAILABLE", "NETWORK", "RECORD_INVALID", "REMOTE_REJECTED", "DUPLICATE_CONFLICT",
        "RECORD_NOT_FOUND", "LOCK_CONTENTION", "SCHEMA_DRIFT", "PICKLIST_MISMATCH", "MAPPING_ERROR",
        "CONFIG_ERROR", "UNKNOWN", "RUN_STUCK", "RUN_SLOW", "FAILURE_RATE_HIGH", "FAILURES_DEAD"]
