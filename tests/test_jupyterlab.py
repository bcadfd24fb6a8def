"""The chapters as a JupyterLab user gets them: `make lab` (a real Jupyter server on 127.0.0.1, with a
token), read through its contents API and opened in headless Chromium."""
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from playwright.sync_api import expect

from e2e import REPO, chapters, chromium

TOKEN = "wgan-lib-test-token"
START_TIMEOUT_S = 180  # make checks the environment, then JupyterLab starts; the machine may be busy


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url, token=TOKEN, method="GET"):
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        return response.status, json.loads(body) if body else None


def _get(url, token=TOKEN):
    return _request(url, token)


def _make_env():
    """The environment without the variables of an enclosing `make test`, which a nested make would
    take over (command-line variables travel in MAKEFLAGS)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started exactly as a reader starts it, `make lab`, with a port, a token and no browser."""
    port = _free_port()
    log = tmp_path_factory.mktemp("lab") / "server.log"
    lab_args = f"--no-browser --ip 127.0.0.1 --port {port} --IdentityProvider.token={TOKEN}"
    # A session of its own, so that the teardown can signal make and the server it starts together.
    process = subprocess.Popen(["make", "-C", str(REPO), "lab", f"LAB_ARGS={lab_args}"], env=_make_env(),
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    # JupyterLab writes a checkpoint when a page opens a file: the repository gets none from a test.
    checkpoints = REPO / "book" / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                _get(f"{url}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"make lab did not start JupyterLab:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        _stop(process, url)
        if not had_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)


def _stop(process, url):
    """Ask the server to shut down (it stops its kernels, which run in sessions of their own, and
    exits; then make exits); signal the whole group when that does not happen in time."""
    try:
        _request(f"{url}/api/shutdown", method="POST")
        process.wait(timeout=60)
    except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
        _signal_group(process.pid, signal.SIGTERM)
        _stop_group(process.pid)
        process.wait(timeout=10)


def _signal_group(pgid, sig):
    """Send sig to the process group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def _stop_group(pgid, timeout=30):
    """Wait for every process of the group to exit after SIGTERM; SIGKILL what is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _signal_group(pgid, 0):
            return
        time.sleep(0.2)
    _signal_group(pgid, signal.SIGKILL)


@pytest.mark.parametrize("name", chapters())
def test_chapter_is_served_as_a_notebook(lab, name):
    status, model = _get(f"{lab}/api/contents/book/{name}.md?content=1")
    assert status == 200
    assert model["type"] == "notebook", f"book/{name}.md is served as {model['type']}"
    cells = model["content"]["cells"]
    assert any(c["cell_type"] == "code" for c in cells) and any(c["cell_type"] == "markdown" for c in cells)
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"


def test_the_server_wants_the_token(lab):
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(f"{lab}/api/contents/book/intro.md", token=None)
    assert refused.value.code == 403
    refused.value.close()  # the error holds the open response; unclosed, its socket warns at a later gc


def test_markdown_opens_in_the_jupytext_notebook_viewer_by_default(lab):
    """The shipped share/jupyter/lab/settings/overrides.json, installed by `make env`, is in effect."""
    status, plugin = _get(f"{lab}/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    default_viewers = plugin["schema"]["properties"]["defaultViewers"]["default"]
    assert default_viewers.get("markdown") == "Jupytext Notebook"
    assert default_viewers.get("myst") == "Jupytext Notebook"
    shipped = json.loads((REPO / "share/jupyter/lab/settings/overrides.json").read_text())
    assert shipped["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"] == default_viewers
    # and the viewer exists: the jupytext lab extension is installed in this environment
    assert (Path(sys.prefix) / "share/jupyter/labextensions/jupyterlab-jupytext").is_dir()


def test_a_chapter_opens_as_a_notebook_in_the_browser(lab):
    """book/intro.md in JupyterLab's page, in headless Chromium: the Jupytext notebook viewer shows its
    code cells (the plain Markdown editor would show one text area and no cell)."""
    _, model = _get(f"{lab}/api/contents/book/intro.md?content=1")
    first_code = next(c["source"] for c in model["content"]["cells"] if c["cell_type"] == "code")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{lab}/lab/tree/book/intro.md?token={TOKEN}", timeout=120_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell .cm-content", timeout=120_000)
            assert page.locator(".jp-NotebookPanel").count() == 1
            assert page.locator(".jp-FileEditor").count() == 0
            # the editor fills in after the cell appears: expect() retries until it holds
            expect(page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content").first).to_contain_text(
                first_code.splitlines()[0], timeout=60_000)
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
            assert tab.inner_text() == "intro.md"
        finally:
            page.close()


@pytest.mark.parametrize("uid, allow_root", [(0, True), (1000, False)])
def test_make_lab_allows_root_only_for_root(tmp_path, uid, allow_root):
    """JupyterLab refuses to run as root without --allow-root; a normal user gets the plain command.
    A stand-in `id` first on PATH plays the user."""
    (tmp_path / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (tmp_path / "id").chmod(0o755)
    env = {**_make_env(), "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(REPO), "lab", "LAB_ARGS=--port 8899"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    command = shlex.split(result.stdout.strip().splitlines()[-1])
    assert command == [".venv/bin/jupyter", "lab", f"--ServerApp.root_dir={REPO}",
                       *(["--allow-root"] if allow_root else []), "--port", "8899", "book/intro.md"]
