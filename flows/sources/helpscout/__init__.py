"""Help Scout connector: conversations modified since a cursor, their threads and ratings.

Plain httpx through flows/http.py, not dlt: dlt is not a dependency and its cursor state would
live outside our landing/commit rule.
"""

from __future__ import annotations

import sys

from flows.sources import register
from flows.sources.helpscout.api import DEFAULT_BASE, make_client, policy
from flows.sources.helpscout.fetch import check, fetch
from flows.sources.helpscout.normalize import normalize

__all__ = ["DEFAULT_BASE", "check", "fetch", "make_client", "name", "normalize", "policy"]

name = "helpscout"

register(sys.modules[__name__])
