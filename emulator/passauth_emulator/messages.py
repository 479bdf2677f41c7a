"""Plain request/response values passed between the HTTP layer and handlers."""

import html
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict  # lower-cased name -> value (last one wins)
    body: bytes
    client_ip: str
    params: dict = field(default_factory=dict)  # path parameters from the route

    def header(self, name):
        return self.headers.get(name.lower())

    def query_params(self):
        return {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def content_type(self):
        """Media type without parameters, lower-cased ('' when absent)."""
        return (self.header("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict = field(default_factory=dict)
    # The decoded JSON document, kept so body-rewriting faults can edit it.
    document: object = None

    @classmethod
    def json(cls, status, document, headers=None):
        return cls(status, json.dumps(document).encode(), headers=dict(headers or {}),
                   document=document)

    @classmethod
    def html(cls, status, text, headers=None):
        return cls(status, text.encode(), "text/html;charset=UTF-8", dict(headers or {}))

    @classmethod
    def redirect(cls, location):
        link = html.escape(location)
        text = f'<html><body>Redirecting to <a href="{link}">{link}</a></body></html>'
        return cls.html(302, text, {"Location": location})
