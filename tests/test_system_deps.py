"""tools/system-deps.sh, which `make test` runs first: apt-get only when something is missing and the
user may install it; otherwise one line with the command to run.

`id`, `sudo` and `apt-get` are replaced by scripts first on PATH that record how they were called, so
every branch runs for any user and nothing is installed."""
import os
import shutil
import subprocess

import pytest

from e2e import REPO

SCRIPT = REPO / "tools" / "system-deps.sh"
ABSENT = "/nonexistent/wgan-test-tool:wgan-test-package"  # a command no machine has, and its package


def fake_bin(tmp_path, uid, sudo_works):
    """A folder of stand-ins: `id -u` prints uid; sudo succeeds (running its command) or refuses;
    apt-get appends the uid it runs as and its arguments to calls.txt."""
    folder = tmp_path / "bin"
    folder.mkdir()
    calls = tmp_path / "calls.txt"
    scripts = {
        "id": f'#!/bin/sh\necho {uid}\n',
        "sudo": ('#!/bin/sh\n[ "$1" = -n ] && shift\nFAKE_UID=0 exec "$@"\n' if sudo_works
                 else '#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n'),
        "apt-get": f'#!/bin/sh\necho "uid=${{FAKE_UID:-$(id -u)}} $*" >> {calls}\n',
    }
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder, calls


def run(folder, *needs):
    env = {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(SCRIPT), *needs], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("uid, sudo_works", [(0, False), (1000, True), (1000, False)])
def test_nothing_missing_touches_no_apt(tmp_path, uid, sudo_works):
    folder, calls = fake_bin(tmp_path, uid, sudo_works)
    result = run(folder, "sh:dash", f"{os.path.realpath('/bin/sh')}:dash")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not calls.exists()


@pytest.mark.parametrize("uid, sudo_works", [(0, False), (1000, True)])
def test_a_user_who_may_install_gets_the_missing_package_from_apt(tmp_path, uid, sudo_works):
    folder, calls = fake_bin(tmp_path, uid, sudo_works)
    result = run(folder, "sh:dash", ABSENT)
    # apt-get ran, as root, for the missing package only; the stand-in installs nothing, so the
    # check after the install fails and says so
    assert calls.read_text().splitlines() == ["uid=0 update -qq", "uid=0 install -y -qq wgan-test-package"]
    assert "installing wgan-test-package with apt-get" in result.stdout
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "system-deps.sh: apt-get installed wgan-test-package but /nonexistent/wgan-test-tool is still not found"]


def test_a_user_who_may_not_install_gets_one_line_and_no_apt(tmp_path):
    folder, calls = fake_bin(tmp_path, 1000, sudo_works=False)
    result = run(folder, ABSENT, "sh:dash", "/nonexistent/other:other-package")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "The tests need the Debian package(s) wgan-test-package other-package, not installed; "
        "install them with: sudo apt-get install -y wgan-test-package other-package"]
    assert not calls.exists()


def test_make_test_stops_before_pytest_when_it_may_not_install(tmp_path):
    """The Makefile's test target runs the script first and stops on its refusal: no test runs."""
    folder, calls = fake_bin(tmp_path, 1000, sudo_works=False)
    # The project's own list, with g++ and ninja hidden: PATH holds only what make needs.
    for tool in ("bash", "sh", "make"):
        (folder / tool).symlink_to(shutil.which(tool))
    env = {**os.environ, "PATH": str(folder)}
    result = subprocess.run(["make", "-C", str(REPO), "test", "PYTEST_ARGS=--collect-only"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert "install them with: sudo apt-get install -y" in result.stderr
    assert "g++" in result.stderr and "ninja-build" in result.stderr
    assert "pytest" not in result.stdout + result.stderr
    assert not calls.exists()


def test_bad_argument_is_one_line():
    result = subprocess.run(["bash", str(SCRIPT), "ninja"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["system-deps.sh: 'ninja' is not COMMAND:PACKAGE (e.g. ninja:ninja-build)"]
