"""Fault injection: the next N matching responses are replaced or corrupted.

Kinds that *replace* the response are answered without running the endpoint
(no state changes: a faulted token call issues no token).  Kinds that
*corrupt* or *slow down* the response run the endpoint first.
"""

from __future__ import annotations

import email.utils
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl

from .errors import HELP_URL, THROTTLE_HTML, enhanced
from .messages import Request, Response

REPLACING = {"echo-request", "echo-enhanced", "echo-form", "status", "http500", "http502", "http503", "http429",
             "http401", "enhanced", "invalid-json", "empty200", "huge-body", "deep-json", "invalid-utf8",
             "reset", "close", "redirect", "canned"}
# Kinds that rewrite the endpoint's JSON document.
DOCUMENT_KINDS = {"missing-fields", "wrong-types", "string-timestamps", "extra-fields", "echo-200",
                  "reverse-decisions", "strip-resource-whitespace", "raw-timestamps"}
CORRUPTING = {"truncated", "wrong-content-type", "slow-drip", "delay"} | DOCUMENT_KINDS
KINDS = REPLACING | CORRUPTING
# Options that must be numbers / strings when given.
NUMBER_OPTIONS = ("status", "retryAfterDate", "padBytes", "delayMs", "bytes", "chunkBytes")
STRING_OPTIONS = ("notBeforeRaw", "notAfterRaw", "field", "code", "action")

DEFAULT_HUGE_BYTES = 20 * 1024 * 1024
DEEP_JSON_DEPTH = 10_000

# Fields removed by "missing-fields", per endpoint (the documented required ones).
REQUIRED_FIELDS: Dict[str, List[str]] = {
    "register": ["client_id", "client_secret"],
    "token": ["access_token", "expires_in"],
    "configuration": ["requestor"],
    "sessions.create": ["actionName", "actionType"],
    "sessions.resume": ["actionName", "actionType"],
    "sessions.sso": ["actionName", "actionType"],
    "sessions.get": ["existingParameters", "notAfter"],
    "profiles": ["profiles"],
    "profiles.mvpd": ["profiles"],
    "profiles.code": ["profiles"],
    "profiles.sso": ["profiles"],
    "decisions.authorize": ["decisions"],
    "decisions.preauthorize": ["decisions"],
    "logout": ["logouts"],
}


@dataclass
class Fault:
    kind: str
    count: int = 1
    endpoint: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)  # status, retryAfter, delayMs, bytes, code ...

    @classmethod
    def parse(cls, spec: Any) -> Fault:
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ValueError(f"unknown fault: {spec!r}")
        options = {k: v for k, v in spec.items() if k not in ("kind", "count", "endpoint")}
        for name in NUMBER_OPTIONS:
            if name in options and (isinstance(options[name], bool) or not isinstance(options[name], (int, float))):
                raise ValueError(f"fault option {name!r} must be a number")
        for name in STRING_OPTIONS:
            if name in options and not isinstance(options[name], str):
                raise ValueError(f"fault option {name!r} must be a string")
        if options.get("padBytes", 0) < 0:
            raise ValueError("fault option 'padBytes' must not be negative")
        if spec["kind"] == "canned" and "body" not in options:
            raise ValueError("fault 'canned' needs a 'body' (any JSON value)")
        return cls(spec["kind"], int(spec.get("count", 1)), spec.get("endpoint"), options)

    def to_json(self) -> Dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "endpoint": self.endpoint, **self.options}


class FaultQueue:
    def __init__(self) -> None:
        self._faults: List[Fault] = []
        self._lock = threading.Lock()

    def add(self, faults: List[Fault]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, endpoint: str) -> Optional[Fault]:
        """The fault for this response, if any, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint) and fault.count > 0:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


def request_secret(request: Request) -> str:
    """The secret a hostile server would reflect: the bearer token, else the form's client_secret
    (the token endpoint), else ""."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.content_type() == "application/x-www-form-urlencoded":
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        return form.get("client_secret", "")
    return ""


