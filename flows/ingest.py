"""Landing of user files for `opspulse import`: format detection, dedupe by content, atomic copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flows.formats import FORMATS, detect_format
from flows.landing import LandedFile, file_digest, land_file, landed_files
from models.errors import UsageError

__all__ = ["IMPORT_FORMATS", "LandOutcome", "land_imports"]

IMPORT_FORMATS = ("auto", *FORMATS)


@dataclass(frozen=True)
class LandOutcome:
    """What landing one path did: landed, or skipped because the same bytes were landed before."""

    path: Path
    landed: LandedFile | None
    duplicate_of: str | None = None


def land_imports(
    paths: list[Path], landing: Path, fmt: str, process: str | None, now: datetime
) -> list[LandOutcome]:
    """Check every path first (so a typo lands nothing), then land each one."""
    if fmt not in IMPORT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}")
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path} does not exist or is not a file; check the path")
    formats = [detect_format(p) if fmt == "auto" else fmt for p in paths]
    seen = {(f.sha256, f.format, f.process): f.name for f in landed_files(landing)}
    outcomes = []
    for path, file_format in zip(paths, formats, strict=True):
        key = (file_digest(path)[0], file_format, process)
        if key in seen:
            outcomes.append(LandOutcome(path, None, seen[key]))
            continue
        landed = land_file(path, landing, file_format, process, now)
        seen[key] = landed.name
        outcomes.append(LandOutcome(path, landed))
    return outcomes
