"""The chapters as a JupyterLab user gets them: a real Jupyter server on 127.0.0.1 with a token."""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from e2e import REPO, VENV_BIN, chapters

TOKEN = "wgan-lib-test-token"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token=TOKEN):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("lab") / "server.log"
    # --allow-root: CI containers run as root.
    process = subprocess.Popen(
        [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", str(port),
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={REPO}"],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                _get(f"{url}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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
