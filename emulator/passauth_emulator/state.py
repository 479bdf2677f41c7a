"""Everything the emulated service remembers, behind one lock.

Time is read from an adjustable clock so tests can expire codes, tokens,
profiles and decisions with ``/_emulator/advance`` instead of sleeping.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

# Who a profile belongs to: ("device", <AP-Device-Identifier value>) or (<SSO type>, <identity>).
Owner = Tuple[str, str]


class Clock:
    def __init__(self) -> None:
        self.offset_ms = 0.0

    def now_ms(self) -> int:
        return int(time.time() * 1000 + self.offset_ms)

    def advance(self, seconds: float) -> None:
        self.offset_ms += float(seconds) * 1000


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
            self.clock = Clock()
            self.clients: Dict[str, Client] = {}    # client_id -> Client
            self.tokens: Dict[str, Token] = {}      # access token -> Token
            self.sessions: Dict[str, Session] = {}  # code -> Session
            # owner -> {mvpd: Profile}; owner is ("device", id) or (sso type, identity)
            self.profiles: Dict[Owner, Dict[str, Profile]] = {}
            # (kind, identity, mvpd) -> {"first": ms, "resources": [...]}
            self.temp_pass: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
            self.requests: List[Dict[str, Any]] = []
            self.endpoint_counts: Counter[str] = Counter()
            self.counters: Counter[str] = Counter()

    def now(self) -> int:
        return self.clock.now_ms()

    # --- DCR -------------------------------------------------------------
    def register_client(self, statement: str) -> Client:
        client = Client("c" + secrets.token_hex(8), secrets.token_urlsafe(24), statement)
        self.clients[client.client_id] = client
        self.counters["registrations"] += 1
        return client

    def issue_token(self, client: Client) -> Token:
        token = Token(secrets.token_urlsafe(32), client.client_id,
                      self.now() + int(self.settings.token_ttl * 1000))
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
        return session

    # --- profiles --------------------------------------------------------
    def put_profile(self, owner: Owner, profile: Profile) -> None:
        self.profiles.setdefault(owner, {})[profile.mvpd] = profile

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
        }
