"""Every 2xx response schema of Adobe's OpenAPI files is accepted by the library's decoders.

For each operation and 2xx status with a JSON schema, instances are generated (contract.Generator:
"all" properties, only the "required" ones, or every "containers" member with only required scalars;
plus a few named variants), checked against the file with openapi-core's response validator, served
to the library by the emulator (fault kind `canned`), and the matching binding call must succeed and
hand back every field it was given (it may add an empty object or array for an optional member the
answer left out, nothing else).

A refusal of a schema-valid answer is expected only when it is one of "What the library needs beyond
the schemas" (openapi/README.md, contract.LIBRARY_NEEDS): the library's error (PASSAUTH_E_PROTOCOL)
names a member of that list the answer lacks (or has in another form), and the answer with those
members as the page has them is accepted. Any other refusal is a divergence, for which the test works
out which optional members the library needs (removing them one by one from the "all" instance while
the library accepts it) and names their schema paths. A member of the list that no longer causes a
refusal fails the test too.

A code's profiles answer without a profile means the user has not logged in yet: polling it goes on
until the code expires (case "profiles.code (poll)").
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl

import pytest
from conftest import SOFTWARE_STATEMENT, pfs
from contract import LIBRARY_NEEDS, Contract, Generator, Need, leaves, lookup, readme_rows
from openapi_core.testing import MockRequest, MockResponse

import passauth

MVPD = "Cablevision"
CODE = "CNTR4CT"
NOW = int(time.time() * 1000)
FREE = object()  # a hint override: no hint, the value comes from the schema alone

# Values that must agree with the request (the MVPD, resource, code, service provider asked for) or be
# plausible for the call (validity windows around now); everything else comes from the schema.
HINTS: Dict[str, Any] = {
    "serviceProvider": "REF30", "mvpd": MVPD, "issuer": MVPD, "SessionResponse.code": CODE,
    "notBefore": NOW - 60_000, "notAfter": NOW + 3_600_000, "MvpdProfileResponse.type": "regular", "source": "mvpd",
    "actionName": "authenticate", "actionType": "interactive", "reasonType": "none", "state": "plain",
    "url": "https://sp.auth.adobe.com/api/v2/authenticate/REF30/" + CODE, "missingParameters": ["redirectUrl"],
    "ProfilesResponse.profiles{}": MVPD, "LogoutResponse.logouts{}": MVPD,
    "MvpdProfileResponse.attributes{}": "userID", "SessionStatusResponse.existingParameters{}": "mvpd",
    "MvpdLogoutResponse.actionName": "logout", "MvpdLogoutResponse.url": "https://mvpd.example/logout",
    "ErrorInformation.code": "authorization_denied_by_mvpd", "ErrorInformation.status": 403,
    "ErrorInformation.action": "none", "ErrorInformation.helpUrl": "https://experienceleague.adobe.com/",
    "MvpdType.id": MVPD, "ProgrammerType.id": "REF30",
    # DCR
    "client_id": "contract-client-id", "client_secret": "contract-client-secret",
    "access_token": "contract-access-token", "expires_in": 3600, "created_at": NOW,
    "client_id_issued_at": NOW // 1000, "token_type": "bearer", "grant_types": ["client_credentials"],
}


@dataclass
class Case:
    """One operation + 2xx status and the binding call that decodes it."""

    name: str
    file: str
    operation_id: str
    status: str
    endpoint: str  # the emulator's endpoint name (request log, faults)
    call: Callable[["Harness", Any, Dict[str, Any]], Any]  # (harness, served instance, hints) -> handed back
    variants: Dict[str, Tuple[str, Dict[str, Any], Sequence[str]]] = field(default_factory=dict)
    serve_status: Optional[int] = None  # the status the emulator answers (default: `status`)


class Refused(Exception):
    """The library refused the answer (its error as text)."""


class Harness:
    """A registered client on the emulator; serves an instance and runs one binding call."""

    def __init__(self, emu: Any, store: str) -> None:
        self.emu = emu
        self.stores = store
        self.config = {"baseUrl": emu.base_url, "serviceProvider": "REF30", "softwareStatement": SOFTWARE_STATEMENT,
                       "store": store, "device": {"id": "contract-response-device", "partnerFrameworkStatus": pfs(MVPD)},
                       "logLevel": "none", "configurationCacheMs": 0, "profileRefreshMs": 0, "pacing": False}
        self.client = passauth.Client(self.config)
        self.client.register()
        self.counter = 0

    def fresh_client(self) -> passauth.Client:
        """A client with a store of its own (it registers again)."""
        return passauth.Client({**self.config, "store": tempfile.mkdtemp(dir=self.stores)})

    def serve(self, endpoint: str, status: int, body: Any, count: int = 1) -> None:
        self.emu.control("faults", method="DELETE")
        self.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": endpoint, "status": status, "body": body,
                                                "count": count}]})

    def consumed(self) -> bool:
        return not self.emu.control("faults")["faults"]

    def unique(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}-{self.counter}"

    def requests(self, endpoint: str) -> List[Dict[str, Any]]:
        return [r for r in self.emu.control("requests")["requests"] if r["endpoint"] == endpoint]


def _raw_profiles(found: Dict[str, Any]) -> Dict[str, Any]:
    return {"profiles": {mvpd: p.raw for mvpd, p in found.items()}}


def _decisions(method: str) -> Callable[[Harness, Any, Dict[str, Any]], Any]:
    def call(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
        resources = [d.get("resource") for d in instance.get("decisions", []) if isinstance(d, dict)] or ["REF30"]
        decisions = getattr(h.client, method)(MVPD, resources)
        return {"decisions": [d.raw for d in decisions]}
    return call


def _poll(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
    """A profile ends the poll with it. An answer without a profile means the user has not logged in
    yet: the poll must go on (every request gets the same answer) until the code expires or the poll's
    own timeout, and hand back nothing. The code's notAfter is 7 s away: the first request leaves within
    one interval (3 s), so a poll that goes on makes a second one before it."""
    if isinstance(instance, dict) and instance.get("profiles"):
        with h.client.poll(CODE, timeout=20) as poll:
            return _raw_profiles(poll.wait(timeout=25))
    h.serve("profiles.code", 200, instance, count=100)
    before = len(h.requests("profiles.code"))
    try:
        with h.client.poll(CODE, interval=3, timeout=20, not_after_ms=int(time.time() * 1000) + 7000) as poll:
            found = poll.wait(timeout=25)
    except (passauth.ExpiredError, passauth.TimedOutError):
        pass
    else:
        raise Refused(f"the poll ended with {found!r} on answers without a profile")
    polled = [r for r in h.requests("profiles.code")[before:] if r["path"].endswith("/" + CODE)]
    if len(polled) < 2:
        raise Refused(f"the poll stopped after {len(polled)} request(s) on an answer without a profile")
    h.emu.control("faults", method="DELETE")  # the answers left for requests the poll did not make
    return {}


def _register(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
    """Canned register (this instance) + canned token: the registration must use the credentials."""
    token = {"access_token": "contract-access-token", "expires_in": 3600, "token_type": "bearer"}
    h.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": "token", "status": 201, "body": token}]})
    with h.fresh_client() as client:
        registration = client.register()
    (sent,) = h.requests("token")[-1:]
    form = dict(parse_qsl(sent["body"]))
    handed = {"client_id": registration.client_id}
    if registration.client_id_issued_at_ms is not None:
        # RFC 7591 seconds; handed back in ms like every time of the library (passauth_register)
        handed["client_id_issued_at"] = registration.client_id_issued_at_ms // 1000
    if form.get("client_secret") == instance.get("client_secret"):
        handed["client_secret"] = instance["client_secret"]  # used: sent back in the token form
    if form.get("client_id") != instance.get("client_id"):
        raise Refused(f"the token request used client_id {form.get('client_id')!r}")
    return handed


def _token(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
    """Canned token (this instance) after a real registration: its access token must be the bearer
    of the next call, its lifetime the registration's."""
    with h.fresh_client() as client:
        h.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": "register", "status": 201,
                                             "body": {"client_id": "contract-client-id",
                                                      "client_secret": "contract-client-secret"}}]})
        registration = client.register()
        handed: Dict[str, Any] = {}
        if "expires_in" in instance:
            start = instance.get("created_at", NOW)
            expected = start + instance["expires_in"] * 1000
            if abs(registration.access_token_expires_at_ms - expected) < 120_000 or \
                    abs(registration.access_token_expires_at_ms - (int(time.time() * 1000) + instance["expires_in"] * 1000)) < 120_000:
                handed["expires_in"] = instance["expires_in"]
        h.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": "configuration", "status": 200,
                                             "body": {"requestor": {"mvpds": [{"id": MVPD}]}}}]})
        client.configuration()
    bearer = h.requests("configuration")[-1]["headers"].get("authorization")
    if "access_token" in instance and bearer == "Bearer " + instance["access_token"]:
        handed["access_token"] = instance["access_token"]
    return handed


