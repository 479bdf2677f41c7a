"""Every snippet of the documentation is compiled or run (README.md, docs/*.md, bindings/python/README.md),
and every relative link of those pages (and CHANGELOG.md) leads to a file and, with #anchor, a heading.

- ```c blocks compile with -Wall -Wextra -Werror against Include/passauth.h: a block with main() is a
  program (compiled and linked against build/lib); a block marked <!-- file --> is a translation unit
  (compiled); any other block is a fragment, wrapped in a function whose parameters are the
  declarations of its <!-- fragment: ... --> marker (its #include lines go to the top).
- ```cpp blocks the same way with the C++17 wrapper bindings/cpp/passauth.hpp.
- ```sh blocks pass `bash -n`; those marked <!-- run --> run in a scratch directory that links the
  repository's top-level entries (build/, examples/, Include/ ...), with build/bin and the venv on PATH,
  against an emulator of this test (auto-login after 1 s): "http://127.0.0.1:8642" in a block names the
  emulator of `make emulator`, and is replaced by this one's URL. When the document has a C program,
  it is the block's app.c.
- ```json blocks parse; those marked <!-- config --> are configurations passauth_client_new accepts,
  <!-- device --> device contexts it accepts.
- ```mermaid blocks are sequence diagrams whose every line is a participant, a message, a note or a
  balanced block (alt/else/opt/loop/par/and/rect/critical ... end).
- ```python blocks are bindings/python/tests/test_readme.py's (mypy --strict); the test here checks that
  it reads every document that has one.
"""

import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import markdown  # noqa: E402

ROOT = markdown.ROOT
LIBDIR = os.path.join(ROOT, "build", "lib")
CC = os.environ.get("CC", "cc")
CXX = os.environ.get("CXX", "c++")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "Include")]
CXXFLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2", "-I", os.path.join(ROOT, "Include"),
            "-I", os.path.join(ROOT, "bindings", "cpp")]
LINK = ["-L", LIBDIR, f"-Wl,-rpath,{LIBDIR}", "-lpassauth"]
C_PRELUDE = ["passauth.h", "stdio.h", "stdlib.h", "string.h"]
CPP_PRELUDE = ["passauth.hpp", "iostream", "optional", "string", "vector"]
MAIN = re.compile(r"^\s*int\s+main\s*\(", re.M)


def ids(blocks):
    return [b.where for b in blocks]


def parameters(argument):
    """'passauth_client *client; const char *code' -> ('passauth_client *client, const char *code', ['client', 'code'])."""
    declarations = [d.strip() for d in (argument or "").split(";") if d.strip()]
    names = [(re.search(r"\(\s*[*&]\s*(\w+)\s*\)", d) or re.search(r"(\w+)\s*(?:\[[^]]*\])?\s*$", d)).group(1)
             for d in declarations]  # void (*play)(const char *) -> play; char *names[] -> names
    return ", ".join(declarations) or "void", names


def source_of(block, prelude):
    """The translation unit a block is compiled as, with #line directives pointing at the document."""
    if block.marker == "file" or MAIN.search(block.code):
        return f'#line {block.line} "{block.document}"\n{block.code}', bool(MAIN.search(block.code))
    includes, body = [], []
    for number, line in enumerate(block.code.split("\n")):
        (includes if line.lstrip().startswith("#include") else body).append((number, line))
    params, names = parameters(block.argument)
    unit = [f"#include <{h}>" for h in prelude] + [line for _, line in includes]
    unit.append(f"int snippet({params});")
    unit.append(f"int snippet({params}) {{")
    unit += [f"    (void){name};" for name in names]
    for number, line in body:
        unit.append(f'#line {block.line + number} "{block.document}"')
        unit.append(line)
    unit.append("    return 0;\n}")
    return "\n".join(unit) + "\n", False


