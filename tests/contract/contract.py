"""Adobe's OpenAPI descriptions as a contract: loading them with the documented exceptions, checking a
request of the emulator's log against them (openapi-core plus a closed-world check of parameters and
body fields), and generating schema-valid response instances.

The exceptions are the rows of openapi/README.md ("Documented exceptions"), nothing else. Each one is
a patch of an in-memory copy of the file (`EXCEPTIONS`); a patch first checks that the file still
says what the exception is about, so an updated file fails loudly instead of being waived silently.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parent / "openapi"
FILES = {"rest": "restApiV2.json", "dcr": "dcrApi.json"}
# The first of each file's `servers` (production): requests are mapped onto it, so a logged path
# "/api/v2/REF30/profiles" is the file's "/{serviceProvider}/profiles" and "/o/client/token" is
# "/client/token".
HOST = "https://sp.auth.adobe.com"
BASES = {"rest": "/api/v2", "dcr": "/o"}

# HTTP message framing and content coding (RFC 9110/9112), which OpenAPI never describes as
# parameters: outside the closed-world header check. Not an exception: no API header is here.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
                               "expect", "accept-encoding"})

Json = Dict[str, Any]


# --- the documented exceptions ---------------------------------------------------------------------

# Headers a reference page's request table lists and the file's operation does not (README row
# "headers the pages list but the files don't"), by file and operationId, with the page. Computed from
# the pages' tables (rest-apis/rest-api-v2/apis/*, rest-apis/rest-api-dcr/apis/*); added to the
# operation as optional string header parameters, never as required ones.
XFF = "X-Forwarded-For"
ROKU = "X-Roku-Reserved-Roku-Connect-Token"
PAGE_ONLY_HEADERS: Dict[Tuple[str, str], Tuple[str, ...]] = {
    # dynamic-client-registration-apis-retrieve-access-token.md (Content-Type: see token-form-body)
    ("dcr", "generateAccessTokenUsingPOST"): ("X-Device-Info", "Accept", "User-Agent"),
    # dynamic-client-registration-apis-retrieve-client-credentials.md
    ("dcr", "processSoftwareStatementUsingPOST"): ("Accept",),
    # rest-api-v2-configuration-apis-retrieve-configuration-for-specific-service-provider.md
    ("rest", "handleRequestUsingGET"): ("AP-Device-Identifier", "X-Device-Info", XFF),
    # rest-api-v2-sessions-apis-create-authentication-session.md
    ("rest", "createSessionUsingPOST"): (XFF, ROKU),
    # rest-api-v2-sessions-apis-resume-authentication-session.md
    ("rest", "resumeSessionUsingPOST"): (XFF,),
    # rest-api-v2-sessions-apis-retrieve-authentication-session-information-using-code.md
    ("rest", "getSessionStatusUsingGET_1"): (XFF,),
    # rest-api-v2-profiles-apis-retrieve-profiles.md
    ("rest", "getProfilesUsingGET_1"): (XFF, ROKU),
    # rest-api-v2-profiles-apis-retrieve-profile-for-specific-mvpd.md
    ("rest", "getProfileForMvpdUsingGET"): (XFF, ROKU),
    # rest-api-v2-profiles-apis-retrieve-profile-for-specific-code.md
    ("rest", "getProfileForCodeUsingGET_1"): (XFF, "AP-TempPass-Identity"),
    # rest-api-v2-decisions-apis-retrieve-authorization-decisions-using-specific-mvpd.md
    ("rest", "retrieveAuthorizeDecisionsForMvpdUsingPOST"): (XFF, ROKU),
    # rest-api-v2-decisions-apis-retrieve-preauthorization-decisions-using-specific-mvpd.md
    ("rest", "retrievePreAuthorizeDecisionsForMvpdUsingPOST_1"): (XFF, ROKU),
    # rest-api-v2-logout-apis-initiate-logout-for-specific-mvpd.md
    ("rest", "getLogoutForMvpdUsingGET"): (XFF, ROKU),
    # rest-api-v2-partner-single-sign-on-apis-retrieve-partner-authentication-request.md
    ("rest", "retrieveVerificationTokenUsingPOST"): (XFF,),
    # rest-api-v2-partner-single-sign-on-apis-retrieve-profile-using-partner-authentication-response.md
    ("rest", "createPartnerProfileUsingPOST"): (XFF,),
}


def operations(spec: Json) -> Iterable[Tuple[str, str, Json]]:
    """(path template, method, operation) of every operation of a file."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                yield path, method, operation


