"""An installed Crux does not need its source tree: `pip install .` (not -e) into a fresh
virtualenv, the source deleted, then `crux demo` in another folder finds its migrations and
examples as package data."""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT, new_database

SOURCES = ("pyproject.toml", "README.md", "crux", "schema_sql", "examples")


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "crux").rglob("__init__.py")}
    mapped = config["package-dir"]
    assert set(config["packages"]) == found | set(mapped), "list every package of crux/ in pyproject.toml"
    for package, folder in mapped.items():
        assert (ROOT / folder / "__init__.py").is_file(), (package, folder)


@pytest.fixture
def fresh_database(server_url):
    """A database of its own: the demo creates realm `demo` in it."""
    with new_database(server_url, "crux_pkg") as url:
        yield url


def _venv(path) -> str:
    """A virtualenv that sees this one's packages (the dependencies) but not its Crux: a .pth
    line puts this venv's site-packages on the path without running the .pth files there (the
    editable install's import hook among them)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = str(path / "bin" / "python")
    target = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(target, "_crux_test_dependencies.pth"), "w") as f:
        f.write("\n".join(site.getsitepackages()) + "\n")
    return python


def test_an_installed_crux_runs_the_demo_in_any_folder(tmp_path, fresh_database):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    python = _venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRUX_", "PYTHON"))}
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", str(source)],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    shutil.rmtree(source)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env.update(CRUX_DATABASE_URL=fresh_database, CRUX_DATA_DIR=str(tmp_path / "data"))
    where = subprocess.run([python, "-c", "import crux, crux.schema_sql; print(crux.__file__)"],
                           check=True, env=env, cwd=elsewhere, capture_output=True, text=True).stdout
    assert where.startswith(str(tmp_path / "venv")), where
    crux = str(tmp_path / "venv" / "bin" / "crux")
    demo = subprocess.run([crux, "demo", "--no-serve"], env=env, cwd=elsewhere, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo realm 'demo' is ready" in demo.stdout and "(10 loaded now)" in demo.stdout
    assert "Problems" not in demo.stdout, demo.stdout
    upgrade = subprocess.run([crux, "db", "upgrade"], env=env, cwd=elsewhere, capture_output=True, text=True)
    assert upgrade.returncode == 0 and upgrade.stdout.strip() == "up to date", upgrade.stdout + upgrade.stderr
