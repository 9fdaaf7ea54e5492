"""Publishes the read-only serving snapshot: checkpoint, copy beside the target, atomic swap."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb

__all__ = ["publish"]


def publish(con: duckdb.DuckDBPyConnection, warehouse: Path, snapshot: Path) -> Path:
    """Checkpoint and close the writer, then swap a copy of the warehouse in as the snapshot.

    Readers that hold the old snapshot open keep reading it; new readers get the new one.
    """
    con.execute("checkpoint")
    con.close()
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=snapshot.parent, prefix=".publish-", suffix=".duckdb")
    try:
        with os.fdopen(fd, "wb") as out, warehouse.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, snapshot)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return snapshot