def operation_by_id(spec: Json, operation_id: str) -> Json:
    for _, _, operation in operations(spec):
        if operation.get("operationId") == operation_id:
            return operation
    raise AssertionError(f"the file has no operation {operation_id!r}: update the exceptions")


def _token_form_body(specs: Dict[str, Json]) -> None:
    """POST /o/client/token: the file's query parameters travel as a form body (the pages)."""
    operation = operation_by_id(specs["dcr"], "generateAccessTokenUsingPOST")
    query = [p for p in operation["parameters"] if p["in"] == "query"]
    assert {p["name"] for p in query} == {"client_id", "client_secret", "refresh_token", "grant_type"}, query
    assert "requestBody" not in operation
    operation["parameters"] = [p for p in operation["parameters"] if p["in"] != "query"]
    schema = {"type": "object", "properties": {p["name"]: p["schema"] for p in query},
              "required": [p["name"] for p in query if p.get("required")]}
    operation["requestBody"] = {"required": True,
                                "content": {"application/x-www-form-urlencoded": {"schema": schema}}}
    operation["parameters"].append({"in": "header", "name": "Content-Type", "required": False,
                                    "schema": {"type": "string"}})


def _redirect_uri_optional(specs: Dict[str, Json]) -> None:
    """POST /o/client/register: redirect_uri is optional (the pages)."""
    schema = specs["dcr"]["components"]["schemas"]["ClientRegistrationRequest"]
    assert "redirect_uri" in schema["required"], schema
    schema["required"] = [name for name in schema["required"] if name != "redirect_uri"]


def _page_only_headers(specs: Dict[str, Json]) -> None:
    """Headers the pages list as optional and the file does not (table PAGE_ONLY_HEADERS)."""
    for (file, operation_id), names in PAGE_ONLY_HEADERS.items():
        operation = operation_by_id(specs[file], operation_id)
        declared = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
        for name in names:
            assert name.lower() not in declared, f"{operation_id} now declares {name}: update the exceptions"
            operation.setdefault("parameters", []).append({"in": "header", "name": name, "required": False,
                                                           "schema": {"type": "string"}})


def _error_message_string(specs: Dict[str, Json]) -> None:
    """ErrorInformation.message: the file's object, or the pages' string."""
    properties = specs["rest"]["components"]["schemas"]["ErrorInformation"]["properties"]
    assert properties["message"] == {"$ref": "#/components/schemas/Message"}, properties["message"]
    properties["message"] = {"anyOf": [{"$ref": "#/components/schemas/Message"}, {"type": "string"}]}


def _partner_profile_201(specs: Dict[str, Json]) -> None:
    """POST /{serviceProvider}/profiles/sso/{partner}: success is the file's 200 or the pages' 201."""
    responses = operation_by_id(specs["rest"], "createPartnerProfileUsingPOST")["responses"]
    assert "200" in responses and "201" not in responses, list(responses)
    responses["201"] = copy.deepcopy(responses["200"])


@dataclass(frozen=True)
class Exception_:
    id: str
    summary: str
    apply: Callable[[Dict[str, Json]], None]


EXCEPTIONS: Tuple[Exception_, ...] = (
    Exception_("token-form-body", "POST /o/client/token: client_id, client_secret, grant_type (and "
               "refresh_token) as an application/x-www-form-urlencoded body, not query parameters",
               _token_form_body),
    Exception_("redirect-uri-optional", "POST /o/client/register: redirect_uri optional", _redirect_uri_optional),
    Exception_("page-only-headers", "X-Forwarded-For and the other headers the pages list but the files "
               "don't, as optional headers of those operations", _page_only_headers),
    Exception_("error-message-string", "ErrorInformation.message: object or string", _error_message_string),
    Exception_("partner-profile-201", "POST /{serviceProvider}/profiles/sso/{partner}: 200 or 201",
               _partner_profile_201),
)