def compile_block(block, tmp_path, compiler, flags, prelude, suffix):
    source, program = source_of(block, prelude)
    path = tmp_path / f"snippet{suffix}"
    path.write_text(source)
    command = [compiler, *flags, str(path), "-o", str(tmp_path / "snippet.out")]
    command += LINK if program else ["-c"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert run.returncode == 0, f"{block.where} does not compile:\n{run.stderr}\n--- as compiled:\n{source}"


C_BLOCKS = markdown.of("c")
CPP_BLOCKS = markdown.of("cpp") + markdown.of("c++")
SH_BLOCKS = [b for b in markdown.blocks() if b.language in ("sh", "bash", "shell")]
JSON_BLOCKS = markdown.of("json")
MERMAID_BLOCKS = markdown.of("mermaid")


@pytest.mark.parametrize("block", C_BLOCKS, ids=ids(C_BLOCKS))
def test_c_block_compiles(block, tmp_path):
    compile_block(block, tmp_path, CC, CFLAGS, C_PRELUDE, ".c")


@pytest.mark.parametrize("block", CPP_BLOCKS, ids=ids(CPP_BLOCKS))
def test_cpp_block_compiles(block, tmp_path):
    compile_block(block, tmp_path, CXX, CXXFLAGS, CPP_PRELUDE, ".cpp")


def test_the_pages_have_snippets_of_each_kind():
    """The guides show C and Python (and the README a C program), so a page losing its snippets is seen."""
    pages = {b.document for b in C_BLOCKS}
    for page in ("README.md", "docs/journey.md", "docs/server-to-server.md", "docs/configuration.md"):
        assert page in pages, f"{page} has no ```c block"
    assert any(MAIN.search(b.code) for b in C_BLOCKS if b.document == "README.md"), "README.md: no C program"
    assert MERMAID_BLOCKS and all(b.document == "docs/journey.md" for b in MERMAID_BLOCKS[:1])


def test_fragment_markers_are_only_used_on_code():
    for block in markdown.blocks():
        if block.marker in ("fragment", "file"):
            assert block.language in ("c", "cpp", "c++"), f"{block.where}: <!-- {block.marker} --> on a {block.language} block"
        if block.marker == "run":
            assert block.language in ("sh", "bash", "shell"), f"{block.where}: <!-- run --> on a {block.language} block"
        if block.marker in ("config", "device"):
            assert block.language == "json", f"{block.where}: <!-- {block.marker} --> on a {block.language} block"


# --- shell ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block", SH_BLOCKS, ids=ids(SH_BLOCKS))
def test_sh_block_is_valid_shell(block):
    run = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, f"{block.where}: bash -n: {run.stderr}"


RUN_BLOCKS = [b for b in SH_BLOCKS if b.marker == "run"]


@pytest.fixture(scope="module")
def emulator():
    sys.path.insert(0, os.path.join(ROOT, "emulator"))
    from passauth_emulator import Emulator
    with Emulator(auto_login=1) as emu:
        yield emu


def scratch_directory(tmp_path, document):
    for entry in os.listdir(ROOT):
        if not entry.startswith("."):
            os.symlink(os.path.join(ROOT, entry), tmp_path / entry)
    program = next((b for b in C_BLOCKS if b.document == document and MAIN.search(b.code)), None)
    if program is not None:
        (tmp_path / "app.c").write_text(program.code)


def test_some_shell_blocks_run():
    assert {b.document for b in RUN_BLOCKS} >= {"README.md", "docs/server-to-server.md"}


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=ids(RUN_BLOCKS))
def test_run_block_runs(block, tmp_path, emulator):
    work = tmp_path / "work"
    work.mkdir()
    scratch_directory(work, block.document)
    emulator.control("reset", {})
    env = dict(os.environ, PATH=os.pathsep.join([os.path.join(ROOT, "build", "bin"), os.path.dirname(sys.executable),
                                                  os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "bindings", "python"), os.path.join(ROOT, "emulator")]),
               PASSAUTH_LIBRARY=os.path.join(LIBDIR, "libpassauth.so.0"), TMPDIR=str(tmp_path))
    script = "set -euo pipefail\n" + block.code.replace("http://127.0.0.1:8642", emulator.base_url)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=str(work), env=env, timeout=300)
    assert run.returncode == 0, f"{block.where} failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"


# --- JSON ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block", JSON_BLOCKS, ids=ids(JSON_BLOCKS))
def test_json_block(block, tmp_path):
    try:
        document = json.loads(block.code)
    except ValueError as error:
        pytest.fail(f"{block.where}: not JSON: {error}")
    if block.marker not in ("config", "device"):
        return
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("PASSAUTH_LIBRARY", os.path.join(LIBDIR, "libpassauth.so.0"))
    import passauth
    if block.marker == "device":
        document = {"serviceProvider": "REF30", "softwareStatement": "eyJ...", "store": str(tmp_path), "device": document}
    try:
        passauth.Client(json.dumps(document)).close()
    except passauth.InvalidArgumentError as error:
        if error.key == "store" and "not available" in error.message:
            # The rest of the configuration must still be right: checked with a directory store.
            passauth.Client(json.dumps(dict(document, store=str(tmp_path)))).close()
            pytest.skip(f"{block.where}: checked with a directory store; this core has no Redis store yet ({error.message})")
        pytest.fail(f"{block.where}: passauth_client_new refused it: {error.message} (key {error.key})")


