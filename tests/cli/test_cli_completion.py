"""`passauth completion bash|zsh|fish`: the scripts are valid for their shell (`bash -n`, `zsh -n`,
`fish -n` when installed), name every command and each command's options, and complete in bash and
fish."""

import shutil
import subprocess

import pytest

COMMANDS = {
    "register": [], "providers": ["--search", "--no-temppass", "--no-proxy", "--exclude"],
    "login": ["--mvpd", "--open", "--timeout", "--no-qr", "--domain", "--redirect-url"], "status": [],
    "profiles": ["--mvpd", "--stored"], "preauthorize": ["--mvpd"], "authorize": ["--mvpd", "--show-token"],
    "logout": ["--mvpd", "--redirect-url"], "completion": [], "version": [],
}
GLOBAL = ["--config", "--base-url", "--environment", "--service-provider", "--software-statement", "--store",
          "--device-id", "--ca-file", "--proxy", "--log-level", "--json", "--help"]


@pytest.fixture
def script(run, tmp_path):
    def make(shell):
        result = run("completion", shell)
        assert result.returncode == 0, result.stderr
        path = tmp_path / f"passauth.{shell}"
        path.write_text(result.stdout)
        return path, result.stdout
    return make


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_script_is_valid_and_complete(script, shell):
    path, text = script(shell)
    for command, options in COMMANDS.items():
        assert command in text
        for option in options:
            assert option.lstrip("-") in text, (command, option)
    for option in GLOBAL:
        assert option.lstrip("-") in text
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed: only the content was checked")
    checked = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_unknown_shell_is_a_usage_error(run):
    assert run("completion", "tcsh").returncode == 2
    assert run("completion").returncode == 2


def bash_complete(path, line):
    words = line.split(" ")
    program = (f"source {path}; COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
               "_passauth; printf '%s\\n' \"${COMPREPLY[@]}\"")
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_bash_completes_commands_options_and_values(script):
    path, _ = script("bash")
    assert bash_complete(path, "passauth lo") == {"login", "logout"}
    assert bash_complete(path, "passauth login --m") == {"--mvpd"}
    assert {"--open", "--timeout", "--proxy", "--json"} <= bash_complete(path, "passauth login --")
    assert "--show-token" not in bash_complete(path, "passauth login --")
    assert bash_complete(path, "passauth --environment st") == {"staging"}
    assert bash_complete(path, "passauth --store /tmp/x authorize --sh") == {"--show-token"}
    assert bash_complete(path, "passauth --log-level d") == {"debug"}
    assert bash_complete(path, "passauth completion z") == {"zsh"}
    assert bash_complete(path, "passauth help st") == {"status"}
    assert bash_complete(path, "passauth login --mvpd ") == set()


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_and_options(script):
    path, _ = script("fish")

    def complete(line):
        result = subprocess.run(["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return {entry.split("\t")[0] for entry in result.stdout.splitlines()}

    assert {"login", "logout"} <= complete("passauth lo")
    assert "--mvpd" in complete("passauth login --m")
    assert "--show-token" not in complete("passauth login --")
    assert "--show-token" in complete("passauth authorize --")
    assert "staging" in complete("passauth --environment ")
