"""No repr (nor str) of a client, poll, result or error shows a secret: access token, client secret,
software statement, media token, SSO token. And the package's modules import without a cycle."""

import ast
import os
import pickle
import subprocess
import sys

import pytest

import passauth
from support import issued_secrets

PACKAGE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "passauth"))
SUBJECT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXByLXVzZXIifQ.repr-sso-signature"
SERVICE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.repr-service-token"


def test_no_repr_shows_a_secret(emu, make_config):
    device = {"id": "repr-device", "subjectToken": SUBJECT, "serviceToken": SERVICE_TOKEN,
              "info": {"primaryHardwareType": "SetTopBox", "osName": "Linux"}}
    config = make_config(device=device, logLevel="none")
    shown = []
    with passauth.Client(config) as client:
        shown.append(client)
        registration = client.register()
        shown.append(registration)
        shown += client.configuration().mvpds[:3]
        shown.append(client.configuration())
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        shown.append(session)
        with client.poll(session.code) as poll:
            shown += [poll, poll.info()]
        shown.append(poll)
        emu.control("profiles", {"deviceId": "repr-device", "mvpd": "Cablevision"})
        shown += list(client.profiles().values())
        decisions = client.authorize("Cablevision", ["REF30", "REF40"])
        shown += decisions + [d.token for d in decisions]
        emu.control("faults", {"faults": [{"kind": "echo-request", "endpoint": "configuration", "count": 3}]})
        with pytest.raises(passauth.PassAuthError) as caught:
            client.configuration({"id": "other", "subjectToken": SUBJECT})
        shown.append(caught.value)
        shown.append(client.logout("Cablevision", "https://adobe.com"))
        shown.append(client.stats())
    shown.append(client)
    media_tokens = [d.token.serialized_token for d in decisions if d.token]
    assert media_tokens
    secrets = issued_secrets(emu) | set(media_tokens) | {SUBJECT, SERVICE_TOKEN, config["softwareStatement"]}
    assert len(secrets) >= 6
    texts = [repr(item) for item in shown] + [str(item) for item in shown]
    leaks = [(secret[:12], text[:80]) for text in texts for secret in secrets if secret in text]
    assert leaks == []
    assert "service_provider='REF30'" in repr(client) and "closed" in repr(client)
    assert "Decision(resource='REF30', authorized=True" in repr(decisions[0])
    assert "MediaToken(not_before=" in repr(decisions[0].token)


def test_results_compare_and_pickle_by_value(emu, make_config):
    emu.control("profiles", {"deviceId": "py-device-1", "mvpd": "Cablevision"})
    with passauth.Client(make_config(logLevel="none")) as client:
        (first,) = client.preauthorize("Cablevision", ["REF30"])
        (again,) = client.preauthorize("Cablevision", ["REF30"])
        profiles = client.profiles()
        with pytest.raises(passauth.ThrottledError) as caught:
            emu.control("faults", {"faults": [{"kind": "http429", "count": 3, "endpoint": "profiles"}]})
            client.profiles()
    assert first == again and first != profiles["Cablevision"]
    assert pickle.loads(pickle.dumps(first)) == first
    assert pickle.loads(pickle.dumps(profiles)) == profiles
    error = pickle.loads(pickle.dumps(caught.value))
    assert type(error) is passauth.ThrottledError and error.retry_after_ms == caught.value.retry_after_ms


def _imports(path):
    """Package modules a module imports when loaded (not those under `if TYPE_CHECKING:`)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.stmt, ast.excepthandler)):
                    visit([child])

    visit(tree.body)
    return found


def test_no_import_cycle_between_modules():
    modules = {name[:-3] for name in os.listdir(PACKAGE) if name.endswith(".py") and name != "__init__.py"}
    graph = {m: _imports(os.path.join(PACKAGE, m + ".py")) & modules for m in modules}
    order, state = [], {}

    def visit(module, path):
        if state.get(module) == "done":
            return
        assert state.get(module) != "visiting", "import cycle: " + " -> ".join(path + [module])
        state[module] = "visiting"
        for dependency in sorted(graph[module]):
            visit(dependency, path + [module])
        state[module] = "done"
        order.append(module)

    for module in sorted(modules):
        visit(module, [])
    assert order.index("_native") < order.index("errors") < order.index("client")


@pytest.mark.parametrize("module", sorted(n[:-3] for n in os.listdir(PACKAGE)
                                          if n.endswith(".py") and n != "__init__.py"))
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    # The package's __init__ is bypassed: the module is loaded first, then the package around it.
    script = (f"import importlib, sys; m = importlib.import_module('passauth.{module}'); "
              f"import passauth; print(m.__name__)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE)))
    assert done.returncode == 0, done.stderr
