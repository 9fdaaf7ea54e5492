"""A faster simulation Clock for busy workspaces: the same answers, from cached wall-clock maths."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from flows.simulate_engine import AFTER_HOURS_SHARE, WORK_END_HOUR, WORK_START_HOUR, Clock

__all__ = ["FastClock"]

EPOCH_DAY = date(1970, 1, 1)
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


class FastClock(Clock):
    """Clock whose `iso`, `at` and `snap` reuse per-hour UTC offsets and per-day results.

    A support desk with 12,000 tickets converts a few hundred thousand times; the engine's
    ZoneInfo round trips dominate its run time, so this computes local fields arithmetically.
    """

    def __init__(self, timezone: str, start_day: date, weeks: int) -> None:
        self._offsets: dict[int, int] = {}
        self._days: dict[int, str] = {}
        self._isos: dict[int, str] = {}
        self._zones: dict[int, str] = {}
        self._mornings: dict[int, int] = {}
        self._ats: dict[tuple[date, int, int], int] = {}
        super().__init__(timezone, start_day, weeks)

    def offset(self, t: int) -> int:
        """UTC offset in minutes at epoch minute `t`."""
        hour = t // 60
        cached = self._offsets.get(hour)
        if cached is not None:
            return cached
        first, last = self._exact_offset(hour * 60), self._exact_offset(hour * 60 + 59)
        if first != last:  # a transition inside this hour: no shortcut
            return self._exact_offset(t)
        self._offsets[hour] = first
        return first

    def _exact_offset(self, t: int) -> int:
        shift = self.local(t).utcoffset() or timedelta(0)
        return int(shift.total_seconds()) // 60

    def at(self, day: date, hour: int, minute: int = 0) -> int:
        """Epoch minute of a local wall-clock time (cached)."""
        key = (day, hour, minute)
        cached = self._ats.get(key)
        if cached is None:
            cached = self._ats[key] = super().at(day, hour, minute)
        return cached

    def iso(self, t: int) -> str:
        """ISO 8601 text with the local offset, exactly as `Clock.iso` writes it."""
        text = self._isos.get(t)
        if text is None:
            text = self._isos[t] = self._format(t)
        return text

    def _format(self, t: int) -> str:
        offset = self.offset(t)
        days, minute = divmod(t + offset, 1440)
        prefix = self._days.get(days)
        if prefix is None:
            prefix = self._days[days] = f"{EPOCH_DAY + timedelta(days=days)}T"
        zone = self._zones.get(offset)
        if zone is None:
            sign, size = ("+" if offset >= 0 else "-"), abs(offset)
            zone = self._zones[offset] = f"{sign}{size // 60:02d}:{size % 60:02d}"
        return f"{prefix}{minute // 60:02d}:{minute % 60:02d}:00{zone}"

    def snap(self, t: int, rng: Random, workdays: int = 5) -> int:
        """`Clock.snap`, the same result and the same draws from `rng`."""
        days, minute = divmod(t + self.offset(t), 1440)
        hour, weekday, last_workday = minute // 60, (days + EPOCH_WEEKDAY) % 7, workdays - 1
        if weekday <= last_workday and WORK_START_HOUR <= hour < WORK_END_HOUR:
            return t
        if 7 <= hour < 21 and rng.random() < AFTER_HOURS_SHARE:
            return t
        if hour >= WORK_START_HOUR or weekday > last_workday:
            days += 1
        while (days + EPOCH_WEEKDAY) % 7 > last_workday:
            days += 1
        return self._morning(days) + rng.randrange(150)

    def _morning(self, days: int) -> int:
        cached = self._mornings.get(days)
        if cached is None:
            day = EPOCH_DAY + timedelta(days=days)
            cached = self._mornings[days] = super().at(day, WORK_START_HOUR)
        return cached
