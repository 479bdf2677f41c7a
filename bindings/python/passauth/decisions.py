"""Result types of the decisions and logout calls: :class:`Decision`, :class:`MediaToken`,
:class:`DecisionError`, :class:`Logout` and :class:`LogoutAction`.

A denied resource is a :class:`Decision` with ``authorized`` False and its item-level ``error``; it is
not an exception. The media token is a secret: no ``repr`` shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from ._time import utc
from ._view import OptionalValidity, Validity, View


class DecisionError(View):
    """The item-level enhanced error of a denied decision (``authorization_denied_by_mvpd`` …)."""

    __slots__ = ()
    _shown = ("code", "action", "status", "message")

    @property
    def code(self) -> str:
        """The enhanced error code."""
        return str(self.raw.get("code", ""))

    @property
    def action(self) -> str:
        """The recommended remedy (``none``, ``authentication``, ``authorization``, ``retry`` …)."""
        return str(self.raw.get("action", ""))

    @property
    def status(self) -> Optional[int]:
        """The HTTP status the service gives for this item."""
        value = self.raw.get("status")
        return value if isinstance(value, int) else None

    @property
    def message(self) -> str:
        """The service's explanation, in English."""
        return str(self.raw.get("message", ""))

    @property
    def details(self) -> Optional[str]:
        """The MVPD's additional explanation, when sent."""
        return self.raw.get("details")

    @property
    def help_url(self) -> Optional[str]:
        """Adobe's page about the code."""
        return self.raw.get("helpUrl")

    @property
    def trace(self) -> Optional[str]:
        """The service's trace id, when sent."""
        return self.raw.get("trace")


class MediaToken(Validity):
    """The media token of a permit, for the Media Token Verifier. Never cached by passauth; ``repr``
    shows its validity, never its value."""

    __slots__ = ()
    _shown = ("not_before", "not_after")

    @property
    def serialized_token(self) -> str:
        """The base64 media token (a secret: hand it to the verifier, do not log it)."""
        return str(self.raw["serializedToken"])

    @property
    def issued_at_ms(self) -> Optional[int]:
        return self.raw.get("issuedAt")

    @property
    def issued_at(self) -> Optional[datetime]:
        """When the token was issued (when the service says)."""
        value = self.issued_at_ms
        return None if value is None else utc(value)


class Decision(OptionalValidity):
    """One resource's decision. ``source`` is ``mvpd``, ``degradation``, ``temppass`` or ``dummy``."""

    __slots__ = ()
    _shown = ("resource", "authorized", "source", "mvpd", "error", "token")

    @property
    def resource(self) -> str:
        return str(self.raw["resource"])

    @property
    def authorized(self) -> bool:
        return self.raw["authorized"] is True

    @property
    def source(self) -> str:
        return str(self.raw.get("source", ""))

    @property
    def mvpd(self) -> str:
        return str(self.raw.get("mvpd", ""))

    @property
    def service_provider(self) -> str:
        return str(self.raw.get("serviceProvider", ""))

    @property
    def error(self) -> Optional[DecisionError]:
        """The item-level error of a deny."""
        error = self.raw.get("error")
        return DecisionError(error) if error.__class__ is dict else None

    @property
    def token(self) -> Optional[MediaToken]:
        """The media token of a permit (authorize only)."""
        token = self.raw.get("token")
        return MediaToken(token) if token.__class__ is dict and "serializedToken" in token else None


class LogoutAction(View):
    """What is left to do for one MVPD: open ``url`` in a user agent when ``action_type`` is
    ``interactive``; nothing when it is ``none``."""

    __slots__ = ()
    _shown = ("mvpd", "action_name", "action_type", "url")

    @property
    def action_name(self) -> str:
        """``logout``, ``complete``, ``partner_logout`` or ``invalid``."""
        return str(self.raw.get("actionName", ""))

    @property
    def action_type(self) -> str:
        """``interactive``, ``none`` or ``partner_interactive``."""
        return str(self.raw.get("actionType", ""))

    @property
    def mvpd(self) -> str:
        return str(self.raw.get("mvpd", ""))

    @property
    def url(self) -> Optional[str]:
        return self.raw.get("url")

    @property
    def needs_user_agent(self) -> bool:
        """True when a browser (or second screen) must open :attr:`url` to finish the logout at the MVPD."""
        return self.action_type in ("interactive", "partner_interactive") and self.url is not None


class Logout(View):
    """The answer of :meth:`passauth.Client.logout`: one :class:`LogoutAction` per MVPD."""

    __slots__ = ()
    _shown = ("actions",)

    @property
    def actions(self) -> List[LogoutAction]:
        logouts = self.raw.get("logouts") or {}
        if isinstance(logouts, dict):
            return [LogoutAction({"mvpd": mvpd, **item}) for mvpd, item in logouts.items()]
        return [LogoutAction(item) for item in logouts]
