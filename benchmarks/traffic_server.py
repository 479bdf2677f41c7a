#!/usr/bin/env python3
"""The fixed local traffic server of the benchmarks: the Adobe Pass REST API V2 calls a player makes,
answered the way the real service answers them, as fast as a Python process can (asyncio protocol, no
validation beyond what routing needs). It runs in its own process, so its CPU is never counted.

    python3 benchmarks/traffic_server.py [--port 0]      prints "TRAFFIC_SERVER_READY http://127.0.0.1:PORT"

HTTP/1.1 keep-alive, Content-Length on every answer (never chunked), `Date` (the HTTP date, refreshed every
second), `Content-Type: application/json;charset=UTF-8`, `Cache-Control: no-store` and a unique
`X-Request-Id` on every answer, like the real service. Routes (any service provider id):

  POST /o/client/register                         201, DCR credentials (a UUID client id, a 43-char secret)
  POST /o/client/token                            201, a JWT-shaped access token of ~900 characters, 24 h
  GET  /api/v2/{sp}/configuration                 200, a fixed, realistic document of 10 MVPDs (~3.5 KB)
  GET  /api/v2/{sp}/profiles                      200, {"profiles": {"Cablevision": profile}} (fixed)
  GET  /api/v2/{sp}/profiles/{mvpd}               200, {"profiles": {mvpd: profile}} (fixed)
  GET  /api/v2/{sp}/profiles/code/{code}          200, {"profiles": {}} (pending)
  POST /api/v2/{sp}/decisions/authorize/{mvpd}    200, one permit per requested resource, in order, each with a
                                                  NEW media token: "PHNpZ25hdHVyZUluZm8+" (base64 of
                                                  "<signatureInfo>") + base64 of 249 random bytes, 352 chars
  POST /api/v2/{sp}/decisions/preauthorize/{mvpd} 200, one permit per requested resource, in order
  GET  /_traffic/last/{endpoint}                  the last request of an endpoint ("authorize", "preauthorize",
                                                  "profiles", "profiles.mvpd", "configuration", ...):
                                                  {"method", "target", "headers": [[name, value], ...], "body"}
  GET  /_traffic/stats                            {"requests": {endpoint: count}, "connections": n}

Decision and profile shapes are the emulator's (emulator/passauth_emulator/decisions.py, profiles.py),
which follow Adobe's samples. Every answer is fixed except the media tokens, the decisions' resource ids
and validity (the request's time), and X-Request-Id.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.utils
import json
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

SERVICE_PROVIDER = "REF30"
TOKEN_PREFIX = "PHNpZ25hdHVyZUluZm8+"  # base64("<signatureInfo>"): 15 bytes, so the concatenation stays base64
TOKEN_RANDOM_BYTES = 249               # -> 332 more characters: 352 in all
MEDIA_TOKEN_TTL_MS = 7 * 60 * 1000
DECISION_TTL_MS = 60 * 60 * 1000
STARTED_MS = int(time.time() * 1000)

MVPDS = [
    ("Cablevision", "Optimum", True), ("Spectrum", "Spectrum", True), ("Comcast_SSO", "Xfinity", True),
    ("ATTOTT", "DIRECTV STREAM", True), ("Dish", "DISH", False), ("Verizon", "Verizon Fios", True),
    ("Cox", "Cox", False), ("Frontier", "Frontier", False), ("TempPass_TEST40", "Adobe Temp Pass Test 3 min", False),
    ("AdobeShibboleth", "AdobeShibboleth", False),
]


def mvpd_json(mvpd_id: str, name: str, apple: bool) -> Dict[str, object]:
    return {"id": mvpd_id, "displayName": name,
            "logoUrl": f"https://entitlement.auth.adobe.com/entitlement/{mvpd_id.lower()}.png",
            "isTempPass": mvpd_id.startswith("TempPass"), "isProxy": False,
            "boardingStatus": "SUPPORTED" if apple else "NOT_SUPPORTED", "platformMappingId": mvpd_id,
            "enablePlatformServices": apple, "displayInPlatformPicker": apple, "enforcePlatformPermissions": False}


CONFIGURATION = {
    "device": "unknown", "clientType": "html5", "os": "Unknown",
    "requestor": {
        "id": SERVICE_PROVIDER, "name": f"Benchmark service provider {SERVICE_PROVIDER}",
        "domains": [{"name": d, "mvpdInitiated": False} for d in ("adobe.com", "adobe.io", "adobepass.com", "testadobe.com")],
        "mvpds": [mvpd_json(*m) for m in MVPDS],
    },
}


def profile_json(mvpd: str) -> Dict[str, object]:
    """A regular profile with the attributes MVPDs commonly send (plain and encrypted), fixed validity."""
    return {
        "notBefore": STARTED_MS - 3_600_000, "notAfter": STARTED_MS + 30 * 86_400_000, "issuer": mvpd, "type": "regular",
        "attributes": {
            "userID": {"value": "b1c4a5f0e2d3c4b5a697887766554433221100ff", "state": "plain"},
            "upstreamUserID": {"value": "c2f0e3a1-5b7d-4e2f-9a8b-1c2d3e4f5a6b", "state": "plain"},
            "householdID": {"value": "hh-4f2a9c1e7b", "state": "plain"},
            "zip": {"value": ["10001", "10002"], "state": "plain"},
            "maxRating": {"value": {"MPAA": "R", "VCHIP": "TV-MA", "URL": "http://exam.pl/rating"}, "state": "plain"},
            "channelID": {"value": ["ESPN", "HBO", "CNN", "TNT", "TBS", "FX"], "state": "plain"},
            "is_hoh": {"value": "1", "state": "plain"},
            "encryptedZip": {"value": base64.b64encode(bytes(range(48))).decode(), "state": "enc"},
        },
    }


def dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


CONFIGURATION_BODY = dumps(CONFIGURATION)
PROFILE_BODIES = {m[0]: dumps({"profiles": {m[0]: profile_json(m[0])}}) for m in MVPDS}
PROFILES_BODY = PROFILE_BODIES["Cablevision"]
PENDING_BODY = dumps({"profiles": {}})
ACCESS_TOKEN = ("eyJhbGciOiJSUzI1NiIsIng1dSI6ImltcyJ9." +
                base64.urlsafe_b64encode(dumps({
                    "id": "1700000000000_" + "9" * 36, "type": "access_token", "client_id": "bench-client",
                    "user_id": "bench-client@AdobeID", "as": "ims-na1", "aa_id": "bench-client@AdobeID",
                    "ctp": 0, "fg": "Y3VTONBOVPN7MHUKHMQVYHAA4M======", "sid": "1700000000000_" + "8" * 20,
                    "moi": "5c3e7a1f", "pba": "MedSecNoEV,LowSec", "expires_in": "86400000",
                    "scope": "api:client:v2", "created_at": "1700000000000"})).decode().rstrip("=") + "." +
                base64.urlsafe_b64encode(bytes(range(256))).decode().rstrip("="))


class Server:
    def __init__(self) -> None:
        self.requests: Dict[str, int] = {}
        self.connections = 0
        self.last: Dict[str, Tuple[bytes, bytes, List[bytes], bytes]] = {}
        self.request_id = 0
        self.date_second = -1
        self.date = b""
        self.clients = 0

    def head(self, status: bytes, length: int) -> bytes:
        now = int(time.time())
        if now != self.date_second:
            self.date_second = now
            self.date = email.utils.formatdate(now, usegmt=True).encode()
        self.request_id += 1
        return (b"HTTP/1.1 " + status + b"\r\nDate: " + self.date +
                b"\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: " + str(length).encode() +
                b"\r\nCache-Control: no-store\r\nX-Request-Id: " + b"%032x" % (0x5ca1ab1e << 64 | self.request_id) +
                b"\r\n\r\n")

    def answer(self, status: bytes, body: bytes) -> bytes:
        return self.head(status, len(body)) + body

    def respond(self, method: bytes, target: bytes, headers: List[bytes], body: bytes) -> bytes:
        path = target.split(b"?", 1)[0]
        parts = path.split(b"/")  # ['', 'api', 'v2', sp, ...]
        endpoint = "unknown"
        out: Optional[bytes] = None
        if len(parts) >= 4 and parts[1] == b"api" and parts[2] == b"v2":
            sp = parts[3].decode()
            rest = parts[4:]
            if rest == [b"configuration"] and method == b"GET":
                endpoint, out = "configuration", self.answer(b"200 OK", CONFIGURATION_BODY)
            elif rest == [b"profiles"] and method == b"GET":
                endpoint, out = "profiles", self.answer(b"200 OK", PROFILES_BODY)
            elif len(rest) == 3 and rest[:2] == [b"profiles", b"code"] and method == b"GET":
                endpoint, out = "profiles.code", self.answer(b"200 OK", PENDING_BODY)
            elif len(rest) == 2 and rest[0] == b"profiles" and method == b"GET":
                mvpd = rest[1].decode()
                endpoint = "profiles.mvpd"
                out = self.answer(b"200 OK", PROFILE_BODIES.get(mvpd) or dumps({"profiles": {mvpd: profile_json(mvpd)}}))
            elif len(rest) == 3 and rest[0] == b"decisions" and method == b"POST" and rest[1] in (b"authorize", b"preauthorize"):
                endpoint = rest[1].decode()
                out = self.answer(b"200 OK", self.decisions(endpoint == "authorize", sp, rest[2].decode(), body))
        elif path == b"/o/client/register" and method == b"POST":
            self.clients += 1
            endpoint = "register"
            out = self.answer(b"201 Created", dumps({
                "client_id": "3f0c8a4e-%04d-4d2b-9c1f-7e6a5b4c3d2e" % self.clients,
                "client_secret": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
                "redirect_uris": [], "grant_types": ["client_credentials"], "scopes": ["api:client:v2"],
                "client_id_issued_at": int(time.time())}))
        elif path == b"/o/client/token" and method == b"POST":
            endpoint = "token"
            out = self.answer(b"201 Created", dumps({
                "id": "8d1f2e3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "access_token": ACCESS_TOKEN,
                "created_at": int(time.time() * 1000), "expires_in": 86400, "token_type": "bearer"}))
        elif path.startswith(b"/_traffic/last/"):
            wanted = path[len(b"/_traffic/last/"):].decode()
            record = self.last.get(wanted)
            if record is None:
                return self.answer(b"404 Not Found", dumps({"error": f"no {wanted} request yet"}))
            m, t, h, b = record
            return self.answer(b"200 OK", dumps({
                "method": m.decode(), "target": t.decode(),
                "headers": [[x.decode() for x in (line.split(b":", 1)[0], line.split(b":", 1)[1].strip())] for line in h],
                "body": b.decode()}))
        elif path == b"/_traffic/stats":
            return self.answer(b"200 OK", dumps({"requests": self.requests, "connections": self.connections}))
        self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
        self.last[endpoint] = (method, target, headers, body)
        return out if out is not None else self.answer(b"404 Not Found", dumps({"error": "not found"}))

    def decisions(self, authorize: bool, sp: str, mvpd: str, body: bytes) -> bytes:
        now = int(time.time() * 1000)
        items = []
        for resource in json.loads(body)["resources"]:
            head = (f'{{"resource":{json.dumps(resource)},"serviceProvider":"{sp}","mvpd":"{mvpd}",'
                    f'"source":"mvpd","authorized":true')
            if authorize:
                token = TOKEN_PREFIX + base64.b64encode(os.urandom(TOKEN_RANDOM_BYTES)).decode()
                items.append(f'{head},"token":{{"notBefore":{now},"notAfter":{now + MEDIA_TOKEN_TTL_MS},'
                             f'"serializedToken":"{token}"}},"notBefore":{now},"notAfter":{now + DECISION_TTL_MS}}}')
            else:
                items.append(head + "}")
        return ('{"decisions":[' + ",".join(items) + "]}").encode()


class Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: Optional[asyncio.Transport] = None
        self.continued = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        assert self.transport is not None
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            lines = buffer[:end].split(b"\r\n")
            length = 0
            expect = False
            for line in lines[1:]:
                name = line[:line.find(b":")].lower()
                if name == b"content-length":
                    length = int(line[15:])
                elif name == b"expect":
                    expect = True
            total = end + 4 + length
            if len(buffer) < total:
                if expect and not self.continued:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.continued = True
                break
            self.continued = False
            method, target, _ = lines[0].split(b" ", 2)
            self.transport.write(self.server.respond(method, target, lines[1:], buffer[end + 4:total]))
            buffer = buffer[total:]
        self.buffer = buffer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(lambda: Connection(server), "127.0.0.1", args.port, backlog=1024)
        port = listener.sockets[0].getsockname()[1]
        print(f"TRAFFIC_SERVER_READY http://127.0.0.1:{port}", flush=True)
        async with listener:
            await listener.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
