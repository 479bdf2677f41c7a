"""Self-signed certificate for --tls, made with the openssl CLI so that no
third-party Python package is needed."""

from __future__ import annotations

import os
import ssl
import subprocess
import tempfile
from typing import Optional, Tuple

SUBJECT_ALT_NAMES = "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"


def generate(directory: Optional[str] = None) -> Tuple[str, str]:
    """Write cert.pem / key.pem into a (new temporary) directory and return
    (cert path, key path).  The certificate is its own CA: clients trust it
    by using cert.pem as their CA file."""
    directory = directory or tempfile.mkdtemp(prefix="passauth-emulator-tls-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", "7", "-subj", "/CN=passauth emulator", "-addext", SUBJECT_ALT_NAMES,
         "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return cert, key


def server_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