# --- pages over files, found by this test (the emulator's answers only) --------------------------------

# Points where the emulator's answers follow a sample of a reference page and the file types the member
# otherwise, found by the emulator-answer check (test_openapi_requests.py). Not in the shared README's
# table: they are listed in openapi/README.md ("Pages over files, found by this test") with the page and
# the sample's line. They patch the copy of the files that checks the emulator's answers
# (`contract_specs(answers=True)`), never the one that checks the library's requests, and each patch
# first asserts that the file still says what the point is about. test_each_page_over_file_point_is_needed
# shows that the journey's answers diverge without any one of them.

def _component(specs: Dict[str, Json], file: str, name: str) -> Json:
    return specs[file]["components"]["schemas"][name]


def _alternative(file: str, schema: str, member: str, expected: Json, alternative: Json) -> Callable[[Dict[str, Json]], None]:
    """The member is the file's schema (`expected`, asserted) or `alternative` (anyOf; a second point on
    the same member adds to the list)."""
    def apply(specs: Dict[str, Json]) -> None:
        properties = _component(specs, file, schema)["properties"]
        current = properties[member]
        original = current["anyOf"][0] if set(current) == {"anyOf"} else current
        assert original == expected, f"{schema}.{member} is now {original!r}: update the pages-over-files list"
        properties[member] = {"anyOf": (current["anyOf"] if set(current) == {"anyOf"} else [current]) + [alternative]}
    return apply


def _nullable(file: str, schema: str, member: str, expected: Json) -> Callable[[Dict[str, Json]], None]:
    """The member is the file's schema (`expected`, asserted) or null (a $ref is inlined to carry
    `nullable`, OpenAPI 3.0 ignores siblings of a $ref)."""
    def apply(specs: Dict[str, Json]) -> None:
        properties = _component(specs, file, schema)["properties"]
        assert properties[member] == expected, f"{schema}.{member} is now {properties[member]!r}: update the list"
        target = copy.deepcopy(expected)
        if "$ref" in target:
            target = copy.deepcopy(_component(specs, file, target["$ref"].rsplit("/", 1)[-1]))
        properties[member] = {**target, "nullable": True}
    return apply