def _session(method: str) -> Callable[[Harness, Any, Dict[str, Any]], Any]:
    def call(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
        c = h.client
        if method == "create":
            return c.create_session(mvpd=MVPD, domain_name="adobe.com", redirect_url="https://adobe.com").raw
        if method == "resume":
            return c.resume_session(CODE, redirect_url="https://adobe.com").raw
        if method == "get":
            return c.session(CODE).raw
        return c.partner_sso_session("Apple", domain_name="adobe.com", redirect_url="https://adobe.com").raw
    return call


# Named variants: (mode, hint overrides, members to add even when optional).
DECISION_VARIANTS = {
    "permit": ("containers", {"authorized": True}, ["DecisionResponse.token", "MediaTokenResponse.serializedToken",
                                                    "DecisionResponse.notBefore", "DecisionResponse.notAfter"]),
    "deny-message-string": ("containers", {"authorized": False, "ErrorInformation.message": "Denied by the MVPD."},
                            ["DecisionResponse.error", "ErrorInformation.code", "ErrorInformation.message"]),
}
TEXT_TIMESTAMPS = {"timestamps-as-text": ("all", {"notBefore": FREE, "notAfter": FREE}, [])}

CASES = [
    Case("configuration", "rest", "handleRequestUsingGET", "200", "configuration",
         lambda h, i, _: h.client.configuration().raw),
    Case("sessions.create", "rest", "createSessionUsingPOST", "200", "sessions.create", _session("create"),
         dict(TEXT_TIMESTAMPS)),
    Case("sessions.resume", "rest", "resumeSessionUsingPOST", "200", "sessions.resume", _session("resume"),
         dict(TEXT_TIMESTAMPS)),
    Case("sessions.get", "rest", "getSessionStatusUsingGET_1", "200", "sessions.get", _session("get"),
         dict(TEXT_TIMESTAMPS)),
    Case("sessions.sso", "rest", "retrieveVerificationTokenUsingPOST", "200", "sessions.sso", _session("sso"),
         {**TEXT_TIMESTAMPS, "partner_profile": ("required", {"actionName": "partner_profile", "actionType": "direct"}, [])}),
    Case("profiles", "rest", "getProfilesUsingGET_1", "200", "profiles", lambda h, i, _: _raw_profiles(h.client.profiles())),
    Case("profiles.mvpd", "rest", "getProfileForMvpdUsingGET", "200", "profiles.mvpd",
         lambda h, i, _: _raw_profiles({m: p for m, p in [(MVPD, h.client.profile(MVPD))] if p is not None})),
    Case("profiles.code", "rest", "getProfileForCodeUsingGET_1", "200", "profiles.code",
         lambda h, i, _: _raw_profiles(h.client.profile_for_code(CODE))),
    Case("profiles.code (poll)", "rest", "getProfileForCodeUsingGET_1", "200", "profiles.code", _poll),
    Case("profiles.sso", "rest", "createPartnerProfileUsingPOST", "200", "profiles.sso",
         lambda h, i, _: _raw_profiles(h.client.partner_sso_profile("PHNhbWw+", "Apple"))),
    Case("profiles.sso (201)", "rest", "createPartnerProfileUsingPOST", "201", "profiles.sso",
         lambda h, i, _: _raw_profiles(h.client.partner_sso_profile("PHNhbWw+", "Apple"))),
    Case("decisions.authorize", "rest", "retrieveAuthorizeDecisionsForMvpdUsingPOST", "200", "decisions.authorize",
         _decisions("authorize"), dict(DECISION_VARIANTS)),
    Case("decisions.preauthorize", "rest", "retrievePreAuthorizeDecisionsForMvpdUsingPOST_1", "200",
         "decisions.preauthorize", _decisions("preauthorize"), dict(DECISION_VARIANTS)),
    Case("logout", "rest", "getLogoutForMvpdUsingGET", "200", "logout",
         lambda h, i, _: h.client.logout(MVPD, "https://adobe.com").raw),
    Case("register", "dcr", "processSoftwareStatementUsingPOST", "201", "register", _register),
    Case("token", "dcr", "generateAccessTokenUsingPOST", "201", "token", _token),
]
# Operations with a 2xx answer the library never decodes (no JSON schema, or a page for a user agent).
NOT_DECODED = {("rest", "startAuthenticationUsingGET", "200"): "GET /authenticate/{serviceProvider}/{code}: "
               "the user agent's page (2xx content: none); the library only builds its URL"}

# Members the DCR calls do not hand back by design: the ABI's register result holds no secret and
# only clientId, clientIdIssuedAt, accessTokenExpiresAt (passauth.h, passauth_register). The secrets
# are checked by use instead (client_secret in the token form, access_token as the bearer).
DCR_NOT_HANDED_BACK = {"register": {"grant_types", "redirect_uris", "scopes"},
                       "token": {"refresh_token", "created_at", "id", "token_type"}}


def response_schema(contract: Contract, case: Case) -> Tuple[str, Dict[str, Any]]:
    """(path template, schema) of the case's operation and status."""
    for path, item in contract.specs[case.file]["paths"].items():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == case.operation_id:
                return path, operation["responses"][case.status]["content"]["application/json"]["schema"]
    raise KeyError(case.operation_id)


def variants(case: Case) -> Dict[str, Tuple[str, Dict[str, Any], Sequence[str]]]:
    base = {mode: (mode, {}, ()) for mode in ("all", "required", "containers")}
    return {**base, **case.variants}


def instance_for(contract: Contract, case: Case, mode: str, overrides: Dict[str, Any], add: Iterable[str],
                 unique: str) -> Any:
    """An instance for one variant. `unique` makes the resource and the media token of this instance
    its own: the library remembers every media token it received as a secret and scrubs it from any
    later answer (a server echoing it), so two answers must never carry the same one."""
    hints = {**HINTS, "resource": f"resource-{unique}", "serializedToken": f"media-token-{unique}", **overrides}
    hints = {k: v for k, v in hints.items() if v is not FREE}
    _, schema = response_schema(contract, case)
    return Generator(contract, case.file, mode, hints, add).instance(schema)


def schema_errors(contract: Contract, case: Case, instance: Any) -> List[str]:
    """openapi-core's response validation of the instance against the operation's status."""
    path, _ = response_schema(contract, case)
    concrete = path.replace("{serviceProvider}", "REF30").replace("{mvpd}", MVPD).replace("{code}", CODE) \
        .replace("{partner}", "Apple")
    method = next(m for m, op in contract.specs[case.file]["paths"][path].items()
                  if isinstance(op, dict) and op.get("operationId") == case.operation_id)
    base = {"rest": "/api/v2", "dcr": "/o"}[case.file]
    request = MockRequest("https://sp.auth.adobe.com", method, base + concrete)
    response = MockResponse(json.dumps(instance).encode(), status_code=int(case.status))
    return [str(getattr(e, "__cause__", None) or e) for e in contract.apis[case.file].iter_response_errors(request, response)]


def schema_at(contract: Contract, case: Case, json_path: Sequence[Any]) -> Tuple[str, Dict[str, Any]]:
    """The schema path (from the innermost named component) of a member of the instance, and its
    schema (references resolved)."""
    _, schema = response_schema(contract, case)
    pointer = "(response schema)"

    def resolve() -> None:
        nonlocal pointer, schema
        while "$ref" in schema or "anyOf" in schema:
            if "$ref" in schema:
                pointer = schema["$ref"]
                schema = contract.pointer(case.file, schema["$ref"])
            else:
                schema = schema["anyOf"][0]

    for part in json_path:
        resolve()
        if isinstance(part, int):
            pointer, schema = pointer + "/items", schema.get("items", {})
        elif part in schema.get("properties", {}):
            pointer, schema = pointer + f"/properties/{part}", schema["properties"][part]
        else:
            pointer, schema = pointer + "/additionalProperties", schema.get("additionalProperties", {})
    at = pointer
    resolve()
    return at, schema


def schema_pointer(contract: Contract, case: Case, json_path: Sequence[Any]) -> str:
    return schema_at(contract, case, json_path)[0]


def nodes(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    """Paths of every object member (not array items) of a JSON value, parents before children."""
    found: List[Tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.append(prefix + (k,))
        for k, v in value.items():
            found.extend(nodes(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(nodes(v, prefix + (i,)))
    return found


def without(value: Any, path: Sequence[Any]) -> Any:
    copied = copy.deepcopy(value)
    parent = copied
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return copied


def with_value(value: Any, path: Sequence[Any], new: Any) -> Any:
    copied = copy.deepcopy(value)
    parent = copied
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = copy.deepcopy(new)
    return copied


def added_empty_containers(contract: Contract, case: Case, served: Any, handed: Any,
                           prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    """Members the call handed back and the answer did not have that are an empty object or array for
    a member the schema marks optional (the library's results keep their shape): the one thing a call
    may add."""
    added: List[Tuple[Any, ...]] = []
    if isinstance(served, dict) and isinstance(handed, dict):
        _, schema = schema_at(contract, case, prefix)
        required = set(schema.get("required", []))
        for key, value in handed.items():
            if key in served:
                added += added_empty_containers(contract, case, served[key], value, prefix + (key,))
            elif key in schema.get("properties", {}) and key not in required and value in ({}, []):
                kind = schema_at(contract, case, prefix + (key,))[1]
                if kind.get("type") == ("object" if value == {} else "array"):
                    added.append(prefix + (key,))
    elif isinstance(served, list) and isinstance(handed, list):
        for index, (s, h) in enumerate(zip(served, handed)):
            added += added_empty_containers(contract, case, s, h, prefix + (index,))
    return added


def handed_back_problems(contract: Contract, case: Case, served: Any, handed: Any) -> List[str]:
    """Members of the served instance the call did not hand back (or changed). An empty container the
    call added for an optional member the answer left out is not one (added_empty_containers)."""
    for path in added_empty_containers(contract, case, served, handed):
        handed = without(handed, path)
    problems = []
    skip = DCR_NOT_HANDED_BACK.get(case.endpoint, set())
    for path, value in leaves(served):
        if path and path[0] in skip:
            continue
        found, got = lookup(handed, path)
        same = found and (got == value or (isinstance(value, str) and value.isdigit() and got == int(value)
                                           and path[-1] in ("notBefore", "notAfter")))
        if not same:
            where = "".join(f"[{p!r}]" for p in path)
            problems.append(f"{where}: served {value!r}, handed back " + (repr(got) if found else "nothing"))
    return problems


# --- what the library needs beyond the schemas (contract.LIBRARY_NEEDS) ---------------------------------

NEED_MEMBERS: Dict[str, Tuple[Need, str]] = {pointer: (need, error) for need in LIBRARY_NEEDS
                                             for pointer, error in need.members}


def unmet_needs(contract: Contract, case: Case, instance: Any) -> List[Tuple[Tuple[Any, ...], str]]:
    """(path, schema path) of every member of the list the instance lacks or has in another form."""
    found: List[Tuple[Tuple[Any, ...], str]] = []

    def walk(value: Any, path: Tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            _, schema = schema_at(contract, case, path)
            for name in schema.get("properties", {}):
                pointer = schema_pointer(contract, case, path + (name,))
                if pointer in NEED_MEMBERS:
                    need, _ = NEED_MEMBERS[pointer]
                    if need.kind == "present" and name not in value:
                        found.append((path + (name,), pointer))
                    elif need.kind == "milliseconds" and name in value and not (
                            isinstance(value[name], str) and value[name].isdigit()):
                        found.append((path + (name,), pointer))
            for key, sub in value.items():
                walk(sub, path + (key,))
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                walk(sub, path + (index,))

    walk(instance, ())
    return found


def meet(instance: Any, path: Tuple[Any, ...], pointer: str, source: Any) -> Any:
    """The instance with the member as the page has it: a string of milliseconds, or the member of
    `source` (the case's "all" instance) at the same path."""
    need, _ = NEED_MEMBERS[pointer]
    if need.kind == "milliseconds":
        return with_value(instance, path, str(HINTS[path[-1]]))
    found, value = lookup(source, path)
    assert found, (path, source)
    return with_value(instance, path, value)


def explained_by_needs(contract: Contract, h: Harness, case: Case, instance: Any, error: str,
                       used: Dict[str, int]) -> Tuple[bool, str]:
    """Whether the refusal is one of the list: each time, the library's error (a ProtocolError) names
    members of the list the answer lacks (or has in another form); with those as the page has them the
    library tries again, until it accepts the answer. Counts the members that explained it in `used`."""
    source = instance_for(contract, case, "all", {}, (), h.unique(case.endpoint))
    current = instance
    met: List[Tuple[Tuple[Any, ...], str]] = []  # (path, schema path) of the members set as the page has them

    def described() -> str:
        return "; ".join(f"{pointer} at {''.join(f'[{p!r}]' for p in path)}" for path, pointer in met)

    for _ in range(len(NEED_MEMBERS) + 1):
        if not error.startswith("ProtocolError: "):
            return False, f"{error} is not a ProtocolError" + (f" (after {described()})" if met else "")
        unmet = [(path, pointer) for path, pointer in unmet_needs(contract, case, current)
                 if re.search(NEED_MEMBERS[pointer][1], error)]
        if not unmet:
            return False, "its error names no member of the list the answer lacks" + \
                (f" (after {described()})" if met else "")
        for path, pointer in unmet:
            current = meet(current, path, pointer, source)
        met += unmet
        ok, outcome = attempt(h, case, current)
        if ok:
            for pointer in {pointer for _, pointer in met}:
                used[pointer] = used.get(pointer, 0) + 1
            return True, described()
        error = outcome
    return False, "still refused after " + described()


@pytest.fixture(scope="module")
def harness(service: Any, tmp_path_factory: Any) -> Any:
    service.control("reset", {})
    h = Harness(service, str(tmp_path_factory.mktemp("stores")))
    yield h
    h.client.close()


def attempt(h: Harness, case: Case, instance: Any) -> Tuple[bool, Any]:
    """Serves the instance and runs the call: (True, handed back) or (False, why it failed)."""
    h.serve(case.endpoint, case.serve_status or int(case.status), instance)
    try:
        handed = case.call(h, instance, HINTS)
    except (passauth.PassAuthError, Refused) as error:
        return False, f"{type(error).__name__}: {error}"
    if not h.consumed():
        return False, "the call made no request (the canned answer was not used)"
    return True, handed


def minimal_accepted(contract: Contract, h: Harness, case: Case, start: Any) -> Any:
    """From an accepted instance, remove optional members one at a time while the instance stays
    schema-valid and the library keeps accepting it."""
    current = start
    for path in nodes(start):
        if lookup(current, path)[0] is False:
            continue
        trial = without(current, path)
        if schema_errors(contract, case, trial):
            continue  # a required member
        if attempt(h, case, trial)[0]:
            current = trial
    return current


def test_every_2xx_json_schema_has_a_case(contract):
    """Every operation + 2xx status of both files is a case, or explicitly one the library never decodes."""
    covered = {(c.file, c.operation_id, c.status) for c in CASES} | set(NOT_DECODED)
    for file, spec in contract.specs.items():
        for item in spec["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                for status, response in operation["responses"].items():
                    if status.startswith("2"):
                        key = (file, operation["operationId"], status)
                        assert key in covered, key
                        if key in NOT_DECODED:
                            assert "application/json" not in response.get("content", {}), key


def test_generated_instances_are_valid_and_the_generator_follows_the_schema(contract):
    for case in CASES:
        for name, (mode, overrides, add) in variants(case).items():
            instance = instance_for(contract, case, mode, overrides, add, "res")
            assert schema_errors(contract, case, instance) == [], (case.name, name, instance)
    profiles = next(c for c in CASES if c.name == "profiles")
    assert instance_for(contract, profiles, "required", {}, (), "r") == {}
    full = instance_for(contract, profiles, "all", {}, (), "r")["profiles"][MVPD]
    assert set(full) == {"notBefore", "notAfter", "attributes", "sessionId", "type", "issuer"}
    assert full["attributes"]["userID"]["error"] == "invalid_parameter_service_provider"  # the first enum value
    decisions = next(c for c in CASES if c.name == "decisions.authorize")
    assert instance_for(contract, decisions, "all", {}, (), "r")["decisions"][0]["authorized"] is False  # example


def test_every_2xx_answer_of_the_files_is_decoded_and_handed_back(contract, harness):
    divergences: List[str] = []
    accepted = 0
    used: Dict[str, int] = {}  # schema path of a member of LIBRARY_NEEDS -> refusals it explained
    for case in CASES:
        seen: List[Any] = []
        full: Optional[Any] = None
        for name, (mode, overrides, add) in variants(case).items():
            instance = instance_for(contract, case, mode, overrides, add, harness.unique(case.endpoint))
            if any(json.dumps(instance, sort_keys=True) == json.dumps(s, sort_keys=True) for s in seen):
                continue
            seen.append(instance)
            assert schema_errors(contract, case, instance) == [], (case.name, name)
            ok, outcome = attempt(harness, case, instance)
            label = f"{case.name} {case.status} [{name}]"
            if ok:
                accepted += 1
                if mode == "all" and not overrides:
                    full = instance
                problems = handed_back_problems(contract, case, instance, outcome)
                divergences += [f"{label}: not handed back: {p}" for p in problems]
                continue
            expected, why = explained_by_needs(contract, harness, case, instance, outcome, used)
            if expected:
                continue
            needs = f"; not one of what the library needs beyond the schemas: {why}"
            overridden = {key.split(".")[-1] for key in overrides}
            changed = sorted({f"{schema_pointer(contract, case, path)} = {value!r}" for path, value in leaves(instance)
                              if path and path[-1] in overridden})
            if changed:
                needs += "; members this variant sets differently: " + ", ".join(changed)
            if full is not None:
                minimal = minimal_accepted(contract, harness, case, full)
                extra = [p for p in nodes(minimal) if not lookup(instance, p)[0]
                         and not any(p[:len(q)] == q and p != q for q in nodes(minimal) if not lookup(instance, q)[0])]
                if extra:
                    needs += "; it accepts the answer once it has " + ", ".join(
                        f"{''.join(f'[{x!r}]' for x in p)} ({schema_pointer(contract, case, p)})" for p in extra) + \
                        ", which the file does not require"
            divergences.append(f"{label}: the library refuses a schema-valid answer: {outcome}{needs}\n"
                               f"      served: {json.dumps(instance)[:400]}")
    assert accepted, "nothing was accepted: the harness is broken"
    divergences += [f"{need.id}: {pointer} no longer causes a refusal of any generated answer: remove it from "
                    "contract.LIBRARY_NEEDS and openapi/README.md" for need in LIBRARY_NEEDS
                    for pointer, _ in need.members if pointer not in used]
    assert not divergences, (f"{len(divergences)} divergence(s) between the files' 2xx answers and the library's decoders "
                             "(operation status [variant]):\n" + "\n".join(f"  - {d}" for d in divergences))


def test_each_member_the_library_needs_beyond_the_schemas_is_needed(contract, harness):
    """Each member of contract.LIBRARY_NEEDS, alone, is what makes the library refuse: in every case
    whose answer has it, the accepted "all" instance without it (or, for milliseconds, with any other
    string) is refused with a ProtocolError naming it. A member the library stopped needing fails here
    (and in the test above), so the list (and its README table) cannot rot."""
    problems: List[str] = []
    for need in LIBRARY_NEEDS:
        for pointer, error in need.members:
            tried = 0
            for case in CASES:
                full = instance_for(contract, case, "all", {}, (), harness.unique(case.endpoint))
                paths = [p for p in nodes(full) if schema_pointer(contract, case, p) == pointer]
                if not paths:
                    continue
                ok, outcome = attempt(harness, case, full)
                assert ok, (case.name, outcome)
                broken = full
                for path in paths:
                    broken = without(broken, path) if need.kind == "present" else with_value(broken, path, f"{path[-1]}-text")
                assert schema_errors(contract, case, broken) == [], (case.name, pointer)
                tried += 1
                ok, outcome = attempt(harness, case, broken)
                if ok or not outcome.startswith("ProtocolError: ") or not re.search(error, outcome):
                    problems.append(f"{need.id}: {case.name} without {pointer} as the page has it: "
                                    + ("accepted" if ok else f"refused with {outcome!r}, which does not name it"))
            if not tried:
                problems.append(f"{need.id}: no case's answer has {pointer}")
    assert not problems, "members of LIBRARY_NEEDS the library does not need (remove them from the list and " \
                         "openapi/README.md, or fix the pattern):\n" + "\n".join(f"  - {p}" for p in problems)


def test_the_readme_lists_what_the_library_needs(contract):
    """openapi/README.md's table and contract.LIBRARY_NEEDS: the same rows, each naming its schema paths
    and page; every schema path exists in the files."""
    rows = readme_rows("What the library needs beyond the schemas")
    assert list(rows) == [need.id for need in LIBRARY_NEEDS]
    for need in LIBRARY_NEEDS:
        for pointer, _ in need.members:
            name, member = pointer.split("/")[3], pointer.split("/")[-1]
            assert f"`{name}.{member}`" in rows[need.id], (need.id, name, member)
            assert any(contract.pointer(file, pointer) for file in contract.specs
                       if name in contract.specs[file]["components"]["schemas"]), pointer
        assert f"`{need.page}`" in rows[need.id], need.id


def test_the_checks_of_the_response_test_work(contract, harness):
    """The harness's own checks: an accepted answer is handed back, a lost field is noticed, the
    minimal accepted instance is schema-valid and a subset, schema paths name the component."""
    case = next(c for c in CASES if c.name == "logout")
    full = instance_for(contract, case, "all", {}, (), "r")
    ok, handed = attempt(harness, case, full)
    assert ok, handed
    assert handed_back_problems(contract, case, full, handed) == []
    assert handed_back_problems(contract, case, full, {"logouts": {}}) != []
    # An empty container for an optional member the answer left out may be added, nothing else.
    assert handed_back_problems(contract, case, {}, {"logouts": {}}) == []
    assert handed_back_problems(contract, case, {}, {"logouts": []}) != []  # the schema's is an object
    assert handed_back_problems(contract, case, {}, {"logouts": {MVPD: {}}}) != []
    assert handed_back_problems(contract, case, {}, {"logouts": {}, "extra": {}}) != []
    profiles = next(c for c in CASES if c.name == "profiles")
    served = instance_for(contract, profiles, "all", {}, (), "r")
    assert handed_back_problems(contract, profiles, served, {"profiles": {}}) != []
    decisions = next(c for c in CASES if c.name == "decisions.authorize")
    served = {"decisions": [{"authorized": True}]}
    assert handed_back_problems(contract, decisions, served, {"decisions": [{"authorized": True, "error": {}}]}) == []
    # DecisionResponse.resource is a string, not a container: an empty object there is not an addition.
    assert added_empty_containers(contract, decisions, served, {"decisions": [{"authorized": True, "resource": {}}]}) == []
    minimal = minimal_accepted(contract, harness, case, full)
    assert schema_errors(contract, case, minimal) == []
    assert set(nodes(minimal)) <= set(nodes(full))
    assert schema_pointer(contract, case, ("logouts", MVPD, "url")) == \
        "#/components/schemas/MvpdLogoutResponse/properties/url"
