"""HTTP plumbing: keep-alive HTTP/1.1 server, optional TLS, throttling,
fault delivery, request log and counters."""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl
import struct
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Optional, Tuple, cast
from urllib.parse import urlsplit

from . import device_info, routes, sessions
from . import faults as fault_kinds
from .errors import THROTTLE_HTML, ApiError, DcrError, HtmlError, enhanced
from .faults import Fault, FaultQueue
from .messages import Request, Response
from .state import State
from .throttle import Throttle, client_key, is_throttled_path

if TYPE_CHECKING:
    from .control import Control

log = logging.getLogger("passauth_emulator")

CONTROL_PREFIX = "/_emulator/"
TLS_HANDSHAKE_TIMEOUT_S = 10


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], state: State, faults: FaultQueue, throttle: Throttle,
                 control: Control, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.state, self.faults, self.throttle, self.control = state, faults, throttle, control
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Runs on the connection's own thread, so a slow TLS handshake never
        # blocks the accept loop.
        with self.state.lock:
            self.state.counters["connections"] += 1
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(TLS_HANDSHAKE_TIMEOUT_S)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError):
            return None  # e.g. the client rejected our certificate
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "passauth-emulator/1"
    timeout = 120  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body are separate writes

    @property
    def emulator(self) -> EmulatorServer:
        return cast(EmulatorServer, self.server)

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        """The Date header follows the emulator's clock (clockOffsetMs, /_emulator/advance), so a
        client can estimate its offset to the service from any answer."""
        if timestamp is None:
            timestamp = self.emulator.state.now() / 1000
        return email.utils.formatdate(timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(Response.json(400, enhanced("invalid_header_content_type",
                                                   message="Unreadable request body.")))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, url.path, url.query, headers, body, self.client_address[0])
        if url.path.startswith(CONTROL_PREFIX):
            self._send(self.emulator.control.handle(request))
        else:
            self._serve_api(request)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = dispatch

    def _serve_api(self, request: Request) -> None:
        server = self.emulator
        state = server.state
        resolved = routes.resolve(request.method, request.path)
        request.params = resolved.params
        throttled = (state.settings.throttle and is_throttled_path(request.path)
                     and not server.throttle.allow(client_key(request.header("x-forwarded-for"),
                                                              request.client_ip)))
        fault = None if throttled else server.faults.take(resolved.endpoint)
        response: Optional[Response]
        if throttled:
            response = Response(429, THROTTLE_HTML, "text/html")
        elif fault and fault.kind in fault_kinds.REPLACING:
            response = fault_kinds.replacement(fault, request, state.now())
        else:
            response = self._run(resolved, request)
            if fault:
                response = fault_kinds.corrupt(fault, resolved.endpoint, response, request)
        self._record(request, resolved.endpoint, response, fault)
        if response is None:
            self._abort(reset=fault is not None and fault.kind == "reset")
        else:
            self._send(response, fault)

    def _run(self, resolved: routes.Resolved, request: Request) -> Response:
        state = self.emulator.state
        if resolved.handler is None:
            if not resolved.allowed:
                return Response.json(404, enhanced("not_found"))
            allow = {"Allow": ", ".join(resolved.allowed)}
            if request.path.startswith("/o/"):
                return Response.json(405, {"error": "invalid_request"}, allow)
            return Response.json(405, enhanced("method_not_allowed"), allow)
        try:
            with state.lock:
                sessions.run_auto_logins(state)
                return resolved.handler(state, request)
        except ApiError as error:
            return Response.json(error.status, error.body, error.headers)
        except DcrError as error:
            return Response.json(error.status, {"error": error.code})
        except HtmlError as error:
            return Response.html(error.status, f"<html><body><h1>{error.status}</h1>"
                                               f"<p>{error.text}</p></body></html>")
        except Exception:  # a bug in the emulator must still answer
            log.error("handler failed:\n%s", traceback.format_exc())
            return Response.json(500, enhanced("internal_server_error"))

    def _record(self, request: Request, endpoint: str, response: Optional[Response],
                fault: Optional[Fault]) -> None:
        state = self.emulator.state
        warnings = device_info.check(request, endpoint)
        with state.lock:
            state.endpoint_counts[endpoint] += 1
            if fault:
                state.counters["faultsInjected"] += 1
            if response is not None and response.status == 429:
                state.counters["throttled"] += 1
            state.requests.append({
                "method": request.method, "path": request.path, "query": request.query,
                "headers": request.headers, "body": request.body.decode("utf-8", "replace"),
                "timeMs": time.time() * 1000, "endpoint": endpoint,
                "status": response.status if response is not None else 0,
                "warnings": warnings,
            })

    def _read_body(self) -> Optional[bytes]:
        """The request body (chunked or Content-Length), None if unreadable."""
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                return None
            return self.rfile.read(length) if length else b""
        except ValueError:
            return None

    def _send(self, response: Response, fault: Optional[Fault] = None) -> None:
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        body = response.body
        if kind == "delay":
            time.sleep(float(options.get("delayMs", 1000)) / 1000)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        declared = len(body) + (int(options.get("bytes", 100)) if kind == "truncated" else 0)
        self.send_header("Content-Length", str(declared))
        if kind == "truncated":
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if kind == "slow-drip":
                step = max(1, int(options.get("chunkBytes", 16)))
                pause = float(options.get("delayMs", 20)) / 1000
                for start in range(0, len(body), step):
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
                    time.sleep(pause)
            else:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _abort(self, reset: bool) -> None:
        """Drop the connection without answering; with reset, send a TCP RST."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket that would defer the real close.
        self.rfile.close()
        self.connection.close()
