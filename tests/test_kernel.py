"""The chapters in a real kernel (nbclient): the clip explorer driven as JupyterLab drives it, and a
chapter whose stored run is missing."""
import ast

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from e2e import BOOK


def _client(name):
    nb = jupytext.read(BOOK / f"{name}.md")
    return nb, NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}})


def _run(nb, client, code):
    """Execute `code` as a new cell in the running kernel; return what it printed."""
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def _send_comm(client, model_id, data):
    """What JupyterLab sends when the user moves a widget: a comm_msg to the widget's model."""
    msg = client.kc.session.msg("comm_msg", {"comm_id": model_id, "data": data})
    client.kc.shell_channel.send(msg)


@pytest.fixture(scope="module")
def explorer_kernel():
    nb, client = _client("clip_slider")
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        yield nb, client


def _state(nb, client):
    return ast.literal_eval(_run(nb, client, (
        "import hashlib\n"
        "print(repr({'clip': explorer.slider.value, 'current': explorer.current, 'run': explorer.current_run.name,"
        " 'image': hashlib.sha256(explorer.image.value).hexdigest(), 'caption': explorer.caption.value}))")))


def test_chapter_executes_and_shows_the_explorer(explorer_kernel):
    nb, client = explorer_kernel
    widget_outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_outputs) == 1
    state = _state(nb, client)
    assert state["clip"] == "0.1" and state["current"] == 0.1


def test_moving_the_slider_shows_the_stored_frame_for_that_clip(explorer_kernel):
    nb, client = explorer_kernel
    before = _state(nb, client)
    model_id = _run(nb, client, "print(explorer.slider.model_id)").strip()
    index = ast.literal_eval(_run(nb, client, "print(repr(explorer.labels.index('0.01')))"))
    _send_comm(client, model_id, {"method": "update", "state": {"index": index}, "buffer_paths": []})
    after = _state(nb, client)
    assert after["clip"] == "0.01" and after["current"] == 0.01
    assert after["run"] == "clip-0.01-seed0" and "clip-0.01-seed0" in after["caption"]
    assert after["image"] != before["image"]
    # The frame shown is the stored run's last snapshot for clip 0.01, drawn afresh from its folder.
    expected = _run(nb, client, (
        "from wgan_lib.interactive import render_png\nfrom wgan_lib.store import load_run\n"
        "from wgan_lib.runsets import results_dir\n"
        "print(hashlib.sha256(render_png(load_run(results_dir() / 'studies' / 'clip-0.01-seed0'))).hexdigest())")).strip()
    assert after["image"] == expected


def test_the_train_button_trains_a_live_run_with_the_slider_clip(explorer_kernel):
    nb, client = explorer_kernel
    model_id = _run(nb, client, "explorer.show(0.03)\nprint(explorer.epochs.model_id, explorer.train_button.model_id)")
    epochs_id, button_id = model_id.split()
    _send_comm(client, epochs_id, {"method": "update", "state": {"value": 1}, "buffer_paths": []})
    _send_comm(client, button_id, {"method": "custom", "content": {"event": "click"}})
    live = ast.literal_eval(_run(nb, client, (
        "log = explorer.last_live_run\n"
        "print(repr({'clip': log.config.clip, 'epochs': log.config.epochs, 'status': log.status,"
        " 'snapshots': log.snapshot_epochs, 'png': bytes(explorer.live_image.value[:8]),"
        " 'display': explorer.live_image.layout.display, 'caption': explorer.live_caption.value}))")))
    assert live["clip"] == 0.03 and live["epochs"] == 1 and live["status"] == "completed"
    assert live["snapshots"] == [0]
    assert live["png"] == b"\x89PNG\r\n\x1a\n" and live["display"] is None
    assert "live run, clip 0.03" in live["caption"]


def test_a_chapter_trains_a_missing_stored_run(tmp_path, monkeypatch):
    """An empty results folder: the chapter trains its runs' stack (1 epoch here) and draws them."""
    monkeypatch.setenv("WGAN_RESULTS", str(tmp_path))
    monkeypatch.setenv("WGAN_BOOK_EPOCHS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb, client = _client("critic")
    client.execute()
    stored = sorted(p.parent.name.rsplit("-seed", 1)[0] for p in tmp_path.glob("critic-1ep/*-seed0*/run.json"))
    assert stored == ["failure-2", "success", "wgan-gp"]
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                      if o["output_type"] == "stream")
    assert "critic: 3 run(s) not stored for the current code" in printed and "for 1 epochs" in printed
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images