def retry_after(options: Dict[str, Any], now_ms: int, default: Optional[Any] = None) -> Dict[str, str]:
    """Retry-After as delay-seconds (``retryAfter``) or as an RFC 9110 HTTP-date ``retryAfterDate``
    seconds after the emulator's now (the Date header's clock)."""
    if "retryAfterDate" in options:
        when = now_ms / 1000 + float(options["retryAfterDate"])
        return {"Retry-After": email.utils.formatdate(when, usegmt=True)}
    if "retryAfter" in options:
        return {"Retry-After": str(options["retryAfter"])}
    return {} if default is None else {"Retry-After": str(default)}


def replacement(fault: Fault, request: Request, now_ms: int) -> Optional[Response]:
    """The response for a replacing kind (None for reset/close: no answer)."""
    o, kind = fault.options, fault.kind
    if kind == "echo-request":
        # A hostile or broken server that reflects the request (with its credentials) in an error page.
        lines = [f"{request.method} {request.path}"] + [f"{k}: {v}" for k, v in request.headers.items()]
        text = "\n".join(lines) + "\n\n" + request.body.decode("utf-8", "replace")
        if "padBytes" in o:
            # The secret starts exactly at byte padBytes, so a test can make it straddle the point
            # where a client cuts its body excerpt.
            text = "." * int(o["padBytes"]) + request_secret(request) + "\n" + text
        return Response(int(o.get("status", 500)), text.encode(), "text/plain")
    if kind == "echo-enhanced":
        secret = request_secret(request)
        status = int(o.get("status", 400))
        return Response.json(status, {
            "action": o.get("action", "none"), "status": status, "code": f"echo_{secret}",
            "message": f"The credential {secret} was rejected.",
            "details": f"Authorization: Bearer {secret}",
            "helpUrl": f"{HELP_URL}?token={secret}",
            "trace": secret,
            "echo": f"Bearer {secret}",
        }, retry_after(o, now_ms))
    if kind == "echo-form":
        status = int(o.get("status", 400))
        return Response.json(status, {"error": "invalid_request", "error_description":
                                      "could not process " + request.body.decode("utf-8", "replace")})
    headers = retry_after(o, now_ms)
    if kind == "status":
        status = int(o.get("status", 500))
        if "code" in o:
            return Response.json(status, enhanced(o["code"], status=status, action=o.get("action")), headers)
        return Response(status, b"", headers=headers)
    if kind == "http500":
        return Response.json(500, enhanced("internal_server_error"), headers)
    if kind in ("http502", "http503"):
        status = 502 if kind == "http502" else 503
        if status == 503:
            headers = retry_after(o, now_ms, default=1)
        text = "Bad Gateway" if status == 502 else "Service Temporarily Unavailable"
        return Response.html(status, f"<html><head><title>{status} {text}</title></head>"
                                     f"<body><center><h1>{status} {text}</h1></center></body></html>",
                             headers)
    if kind == "http429":
        return Response(429, THROTTLE_HTML, "text/html", headers)
    if kind == "http401":
        return Response.json(401, enhanced("invalid_access_token_client_application"))
    if kind == "enhanced":
        body = enhanced(o.get("code", "internal_server_error"), status=o.get("status"),
                        action=o.get("action"), message=o.get("message"), details=o.get("details"))
        return Response.json(int(body["status"]), body, headers)
    if kind == "invalid-json":
        return Response(200, b'{"access_token": "abc", "expires_in": 36')
    if kind == "empty200":
        return Response(200, b"")
    if kind == "huge-body":
        size = int(o.get("bytes", DEFAULT_HUGE_BYTES))
        prefix, suffix = b'{"padding": "', b'"}'
        return Response(200, prefix + b"x" * max(0, size - len(prefix) - len(suffix)) + suffix)
    if kind == "deep-json":
        return Response(200, b"[" * DEEP_JSON_DEPTH + b"]" * DEEP_JSON_DEPTH)
    if kind == "invalid-utf8":
        return Response(200, b'{"access_token": "\xff\xfe\xc3\x28", "expires_in": 3600}')
    if kind == "redirect":
        return Response.redirect("http://example.invalid/redirected")
    if kind == "canned":
        # A given answer: any status, any JSON document (e.g. one generated from an OpenAPI schema).
        return Response.json(int(o.get("status", 200)), o["body"], headers)
    return None  # reset / close


