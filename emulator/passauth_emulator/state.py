"""Everything the emulated service remembers, behind one lock.

Time is read from an adjustable clock so tests can expire codes, tokens,
profiles and decisions with ``/_emulator/advance`` instead of sleeping.
"""

from __future__ import annotations

import base64
import copy
import heapq
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from .b64 import b64decode

# Who a profile belongs to: ("device", <AP-Device-Identifier value>) or (<SSO type>, <identity>).
Owner = Tuple[str, str]


class Clock:
    """Real time, shifted by the settings' ``clock_offset_ms`` (config ``clockOffsetMs``: the
    service's clock differs from the client's) plus whatever ``/_emulator/advance`` added."""

    def __init__(self, settings: Settings) -> None:
        self.offset_ms = 0.0
        self.settings = settings

    def now_ms(self) -> int:
        return int(time.time() * 1000 + self.settings.clock_offset_ms + self.offset_ms)

    def advance(self, seconds: float) -> None:
        self.offset_ms += float(seconds) * 1000


SECRET_ENCODINGS = ("urlsafe", "base64")
# The item-level codes whose action is "retry" (enhanced-error-codes.md, REST API v2 list).
RETRY_CODES = ("network_connection_timeout", "network_received_error", "maximum_execution_time_exceeded")


def random_secret(size: int, encoding: str) -> str:
    """``size`` random bytes, base64url without padding ("urlsafe", what secrets.token_urlsafe
    gives) or standard base64 with padding ("base64"). A "base64" value is drawn until it holds
    both '+' and '/' (when its length allows it; '=' comes with any size not a multiple of 3),
    so tests of percent-encoding and redaction always meet those characters."""
    if encoding != "base64":
        return secrets.token_urlsafe(size)
    value = base64.b64encode(secrets.token_bytes(size)).decode()
    for _ in range(100_000):
        if "+" in value and "/" in value:
            break
        value = base64.b64encode(secrets.token_bytes(size)).decode()
    return value


@dataclass
class Settings:
    """Knobs set from the CLI and changed through ``/_emulator/config``."""
    throttle: bool = True
    token_ttl: float = 3600
    code_ttl: float = 1800
    profile_ttl: float = 86400
    decision_ttl: float = 3600
    media_token_ttl: float = 600
    temp_pass_ttl: float = 3600
    temp_pass_max_resources: int = 0  # 0 = unlimited (promotional TempPass)
    unapproved_statements: Set[str] = field(default_factory=set)
    deny_rules: List[Dict[str, Any]] = field(default_factory=list)
    degraded: Dict[str, str] = field(default_factory=dict)  # mvpd -> AuthNAll | AuthZAll | AuthZNone
    service_providers: Set[str] = field(default_factory=lambda: {"REF30", "REF40", "apasstest1"})
    # Resources per decisions request ("usually up to 1" to authorize, "up to 5" to preauthorize).
    max_resources_authorize: int = 1
    max_resources_preauthorize: int = 5
    # [{"resource"?, "mvpd"?, "decision"?, "count", "code"}]: the next decisions answer item-level retry errors.
    item_retry: List[Dict[str, Any]] = field(default_factory=list)
    # [{"deviceId"?, "mvpd"?, "attributes"}]: profile attributes a successful authorization changes.
    attributes_on_authorize: List[Dict[str, Any]] = field(default_factory=list)
    clock_offset_ms: float = 0
    auto_login_seconds: Optional[float] = None  # None: only the login page or the control API log in
    client_secret_bytes: int = 24
    access_token_bytes: int = 32
    secret_encoding: str = "urlsafe"

    def copy(self) -> Settings:
        return copy.deepcopy(self)


@dataclass
class Client:
    client_id: str
    client_secret: str
    statement: str


@dataclass
class Token:
    value: str
    client_id: str
    expires_ms: int


@dataclass
class Session:
    """An authentication session and its code (sessions APIs)."""
    code: str
    session_id: str
    service_provider: str
    device_id: str
    device_info: Dict[str, Any]
    params: Dict[str, str]  # mvpd / domainName / redirectUrl given so far
    not_before: int
    not_after: int
    sso: Optional[Owner] = None  # (profile type, identity) when created with an SSO header
    completed: bool = False
    completed_ms: int = 0


@dataclass
class Profile:
    mvpd: str
    type: str             # regular | platformSSO | serviceTokenSSO | appleSSO | temporary | degraded
    issuer: str
    not_before: int
    not_after: int
    attributes: Dict[str, Any]


CODE_ALPHABET = string.ascii_uppercase + string.digits


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(7))