def _dcr_400_error(operation_id: str, codes: Tuple[str, ...]) -> Callable[[Dict[str, Json]], None]:
    """A 400 whose body is the page's JSON object {"error": <one of the page's codes>} (the file: no
    content)."""
    def apply(specs: Dict[str, Json]) -> None:
        response = operation_by_id(specs["dcr"], operation_id)["responses"]["400"]
        assert response.get("content") == {}, f"{operation_id} 400 now has {response.get('content')!r}: update the list"
        response["content"] = {"application/json": {"schema": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string", "enum": list(codes)}}}}}
    return apply


@dataclass(frozen=True)
class PagePoint:
    id: str
    target: Tuple[str, str]  # (file, component schema or operationId) the patch changes
    page: str  # under rest-apis/ of the reference pages
    sample: str  # what the page's sample shows
    apply: Callable[[Dict[str, Json]], None]


PROFILE_PAGE = "rest-api-v2/apis/profiles-apis/rest-api-v2-profiles-apis-retrieve-profile-for-specific-mvpd.md"
SESSION_PAGE = ("rest-api-v2/apis/sessions-apis/"
                "rest-api-v2-sessions-apis-retrieve-authentication-session-information-using-code.md")
TOKEN_PAGE = "rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-access-token.md"
REGISTER_PAGE = "rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-client-credentials.md"
EMPTY_OBJECT = {"type": "object", "properties": {}}
STRING = {"type": "string"}

PAGES_OVER_FILES: Tuple[PagePoint, ...] = (
    PagePoint("attribute-value-string", ("rest", "UserMetadataResponse"), PROFILE_PAGE,
              '"userID": {"value": "BASE64_value_userId", "state": "plain"}',
              _alternative("rest", "UserMetadataResponse", "value", EMPTY_OBJECT, STRING)),
    PagePoint("attribute-value-number", ("rest", "UserMetadataResponse"), PROFILE_PAGE,
              '"expiration_date": {"value": 1697718710206, "state": "plain"} (TempPass)',
              _alternative("rest", "UserMetadataResponse", "value", EMPTY_OBJECT, {"type": "number"})),
    PagePoint("device-application-id-null", ("rest", "Device"), SESSION_PAGE, '"applicationId": null',
              _nullable("rest", "Device", "applicationId", STRING)),
    PagePoint("display-vendor-null", ("rest", "Display"), SESSION_PAGE, '"display": {..., "vendor": null}',
              _nullable("rest", "Display", "vendor", STRING)),
    PagePoint("display-version-null", ("rest", "Display"), SESSION_PAGE, '"display": {..., "version": null}',
              _nullable("rest", "Display", "version", {"$ref": "#/components/schemas/Version"})),
    PagePoint("display-diagonal-size-null", ("rest", "Display"), SESSION_PAGE,
              '"display": {..., "diagonalSize": null}', _nullable("rest", "Display", "diagonalSize", STRING)),
    PagePoint("connection-ip-address-string", ("rest", "Connection"), SESSION_PAGE,
              '"connection": {"ipAddress": "...", "port": "55161", ...}',
              _alternative("rest", "Connection", "ipAddress", {"$ref": "#/components/schemas/InetAddress"}, STRING)),
    PagePoint("token-400-error", ("dcr", "generateAccessTokenUsingPOST"), TOKEN_PAGE,
              'HTTP/1.1 400 Bad Request, Content-Type: application/json;charset=UTF-8, { "error": "invalid_request" }',
              _dcr_400_error("generateAccessTokenUsingPOST",
                             ("invalid_request", "invalid_client", "unauthorized_client", "unsupported_grant_type"))),
    PagePoint("register-400-error", ("dcr", "processSoftwareStatementUsingPOST"), REGISTER_PAGE,
              'HTTP/1.1 400 Bad Request, Content-Type: application/json;charset=UTF-8, { "error": "invalid_request" }',
              _dcr_400_error("processSoftwareStatementUsingPOST",
                             ("invalid_request", "invalid_redirect_uri", "invalid_software_statement",
                              "unapproved_software_statement"))),
)


# --- what the library needs beyond the schemas -------------------------------------------------------

# Members the files leave optional (or type as any string) that the library needs, so it refuses an
# answer without them (PASSAUTH_E_PROTOCOL): openapi/README.md, "What the library needs beyond the
# schemas". The response test (test_openapi_responses.py) takes a refusal of a schema-valid answer as
# expected only when the library's error names one of these members and the answer, with those members
# as the page has them, is accepted; and it fails when a member of the list no longer causes a refusal.

@dataclass(frozen=True)
class Need:
    id: str
    kind: str  # "present": the member must be there; "milliseconds": a string of digits (a number of ms)
    members: Tuple[Tuple[str, str], ...]  # (schema path, regular expression of the library's error naming it)
    reason: str
    page: str  # under rest-apis/ of the reference pages


def _schema(name: str, member: str) -> str:
    return f"#/components/schemas/{name}/properties/{member}"


LIBRARY_NEEDS: Tuple[Need, ...] = (
    Need("decisions", "present", ((_schema("DecisionsResponse", "decisions"), r'"decisions"'),),
         "a decision per requested resource: the result is one decision per resource, in order",
         "rest-api-v2/apis/decisions-apis/rest-api-v2-decisions-apis-retrieve-authorization-decisions-using-specific-mvpd.md"),
    Need("mvpd-id", "present", ((_schema("MvpdType", "id"), r'"id"'),),
         "an MVPD is selected by its id (sessions, profiles, decisions, logout take it)",
         "rest-api-v2/apis/configuration-apis/"
         "rest-api-v2-configuration-apis-retrieve-configuration-for-specific-service-provider.md"),
    Need("client-credentials", "present", ((_schema("ClientApplication", "client_id"), r"\bclient_id\b"),
                                           (_schema("ClientApplication", "client_secret"), r"\bclient_secret\b")),
         "a registration without them is unusable: they are the token request's credentials",
         "rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-client-credentials.md"),
    Need("access-token", "present",
         ((_schema("ClientRegistrationAccessTokenResponse", "access_token"), r"\baccess_token\b"),
          (_schema("ClientRegistrationAccessTokenResponse", "expires_in"), r"\bexpires_in\b")),
         "a token without them is unusable: the bearer of every call, and when to renew it",
         "rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-access-token.md"),
    Need("session-timestamps", "milliseconds",
         tuple((_schema(name, member), rf'"{member}" is .*not a number of milliseconds')
               for name in ("SessionResponse", "SessionStatusResponse") for member in ("notBefore", "notAfter")),
         "the code's validity window, in milliseconds as the pages describe it (the files: any string)",
         "rest-api-v2/apis/sessions-apis/rest-api-v2-sessions-apis-create-authentication-session.md"),
)


def readme_rows(heading: str) -> Dict[str, str]:
    """The table rows of a section ("## heading") of openapi/README.md, by the id of their first cell
    (in backticks): the lists above are kept in step with it."""
    text = (SPEC_DIR / "README.md").read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    rows = {}
    for line in text[start:end if end != -1 else None].splitlines():
        found = re.match(r"\| `([a-z0-9-]+)` \|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def raw_specs() -> Dict[str, Json]:
    """The two files as vendored."""
    return {name: json.loads((SPEC_DIR / file).read_text()) for name, file in FILES.items()}


def contract_specs(skip: Iterable[str] = (), answers: bool = False) -> Dict[str, Json]:
    """The two files with the documented exceptions applied (but those named in `skip`); with `answers`,
    also the pages-over-files points (but those named in `skip`), for checking the emulator's answers."""
    skip = set(skip)
    specs = raw_specs()
    for exception in EXCEPTIONS:
        if exception.id not in skip:
            exception.apply(specs)
    if answers:
        for point in PAGES_OVER_FILES:
            if point.id not in skip:
                point.apply(specs)
    return specs


# --- requests ---------------------------------------------------------------------------------------

@dataclass
class LoggedRequest:
    """One entry of GET /_emulator/requests as an openapi-core request (openapi_core.protocols.Request),
    mapped onto the production server of its file."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(query=ImmutableMultiDict(parse_qsl(self.query, keep_blank_values=True)),
                                            header=Headers(list(self.headers.items())),
                                            cookie=ImmutableMultiDict(), path={})

    @classmethod
    def from_log(cls, entry: Mapping[str, Any]) -> "LoggedRequest":
        return cls(entry["method"], entry["path"], entry.get("query") or "", dict(entry.get("headers") or {}),
                   (entry.get("body") or "").encode("utf-8"))

    @classmethod
    def from_url(cls, method: str, url: str, headers: Optional[Mapping[str, str]] = None) -> "LoggedRequest":
        parts = urlsplit(url)
        return cls(method, parts.path, parts.query, dict(headers or {}), b"")

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "").lower()


class _OpenAPIRequest:
    """The protocol openapi-core reads (method lower-case)."""

    def __init__(self, request: LoggedRequest) -> None:
        self.host_url = HOST
        self.path = request.path
        self.method = request.method.lower()
        self.body = request.body
        self.content_type = request.content_type
        self.parameters = request.parameters


@dataclass(frozen=True)
class Divergence:
    method: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.problem}"


def _describe(error: BaseException) -> List[str]:
    """openapi-core's error as readable lines (schema errors with their JSON path)."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if schema_errors:
        where = "body" if "body" in type(error).__name__.lower() else type(error).__name__
        lines = []
        for e in schema_errors:
            at = "".join(f"[{p!r}]" for p in e.absolute_path)
            lines.append(f"{where}{at}: {e.message}")
        return lines
    return [str(error) if cause is None or str(cause) in str(error) else f"{error}: {cause}"]


def _template_regex(template: str) -> "re.Pattern[str]":
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?$")


class Contract:
    """The two files with the exceptions applied, and the checks of requests against them."""

    def __init__(self, specs: Optional[Dict[str, Json]] = None) -> None:
        self.specs = specs if specs is not None else contract_specs()
        self.apis = {name: OpenAPI.from_dict(copy.deepcopy(spec)) for name, spec in self.specs.items()}
        for name, spec in self.specs.items():
            assert [s["url"] for s in spec["servers"]][0] == HOST + BASES[name], spec["servers"]
        # Literal segments before parameters ("/profiles/code/{code}" before "/profiles/{mvpd}").
        self._routes = {name: sorted(((_template_regex(p), p, m, op) for p, m, op in operations(spec)),
                                     key=lambda r: r[1].count("{"))
                        for name, spec in self.specs.items()}

    def file_of(self, path: str) -> Optional[str]:
        for name, base in BASES.items():
            if path == base or path.startswith(base + "/"):
                return name
        return None

    def operation(self, method: str, path: str) -> Optional[Tuple[str, str, Json]]:
        """(file, path template, operation) of a request path, or None."""
        name = self.file_of(path)
        if name is None:
            return None
        relative = path[len(BASES[name]):]
        for regex, template, op_method, operation in self._routes[name]:
            if op_method == method.lower() and regex.match(relative):
                return name, template, operation
        return None

    def check(self, request: LoggedRequest) -> List[Divergence]:
        """Every way the request departs from the contract; [] when it conforms."""
        def divergence(problem: str) -> Divergence:
            return Divergence(request.method, request.path + (f"?{request.query}" if request.query else ""), problem)

        name = self.file_of(request.path)
        if name is None:
            return [divergence(f"not under a server base of the files ({', '.join(BASES.values())})")]
        problems: List[str] = []
        for error in self.apis[name].iter_request_errors(_OpenAPIRequest(request)):
            problems.extend(_describe(error))
        found = self.operation(request.method, request.path)
        if found is not None:
            problems.extend(self._undeclared(request, found[2]))
        return [divergence(p) for p in problems]

    def _undeclared(self, request: LoggedRequest, operation: Json) -> List[str]:
        """Closed world: a header or query parameter the operation does not declare, a body member its
        schema does not list."""
        problems = []
        params = operation.get("parameters", [])
        headers = {p["name"].lower() for p in params if p["in"] == "header"}
        queries = {p["name"] for p in params if p["in"] == "query"}
        for header in request.headers:
            if header.lower() not in headers and header.lower() not in TRANSPORT_HEADERS:
                problems.append(f"undeclared header {header!r} (the operation declares: "
                                f"{', '.join(sorted(headers)) or 'none'})")
        for key, _ in parse_qsl(request.query, keep_blank_values=True):
            if key not in queries:
                problems.append(f"undeclared query parameter {key!r} (declared: {', '.join(sorted(queries)) or 'none'})")
        media = request.content_type.split(";")[0].strip()
        content = operation.get("requestBody", {}).get("content", {})
        schema = self.resolve(self._file_of_operation(operation), content.get(media, {}).get("schema", {}))
        listed = schema.get("properties")
        if listed is not None and request.body:
            members: Sequence[str] = ()
            if media == "application/x-www-form-urlencoded":
                members = [k for k, _ in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)]
            elif media == "application/json":
                try:
                    document = json.loads(request.body)
                except ValueError:
                    document = None
                members = list(document) if isinstance(document, dict) else []
            for member in members:
                if member not in listed:
                    problems.append(f"undeclared body member {member!r} (the schema lists: {', '.join(sorted(listed))})")
            duplicates = sorted({m for m in members if list(members).count(m) > 1})
            if duplicates:
                problems.append(f"body member(s) sent more than once: {', '.join(duplicates)}")
        return problems

    def _file_of_operation(self, operation: Json) -> str:
        for name, spec in self.specs.items():
            if any(op is operation for _, _, op in operations(spec)):
                return name
        raise KeyError(operation.get("operationId"))

    def resolve(self, file: str, schema: Json) -> Json:
        while "$ref" in schema:
            schema = self.pointer(file, schema["$ref"])
        return schema

    def pointer(self, file: str, ref: str) -> Json:
        node: Any = self.specs[file]
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


def report(divergences: Sequence[Divergence], title: str) -> str:
    lines = [f"{title}: {len(divergences)} divergence(s)"]
    lines += [f"  - {d}" for d in divergences]
    return "\n".join(lines)


# --- response instances ---------------------------------------------------------------------------

MODES = ("all", "required", "containers")


class Generator:
    """Schema-valid instances of a file's schemas.

    mode "all": every property; "required": only required properties at every level; "containers": every
    object, map and array member, but only the required scalars. A map or an array that is there gets
    one entry. Values: `hints` first ("Schema.property" or "property"; map keys under
    "Schema.property{}"), then the schema's `example`, then its first `enum` value, then one made from
    the type and format. `add` names "Schema.property" members to include even when optional."""

    def __init__(self, contract: Contract, file: str, mode: str, hints: Mapping[str, Any],
                 add: Iterable[str] = ()) -> None:
        assert mode in MODES, mode
        self.contract, self.file, self.mode, self.hints, self.add = contract, file, mode, hints, set(add)

    def instance(self, schema: Json) -> Any:
        return self._value(schema, None, None, depth=0)

    def _hint(self, owner: Optional[str], name: Optional[str]) -> Tuple[bool, Any]:
        for key in (f"{owner}.{name}", f"{name}"):
            if name is not None and key in self.hints:
                return True, self.hints[key]
        return False, None

    def _value(self, schema: Json, owner: Optional[str], name: Optional[str], depth: int) -> Any:
        schema_name = owner
        while "$ref" in schema:
            schema_name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.contract.pointer(self.file, schema["$ref"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._value(schema[key][0], owner, name, depth)
        found, hint = self._hint(owner, name)
        kind = schema.get("type")
        if found and "enum" in schema and hint not in schema["enum"]:
            found = False  # a hint never overrides the schema's list
        if found:
            if kind == "string" and isinstance(hint, (int, float)) and not isinstance(hint, bool):
                return str(hint)
            return copy.deepcopy(hint)
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        if "enum" in schema:
            return schema["enum"][0]
        if kind == "object" or "properties" in schema or "additionalProperties" in schema:
            return self._object(schema, schema_name, name, depth)
        if kind == "array":
            return [self._value(schema.get("items", {}), owner, name, depth + 1)]
        if kind == "integer":
            return 1
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        if kind == "string":
            if schema.get("format") == "byte":
                return base64.b64encode(f"{name or 'bytes'}".encode()).decode()
            return f"{name or 'value'}-text"
        return {}

    def _container(self, schema: Json) -> bool:
        while "$ref" in schema:
            schema = self.contract.pointer(self.file, schema["$ref"])
        return schema.get("type") in ("object", "array") or "properties" in schema or "additionalProperties" in schema

    def _object(self, schema: Json, schema_name: Optional[str], name: Optional[str], depth: int) -> Json:
        properties: Json = schema.get("properties", {})
        required = set(schema.get("required", []))
        result: Json = {}
        for prop, sub in properties.items():
            if (self.mode == "all" or prop in required or f"{schema_name}.{prop}" in self.add
                    or (self.mode == "containers" and self._container(sub))):
                result[prop] = self._value(sub, schema_name, prop, depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):  # a map: one entry, its key from the hint "Owner.name{}"
            found, key = self._hint(schema_name, f"{name}{{}}")
            result[str(key) if found else f"{name or 'key'}-key"] = self._value(extra, schema_name, None, depth + 1)
        return result


def leaves(value: Any, prefix: Tuple[Any, ...] = ()) -> Iterable[Tuple[Tuple[Any, ...], Any]]:
    """(path, value) of every scalar, empty object and empty array of a JSON value."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, prefix + (k,))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, prefix + (i,))
    else:
        yield prefix, value


def lookup(value: Any, path: Sequence[Any]) -> Tuple[bool, Any]:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return False, None
    return True, value
