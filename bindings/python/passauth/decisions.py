"""Result types of the decisions and logout calls: :class:`Decision`, :class:`MediaToken`,
:class:`DecisionError`, :class:`Logout` and :class:`LogoutAction`.

A denied resource is a :class:`Decision` with ``authorized`` False and its item-level ``error``; it is
not an exception. The media token is a secret: it is left out of every ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

from ._time import Validity, utc

JSONObject = Dict[str, Any]


@dataclass(frozen=True)
class DecisionError:
    """The item-level enhanced error of a denied decision (``authorization_denied_by_mvpd`` …)."""

    code: str
    action: Optional[str] = None
    status: Optional[int] = None
    message: Optional[str] = None
    details: Optional[str] = None
    help_url: Optional[str] = None
    trace: Optional[str] = None

    @property
    def helpUrl(self) -> Optional[str]:  # noqa: N802  (the service's own field name)
        """Alias of :attr:`help_url` under the service's own field name."""
        return self.help_url

    @classmethod
    def from_json(cls, raw: JSONObject) -> "DecisionError":
        """Builds a DecisionError from a decision's item-level ``error`` object."""
        return cls(code=str(raw.get("code", "")), action=raw.get("action"), status=raw.get("status"),
                   message=raw.get("message"), details=raw.get("details"), help_url=raw.get("helpUrl"),
                   trace=raw.get("trace"))


@dataclass(frozen=True)
class MediaToken(Validity):
    """The media token of a permit, to be verified by the Media Token Verifier. Never cached by
    passauth; its value is not shown by ``repr``."""

    serialized_token: str = field(repr=False)
    not_before_ms: Optional[int] = None
    not_after_ms: Optional[int] = None
    issued_at_ms: Optional[int] = None



    @property
    def issued_at(self) -> Optional[datetime]:
        """When the token was issued, as an aware UTC datetime (when the service says)."""
        return utc(self.issued_at_ms)

    @classmethod
    def from_json(cls, raw: JSONObject) -> "MediaToken":
        """Builds a MediaToken from a permit's ``token`` object."""
        return cls(serialized_token=raw["serializedToken"], not_before_ms=raw.get("notBefore"),
                   not_after_ms=raw.get("notAfter"), issued_at_ms=raw.get("issuedAt"))


@dataclass(frozen=True)
class Decision(Validity):
    """One resource's decision. ``source`` is ``mvpd``, ``degradation``, ``temppass`` or ``dummy``."""

    resource: str
    authorized: bool
    source: Optional[str] = None
    mvpd: Optional[str] = None
    error: Optional[DecisionError] = None
    token: Optional[MediaToken] = None
    not_before_ms: Optional[int] = None
    not_after_ms: Optional[int] = None
    raw: JSONObject = field(default_factory=dict, repr=False)



    @classmethod
    def from_json(cls, raw: JSONObject) -> "Decision":
        """Builds a Decision from one element of a ``decisions`` answer."""
        error = raw.get("error")
        token = raw.get("token")
        return cls(resource=raw.get("resource", ""), authorized=bool(raw.get("authorized")), source=raw.get("source"),
                   mvpd=raw.get("mvpd"), error=DecisionError.from_json(error) if isinstance(error, dict) else None,
                   token=MediaToken.from_json(token) if isinstance(token, dict) and "serializedToken" in token else None,
                   not_before_ms=raw.get("notBefore"), not_after_ms=raw.get("notAfter"), raw=raw)


@dataclass(frozen=True)
class LogoutAction:
    """What is left to do for one MVPD: open ``url`` in a user agent when ``action_type`` is
    ``interactive``; nothing when it is ``none``."""

    action_name: str
    action_type: str
    mvpd: Optional[str] = None
    url: Optional[str] = None

    @property
    def needs_user_agent(self) -> bool:
        """True when a browser (or second screen) must open :attr:`url` to finish the logout at the MVPD."""
        return self.action_type in ("interactive", "partner_interactive") and self.url is not None


@dataclass(frozen=True)
class Logout:
    """The answer of :meth:`passauth.Client.logout`: one :class:`LogoutAction` per MVPD."""
    actions: List[LogoutAction]
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, raw: JSONObject) -> "Logout":
        """Builds a Logout from the service's ``logouts`` answer."""
        logouts = raw.get("logouts") or {}
        items = list(logouts.items()) if isinstance(logouts, dict) else [(None, item) for item in logouts]
        actions = [LogoutAction(action_name=item.get("actionName", ""), action_type=item.get("actionType", ""),
                                mvpd=item.get("mvpd", mvpd), url=item.get("url")) for mvpd, item in items]
        return cls(actions=actions, raw=raw)
