"""Time helpers shared by the result types: the library speaks milliseconds since the epoch; Python
callers get aware UTC datetimes alongside."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def utc(ms: Optional[int]) -> Optional[datetime]:
    """Milliseconds since the epoch as an aware UTC datetime (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


class Validity:
    """``not_before`` / ``not_after`` datetimes for result types that carry ``*_ms`` fields."""

    not_before_ms: Optional[int]
    not_after_ms: Optional[int]

    @property
    def not_before(self) -> Optional[datetime]:
        """Start of validity, as an aware UTC datetime."""
        return utc(self.not_before_ms)

    @property
    def not_after(self) -> Optional[datetime]:
        """End of validity (expiry), as an aware UTC datetime."""
        return utc(self.not_after_ms)
