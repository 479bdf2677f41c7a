"""Fault injection: the next N matching responses are replaced or corrupted.

Kinds that *replace* the response are answered without running the endpoint
(no state changes: a faulted token call issues no token).  Kinds that
*corrupt* or *slow down* the response run the endpoint first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from .errors import THROTTLE_HTML, enhanced
from .messages import Request, Response

REPLACING = {"echo-request", "status", "http500", "http502", "http503", "http429", "http401", "enhanced",
             "invalid-json", "empty200", "huge-body", "deep-json", "invalid-utf8",
             "reset", "close", "redirect"}
CORRUPTING = {"truncated", "wrong-content-type", "slow-drip", "delay", "missing-fields",
              "wrong-types", "string-timestamps", "extra-fields"}
KINDS = REPLACING | CORRUPTING

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


def replacement(fault: Fault, request: Request) -> Optional[Response]:
    """The response for a replacing kind (None for reset/close: no answer)."""
    o, kind = fault.options, fault.kind
    if kind == "echo-request":
        # A hostile or broken server that reflects the request (with its credentials) in an error page.
        lines = [f"{request.method} {request.path}"] + [f"{k}: {v}" for k, v in request.headers.items()]
        text = "\n".join(lines) + "\n\n" + request.body.decode("utf-8", "replace")
        return Response(int(o.get("status", 500)), text.encode(), "text/plain")
    retry_after = {"Retry-After": str(o["retryAfter"])} if "retryAfter" in o else {}
    if kind == "status":
        status = int(o.get("status", 500))
        if "code" in o:
            return Response.json(status, enhanced(o["code"], status=status, action=o.get("action")))
        return Response(status, b"", headers=retry_after)
    if kind == "http500":
        return Response.json(500, enhanced("internal_server_error"), retry_after)
    if kind in ("http502", "http503"):
        status = 502 if kind == "http502" else 503
        headers = {"Retry-After": str(o.get("retryAfter", 1))} if status == 503 else retry_after
        text = "Bad Gateway" if status == 502 else "Service Temporarily Unavailable"
        return Response.html(status, f"<html><head><title>{status} {text}</title></head>"
                                     f"<body><center><h1>{status} {text}</h1></center></body></html>",
                             headers)
    if kind == "http429":
        return Response(429, THROTTLE_HTML, "text/html", retry_after)
    if kind == "http401":
        return Response.json(401, enhanced("invalid_access_token_client_application"))
    if kind == "enhanced":
        body = enhanced(o.get("code", "internal_server_error"), status=o.get("status"),
                        action=o.get("action"), message=o.get("message"), details=o.get("details"))
        return Response.json(int(body["status"]), body, retry_after)
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
    return None  # reset / close


def corrupt(fault: Fault, endpoint: str, response: Response) -> Response:
    """Apply a body/header-corrupting kind to a normal response."""
    kind = fault.kind
    if kind == "wrong-content-type":
        response.content_type = "text/plain;charset=UTF-8"
        return response
    document = response.document
    if document is None or kind not in ("missing-fields", "wrong-types",
                                        "string-timestamps", "extra-fields"):
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
    else:
        document = _map_dicts(document, lambda d: {**d, "unexpectedField": "surprise",
                                                   "x-emulator-extra": {"nested": [1, 2, 3]}})
    return Response.json(response.status, document, response.headers)


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

