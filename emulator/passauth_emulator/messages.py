"""Plain request/response values passed between the HTTP layer and handlers."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional
from urllib.parse import parse_qs

JsonObject = Dict[str, Any]


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Dict[str, str]  # lower-cased name -> value (last one wins)
    body: bytes
    client_ip: str
    params: Dict[str, str] = field(default_factory=dict)  # path parameters from the route

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def query_params(self) -> Dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def content_type(self) -> str:
        """Media type without parameters, lower-cased ('' when absent)."""
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: Dict[str, str] = field(default_factory=dict)
    # The decoded JSON document, kept so body-rewriting faults can edit it.
    document: Any = None

    @classmethod
    def json(cls, status: int, document: Any, headers: Optional[Dict[str, str]] = None) -> Response:
        return cls(status, json.dumps(document).encode(), headers=dict(headers or {}),
                   document=document)

    @classmethod
    def html(cls, status: int, text: str, headers: Optional[Dict[str, str]] = None) -> Response:
        return cls(status, text.encode(), "text/html;charset=UTF-8", dict(headers or {}))

    @classmethod
    def redirect(cls, location: str) -> Response:
        link = html.escape(location)
        text = f'<html><body>Redirecting to <a href="{link}">{link}</a></body></html>'
        return cls.html(302, text, {"Location": location})
