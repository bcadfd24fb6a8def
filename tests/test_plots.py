"""Tests of wgan_lib.plots on real (tiny) stored runs and on hand-made arrays."""
import dataclasses
import re
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from wgan_lib import plots  # noqa: E402
from wgan_lib.cases import get_case  # noqa: E402
from wgan_lib.store import load_run, provenance, save_run  # noqa: E402
from wgan_lib.train import StackTrainer  # noqa: E402

TINY = dict(samples_per_center=32, batch_size=32, epochs=2, n_eval_samples=100, plot_resolution=11,
            g_width=8, d_width=8, g_depth=1, d_depth=1)
CASE_NAMES = ("success", "failure-6", "standard-gan")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Three tiny real runs, trained in one stack, stored and loaded back: {case: StoredRun}."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("results")
    trainer = StackTrainer([get_case(n).config(**TINY) for n in CASE_NAMES])
    trainer.train()
    info = provenance("cpu", trainer.wall_time, trainer.n_runs)
    paths = [save_run(log, out, info) for log in trainer.logs]
    return out, {p.name.rsplit("-seed", 1)[0]: load_run(p, warn_stale=False) for p in paths}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def with_metrics(run, **final):
    """A copy of `run` whose last snapshot's metrics are replaced by `final`."""
    metrics = [dict(m) for m in run.metrics]
    metrics[-1] = dict(metrics[-1], **final)
    return dataclasses.replace(run, metrics=metrics)


def test_epochs_from_falls_back_to_all_snapshots(stored):
    run = stored[1]["success"]
    assert plots.epochs_from(run) == [0, 1]
    assert plots.epochs_from(run, start=1) == [1]
    assert plots.epochs_from(dataclasses.replace(run, snapshot_epochs=np.array([0, 100, 200, 999]))) == [100, 200, 999]


def test_run_grid_has_two_rows_per_epoch(stored):
    run = stored[1]["success"]
    fig = plots.plot_run_grid(run)
    assert len(fig.axes) == 2 * len(run.snapshot_epochs)
    fig = plots.plot_run_grid(run, epochs=[1])
    assert len(fig.axes) == 2
    with pytest.raises(KeyError):
        plots.plot_run_grid(run, epochs=[5])


def test_standard_gan_critic_is_shown_as_probability(stored):
    run = stored[1]["standard-gan"]
    fig = plots.plot_run_grid(run, epochs=[1])
    assert fig.axes[1].get_title().startswith("sigmoid(D), epoch 1\n[")
    lo, hi = map(float, re.findall(r"[-\d.e]+", fig.axes[1].get_title().split("\n")[1]))
    assert 0 <= lo <= hi <= 1
    fig = plots.plot_run_grid(run, epochs=[1], d_view="raw")
    assert fig.axes[1].get_title().startswith("D, epoch 1\n[")
    assert plots.sigmoid(np.array([0.0, 1000.0, -1000.0])).tolist() == [0.5, 1.0, 0.0]


def test_snapshot_pairs_and_curves(stored):
    run = stored[1]["success"]
    assert len(plots.plot_snapshot_pairs(run).axes) == 2 * len(run.snapshot_epochs)
    fig = plots.plot_metrics([run, stored[1]["failure-6"]])
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 2 + 1  # two runs + the 20-mode line
    assert list(fig.axes[0].lines[0].get_xdata()) == [0, 1]
    fig = plots.plot_epoch_logs(run, symlog=True)
    assert len(fig.axes) == 3 and len(fig.axes[2].lines) == 2
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), run.epoch_logs["d_loss"])
    fig = plots.plot_d_range(run)
    assert len(fig.axes) == 1 and len(fig.axes[0].collections) == 2  # post's max and min


def test_animation_is_self_contained(stored):
    run = stored[1]["success"]
    text = plots.animate_run(run, dpi=30)
    assert text.count("data:image/png;base64") == len(run.snapshot_epochs)
    assert "http" not in text and 'class="fa ' not in text  # nothing from a CDN (Font Awesome)
    assert 'title="Play"' in text and "\u25b6" in text
    assert not plt.get_fignums()


