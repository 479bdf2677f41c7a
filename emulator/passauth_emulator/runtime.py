"""Starting and stopping an emulator, in-process or from the CLI."""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Optional, Union

from . import tls
from .control import Control
from .faults import FaultQueue
from .server import EmulatorServer
from .state import Settings, State
from .throttle import Throttle


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    throttle: bool = True
    token_ttl: float = 3600
    code_ttl: float = 1800
    profile_ttl: float = 86400
    max_resources_authorize: int = 1
    max_resources_preauthorize: int = 5
    auto_login: Optional[float] = None  # seconds after a session's creation its login completes
    clock_offset_ms: float = 0


class ControlCallError(Exception):
    def __init__(self, status: int, document: Any) -> None:
        super().__init__(f"control call failed with {status}: {document}")
        self.status, self.document = status, document


class Emulator:
    """``with Emulator(throttle=False) as emu: emu.base_url ...``

    Serves on a daemon thread; ``control("login", {...})`` calls the control
    API over HTTP(S) and returns its decoded JSON."""

    def __init__(self, **options: Any) -> None:
        self.options = Options(**options)
        self.server: Optional[EmulatorServer] = None
        self.ca_file: Optional[str] = None
        self._tls_dir: Optional[str] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> Emulator:
        o = self.options
        settings = Settings(throttle=o.throttle, token_ttl=o.token_ttl, code_ttl=o.code_ttl,
                            profile_ttl=o.profile_ttl, max_resources_authorize=o.max_resources_authorize,
                            max_resources_preauthorize=o.max_resources_preauthorize,
                            auto_login_seconds=o.auto_login, clock_offset_ms=o.clock_offset_ms)
        state, faults, throttle = State(settings), FaultQueue(), Throttle()
        context = None
        if o.tls:
            cert, key = tls.generate()
            self.ca_file, self._tls_dir = cert, cert.rsplit("/", 1)[0]
            context = tls.server_context(cert, key)
        self.server = EmulatorServer((o.host, o.port), state, faults, throttle,
                                     Control(state, faults, throttle), context)
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        name="passauth-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError("the emulator is not running")
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.options.tls else "http"
        return f"{scheme}://{self.options.host}:{self.port}"

    def ssl_context(self) -> Optional[ssl.SSLContext]:
        """A client context trusting the generated certificate (TLS mode)."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None

    def connection(self, timeout: float = 10) -> Union[http.client.HTTPConnection, http.client.HTTPSConnection]:
        """A new http.client connection to the emulator."""
        if self.options.tls:
            return http.client.HTTPSConnection(self.options.host, self.port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection(self.options.host, self.port, timeout=timeout)

    def control(self, name: str, body: Any = None, method: Optional[str] = None) -> Any:
        method = method or ("GET" if body is None else "POST")
        connection = self.connection()
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, "/_emulator/" + name, payload,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            document = json.loads(response.read() or b"{}")
        finally:
            connection.close()
        if response.status >= 400:
            raise ControlCallError(response.status, document)
        return document
