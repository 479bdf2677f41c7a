"""The package installs into a fresh virtualenv, needs no compiler, and finds the library it bundles.

Offline: the wheel is built with this interpreter's setuptools and wheel (``--no-build-isolation``,
``--no-index``; scripts/bootstrap.sh installs them), then installed into a new venv with ``--no-index``.
With network access, ``pip install ./bindings/python`` in a fresh venv does the same through build
isolation. ``make build`` must have copied the library into ``passauth/lib/`` first.
"""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUNDLED = os.path.join(PACKAGE_ROOT, "passauth", "lib", "libpassauth.so.0")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PASSAUTH_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def copy_source(destination, with_library=True):
    """The package's source tree (no caches, optionally no bundled library), so the build leaves no files here."""
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache", "*.egg-info", *([] if with_library else ["lib"]))
    os.makedirs(destination)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(PACKAGE_ROOT, name), destination)
    shutil.copytree(os.path.join(PACKAGE_ROOT, "passauth"), os.path.join(destination, "passauth"), ignore=ignore)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    assert os.path.isfile(BUNDLED), f"{BUNDLED} is missing: run `make build` (it copies the library into the package)"
    base = tmp_path_factory.mktemp("install")
    source, dist, env_dir = base / "src", base / "dist", base / "venv"
    copy_source(str(source))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-index", "--no-deps",
         "--no-build-isolation", "-w", str(dist), str(source)], cwd=str(base), env=clean_env())
    (wheel,) = dist.glob("passauth-*.whl")
    run([sys.executable, "-m", "venv", str(env_dir)], env=clean_env())
    python = str(env_dir / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--no-deps", str(wheel)],
        cwd=str(base), env=clean_env())
    return {"base": base, "python": python, "wheel": wheel}


def test_the_wheel_carries_the_library_and_the_type_marker(venv):
    names = zipfile.ZipFile(venv["wheel"]).namelist()
    assert "passauth/lib/libpassauth.so.0" in names
    assert "passauth/py.typed" in names
    assert "passauth/emulator/__main__.py" in names
    assert not any(name.endswith((".c", ".h", ".swift")) for name in names)


def test_fresh_venv_imports_the_package_and_loads_the_bundled_library(venv):
    script = ("import passauth, passauth._native as n; "
              "print(passauth.version()); print(passauth.__file__); print(n.library()._name)")
    done = run([venv["python"], "-c", script], cwd=str(venv["base"]), env=clean_env())
    version, module_file, loaded = done.stdout.split()
    assert version == "0.2.0"
    site = os.path.join(str(venv["base"]), "venv")
    assert module_file.startswith(site), module_file
    assert loaded.startswith(site) and loaded.endswith("passauth/lib/libpassauth.so.0"), loaded


def test_the_installed_emulator_entry_point_runs(venv):
    done = run([venv["python"], "-m", "passauth.emulator", "--help"], cwd=str(venv["base"]), env=clean_env())
    assert "--port" in done.stdout


def test_missing_library_error_names_all_three_places(tmp_path):
    copy_source(str(tmp_path / "nolib"), with_library=False)
    assert not os.path.exists(tmp_path / "nolib" / "passauth" / "lib")
    missing = str(tmp_path / "nowhere" / "libpassauth.so.0")
    script = ("import passauth\n"
              "try:\n    passauth.version()\n"
              "except passauth._native.LibraryNotFoundError as e:\n    print(e)\n    raise SystemExit(3)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=str(tmp_path),
                          env=clean_env(PYTHONPATH=str(tmp_path / "nolib"), PASSAUTH_LIBRARY=missing))
    assert done.returncode == 3, done.stdout + done.stderr
    message = done.stdout
    assert "PASSAUTH_LIBRARY" in message and missing in message
    assert "the copy inside the package" in message and "not present" in message
    assert "the system loader path" in message
    assert "make install" in message