def test_target_figure_draws_every_component():
    from wgan_lib.data import fit_gmm, sample_grid

    points = sample_grid(40, generator=torch.Generator().manual_seed(0)).numpy()
    fig = plots.plot_target(points, fit_gmm(points))
    ellipses = [p for p in fig.axes[0].patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 25
    assert len(fig.axes) == 2  # the whole grid and the magnified centre
    assert len(plots.plot_target(points, fit_gmm(points), zoom=None).axes) == 1


def test_drift_stats_of_hand_made_samples():
    s = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [0.0, -8.0]])
    st = plots.drift_stats(s, extent=6.0)
    assert st["mean"] == (3.0, -2.0)
    assert st["outside"] == 0.5
    expected = np.sqrt(np.mean([9 + 4, 1 + 4, 49 + 4, 9 + 36]))
    assert st["spread"] == pytest.approx(expected)
    both = plots.drift_stats(np.stack([s, s + 100.0]))
    assert len(both) == 2 and both[1]["outside"] == 1.0 and both[1]["mean"] == (103.0, 98.0)
    with_nan = plots.drift_stats(np.array([[0.0, 0.0], [np.nan, 1.0]]))
    assert with_nan["outside"] == 0.5 and with_nan["mean"] == (0.0, 0.0)


def test_drift_table_and_figure(stored):
    run = stored[1]["failure-6"]
    samples = np.zeros_like(run.samples)
    samples[-1, : len(samples[-1]) // 4] = 50.0  # a quarter of the last snapshot far away
    run = dataclasses.replace(run, samples=samples)
    table = plots.drift_table(run)
    assert table.column("epoch") == ["0", "1"]
    assert table.rows[-1][-1] == "25.0" and table.rows[0][-1] == "0.0"
    fig = plots.plot_drift(run)
    assert len(fig.axes) == 2 and fig.axes[1].get_xlim()[1] >= 50


def test_verdicts_are_computed(stored):
    success, failure = stored[1]["success"], stored[1]["failure-6"]
    good = dict(modes=25, hq_fraction=0.9)
    bad = dict(modes=3, hq_fraction=0.9)
    assert "matches the post" in plots.verdict(with_metrics(success, **good))
    assert "differs from the post" in plots.verdict(with_metrics(success, **bad))
    assert "differs from the post" in plots.verdict(with_metrics(failure, **good))
    assert "matches the post" in plots.verdict(with_metrics(failure, **bad))
    diverged = dataclasses.replace(with_metrics(success, **good), status="diverged", failed_epoch=1, reason="x")
    assert "differs from the post" in plots.verdict(diverged)
    assert "no such run" in plots.verdict(stored[1]["standard-gan"])
    assert plots.post_succeeded("no-clip-2") is True and plots.post_succeeded("no-clip-1") is False


def test_comparison_table_has_every_case_and_its_numbers(stored):
    runs = list(stored[1].values())
    table = plots.comparison_table(runs)
    text = str(table)
    for run in runs:
        assert run.config.case in text
        m = run.final_metrics
        row = table.rows[table.column("case").index(run.config.case)]
        assert row[table.header.index("modes")] == str(m["modes"])
        assert row[table.header.index("HQ %")] == f"{100 * m['hq_fraction']:.1f}"
        assert row[table.header.index("W1")] == f"{m['w1']:.3f}"
    assert "<table" in table._repr_html_()
    published = str(plots.published_table())
    for number in ("17.3", "94.8", "0.7", "24.8", "3.3", "23.6"):
        assert number in published
    assert "PacGAN" in published and "VEEGAN" in published


def test_settings_metrics_and_outcome_tables(stored):
    run = stored[1]["failure-6"]
    settings = plots.settings_table([get_case("failure-6"), run])
    assert settings.rows[0] == settings.rows[1]
    assert settings.rows[0][1:6] == ["wgan", "0.001", "0.0001", "5", "0.1"]
    metrics = plots.metrics_table(run)
    assert metrics.column("modes") == [str(m["modes"]) for m in run.metrics]
    outcome = plots.outcome_table([with_metrics(run, modes=21, hq_fraction=0.5)])
    assert outcome.column("succeeded") == ["yes"]


def test_no_clip_summary_names_seeds(stored):
    base = stored[1]["success"]

    def fake(seed, ok):
        run = with_metrics(base, **(dict(modes=25, hq_fraction=0.9) if ok else dict(modes=2, hq_fraction=0.1)))
        return dataclasses.replace(run, config=base.config.replace(seed=seed, clip=None))

    search = [fake(0, True), fake(1, False), fake(2, True)]
    text = plots.no_clip_summary(search, fake(1, False), fake(0, True))
    assert "Seeds tried without clipping: 3, trained for 2 epochs; succeeded: 2 (seeds [0, 2]); failed: 1 (seeds [1])" in text
    assert "unlike" not in text
    text = plots.no_clip_summary(search, fake(0, True), fake(1, False))
    assert "search seeds that would have failed (on the search's schedule): [1]" in text
    assert "search seeds that would have succeeded (on the search's schedule): [0, 2]" in text


def test_d_range_table_sits_beside_the_post(stored):
    run = stored[1]["success"]
    table = plots.d_range_table(run, post={1: (-5, 7)})
    assert table.column("epoch") == ["0", "1"]
    assert table.rows[1][3:] == ["-5", "7"] and table.rows[0][3:] == [plots.DASH, plots.DASH]
    assert float(table.rows[1][1]) == pytest.approx(run.epoch_logs["d_min"][1], rel=1e-3)
    assert plots.POST_NO_CLIP_D_RANGE[999] == (-180000, 120000) and len(plots.POST_NO_CLIP_D_RANGE) == 10


def test_provenance_table_marks_damaged_runs(stored, tmp_path):
    success, failure = stored[1]["success"].path, stored[1]["failure-6"].path
    for path in (success, failure):
        shutil.copytree(path, tmp_path / path.name)
    shutil.copytree(success, tmp_path / ".hidden")
    (tmp_path / "network-size").mkdir()
    shutil.copytree(success, tmp_path / "network-size" / "size-w8-d1-standard-gan-seed0")
    (tmp_path / "not-a-run").mkdir()
    npz = tmp_path / failure.name / "snapshots.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    entries = plots.stored_runs(tmp_path)
    assert [p.name for p, _, _ in entries] == [failure.name, success.name]
    table = plots.provenance_table(entries)
    damaged = table.rows[0]
    assert damaged[table.header.index("status")] == "damaged" and "checksum" in damaged[-1]
    ok = table.rows[1]
    assert ok[1:4] == ["success", "0", "completed"] and ok[-1] == "no"
    assert ok[table.header.index("stack size")] == "3"
    sizes = plots.network_size_table(plots.stored_runs(tmp_path / "network-size", exclude=()))
    assert sizes.rows[0][:4] == ["8", "1", "standard-gan", "0"]
    assert plots.stored_runs(tmp_path / "nonexistent") == []


def test_show_displays_and_closes(stored, capsys):
    fig = plots.plot_run_grid(stored[1]["success"], epochs=[0])
    plots.show("some *text*", plots.metrics_table(stored[1]["success"]), fig)
    assert not plt.fignum_exists(fig.number)


def test_run_grid_wraps_long_schedules(stored):
    run = stored[1]["success"]
    k = np.arange(11)
    long = dataclasses.replace(run, snapshot_epochs=np.array([0, *range(100, 1000, 100), 999]),
                               samples=run.samples[k % 2], d_grid=run.d_grid[k % 2], metrics=[])
    fig = plots.plot_run_grid(long, columns=5)
    assert len(fig.axes) == 2 * 10  # epochs 100 ... 900, 999
    assert fig.axes[0].get_title().startswith("G, epoch 100")


def test_figures_survive_non_finite_snapshots(stored):
    run = stored[1]["failure-6"]
    samples, d_grid = run.samples.copy(), run.d_grid.copy()
    samples[-1] = 0.0
    samples[-1, :10] = np.inf
    samples[-1, 10:20] = 1e30
    d_grid[-1] = np.nan
    metrics = [dict(run.metrics[0]), {"epoch": int(run.snapshot_epochs[-1])}]  # no numbers at the last one
    broken = dataclasses.replace(run, samples=samples, d_grid=d_grid, metrics=metrics, status="diverged")
    fig = plots.plot_run_grid(broken)
    assert fig.axes[-1].get_title().endswith("not finite")
    assert len(plots.plot_drift(broken).axes) == 2
    n = samples.shape[1]  # 10 infinite + 10 far away of n
    assert plots.drift_table(broken).rows[-1][-1] == f"{100 * 20 / n:.1f}"
    assert plots.metrics_table(broken).rows[-1][1:] == [plots.DASH] * 4
    assert "differs" not in plots.verdict(broken) and "diverged at epoch" in plots.verdict(broken)
    plots.plot_metrics(broken)
    plots.animate_run(broken, dpi=20)
