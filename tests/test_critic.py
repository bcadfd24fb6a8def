"""Tests of wgan_lib.critic: D's weights recorded at every snapshot, verified on loading, and the
two measurements of the chapter (weights at +-c, gradient norm over the plane)."""
import json

import numpy as np
import pytest
import torch

from wgan_lib import critic
from wgan_lib.critic import WEIGHTS_JSON, WEIGHTS_NPZ, load_critic, train_critic_study
from wgan_lib.models import stacked_forward
from wgan_lib.store import RunFileError

SMALL = dict(samples_per_center=32, batch_size=64, g_width=8, d_width=8, epochs=3, snapshot_every=1,
             n_eval_samples=100, plot_resolution=9)


@pytest.fixture(scope="module")
def study(tmp_path_factory, monkeypatch_module):
    out = tmp_path_factory.mktemp("critic")
    original = critic.critic_configs
    monkeypatch_module.setattr(critic, "critic_configs", lambda **changes: original(**{**SMALL, **changes}))
    folders = train_critic_study(out, progress=False)
    return out, folders, load_critic(out)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_weights_are_recorded_at_every_snapshot(study):
    out, folders, runs = study
    assert [r.name for r in runs] == list(critic.CRITIC_CASES)
    for run, folder in zip(runs, folders):
        assert sorted(p.name for p in folder.iterdir()) == sorted(["run.json", "snapshots.npz", WEIGHTS_NPZ, WEIGHTS_JSON])
        assert run.snapshot_epochs.tolist() == [0, 1, 2]
        assert run.flat.shape == (3, 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1)
        assert not np.array_equal(run.flat[0], run.flat[-1])  # D moved between snapshots


def test_recorded_weights_reproduce_the_stored_critic_on_the_grid(study):
    """The weights at snapshot k give exactly the D map that the run stored at snapshot k."""
    _, _, runs = study
    for run in runs:
        for k in range(len(run.snapshot_epochs)):
            params = [torch.from_numpy(p)[None] if p.ndim == 2 else torch.from_numpy(p)[None, None]
                      for p in run.layers(k)]
            axis = np.linspace(-run.config.plot_extent, run.config.plot_extent, run.config.plot_resolution)
            xs, ys = np.meshgrid(axis, axis, indexing="xy")
            grid = torch.tensor(np.stack([xs.ravel(), ys.ravel()], 1), dtype=torch.float32)
            d = stacked_forward(params, grid[None], run.config.activation)[0, :, 0].numpy()
            np.testing.assert_allclose(d.reshape(run.run.d_grid[k].shape), run.run.d_grid[k], rtol=1e-5, atol=1e-6)


def test_clipped_weights_stay_inside_the_clip_and_some_sit_on_it(study):
    _, _, runs = study
    for run in runs:
        if run.config.clip is None:
            assert np.isnan(run.fraction_at_clip(-1))
            continue
        assert np.abs(run.flat).max() <= run.config.clip * (1 + 1e-6)
        fraction = run.fraction_at_clip(-1)
        assert 0 < fraction <= 1
        assert fraction == pytest.approx(np.mean(np.abs(run.flat[-1]) >= run.config.clip * (1 - 1e-3)))


def test_gradient_norm_matches_finite_differences(study):
    _, _, runs = study
    run = runs[0]
    axis, norms = run.gradient_norm(-1, extent=2.0, resolution=5)
    params = [torch.from_numpy(p).double()[None] if p.ndim == 2 else torch.from_numpy(p).double()[None, None]
              for p in run.layers(-1)]

    def d(x, y):
        return stacked_forward(params, torch.tensor([[[x, y]]], dtype=torch.float64), run.config.activation).item()

    h = 1e-5
    for i, y in enumerate(axis):
        for j, x in enumerate(axis):
            gx = (d(x + h, y) - d(x - h, y)) / (2 * h)
            gy = (d(x, y + h) - d(x, y - h)) / (2 * h)
            assert norms[i, j] == pytest.approx(np.hypot(gx, gy), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("damage", ["alter", "remove", "bad json"])
def test_damaged_weights_are_a_clear_error(study, tmp_path, damage):
    import shutil

    out, folders, _ = study
    copy = tmp_path / "results"
    shutil.copytree(out, copy)
    folder = copy / "critic" / folders[1].name
    if damage == "alter":
        data = bytearray((folder / WEIGHTS_NPZ).read_bytes())
        data[-10] ^= 0xFF
        (folder / WEIGHTS_NPZ).write_bytes(bytes(data))
        match = "checksum does not match"
    elif damage == "remove":
        (folder / WEIGHTS_NPZ).unlink()
        match = "missing d_weights.npz"
    else:
        (folder / WEIGHTS_JSON).write_text(json.dumps({"nothing": 1}))
        match = "not a weights record"
    with pytest.raises(RunFileError, match=match):
        load_critic(copy)


def test_sweep_critic_trains_only_what_is_not_current(tmp_path, monkeypatch, capsys):
    """`python -m wgan_lib sweep critic --check` reports; `sweep critic` trains once, then finds it current."""
    from wgan_lib.cli import main

    original = critic.critic_configs
    monkeypatch.setattr(critic, "critic_configs", lambda **changes: original(**{**SMALL, **changes}))
    assert main(["sweep", "critic", "--check", "--results", str(tmp_path)]) == 1
    assert "critic study: not stored or damaged" in capsys.readouterr().out
    assert main(["sweep", "critic", "--quiet", "--device", "cpu", "--results", str(tmp_path)]) == 0
    assert "training it" in capsys.readouterr().out
    assert main(["sweep", "critic", "--check", "--results", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "critic study: ok"
    assert len(load_critic(tmp_path)) == 3


def test_critic_figures_and_table_show_every_run(study):
    import matplotlib

    matplotlib.use("Agg")
    from wgan_lib import study_plots

    _, _, runs = study
    fig = study_plots.plot_weight_histograms(runs)  # asks for snapshots 0, 1, 5, -1 of 3: shows 0, 1, 2
    assert len(fig.axes) == 3 * 3
    assert [ax.get_title() for ax in fig.axes[:3]] == [f"success, epoch {e}" + (
        f", {100 * runs[0].fraction_at_clip(k):.0f}% at ±c") for k, e in enumerate([0, 1, 2])]
    table = study_plots.gradient_norm_table(runs)
    assert table.column("run") == list(critic.CRITIC_CASES)
    assert table.column("parameters at ±c")[2] == "—"  # WGAN-GP has no clip
    median = np.median(runs[1].gradient_norm(-1)[1])
    assert table.column("median")[1] == f"{median:.3g}"
