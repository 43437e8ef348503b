"""revhub's exception tree; the type says what recovery is intended.

- RevhubError
    - ConfigError    a person must fix a file or setting; nothing runs (exit code 2)
    - RecordError    one record cannot be synced; quarantine it with its reasons, keep going
    - TransientError the system may recover; retry, bounded
    - FatalError     the run cannot go on (auth, quota); stop at a checkpoint (exit code 3)

Failure codes (the taxonomy every failure row carries) live in `connectors.errors`, shared with
the connectors, and are re-exported here.
"""
from __future__ import annotations

from connectors.errors import ConnectorError, FailureCode, RemoteError, Severity

__all__ = ["ConfigError", "ConnectorError", "FailureCode", "FatalError", "RecordError", "RemoteError",
           "RevhubError", "Severity", "TransientError"]


class RevhubError(Exception):
    """Base of revhub's own errors."""


class ConfigError(RevhubError):
    """A file a person edits is wrong. Carries where (file:line) and how to fix it."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None, key: str = "",
                 hint: str = "") -> None:
        self.message, self.file, self.line, self.key, self.hint = message, file, line, key, hint
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "") if self.file else ""
        text = f"{where}: " if where else ""
        text += f"{self.key}: " if self.key else ""
        text += self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class RecordError(RevhubError):
    def __init__(self, code: FailureCode, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.code, self.reasons = code, reasons


class TransientError(RevhubError):
    pass


class LockLost(RevhubError):
    """This run's pipeline lock was taken by another run after its lease ran out; the run must stop
    before it commits anything more (the page in flight is not committed, so nothing is lost)."""


class FatalError(RevhubError):
    def __init__(self, code: FailureCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code, self.message = code, message
