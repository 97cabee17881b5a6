"""scripts/system-deps.sh, which `make install` and `make test` run first on a bare Debian 12 machine: as root it
apt-installs what is missing; as anyone else it names, in one line, the command to run, and fails."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system-deps.sh"


def run(tmp_path, what, uid, hide=()):
    """The script on a PATH of the real commands less `hide`, with a fake `id` and a fake `apt-get` that logs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = {name: shutil.which(name) for name in ("bash", "ls", "fc-list", "npm")}
    real["python3"] = str(Path(sys.executable).resolve())  # the interpreter itself, not a shim (pyenv)
    for name, path in real.items():
        if name not in hide and path:
            (bin_dir / name).symlink_to(path)
    log = tmp_path / "apt.log"
    for name, body in (("id", f"echo {uid}"), ("apt-get", f'echo "$*" >> {log}')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    result = subprocess.run([str(SCRIPT), what], env={"PATH": str(bin_dir)}, capture_output=True, text=True)
    return result, (log.read_text().splitlines() if log.exists() else [])


@pytest.mark.skipif(not shutil.which("npm"), reason="needs npm, as make install does")
def test_nothing_missing_nothing_done(tmp_path):
    result, apt = run(tmp_path, "install", uid=1000)
    assert (result.returncode, result.stderr, apt) == (0, "", [])


def test_not_root_names_the_install_command_in_one_line(tmp_path):
    result, apt = run(tmp_path, "install", uid=1000, hide=("npm", "python3"))
    assert result.returncode == 1 and apt == []
    assert result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith("apt-get install -y -q --no-install-recommends python3-venv npm")


def test_root_installs_what_is_missing(tmp_path):
    result, apt = run(tmp_path, "test", uid=0, hide=("npm", "fc-list"))
    assert result.returncode == 0, result.stderr
    assert apt[0] == "update -q"
    assert apt[1].startswith("install -y -q --no-install-recommends npm ")
    assert {"npm", "fonts-wqy-microhei", "fonts-liberation"} <= set(apt[1].split())


def test_make_install_does_not_ask_for_what_only_the_tests_need(tmp_path):
    result, apt = run(tmp_path, "install", uid=0, hide=("fc-list",))
    assert result.returncode == 0 and "fonts-liberation" not in " ".join(apt)


def test_an_unknown_target_is_refused(tmp_path):
    result, apt = run(tmp_path, "everything", uid=0)
    assert result.returncode == 2 and "usage" in result.stderr and apt == []
