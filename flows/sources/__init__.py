"""The Source protocol every connector satisfies, and the SOURCES registry.

A source module (`flows/sources/<tool>.py`) keeps its payload models and constants at the top and
offers the same small surface:

- `fetch(client, config, since)` yields RawRecords of everything changed since `since` (the
  cursor: the start of the last successful pull minus `config.overlap_seconds`);
- `normalize(record, config)` yields canonical event dicts (DESIGN.md §3 field names);
- `make_client(config, token)` builds its httpx client (auth scheme, base URL);
- `policy(config)` returns its RetryPolicy (how its 429s say when to come back).
Sources never import each other; they register here by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from flows.http import RetryPolicy
from models.raw import RawRecord
from models.settings import SourceConfig

__all__ = ["SOURCES", "Source", "register"]


class Source(Protocol):
    """What every connector module provides."""

    name: str

    def make_client(self, config: SourceConfig, token: SecretStr) -> httpx.Client: ...

    def policy(self, config: SourceConfig) -> RetryPolicy: ...

    def fetch(
        self, client: httpx.Client, config: SourceConfig, since: datetime
    ) -> Iterator[RawRecord]: ...

    def normalize(self, record: RawRecord, config: SourceConfig) -> Iterator[dict[str, Any]]: ...


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source module to the registry (called at the bottom of each module)."""
    SOURCES[source.name] = source
    return source
