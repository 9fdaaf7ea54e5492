"""Atomic writing and listing of landing files: every input is kept unchanged before it is parsed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from models.errors import UsageError
from models.raw import RawRecord

__all__ = ["LandedFile", "file_digest", "land_file", "land_raw", "landed_files", "write_atomic"]

META_SUFFIX = ".meta.json"
_EXTENSIONS = (
    ".xes.gz",
    ".jsonl.gz",
    ".csv.gz",
    ".json.gz",
    ".xes",
    ".jsonl",
    ".ndjson",
    ".csv",
    ".json",
    ".gz",
)


@dataclass(frozen=True)
class LandedFile:
    """A file in landing and what the loader must know to read it."""

    name: str  # path relative to the workspace's landing folder
    format: str
    process: str | None  # set by --process
    stem: str  # the original file name without extensions, a default process name
    original: str
    sha256: str
    bytes: int
    landed_at: str
    source: str | None = None  # pulls: the configured source the raw records came from
    cursor: str | None = None  # pulls: the cursor committed with this file (the pull's start)
    scopes: tuple[str, ...] = ()  # pulls: the scopes that cursor covers

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", tuple(self.scopes))  # JSON gives a list back


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: Path, data: bytes | Path) -> None:
    """Write bytes (or copy a file) to target through a temp file, fsync and rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, Path):
                with data.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            else:
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _commit(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _commit(tmp: str, target: Path) -> None:
    """Rename a complete temp file into place and make the rename durable."""
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _stem(name: str) -> str:
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return name[: -len(ext)]
    return name


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def land_file(src: Path, landing: Path, fmt: str, process: str | None, now: datetime) -> LandedFile:
    """Copy a user's file into landing unchanged (metadata first, then the data, both atomic)."""
    if not src.is_file():
        raise UsageError(f"{src} does not exist or is not a file; check the path")
    sha, size = file_digest(src)
    name = (
        f"import/dt={now:%Y-%m-%d}/{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}-{_safe(src.name)}"
    )
    landed = LandedFile(name, fmt, process, _stem(src.name), str(src), sha, size, now.isoformat())
    target = landing / name
    write_atomic(target.with_name(target.name + META_SUFFIX), json.dumps(asdict(landed)).encode())
    write_atomic(target, src)
    return landed


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-80:]


def land_raw(
    records: Iterable[RawRecord],
    landing: Path,
    source: str,
    scopes: Sequence[str],
    cursor: datetime,
    now: datetime,
) -> tuple[LandedFile, int]:
    """Land a pull's records as one NDJSON file, all or nothing; return it and the record count.

    The records are streamed to a hidden temp file; if the iterable raises, nothing is landed.
    Then, as for imports, the metadata (with the cursor to commit) lands first and the data last.
    """
    name = f"{_safe(source)}/dt={now:%Y-%m-%d}/{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.ndjson"
    target = landing / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".ndjson")
    count, digest, size = 0, hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for record in records:
                line = record.model_dump_json().encode("utf-8") + b"\n"
                out.write(line)
                digest.update(line)
                count, size = count + 1, size + len(line)
            out.flush()
            os.fsync(out.fileno())
        landed = LandedFile(
            name, "raw", None, source, f"pull of {source}", digest.hexdigest(), size,
            now.isoformat(), source=source, cursor=cursor.isoformat(), scopes=tuple(scopes),
        )  # fmt: skip
        write_atomic(
            target.with_name(target.name + META_SUFFIX), json.dumps(asdict(landed)).encode()
        )
        _commit(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return landed, count


def landed_files(landing: Path) -> Iterator[LandedFile]:
    """Every complete landed file, oldest first (a data file is only visible once it is whole)."""
    if not landing.exists():
        return
    for meta in sorted(landing.rglob(f"*{META_SUFFIX}")):
        data = meta.with_name(meta.name.removesuffix(META_SUFFIX))
        if data.exists():
            yield LandedFile(**json.loads(meta.read_text(encoding="utf-8")))
