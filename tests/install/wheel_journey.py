"""Run by tests/install/test_wheel.sh with the python of a fresh venv that has only the passauth wheel
installed, from a directory outside the repository, with a bare environment (no PYTHONPATH, no
PASSAUTH_LIBRARY, LD_LIBRARY_PATH empty).

    python wheel_journey.py isolation <VERSION> <repository>
    python wheel_journey.py journey <emulator base URL> <store dir>

isolation: the package and its library come from the venv, and so do libcurl and jansson (the copies
auditwheel put in passauth.libs/), as /proc/self/maps shows once the library is loaded.
journey: register, create a session, log in through the emulator's control API, read the profiles,
authorize. Exits non-zero with the reason on the first failure.
"""

import importlib.metadata
import json
import os
import sys
import urllib.request

import passauth
import passauth._native as native

SOFTWARE_STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"


def require(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def isolation(version, repository):
    venv = sys.prefix
    require(sys.prefix != sys.base_prefix, f"not running in a venv ({sys.executable})")
    for name in ("PYTHONPATH", "PASSAUTH_LIBRARY", "LD_LIBRARY_PATH", "LD_PRELOAD"):
        require(not os.environ.get(name), f"{name} is set: {os.environ.get(name)!r}")
    require(not any(entry.startswith(repository) for entry in sys.path if entry), f"the repository is on sys.path: {sys.path}")
    require(not os.getcwd().startswith(repository), f"cwd {os.getcwd()} is inside the repository")
    require(passauth.__file__.startswith(venv), f"passauth imported from {passauth.__file__}, not from {venv}")
    require(importlib.metadata.version("passauth") == version, f"installed version {importlib.metadata.version('passauth')}")
    require(passauth.version() == version, f"library version {passauth.version()}, VERSION says {version}")
    loaded = native.library()._name
    require(loaded.startswith(venv) and loaded.endswith("passauth/lib/libpassauth.so.0"), f"library loaded from {loaded}")
    with open("/proc/self/maps") as maps:
        mapped = sorted({line.split()[-1] for line in maps if "/" in line.split()[-1]})
    libs = os.path.join(os.path.dirname(os.path.dirname(passauth.__file__)), "passauth.libs")
    for name in ("libcurl", "libjansson"):  # nothing else in this process uses them
        paths = [path for path in mapped if os.path.basename(path).startswith((name + "-", name + ".so"))]
        require(paths and all(path.startswith(libs + "/") for path in paths), f"{name} mapped from {paths or 'nowhere'}")
    # libcurl's TLS: the wheel's OpenSSL (Python's own ssl module, when loaded, maps the system's too).
    require(any(path.startswith(libs + "/libssl-") for path in mapped), "the wheel's libssl is not mapped")
    require(not any(path.startswith(repository) for path in mapped), "a file from the repository is mapped")
    print(f"isolation: passauth {version} from {os.path.dirname(passauth.__file__)}, its libraries from {libs}")


def journey(base_url, store):
    config = {"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": SOFTWARE_STATEMENT,
              "store": store, "device": {"id": "wheel-test-device"}}
    with passauth.Client(config) as client:
        registration = client.register()
        require(registration.client_id, "registration has no client id")
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        require(session.code, "the session has no code")
        request = urllib.request.Request(f"{base_url}/_emulator/login", data=json.dumps({"code": session.code}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            require(response.status == 200, f"the emulator's login answered {response.status}")
        profiles = client.profiles()
        require("Cablevision" in profiles, f"no Cablevision profile after the login: {sorted(profiles)}")
        decisions = client.authorize("Cablevision", ["REF30"])
        require(len(decisions) == 1 and decisions[0].authorized and decisions[0].token is not None,
                f"authorization: {decisions}")
    print(f"journey: registered {registration.client_id}, logged in with code {session.code}, REF30 authorized")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "isolation":
        isolation(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "journey":
        journey(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
