"""Canonical JSONL: lines are split as bytes, so one bad line never sinks the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flows.formats import RAW_LIMIT, Record, open_bytes

__all__ = ["read"]


def _raw(data: bytes) -> str:
    return data[:RAW_LIMIT].rstrip(b"\r\n").decode("utf-8", errors="replace")


def read(path: Path, process: str | None, max_line_bytes: int) -> Iterator[Record]:
    """One record per non-blank line; JSON parsing itself happens in bulk in the warehouse."""
    with open_bytes(path) as fh:
        for number, data in enumerate(fh, start=1):
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if len(data) > max_line_bytes:
                yield Record(
                    number, None, f"line is longer than {max_line_bytes} bytes", _raw(data)
                )
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                yield Record(number, None, "line is not valid UTF-8", _raw(data))
                continue
            text = text.strip()
            if text:
                yield Record(number, text, None, None)