class State:
    def __init__(self, settings: Settings) -> None:
        self.lock = threading.RLock()
        self.initial_settings = settings.copy()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.settings = self.initial_settings.copy()
            self.clock = Clock(self.settings)
            self.clients: Dict[str, Client] = {}    # client_id -> Client
            self.tokens: Dict[str, Token] = {}      # access token -> Token
            self.sessions: Dict[str, Session] = {}  # code -> Session
            # owner -> {mvpd: Profile}; owner is ("device", id) or (sso type, identity)
            self.profiles: Dict[Owner, Dict[str, Profile]] = {}
            # (kind, identity, mvpd) -> {"first": ms, "resources": [...]}
            self.temp_pass: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
            # (raw device id, mvpd) -> {"code", "itemLevel", "setMs"}: POST /_emulator/invalidate-profile
            self.profile_marks: Dict[Tuple[str, str], Dict[str, Any]] = {}
            # (due ms, code) of sessions that log in by themselves (autoLoginSeconds)
            self.auto_logins: List[Tuple[int, str]] = []
            self.requests: List[Dict[str, Any]] = []
            self.endpoint_counts: Counter[str] = Counter()
            self.counters: Counter[str] = Counter()

    def now(self) -> int:
        return self.clock.now_ms()

    # --- DCR -------------------------------------------------------------
    def register_client(self, statement: str) -> Client:
        s = self.settings
        client = Client("c" + secrets.token_hex(8), random_secret(s.client_secret_bytes, s.secret_encoding),
                        statement)
        self.clients[client.client_id] = client
        self.counters["registrations"] += 1
        return client

    def issue_token(self, client: Client) -> Token:
        s = self.settings
        value = random_secret(s.access_token_bytes, s.secret_encoding)
        while value in self.tokens:  # short tokens (accessTokenBytes) may repeat
            value = random_secret(s.access_token_bytes, s.secret_encoding)
        token = Token(value, client.client_id, self.now() + int(s.token_ttl * 1000))
        self.tokens[token.value] = token
        self.counters["tokensIssued"] += 1
        return token

    def valid_token(self, value: str) -> bool:
        token = self.tokens.get(value)
        return (token is not None and token.expires_ms > self.now()
                and token.client_id in self.clients)

    # --- sessions --------------------------------------------------------
    def create_session(self, service_provider: str, device_id: str, device_info: Dict[str, Any],
                       params: Dict[str, str], sso: Optional[Owner]) -> Session:
        code = new_code()
        while code in self.sessions:
            code = new_code()
        now = self.now()
        session = Session(code, str(uuid.uuid4()), service_provider, device_id, device_info,
                          params, now, now + int(self.settings.code_ttl * 1000), sso)
        self.sessions[code] = session
        if self.settings.auto_login_seconds is not None:
            heapq.heappush(self.auto_logins, (now + int(self.settings.auto_login_seconds * 1000), code))
        return session

    def due_auto_logins(self) -> List[Session]:
        """Sessions whose automatic login time has come (removed from the queue)."""
        now, due = self.now(), []
        while self.auto_logins and self.auto_logins[0][0] <= now:
            _, code = heapq.heappop(self.auto_logins)
            session = self.sessions.get(code)
            if session is not None and not session.completed and session.not_after > now:
                due.append(session)
        return due

    # --- profiles --------------------------------------------------------
    def put_profile(self, owner: Owner, profile: Profile) -> None:
        self.profiles.setdefault(owner, {})[profile.mvpd] = profile
        if owner[0] == "device":  # a new login ends an invalidation mark
            self.profile_marks.pop((raw_device_id(owner[1]), profile.mvpd), None)

    def profile_mark(self, device_id: str, mvpd: str) -> Optional[Dict[str, Any]]:
        """The invalidation mark of a device (its AP-Device-Identifier value) for an MVPD."""
        if not device_id or not self.profile_marks:
            return None
        return self.profile_marks.get((raw_device_id(device_id), mvpd))

    def new_profile(self, mvpd: str, type_: str, issuer: str, attributes: Dict[str, Any],
                    ttl_s: Optional[float] = None) -> Profile:
        now = self.now()
        ttl_ms = int((self.settings.profile_ttl if ttl_s is None else ttl_s) * 1000)
        return Profile(mvpd, type_, issuer, now, now + ttl_ms, attributes)

    def snapshot(self) -> Dict[str, Any]:
        """Debug view for ``GET /_emulator/state`` (no secrets)."""
        now = self.now()
        return {
            "nowMs": now,
            "clients": len(self.clients),
            "tokens": sum(1 for t in self.tokens.values() if t.expires_ms > now),
            "sessions": [{"code": s.code, "serviceProvider": s.service_provider,
                          "device": s.device_id, "parameters": s.params,
                          "notBefore": s.not_before, "notAfter": s.not_after,
                          "completed": s.completed, "expired": s.not_after <= now}
                         for s in self.sessions.values()],
            "profiles": [{"owner": list(owner), "mvpd": p.mvpd, "type": p.type,
                          "notBefore": p.not_before, "notAfter": p.not_after,
                          "expired": p.not_after <= now}
                         for owner, by_mvpd in self.profiles.items()
                         for p in by_mvpd.values()],
            "profileMarks": [{"deviceId": device, "mvpd": mvpd, **mark}
                             for (device, mvpd), mark in self.profile_marks.items()],
        }


def raw_device_id(encoded: str) -> str:
    """The raw device id of an AP-Device-Identifier value's base64 part (the text itself when it
    does not decode)."""
    raw = b64decode(encoded)
    return encoded if raw is None else raw.decode("utf-8", "replace")