RAW_PLACEHOLDER = "__passauth_emulator_raw_{}__"


def corrupt(fault: Fault, endpoint: str, response: Response, request: Request) -> Response:
    """Apply a body/header-corrupting kind to a normal response."""
    kind, o = fault.kind, fault.options
    if kind == "wrong-content-type":
        response.content_type = "text/plain;charset=UTF-8"
        return response
    document = response.document
    if document is None or kind not in DOCUMENT_KINDS:
        return response
    if kind == "missing-fields":
        drop = REQUIRED_FIELDS.get(endpoint, list(document) if isinstance(document, dict) else [])
        document = {k: v for k, v in document.items() if k not in drop} if isinstance(document, dict) else {}
    elif kind == "wrong-types":
        document = _wrong_types(document)
    elif kind == "string-timestamps":
        document = _map_dicts(document, lambda d: {
            k: str(v) if k in ("notBefore", "notAfter") and not isinstance(v, str) else v
            for k, v in d.items()})
    elif kind == "extra-fields":
        document = _map_dicts(document, lambda d: {**d, "unexpectedField": "surprise",
                                                   "x-emulator-extra": {"nested": [1, 2, 3]}})
    elif kind == "echo-200":
        secret, name = request_secret(request), o.get("field")
        document = _map_dicts(document, lambda d: {
            **{k: f"{v} {secret}" if k == name and isinstance(v, str) else v for k, v in d.items()},
            "echo": f"Bearer {secret}"})
    elif kind in ("reverse-decisions", "strip-resource-whitespace"):
        decisions = document.get("decisions") if isinstance(document, dict) else None
        if isinstance(decisions, list):
            if kind == "reverse-decisions":
                decisions = list(reversed(decisions))
            else:
                decisions = [{**d, "resource": "".join(d["resource"].split())}
                             if isinstance(d, dict) and isinstance(d.get("resource"), str) else d
                             for d in decisions]
            document = {**document, "decisions": decisions}
    elif kind == "raw-timestamps":
        return _raw_timestamps(response, document, o)
    return Response.json(response.status, document, response.headers)


def _raw_timestamps(response: Response, document: Any, options: Dict[str, Any]) -> Response:
    """Every notBefore/notAfter member becomes the given JSON value (notBefore / notAfter) or the
    given text spliced verbatim into the body (notBeforeRaw / notAfterRaw: "1e999", "-0", ...)."""
    values: Dict[str, Any] = {}
    raw: Dict[str, str] = {}
    for name in ("notBefore", "notAfter"):
        if name + "Raw" in options:
            values[name] = RAW_PLACEHOLDER.format(name)
            raw[json.dumps(values[name])] = str(options[name + "Raw"])
        elif name in options:
            values[name] = options[name]
    document = _map_dicts(document, lambda d: {k: values[k] if k in values else v for k, v in d.items()})
    text = json.dumps(document)
    for placeholder, replacement_text in raw.items():
        text = text.replace(placeholder, replacement_text)
    return Response(response.status, text.encode(), response.content_type, response.headers, document)


def _map_dicts(value: Any, fn: Callable[[Dict[str, Any]], Dict[str, Any]]) -> Any:
    if isinstance(value, dict):
        return fn({k: _map_dicts(v, fn) for k, v in value.items()})
    if isinstance(value, list):
        return [_map_dicts(v, fn) for v in value]
    return value


def _wrong_types(value: Any) -> Any:
    """Every scalar changes JSON type: strings -> numbers, numbers -> strings,
    booleans -> strings, lists -> objects."""
    if isinstance(value, dict):
        return {k: _wrong_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return {"items": [_wrong_types(v) for v in value]}
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return len(value)
    return value

