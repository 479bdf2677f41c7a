"""The base of every result type: a read-only view over the library's JSON answer.

A result keeps the parsed answer in ``raw`` and reads each field from it when asked (``__slots__``, no
copy, no per-field work at construction), so a call costs one ``json.loads`` and one small object per
item. ``repr`` shows the fields a class lists in ``_shown`` and never a secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Dict, Optional, Tuple

from ._time import utc

JSONObject = Dict[str, Any]


class View:
    """A result over the answer ``raw`` (the service's JSON, as the library normalised it)."""

    __slots__ = ("raw",)
    #: The attributes ``repr`` shows, in order (never a secret).
    _shown: ClassVar[Tuple[str, ...]] = ()

    raw: JSONObject

    def __init__(self, raw: JSONObject) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"

    def __getstate__(self) -> JSONObject:
        return self.raw

    def __setstate__(self, raw: JSONObject) -> None:
        self.raw = raw


class Validity(View):
    """``notBefore`` / ``notAfter`` that the API guarantees: ms since the epoch, and aware UTC datetimes."""

    __slots__ = ()

    @property
    def not_before_ms(self) -> int:
        return int(self.raw["notBefore"])

    @property
    def not_after_ms(self) -> int:
        return int(self.raw["notAfter"])

    @property
    def not_before(self) -> datetime:
        """Start of validity, as an aware UTC datetime."""
        return utc(self.not_before_ms)

    @property
    def not_after(self) -> datetime:
        """End of validity, as an aware UTC datetime."""
        return utc(self.not_after_ms)


class OptionalValidity(View):
    """``notBefore`` / ``notAfter`` that an answer may leave out (None then)."""

    __slots__ = ()

    @property
    def not_before_ms(self) -> Optional[int]:
        return self.raw.get("notBefore")

    @property
    def not_after_ms(self) -> Optional[int]:
        return self.raw.get("notAfter")

    @property
    def not_before(self) -> Optional[datetime]:
        value = self.not_before_ms
        return None if value is None else utc(value)

    @property
    def not_after(self) -> Optional[datetime]:
        value = self.not_after_ms
        return None if value is None else utc(value)
