"""A batch create whose answer was lost is not sent again; a refused connection is retried."""
from __future__ import annotations

import pytest
import urllib3

from connectors.base import CallCounter, ConnectorSettings, Secret
from connectors.errors import ConnectorError, FailureCode
from connectors.hubspot.client import HubSpotClient


class _Reply:
    status, data, headers = 201, b'{"results": []}', {}

    def release_conn(self) -> None:
        pass


def _client() -> HubSpotClient:
    settings = ConnectorSettings("hubspot", "http://127.0.0.1:9", Secret("t"),
                                 {"retry_attempts": 3, "retry_max_wait": 0.01})
    return HubSpotClient(settings, CallCounter())


def _flaky(exc: BaseException) -> tuple[list[int], object]:
    sent: list[int] = []

    def method(*_a: object, **_k: object) -> _Reply:
        sent.append(1)
        if len(sent) == 1:
            raise exc
        return _Reply()
    return sent, method


def test_lost_answer_to_a_create_is_not_sent_again() -> None:
    timeout = urllib3.exceptions.ReadTimeoutError(None, "/crm/v3/objects/contacts/batch/create", "read timed out")
    sent, method = _flaky(timeout)
    with pytest.raises(ConnectorError) as exc:
        _client().call("write", method, {"inputs": []}, idempotent=False)
    assert exc.value.code is FailureCode.NETWORK and sent == [1]


def test_lost_answer_to_an_update_is_retried_and_a_refused_create_too() -> None:
    timeout = urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out")
    sent, method = _flaky(timeout)
    assert _client().call("write", method, {"inputs": []}).status == 201 and len(sent) == 2
    refused = urllib3.exceptions.NewConnectionError(None, "connection refused")
    sent, method = _flaky(refused)
    assert _client().call("write", method, {"inputs": []}, idempotent=False).status == 201 and len(sent) == 2
