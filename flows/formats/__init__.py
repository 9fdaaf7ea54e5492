"""Readers that turn an event-log file into canonical records, one per line or event, never raising on bad data."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple, cast

from models.errors import UsageError
from models.settings import SourceConfig

__all__ = [
    "FORMATS",
    "RAW_LIMIT",
    "Record",
    "detect_format",
    "open_bytes",
    "read_records",
]

RAW_LIMIT = 1024  # bytes of the original input kept with a quarantined record


class Record(NamedTuple):
    """One input record: a canonical JSON object text, or the reason it could not be read."""

    line: int
    doc: str | None
    error: str | None
    raw: str | None


Reader = Callable[[Path, str | None, int], Iterator[Record]]

FORMATS = ("jsonl", "csv", "xes", "ocel", "trello", "asana-csv")


def open_bytes(path: Path) -> IO[bytes]:
    """Open a file for binary reading, transparently un-gzipping it."""
    fh = path.open("rb")
    if fh.peek(2)[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=fh, mode="rb"))
    return fh


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with open_bytes(path) as fh:
            return fh.read(size)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def detect_format(path: Path) -> str:
    """Guess a file's format from its extension, then from its first bytes."""
    from flows.formats import asana_csv  # an Asana export is a .csv told apart by its header

    name = path.name.lower().removesuffix(".gz")
    by_ext = {".jsonl": "jsonl", ".ndjson": "jsonl", ".xes": "xes", ".csv": "csv"}
    for ext, fmt in by_ext.items():
        if name.endswith(ext):
            return "asana-csv" if fmt == "csv" and asana_csv.is_asana_export(path) else fmt
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xes"
    if head.startswith(b"{"):
        from flows.formats import trello  # a board export is one JSON document, read whole

        if trello.is_board_export(path):
            return "trello"
        if b'"objectTypes"' in head or b'"ocel:' in head or b'"eventTypes"' in head:
            return "ocel"
        first = head.split(b"\n", 1)[0]
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except ValueError:
            pass
        raise UsageError(
            f"cannot tell the format of {path}: it starts like JSON but is neither JSONL nor "
            "OCEL 2.0; pass --format"
        )
    if b"," in head.split(b"\n", 1)[0]:
        return "asana-csv" if asana_csv.is_asana_export(path) else "csv"
    raise UsageError(f"cannot tell the format of {path}; pass --format jsonl|csv|xes|ocel")


def read_records(
    path: Path,
    fmt: str,
    process: str | None,
    max_line_bytes: int,
    source: SourceConfig | None = None,
) -> Iterator[Record]:
    """Records of a landed file in the given format (`raw` pull files need their source's config)."""
    from flows.formats import asana_csv, csv_log, jsonl, ocel, raw, trello, xes

    if fmt == "raw":
        return _guarded(raw.read(path, source or SourceConfig(), max_line_bytes))
    readers: dict[str, Reader] = {
        "jsonl": jsonl.read,
        "csv": csv_log.read,
        "xes": xes.read,
        "ocel": ocel.read,
        "trello": trello.read,
        "asana-csv": asana_csv.read,
    }
    if fmt not in readers:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return _guarded(readers[fmt](path, process, max_line_bytes))


def _guarded(records: Iterator[Record]) -> Iterator[Record]:
    """Turn a stream that breaks mid-file (truncated gzip, I/O error) into a final error record."""
    last = 0
    try:
        for record in records:
            last = record.line
            yield record
    except (OSError, EOFError, zlib.error) as exc:
        yield Record(
            last + 1,
            None,
            f"the file could not be read past this point ({exc}); is it a truncated or corrupt "
            "gzip file? the records before it were read",
            None,
        )
