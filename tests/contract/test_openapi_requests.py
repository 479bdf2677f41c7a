"""Every request the library sends conforms to Adobe's OpenAPI files (tests/contract/openapi/).

A full journey runs through the library (Python binding) against the emulator, with devices carrying
every optional identity; then every request in the emulator's log (GET /_emulator/requests) is checked
with openapi-core's request validator, built from the files with the documented exceptions applied
(contract.EXCEPTIONS, openapi/README.md), plus a closed-world check (no header, query parameter or body
member the operation does not declare). The test fails with the list of every divergence.

The same journey's answers from the emulator (our reading of Adobe, captured in-process) are checked
against the files' response schemas by openapi-core's response validator, with the pages-over-files
points (contract.PAGES_OVER_FILES) on top of the documented exceptions: those apply to the emulator's
answers only, never to the library's requests.

The unit tests at the end feed doctored requests to the same checker: it must catch each of them.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import Counter
from typing import Any, Dict, List, Set, Tuple

import pytest
from conftest import INFO, SOFTWARE_STATEMENT, jwt, pfs
from contract import (BASES, EXCEPTIONS, PAGES_OVER_FILES, Contract, Divergence, LoggedRequest,
                      _OpenAPIRequest, contract_specs, operations, readme_rows, report)

import passauth
from openapi_core.testing import MockResponse
from passauth_emulator import server

MVPD = "Cablevision"
REDIRECT = "https://adobe.com/done"
DOMAIN = "adobe.com"

# A device with every optional identity the device context has (the header's table of each call
# decides which of them travel).
FULL = {"id": "contract-full-device", "info": INFO, "ip": "203.0.113.7", "port": 50123,
        "userAgent": "passauth-contract/1.0 (Android 14)", "subjectToken": jwt('{"sub":"jane"}'),
        "serviceToken": jwt('{"sub":"svc-jane"}'), "visitorId": "visitor-7f3a",
        "tempPassIdentity": {"email": "jane@example.com"}, "partnerFrameworkStatus": pfs(MVPD)}
# No identity but the id: the library describes the host in X-Device-Info.
BARE = {"id": "contract-bare-device"}
# The Roku platform identity (an alternative to subjectToken, so a device of its own).
ROKU = {"id": "contract-roku-device", "info": INFO, "ip": "198.51.100.23", "port": 40000,
        "rokuConnectToken": "roku-opaque-token", "visitorId": "visitor-roku"}
# A software statement the service does not approve (the emulator's config): its registration is refused.
UNAPPROVED = SOFTWARE_STATEMENT.replace(".GHfL4", ".UnApp")
# Partner SSO (Apple): a device with no platform SSO profile, so the service asks for the partner.
APPLE = {"id": "contract-apple-device", "info": {**INFO, "osName": "tvOS", "osVendor": "Apple",
                                                 "primaryHardwareType": "SetTopBox", "model": "AppleTV"},
         "ip": "192.0.2.44", "port": 61000, "userAgent": "passauth-contract/1.0 (tvOS)", "visitorId": "visitor-tv",
         "partnerFrameworkStatus": pfs(MVPD)}


def run_journey(emu: Any, store: str) -> Dict[str, Any]:
    """Every call of the journey; returns what the URL-only call produced."""
    config = {"baseUrl": emu.base_url, "serviceProvider": "REF30", "softwareStatement": SOFTWARE_STATEMENT,
              "store": store, "device": FULL, "logLevel": "none", "configurationCacheMs": 0}
    produced: Dict[str, Any] = {}
    with passauth.Client(config) as client:
        # Registration: register + token.
        registration = client.register()
        assert registration.registered and registration.token_fetched
        # Configuration, for a described device and for one the library describes from the host.
        assert client.configuration(device=FULL).mvpds
        assert client.configuration(device=BARE).mvpds
        # Session: create (redirectUrl left out), get, resume with it.
        session = client.create_session(mvpd=MVPD, domain_name=DOMAIN, device=FULL)
        assert session.code and session.missing_parameters == ["redirectUrl"], session
        code = session.code
        assert client.session(code, device=FULL).code in (None, code)
        resumed = client.resume_session(code, redirect_url=REDIRECT, device=FULL)
        assert resumed.action_name == "authenticate", resumed
        # The authenticate URL (no request: the user agent opens it) and a login through the control API.
        produced["authenticate_url"] = client.authenticate_url(code)
        assert client.profile_for_code(code, device=FULL) == {}
        emu.control("login", {"code": code})
        # Polling, then the profiles: by code, all, by MVPD.
        with client.poll(code, device=FULL) as poll:
            assert MVPD in poll.wait(timeout=30)
        assert MVPD in client.profile_for_code(code, device=FULL)
        assert MVPD in client.profiles(device=FULL)
        assert client.profile(MVPD, device=FULL) is not None
        # Decisions.
        assert all(d.authorized for d in client.preauthorize(MVPD, ["REF30", "REF40"], device=FULL))
        (decision,) = client.authorize(MVPD, ["REF30"], device=FULL)
        assert decision.authorized and decision.token is not None
        # A token refresh: every access token expires, the next call renews it.
        emu.control("expire-tokens", {})
        assert MVPD in client.profiles(device=FULL)
        # A re-registration: the service forgets the client, the next call registers again.
        emu.control("revoke-clients", {})
        assert client.profile(MVPD, device=FULL) is not None
        assert emu.control("stats")["registrations"] == 2
        # A device without identities: its whole journey.
        bare = client.create_session(mvpd=MVPD, domain_name=DOMAIN, redirect_url=REDIRECT, device=BARE)
        emu.control("login", {"code": bare.code})
        assert MVPD in client.profile_for_code(bare.code, device=BARE)
        assert MVPD in client.profiles(device=BARE)
        (decision,) = client.authorize(MVPD, ["REF30"], device=BARE)
        assert decision.authorized
        client.preauthorize(MVPD, ["REF30"], device=BARE)
        client.logout(MVPD, REDIRECT, device=BARE)
        # Roku platform identity.
        roku = client.create_session(mvpd="AdobePass_SMI", domain_name=DOMAIN, redirect_url=REDIRECT, device=ROKU)
        emu.control("login", {"code": roku.code})
        assert "AdobePass_SMI" in client.profiles(device=ROKU)
        client.authorize("AdobePass_SMI", ["REF30"], device=ROKU)
        client.logout("AdobePass_SMI", REDIRECT, device=ROKU)
        # Partner SSO: the partner authentication request, then the profile from its response.
        partner = client.partner_sso_session("Apple", domain_name=DOMAIN, redirect_url=REDIRECT, device=APPLE)
        assert partner.action_name == "partner_profile", partner
        saml = base64.b64encode(b"<samlp:Response>jane+/=</samlp:Response>").decode()
        assert client.partner_sso_profile(saml, "Apple", device=APPLE)[MVPD].type == "appleSSO"
        (decision,) = client.authorize(MVPD, ["REF30"], device=APPLE)
        assert decision.authorized
        client.logout(MVPD, REDIRECT, device=APPLE)
        # TempPass: basic (a session answers "authorize"), then promotional (AP-TempPass-Identity).
        temp = client.create_session(mvpd="TempPass_TEST40", domain_name=DOMAIN, redirect_url=REDIRECT, device=FULL)
        assert (temp.action_name, temp.reason_type) == ("authorize", "temporary"), temp
        (decision,) = client.authorize("TempPass_TEST40", ["REF30"], device=FULL)
        assert decision.source == "temppass" and decision.authorized
        assert client.profile("flexibleTempPass", device=FULL).type == "temporary"
        (decision,) = client.authorize("flexibleTempPass", ["REF30"], device=FULL)
        assert decision.source == "temppass" and decision.authorized
        # Logout of the full device.
        assert client.logout(MVPD, REDIRECT, device=FULL).actions
    # A registration the service refuses (an unapproved software statement): a DCR 400.
    emu.control("config", {"unapprovedSoftwareStatements": [UNAPPROVED]})
    try:
        with passauth.Client({**config, "softwareStatement": UNAPPROVED, "store": store + "-unapproved"}) as client:
            with pytest.raises(passauth.RegistrationError, match="unapproved_software_statement"):
                client.register()
    finally:
        emu.control("config", {"unapprovedSoftwareStatements": []})
    return produced


@pytest.fixture(scope="module")
def journey(service: Any, tmp_path_factory: Any) -> Dict[str, Any]:
    """The journey's request log, and (captured in-process, for the answers test) each request with
    the emulator's answer to it."""
    answers: List[Dict[str, Any]] = []
    original = server.Handler._record

    def record(handler: Any, request: Any, endpoint: str, response: Any, fault: Any) -> None:
        original(handler, request, endpoint, response, fault)
        answers.append({"method": request.method, "path": request.path, "query": request.query,
                        "headers": dict(request.headers), "body": request.body.decode("utf-8", "replace"),
                        "endpoint": endpoint, "status": response.status if response is not None else 0,
                        "contentType": response.content_type if response is not None else "",
                        "response": response.body if response is not None else b""})

    service.control("reset", {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server.Handler, "_record", record)
        produced = run_journey(service, str(tmp_path_factory.mktemp("store")))
    produced["log"] = service.control("requests")["requests"]
    produced["answers"] = answers
    return produced


def grouped(divergences: List[Divergence], contract: Contract) -> List[Divergence]:
    """One line per (operation, problem), with how many requests showed it."""
    counts: Counter[Tuple[str, str, str]] = Counter()
    first: Dict[Tuple[str, str, str], Divergence] = {}
    for d in divergences:
        found = contract.operation(d.method, d.path.split("?")[0])
        template = (BASES[found[0]] + found[1]) if found else d.path
        key = (d.method, template, d.problem)
        counts[key] += 1
        first.setdefault(key, d)
    return [Divergence(m, f"{t} (e.g. {first[(m, t, p)].path}; {counts[(m, t, p)]} request(s))", p)
            for (m, t, p) in counts]


def test_the_journey_reaches_every_operation_the_library_calls(journey, contract):
    """The log covers every operation of both files but the user agent's authenticate page."""
    seen = set()
    for entry in journey["log"]:
        found = contract.operation(entry["method"], entry["path"])
        if found:
            seen.add(found[2]["operationId"])
    expected = {op["operationId"] for spec in contract.specs.values() for op in
                (o for item in spec["paths"].values() for m, o in item.items() if isinstance(o, dict) and "operationId" in o)}
    assert expected - seen == {"startAuthenticationUsingGET"}, sorted(expected - seen)
    assert all(entry["status"] < 500 for entry in journey["log"]), journey["log"]


def test_every_request_of_the_journey_conforms_to_the_openapi_files(journey, contract):
    divergences: List[Divergence] = []
    for entry in journey["log"]:
        divergences += contract.check(LoggedRequest.from_log(entry))
    # The authenticate URL the library builds is the file's authenticate operation.
    divergences += contract.check(LoggedRequest.from_url("GET", journey["authenticate_url"]))
    assert not divergences, report(grouped(divergences, contract),
                                   f"{len(journey['log'])} requests of the library against Adobe's OpenAPI files")


def answer_problems(contract: Contract, name: str, request: LoggedRequest, response: MockResponse) -> List[str]:
    """openapi-core's response errors, one line per schema error, without the values (so that the
    same problem in several answers is one line)."""
    lines: List[str] = []
    for error in contract.apis[name].iter_response_errors(_OpenAPIRequest(request), response):
        errors = list(getattr(error.__cause__, "schema_errors", None) or [])
        typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
        for e in errors:
            if e.validator == "nullable" and tuple(e.absolute_path) in typed:
                continue  # the same null, reported by its type
            at = ".".join(str(p) for p in e.absolute_path) or "(the document)"
            lines.append(f"{at}: {e.validator} {e.validator_value!r}, the answer has "
                         f"{'null' if e.instance is None else type(e.instance).__name__}")
        if not errors:
            lines.append(str(error))
    return list(dict.fromkeys(lines))  # the oas30 validator reports a null twice


def answer_divergences(contract: Contract, answers: List[Dict[str, Any]]) -> List[Divergence]:
    divergences: List[Divergence] = []
    for entry in answers:
        request = LoggedRequest.from_log(entry)
        name = contract.file_of(request.path)
        if name is None or contract.operation(request.method, request.path) is None:
            continue  # the request test reports these
        response = MockResponse(entry["response"], status_code=entry["status"],
                                content_type=entry["contentType"].lower())
        divergences += [Divergence(request.method, request.path, f"answer {entry['status']}: {line}")
                        for line in answer_problems(contract, name, request, response)]
    return divergences


def test_every_answer_of_the_emulator_in_the_journey_conforms_to_the_openapi_files(journey, answer_contract):
    """The emulator's answers (our reading of Adobe) against the files' response schemas and statuses,
    with the documented exceptions and the pages-over-files points."""
    assert journey["answers"], "no answer was captured"
    divergences = answer_divergences(answer_contract, journey["answers"])
    assert not divergences, report(grouped(divergences, answer_contract),
                                   f"{len(journey['answers'])} answers of the emulator against Adobe's OpenAPI files")


def test_each_page_over_file_point_is_needed(journey):
    """Without any one of the pages-over-files points, the journey's answers diverge (with all of them
    they do not, see above): none of them is listed for nothing."""
    unneeded = [point.id for point in PAGES_OVER_FILES
                if not answer_divergences(Contract(contract_specs(skip=[point.id], answers=True)), journey["answers"])]
    assert not unneeded, f"pages-over-files points no answer of the journey needs (remove them from the list " \
                         f"and openapi/README.md): {unneeded}"


def test_the_readme_lists_the_exceptions_and_the_points(contract):
    """openapi/README.md and contract.py list the same documented exceptions and pages-over-files points,
    and the README names each point's page."""
    assert set(readme_rows("Documented exceptions")) == {e.id for e in EXCEPTIONS}
    points = readme_rows("Pages over files, found by this test")
    assert list(points) == [p.id for p in PAGES_OVER_FILES]
    section = "\n".join(points.values())
    for point in PAGES_OVER_FILES:
        assert f"`{point.page}`" in section, point.id


def _referenced(spec: Dict[str, Any], node: Any, seen: Set[str]) -> Set[str]:
    """The component schemas a part of a file refers to, transitively."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                _referenced(spec, spec["components"]["schemas"][name], seen)
        for value in node.values():
            _referenced(spec, value, seen)
    elif isinstance(node, list):
        for value in node:
            _referenced(spec, value, seen)
    return seen


def test_pages_over_files_points_never_apply_to_the_library_s_requests(contract, answer_contract):
    """The request check's files have none of the points, and no point patches what a request carries
    (a schema a request body or parameter refers to)."""
    assert contract.specs == contract_specs() != answer_contract.specs
    for point in PAGES_OVER_FILES:
        file, target = point.target
        spec = contract.specs[file]
        in_requests: Set[str] = set()
        for _, _, operation in operations(spec):
            _referenced(spec, {"parameters": operation.get("parameters", []),
                               "requestBody": operation.get("requestBody", {})}, in_requests)
        assert target not in in_requests, (point.id, target)
        if target in spec["components"]["schemas"]:
            assert answer_contract.specs[file]["components"]["schemas"][target] != spec["components"]["schemas"][target]
        else:
            assert any(op.get("operationId") == target for _, _, op in operations(spec)), point.id


def test_each_exception_is_needed(journey):
    """Without any one of the documented exceptions, the journey (or, for the error message, a
    decision with the pages' string message) diverges: none of them is there for nothing."""
    requests = [LoggedRequest.from_log(entry) for entry in journey["log"]]
    for exception in ("token-form-body", "redirect-uri-optional", "page-only-headers"):
        strict = Contract(contract_specs(skip=[exception]))
        assert any(strict.check(r) for r in requests), exception
    strict = Contract(contract_specs(skip=["partner-profile-201"]))
    answers = [(LoggedRequest.from_log(a), a) for a in journey["answers"] if a["endpoint"] == "profiles.sso"]
    assert any(answer_problems(strict, "rest", r, MockResponse(a["response"], status_code=a["status"]))
               for r, a in answers)
    decision = {"decisions": [{"resource": "r", "authorized": False, "serviceProvider": "REF30", "source": "mvpd",
                               "mvpd": MVPD, "error": {"code": "authorization_denied_by_mvpd", "message": "Denied."}}]}
    request = LoggedRequest("POST", "/api/v2/REF30/decisions/authorize/" + MVPD, "", {}, b"")
    response = MockResponse(json.dumps(decision).encode())
    assert answer_problems(Contract(contract_specs(skip=["error-message-string"])), "rest", request, response)
    assert answer_problems(Contract(), "rest", request, response) == []


# --- the checker catches what it must (doctored requests) ---------------------------------------------

def _good(journey: Dict[str, Any], contract: Contract, endpoint: str) -> Dict[str, Any]:
    """A conforming logged request of the journey for `endpoint`, copied."""
    for entry in journey["log"]:
        if entry["endpoint"] == endpoint and entry["status"] < 300 and not contract.check(LoggedRequest.from_log(entry)):
            return copy.deepcopy(entry)
    pytest.fail(f"no conforming {endpoint} request in the journey to doctor (see the conformance test)")


SESSION_CREATE = {"method": "POST", "path": "/api/v2/REF30/sessions", "query": "",
                  "headers": {"host": "sp.auth.adobe.com", "authorization": "Bearer abc", "accept": "application/json",
                              "content-type": "application/x-www-form-urlencoded", "content-length": "60",
                              "ap-device-identifier": "fingerprint ZGV2aWNl", "x-device-info": "e30=",
                              "x-forwarded-for": "203.0.113.7", "user-agent": "ua", "ap-visitor-identifier": "v"},
                  "body": "mvpd=Cablevision&domainName=adobe.com&redirectUrl=https%3A%2F%2Fadobe.com"}


def doctored(**changes: Any) -> LoggedRequest:
    entry = copy.deepcopy(SESSION_CREATE)
    drop = changes.pop("drop_headers", ())
    entry["headers"] = {k: v for k, v in entry["headers"].items() if k not in drop}
    entry["headers"].update(changes.pop("headers", {}))
    entry.update(changes)
    return LoggedRequest.from_log(entry)


def problems(contract: Contract, request: LoggedRequest) -> List[str]:
    return [d.problem for d in contract.check(request)]


def test_a_conforming_request_passes(contract):
    assert problems(contract, doctored()) == []


@pytest.mark.parametrize("header, name", [("ap-device-identifier", "AP-Device-Identifier"),
                                          ("x-device-info", "X-Device-Info"),
                                          ("authorization", "Authorization"),
                                          ("content-type", "Content-Type")])
def test_a_missing_required_header_fails(contract, header, name):
    found = problems(contract, doctored(drop_headers=(header,)))
    assert any(f"Missing required header parameter: {name}" in p for p in found), found


def test_an_undeclared_header_fails(contract):
    found = problems(contract, doctored(headers={"ap-temppass-identity": "e30="}))
    assert any("undeclared header 'ap-temppass-identity'" in p for p in found), found
    # A header the page lists and the file does not is one of the documented exceptions.
    assert problems(contract, doctored(headers={"x-roku-reserved-roku-connect-token": "t"})) == []


def test_undeclared_query_and_body_members_fail(contract):
    found = problems(contract, doctored(query="mvpd=Cablevision"))
    assert found == ["undeclared query parameter 'mvpd' (declared: none)"], found
    found = problems(contract, doctored(body="mvpd=Cablevision&domain=adobe.com"))
    assert any("undeclared body member 'domain'" in p for p in found), found


def test_a_wrong_body_fails(contract):
    entry = {"method": "POST", "path": "/api/v2/REF30/decisions/authorize/Cablevision", "query": "",
             "headers": {"authorization": "Bearer a", "content-type": "application/json", "x-device-info": "e30=",
                         "ap-device-identifier": "fingerprint ZA=="},
             "body": '{"resources": "REF30"}'}
    found = problems(contract, LoggedRequest.from_log(entry))
    assert any("body['resources']" in p and "not of type 'array'" in p for p in found), found
    entry["headers"]["content-type"] = "application/x-www-form-urlencoded"
    entry["body"] = "resources=REF30"
    found = problems(contract, LoggedRequest.from_log(entry))
    assert any("application/x-www-form-urlencoded" in p for p in found), found


def test_token_secrets_in_the_query_fail_and_in_a_form_pass(contract):
    form = {"method": "POST", "path": "/o/client/token", "query": "",
            "headers": {"content-type": "application/x-www-form-urlencoded", "x-device-info": "e30="},
            "body": "grant_type=client_credentials&client_id=a&client_secret=b"}
    assert problems(contract, LoggedRequest.from_log(form)) == []
    query = {**form, "query": form["body"], "body": "", "headers": {"x-device-info": "e30="}}
    found = problems(contract, LoggedRequest.from_log(query))
    assert any("undeclared query parameter 'client_secret'" in p for p in found), found
    assert any("Missing required request body" in p or "mimetype" in p for p in found), found
    missing = {**form, "body": "grant_type=client_credentials&client_id=a"}
    found = problems(contract, LoggedRequest.from_log(missing))
    assert any("'client_secret' is a required property" in p for p in found), found


def test_register_without_redirect_uri_passes_and_without_statement_fails(contract):
    entry = {"method": "POST", "path": "/o/client/register", "query": "",
             "headers": {"content-type": "application/json", "x-device-info": "e30=", "accept": "application/json"},
             "body": '{"software_statement": "a.b.c"}'}
    assert problems(contract, LoggedRequest.from_log(entry)) == []
    entry["body"] = '{"redirect_uri": "https://adobe.com"}'
    found = problems(contract, LoggedRequest.from_log(entry))
    assert any("'software_statement' is a required property" in p for p in found), found


def test_unknown_paths_and_methods_fail(contract):
    assert problems(contract, doctored(path="/api/v2/sessions/REF30/ABC")) != []  # the sample's other path
    assert any("Operation" in p for p in problems(contract, doctored(method="PUT")))
    assert "not under a server base" in problems(contract, doctored(path="/v2/REF30/sessions"))[0]


def test_a_new_divergence_in_a_journey_request_fails(journey, contract):
    """A real request of the journey, doctored: the checker reports it with method, path and problem."""
    entry = _good(journey, contract, "profiles")
    del entry["headers"]["ap-device-identifier"]
    (divergence,) = contract.check(LoggedRequest.from_log(entry))
    assert divergence.method == "GET" and divergence.path == "/api/v2/REF30/profiles"
    assert "Missing required header parameter: AP-Device-Identifier" in str(divergence)
    with pytest.raises(AssertionError, match="AP-Device-Identifier"):
        assert not [divergence], report([divergence], "doctored")
