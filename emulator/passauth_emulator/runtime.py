"""Starting and stopping an emulator, in-process or from the CLI."""

import http.client
import json
import shutil
import ssl
import threading
from dataclasses import dataclass

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


class ControlCallError(Exception):
    def __init__(self, status, document):
        super().__init__(f"control call failed with {status}: {document}")
        self.status, self.document = status, document


class Emulator:
    """``with Emulator(throttle=False) as emu: emu.base_url ...``

    Serves on a daemon thread; ``control("login", {...})`` calls the control
    API over HTTP(S) and returns its decoded JSON."""

    def __init__(self, **options):
        self.options = Options(**options)
        self.server = None
        self.ca_file = None
        self._tls_dir = None
        self._thread = None

    def start(self):
        o = self.options
        settings = Settings(throttle=o.throttle, token_ttl=o.token_ttl, code_ttl=o.code_ttl,
                            profile_ttl=o.profile_ttl)
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

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_):
        self.stop()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def base_url(self):
        scheme = "https" if self.options.tls else "http"
        return f"{scheme}://{self.options.host}:{self.port}"

    def ssl_context(self):
        """A client context trusting the generated certificate (TLS mode)."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None

    def connection(self, timeout=10):
        """A new http.client connection to the emulator."""
        if self.options.tls:
            return http.client.HTTPSConnection(self.options.host, self.port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection(self.options.host, self.port, timeout=timeout)

    def control(self, name, body=None, method=None):
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
