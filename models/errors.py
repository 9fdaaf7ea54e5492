"""The exception tree every layer raises from.

```
OpspulseError
├── UsageError                  a user mistake: bad path, bad option, bad config (exit code 2)
├── SourceError                 carries source, endpoint, status, request id
│   ├── RetriableSourceError    429, 5xx, timeouts, connection resets
│   └── FatalSourceError        401/403 bad credentials, other 4xx
├── PayloadInvalid              one record could not be parsed; goes to quarantine
├── WarehouseError              migration, load or build failure
│   └── WorkspaceBusy           another run holds the workspace's writer
└── NothingLoaded               a run or import could not load a single row (exit code 1)
```

Messages are one readable sentence: what failed, where, and what to do. They never carry
secrets or auth headers.
"""

from __future__ import annotations

__all__ = [
    "FatalSourceError",
    "NothingLoaded",
    "OpspulseError",
    "PayloadInvalid",
    "RetriableSourceError",
    "SourceError",
    "UsageError",
    "WarehouseError",
    "WorkspaceBusy",
]


class OpspulseError(Exception):
    """Base of every error opspulse raises on purpose."""

    exit_code: int = 1


class UsageError(OpspulseError):
    """A user mistake in a command, a path or the configuration."""

    exit_code = 2


class SourceError(OpspulseError):
    """A business tool's API failed."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        endpoint: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.endpoint = endpoint
        self.status = status
        self.request_id = request_id


class RetriableSourceError(SourceError):
    """A failure worth retrying: 429, 5xx, timeouts, connection resets."""


class FatalSourceError(SourceError):
    """A failure retrying cannot fix: bad credentials, other 4xx."""


class PayloadInvalid(OpspulseError):
    """One record could not be parsed or validated; it belongs in quarantine."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class WarehouseError(OpspulseError):
    """A migration, load or build step failed; the warehouse was left as it was."""


class WorkspaceBusy(WarehouseError):
    """Another run holds the workspace's single writer."""


class NothingLoaded(OpspulseError):
    """Input was read but not a single row could be loaded."""
