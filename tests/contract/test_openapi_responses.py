"""Every 2xx response schema of Adobe's OpenAPI files is accepted by the library's decoders.

For each operation and 2xx status with a JSON schema, instances are generated (contract.Generator:
"all" properties, only the "required" ones, or every "containers" member with only required scalars;
plus a few named variants), checked against the file with openapi-core's response validator, served
to the library by the emulator (fault kind `canned`), and the matching binding call must succeed and
hand back every field it was given. When the library refuses a schema-valid answer, the test works
out which optional members it needs (removing them one by one from the "all" instance while the
library accepts it) and names their schema paths: those are divergences for the lead to decide on.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl

import pytest
from conftest import SOFTWARE_STATEMENT, pfs
from contract import Contract, Generator, leaves, lookup
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

    def serve(self, endpoint: str, status: int, body: Any) -> None:
        self.emu.control("faults", method="DELETE")
        self.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": endpoint, "status": status, "body": body}]})

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
    with h.client.poll(CODE, timeout=20) as poll:
        return _raw_profiles(poll.wait(timeout=25))


def _register(h: Harness, instance: Any, hints: Dict[str, Any]) -> Any:
    """Canned register (this instance) + canned token: the registration must use the credentials."""
    token = {"access_token": "contract-access-token", "expires_in": 3600, "token_type": "bearer"}
    h.emu.control("faults", {"faults": [{"kind": "canned", "endpoint": "token", "status": 201, "body": token}]})
    with h.fresh_client() as client:
        registration = client.register()
    (sent,) = h.requests("token")[-1:]
    form = dict(parse_qsl(sent["body"]))
    handed = {"client_id": registration.client_id}
    if registration.client_id_issued_at is not None:
        handed["client_id_issued_at"] = registration.client_id_issued_at
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


def schema_pointer(contract: Contract, case: Case, json_path: Sequence[Any]) -> str:
    """The schema path (from the innermost named component) of a member of the instance."""
    _, schema = response_schema(contract, case)
    pointer = "(response schema)"
    for part in json_path:
        while "$ref" in schema:
            pointer = schema["$ref"]
            schema = contract.pointer(case.file, schema["$ref"])
        if "anyOf" in schema:
            schema = schema["anyOf"][0]
        if isinstance(part, int):
            pointer, schema = pointer + "/items", schema.get("items", {})
        elif part in schema.get("properties", {}):
            pointer, schema = pointer + f"/properties/{part}", schema["properties"][part]
        else:
            pointer, schema = pointer + "/additionalProperties", schema.get("additionalProperties", {})
    return pointer


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


def handed_back_problems(case: Case, served: Any, handed: Any) -> List[str]:
    """Members of the served instance the call did not hand back (or changed)."""
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
                problems = handed_back_problems(case, instance, outcome)
                divergences += [f"{label}: not handed back: {p}" for p in problems]
                continue
            needs = ""
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
    assert not divergences, (f"{len(divergences)} divergence(s) between the files' 2xx answers and the library's decoders "
                             "(operation status [variant]):\n" + "\n".join(f"  - {d}" for d in divergences))


def test_the_checks_of_the_response_test_work(contract, harness):
    """The harness's own checks: an accepted answer is handed back, a lost field is noticed, the
    minimal accepted instance is schema-valid and a subset, schema paths name the component."""
    case = next(c for c in CASES if c.name == "logout")
    full = instance_for(contract, case, "all", {}, (), "r")
    ok, handed = attempt(harness, case, full)
    assert ok, handed
    assert handed_back_problems(case, full, handed) == []
    assert handed_back_problems(case, full, {"logouts": {}}) != []
    minimal = minimal_accepted(contract, harness, case, full)
    assert schema_errors(contract, case, minimal) == []
    assert set(nodes(minimal)) <= set(nodes(full))
    assert schema_pointer(contract, case, ("logouts", MVPD, "url")) == \
        "#/components/schemas/MvpdLogoutResponse/properties/url"
