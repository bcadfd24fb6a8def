"""Tests of wgan_lib.interactive: the clip explorer widget and the kernel-free animation.

The runs are tiny (800 data points, 2 epochs, 8-unit networks, 100 evaluation samples, an 11 x 11
critic grid) and differ only in clip; they are trained once per module, stored with
`store.save_run` and loaded back, exactly as the book's chapter reads its runs.
"""
import pytest
import torch

from wgan_lib import interactive
from wgan_lib.config import Config
from wgan_lib.store import load_run, save_run
from wgan_lib.train import StackTrainer

CLIPS = (0.01, 0.1, 1.0, None)
TINY = dict(samples_per_center=32, batch_size=32, epochs=2, n_eval_samples=100, plot_resolution=11,
            g_width=8, d_width=8, lr=1e-3)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        configs = [Config(case=f"tiny-clip-{interactive.clip_label(c)}", clip=c, **TINY) for c in CLIPS]
        logs = StackTrainer(configs).train()
    finally:
        torch.set_num_threads(threads)
    out = tmp_path_factory.mktemp("results")
    # Stored in a shuffled order: the explorer must sort them itself.
    return [load_run(save_run(log, out, {})) for log in reversed(logs)]


def test_sort_and_labels(tiny_runs):
    ordered = interactive.sort_by_clip(tiny_runs)
    assert [r.config.clip for r in ordered] == [0.01, 0.1, 1.0, None]
    assert [interactive.clip_label(r.config.clip) for r in ordered] == ["0.01", "0.1", "1", "none"]


def test_slider_lists_clips_log_ordered_with_none_last_and_starts_at_success(tiny_runs):
    explorer = interactive.clip_explorer(tiny_runs, progress=False)
    assert list(explorer.slider.options) == ["0.01", "0.1", "1", "none"]
    assert explorer.slider.value == "0.1"
    assert explorer.current == 0.1
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_moving_the_slider_redraws_the_chosen_run(tiny_runs):
    explorer = interactive.clip_explorer(tiny_runs, progress=False)
    images = {explorer.current_label: explorer.image.value}
    for label, clip in (("0.01", 0.01), ("none", None), ("1", 1.0)):
        explorer.slider.value = label  # what a user's drag does
        assert explorer.current == clip
        assert explorer.current_run.config.clip == clip
        assert explorer.current_label == label
        assert interactive.clip_label(clip) in explorer.caption.value
        images[label] = explorer.image.value
    assert len({bytes(v) for v in images.values()}) == 4  # every clip gives its own picture


def test_show_accepts_numbers_labels_and_none(tiny_runs):
    explorer = interactive.clip_explorer(tiny_runs, progress=False)
    explorer.show(0.01)
    assert explorer.slider.value == "0.01" and explorer.current == 0.01
    explorer.show(None)
    assert explorer.slider.value == "none" and explorer.current is None
    explorer.show("1")
    assert explorer.current == 1.0
    explorer.show(1.0)  # same value again: still drawn, no error
    assert explorer.current == 1.0
    with pytest.raises(ValueError, match="no stored run for clip 0.3"):
        explorer.show(0.3)
    with pytest.raises(ValueError):
        explorer.show(-1.0)


def test_train_live_uses_the_slider_clip_and_shows_its_result(tiny_runs):
    explorer = interactive.clip_explorer(tiny_runs, progress=False)
    assert explorer.last_live_run is None and explorer.live_image.value == b""
    assert explorer.live_image.layout.display == "none"  # hidden while empty
    explorer.slider.value = "0.01"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        log = explorer.train_live(epochs=1)
        assert explorer.last_live_run is log
        assert log.config.clip == 0.01 and log.config.epochs == 1 and log.status == "completed"
        # Everything else is the stored runs' settings (the success settings in the book).
        assert log.config.replace(clip=0.1, epochs=2, case="x") == tiny_runs[0].config.replace(
            clip=0.1, epochs=2, case="x")
        assert explorer.live_image.value[:8] == b"\x89PNG\r\n\x1a\n"
        assert explorer.live_image.layout.display is None
        assert "live run, clip 0.01" in explorer.live_caption.value
        # 'none' trains without clipping.
        explorer.slider.value = "none"
        log = explorer.train_live(epochs=1)
        assert log.config.clip is None
        assert not explorer.train_button.disabled
    finally:
        torch.set_num_threads(threads)


def test_animation_has_one_labelled_frame_per_clip(tiny_runs):
    anim = interactive.clip_animation(tiny_runs, figsize=(3, 1.6), dpi=30)
    assert anim.clip_labels == ["0.01", "0.1", "1", "none"]
    html = anim.to_jshtml()
    assert html.count("data:image/png;base64") == 4
    html = interactive.clip_animation_html(tiny_runs[:2], figsize=(3, 1.6), dpi=30)
    assert html.count("data:image/png;base64") == 2
    assert "<input" in html  # the JavaScript slider
    assert "http://" not in html and "https://" not in html  # nothing from another host (no Font Awesome)
    assert 'class="fa' not in html


def test_frame_title_reports_metrics(tiny_runs):
    run = interactive.sort_by_clip(tiny_runs)[0]
    title = interactive.frame_title(run)
    assert title.startswith("clip 0.01, epoch 2: ")
    modes = run.final_metrics["modes"]
    assert f"{modes} mode{'' if modes == 1 else 's'}," in title
    assert f"W1 {run.final_metrics['w1']:.2f}" in title
