"""Time helpers shared by the result types: the library speaks milliseconds since the epoch; Python
callers get aware UTC datetimes alongside."""

from __future__ import annotations

from datetime import datetime, timezone


def utc(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