def test_config_examples_cover_every_key():
    """docs/configuration.md's examples use every configuration key at least once between them."""
    header = open(os.path.join(ROOT, "Include", "passauth.h"), encoding="utf-8").read()
    section = header[header.index("passauth_client_new — creates a client"):header.index("Devices.  `device_json`")]
    keys = set(re.findall(r'^ \*   "(\w+)"', section, re.M))
    assert len(keys) >= 25, keys
    page = open(os.path.join(ROOT, "docs", "configuration.md"), encoding="utf-8").read()
    for key in keys:
        assert f"`{key}`" in page, f"docs/configuration.md does not describe config key {key}"


# --- Mermaid ------------------------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r"^(sequenceDiagram|autonumber|(participant|actor)\s+\w+(\s+as\s+.+)?"
    r"|\w+\s*(--?>>|--?>|--?x|--?\))\s*[+-]?\w+\s*:.*"
    r"|note\s+(left of|right of|over)\s+\w+(\s*,\s*\w+)?\s*:.*"
    r"|(activate|deactivate)\s+\w+|end)$", re.I)
MERMAID_OPEN = re.compile(r"^(alt|opt|loop|par|rect|critical|break)\b.*", re.I)
MERMAID_MIDDLE = re.compile(r"^(else|and|option)\b.*", re.I)


@pytest.mark.parametrize("block", MERMAID_BLOCKS, ids=ids(MERMAID_BLOCKS))
def test_mermaid_block_is_a_sequence_diagram(block):
    lines = [line.strip() for line in block.code.split("\n") if line.strip() and not line.strip().startswith("%%")]
    assert lines and lines[0] == "sequenceDiagram", f"{block.where}: not a sequenceDiagram"
    participants = set()
    depth = 0
    for number, line in enumerate(lines):
        where = f"{block.where} (+{number})"
        declared = re.match(r"^(participant|actor)\s+(\w+)", line)
        if declared:
            participants.add(declared.group(2))
        if MERMAID_OPEN.match(line):
            depth += 1
        elif MERMAID_MIDDLE.match(line):
            assert depth > 0, f"{where}: '{line}' outside a block"
        elif line.lower() == "end":
            depth -= 1
            assert depth >= 0, f"{where}: unbalanced end"
        else:
            assert MERMAID_LINE.match(line), f"{where}: not a sequence diagram line: {line}"
            message = re.match(r"^(\w+)\s*(?:--?>>|--?>|--?x|--?\))\s*[+-]?(\w+)\s*:", line)
            if message:
                for name in message.groups():
                    assert name in participants, f"{where}: undeclared participant {name}"
    assert depth == 0, f"{block.where}: a block is not closed with end"


# --- Python -------------------------------------------------------------------------------------------

def test_python_blocks_are_type_checked_by_test_readme():
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python", "tests"))
    import test_readme
    checked = {os.path.relpath(d, ROOT) for d in test_readme.DOCUMENTS}
    with_python = {b.document for b in markdown.of("python")}
    assert with_python <= checked, f"python blocks test_readme.py does not type-check: {with_python - checked}"
    for page in ("docs/journey.md", "docs/server-to-server.md", "docs/configuration.md"):
        assert page in with_python, f"{page} has no ```python block"


# --- Links ---------------------------------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group(0) == "_" else "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.M)}


@pytest.mark.parametrize("document", [os.path.relpath(d, ROOT) for d in markdown.DOCUMENTS] + ["CHANGELOG.md"])
def test_relative_links_resolve(document):
    path = os.path.join(ROOT, document)
    text = re.sub(r"^```.*?^```", "", open(path, encoding="utf-8").read(), flags=re.S | re.M)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        if not os.path.exists(resolved):
            broken.append(f"{target}: no such file")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{document}: " + "; ".join(broken)
