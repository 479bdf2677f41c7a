"""The package is fully typed: ``mypy --strict`` passes on it (configuration in pyproject.toml), and the
typed configuration makes mypy catch a misspelt key, keyword or device field, a mistyped value, and an
Optional used as if it were always there.

Not skipped when mypy is missing: scripts/bootstrap.sh installs it, and a missing mypy is a failure."""

import os
import subprocess
import sys
import textwrap

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_mypy_strict_passes_on_the_package():
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "passauth"],
                         cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mypy --strict failed:\n{run.stdout}\n{run.stderr}"
    assert "Success" in run.stdout


def test_the_package_is_marked_typed():
    assert os.path.isfile(os.path.join(PACKAGE_ROOT, "passauth", "py.typed"))


GOOD = """
    from datetime import datetime
    from typing import List, Optional
    import passauth

    config: passauth.Config = {"serviceProvider": "REF30", "softwareStatement": "eyJ...", "environment": "staging",
                               "timeoutMs": 5000, "device": {"id": "box", "port": 443, "info": {"osName": "Linux"}}}
    client = passauth.Client(config)
    other = passauth.Client(service_provider="REF30", software_statement="eyJ...", base_url="http://127.0.0.1:8642",
                            device=passauth.Device(id="box", ip="198.51.100.7"), timeout_ms=5000, log_level="debug")
    decisions: List[passauth.Decision] = client.authorize("Cablevision", ["REF30"], device={"id": "other"})
    authorized: bool = decisions[0].authorized
    resource: str = decisions[0].resource
    token: Optional[passauth.MediaToken] = decisions[0].token
    expires: datetime = token.not_after if token else datetime.now()
    profile = client.profile("Cablevision")
    until: datetime = profile.not_after if profile else datetime.now()
    session = client.create_session("Cablevision")
    code: Optional[str] = session.code
    try:
        pass
    except passauth.ServiceError as e:
        status: Optional[int] = e.http_status
        wait: Optional[float] = e.retry_after
"""

BAD = {
    "config_key": ('config: passauth.Config = {"serviceProvider": "REF30", "softwareStatement": "x", "timeoutMS": 5}',
                   'Extra key "timeoutMS"'),
    "config_value": ('config: passauth.Config = {"serviceProvider": "REF30", "softwareStatement": "x", "pacing": "yes"}',
                     'TypedDict item "pacing" has type "bool"'),
    "config_missing": ('config: passauth.Config = {"serviceProvider": "REF30"}', 'Missing key "softwareStatement"'),
    "keyword": ('passauth.Client(service_provder="REF30", software_statement="x")', 'Unexpected keyword argument'),
    "environment": ('passauth.Client(service_provider="REF30", software_statement="x", environment="stage")',
                    'incompatible type "Literal[\'stage\']"'),
    "device_field": ('passauth.Device(id="x", user_agent="curl")', 'Extra key "user_agent" for TypedDict "Device"'),
    "device_port": ('d: passauth.Device = {"id": "x", "port": "443"}', 'TypedDict item "port" has type "int"'),
    "optional": ('def f(s: passauth.Session) -> str:\n    return s.code', 'Incompatible return value type'),
}


def test_mypy_catches_typos_in_the_typed_configuration(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    for name, (code, _) in BAD.items():
        (tmp_path / f"bad_{name}.py").write_text("import passauth\n" + code + "\n")
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
                          str(tmp_path / ".cache"), *sorted(p.name for p in tmp_path.glob("*.py"))],
                         cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MYPYPATH=PACKAGE_ROOT))
    lines = run.stdout.splitlines()
    assert not [line for line in lines if line.startswith("good.py")], run.stdout
    for name, (_, expected) in BAD.items():
        found = [line for line in lines if line.startswith(f"bad_{name}.py")]
        assert found and any(expected in line for line in found), (name, expected, run.stdout)
