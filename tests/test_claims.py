"""Tests of wgan_lib.claims: each claim's measurable form on constructed runs whose answer is known,
the verdict rules, and the judgement of a whole table."""
from types import SimpleNamespace

import numpy as np
import pytest

from wgan_lib import claims
from wgan_lib.cases import CASES
from wgan_lib.data import GRID_CENTERS

AXIS = np.linspace(-6, 6, 101)
X, Y = np.meshgrid(AXIS, AXIS, indexing="xy")
SPOKES, PLANE = np.sin(5 * np.arctan2(Y, X)), X + 0.5 * Y
NEAR_EVERY_CENTRE = np.repeat(GRID_CENTERS, 100, axis=0) + 0.1  # 2500 samples, 0.14 from each centre
ONE_CENTRE = np.repeat(GRID_CENTERS[:1], 2500, axis=0)


def fake_run(samples=NEAR_EVERY_CENTRE, d_grid=PLANE, case="success", seed=0, status="completed", epoch_logs=None,
             metrics=None, more_samples=()):
    config = CASES[case if case in CASES else "no-clip-1"].config(seed=seed)
    epochs = config.epochs
    logs = epoch_logs or {"d_min": np.full(epochs, -1.0), "d_max": np.full(epochs, 1.0)}
    all_samples = list(more_samples) + [samples]
    return SimpleNamespace(config=config, status=status, samples=all_samples, d_grid=[d_grid] * len(all_samples),
                           snapshot_epochs=np.arange(len(all_samples)), epoch_logs=logs,
                           metrics=metrics or [{"epoch": 999, "modes": 24, "hq_fraction": 0.02}])


@pytest.mark.parametrize("rule, k, n, expected", [
    ("most", 5, 5, "reproduced"), ("most", 4, 5, "reproduced"), ("most", 3, 5, "partly"), ("most", 2, 5, "partly"),
    ("most", 1, 5, "not reproduced"), ("most", 0, 5, "not reproduced"),
    ("both", 0, 5, "not reproduced"), ("both", 1, 5, "reproduced"), ("both", 4, 5, "reproduced"),
    ("both", 5, 5, "not reproduced"),
    ("some", 0, 5, "not reproduced"), ("some", 1, 5, "reproduced"),
    ("undecidable", 3, 5, "not decidable"), ("most", 0, 0, "not decidable"),
])
def test_verdict_rules(rule, k, n, expected):
    assert claims.verdict(rule, k, n) == expected


def test_passing_near_every_centre():
    assert claims.passes_near_every_centre(fake_run(NEAR_EVERY_CENTRE))
    assert claims.centres_passed(fake_run(ONE_CENTRE)) == 1
    assert not claims.passes_near_every_centre(fake_run(ONE_CENTRE))
    missing_one = NEAR_EVERY_CENTRE.copy()
    missing_one[:100] = [0.0, 1.0]  # centre (-4, -4)'s samples moved halfway between two centres
    assert claims.centres_passed(fake_run(missing_one)) == 24


def test_radial_contours_and_valleys():
    assert claims.tangential_share(fake_run(d_grid=SPOKES)) > 0.95
    assert claims.tangential_share(fake_run(d_grid=PLANE)) == pytest.approx(0.5, abs=0.02)
    radial = next(c for c in claims.CLAIMS if c.key == "success-d-radial").criterion
    assert radial.test(fake_run(d_grid=SPOKES)) and not radial.test(fake_run(d_grid=PLANE))
    valley = next(c for c in claims.CLAIMS if c.key == "success-valleys").criterion
    left = np.column_stack([np.full(2500, -5.5), np.linspace(-5, 5, 2500)])
    assert valley.test(fake_run(samples=left, d_grid=X)) and not valley.test(fake_run(samples=-left, d_grid=X))


def test_drift_off_the_plot_at_any_snapshot():
    drift = next(c for c in claims.CLAIMS if c.key == "failure-6-drift").criterion
    away = NEAR_EVERY_CENTRE + 20.0
    assert drift.test(fake_run(NEAR_EVERY_CENTRE, more_samples=[away]))  # off the plot once, back later
    assert not drift.test(fake_run(NEAR_EVERY_CENTRE, more_samples=[NEAR_EVERY_CENTRE]))
    assert claims.largest_outside(fake_run(NEAR_EVERY_CENTRE, more_samples=[away])) == 1.0


def _logs(range_100, low_999, high_999, epochs=1000):
    lo, hi = np.full(epochs, -range_100 / 2), np.full(epochs, range_100 / 2)
    lo[-1], hi[-1] = low_999, high_999
    return {"d_min": lo, "d_max": hi}


def test_growth_and_magnitude_of_d_without_clipping():
    growth = next(c for c in claims.CLAIMS if c.key == "no-clip-growth").criterion
    table = next(c for c in claims.CLAIMS if c.key == "no-clip-table").criterion
    post_like = fake_run(case="no-clip-2", epoch_logs=_logs(600, -1.8e5, 1.2e5))
    assert growth.test(post_like) and table.test(post_like) and claims.range_growth(post_like) == 500
    smaller = fake_run(case="no-clip-2", epoch_logs=_logs(10, 100.0, 8000.0))
    assert growth.test(smaller)  # 790-fold growth
    assert not table.test(smaller)  # min positive, and 7.9e3 is over 10 times below 3e5
    assert not table.test(fake_run(case="no-clip-2", epoch_logs=_logs(600, -2e3, 1e3)))  # 3e3: 100 times below
    assert not growth.test(fake_run(case="no-clip-2", epoch_logs=_logs(600, -300, 300)))


def test_evaluate_judges_each_claim_on_its_settings_seeds_and_by_the_field():
    success = [fake_run(seed=s) for s in range(4)] + [fake_run(ONE_CENTRE, seed=4)]
    failure_1 = [fake_run(ONE_CENTRE, case="failure-1", seed=s) for s in range(5)]
    no_clip = [fake_run(case="no-clip-2", seed=0), fake_run(ONE_CENTRE, case="no-clip-1", seed=1)]
    sharp = {"epoch": 999, "modes": 25, "hq_fraction": 0.95}
    failure_2 = [fake_run(case="failure-2", seed=s, metrics=[sharp]) for s in range(5)]
    results = {r.claim.key: r for r in claims.evaluate({"success": success, "failure-1": failure_1,
                                                        "no-clip": no_clip, "failure-2": failure_2})}
    g = results["success-g"]
    assert (g.k, g.n, g.verdict) == (4, 5, "reproduced") and g.values == [25, 25, 25, 25, 1]
    assert g.field_verdict == "not reproduced" and sum(g.field_met) == 0  # 2 % HQ is no success for the field
    assert (results["failure-1"].k, results["failure-1"].verdict) == (5, "reproduced")
    f2 = results["failure-2"]  # near every centre and sharp: it did not fail
    assert (f2.verdict, f2.field_verdict) == ("not reproduced", "not reproduced")
    assert results["no-clip-pair"].verdict == "reproduced"  # one seed passes, one does not
    assert results["conclusion-no-clip"].verdict == "reproduced"
    assert results["success-d-radial"].verdict == "not reproduced"  # planes
    assert results["coulomb-contrast"].verdict == "not decidable"
    assert results["failure-6-drift"].verdict == "not decidable"  # no runs of that setting given


def test_a_criterion_that_every_run_meets_separates_nothing():
    runs = [fake_run(seed=s) for s in range(3)]
    assert claims.separates(claims.POST_SUCCESS, runs) == (3, 3)
    assert claims.separates(claims.FIELD, runs) == (0, 3)
    assert claims.separates(claims.POST_SUCCESS, runs + [fake_run(ONE_CENTRE)]) == (3, 4)


def test_every_claim_names_a_setting_with_runs_and_a_rule():
    settings = {"success", "no-clip"} | {f"failure-{k}" for k in range(1, 7)}
    for claim in claims.CLAIMS:
        assert claim.setting in settings and claim.rule in claims.RULES
        assert claim.words and claim.translation and claim.form and claim.why
        assert (claim.criterion is None) == (claim.rule == "undecidable")


BAND = np.tanh(5 * Y)  # one steep band through the centre: a high tangential share, radial in a third of the directions


def test_radiating_needs_the_share_and_most_directions():
    assert claims.radiates(fake_run(d_grid=SPOKES))
    band = fake_run(d_grid=BAND)
    assert claims.tangential_share(band) >= claims.RADIAL_MIN_SHARE and not claims.radiates(band)
    assert claims.radial_directions(band) == pytest.approx(1 / 3, abs=0.06)
    assert not claims.radiates(fake_run(d_grid=PLANE))


def test_findings_follow_the_verdicts():
    """The introduction's and the README's findings are made from the verdicts, so they change with them."""
    def results_for(failure_2_samples, big_map):
        success = [fake_run(seed=s) for s in range(5)]
        by_setting = {"success": success, "failure-2": [fake_run(failure_2_samples, case="failure-2", seed=s)
                                                         for s in range(5)],
                      "no-clip": [fake_run(case="no-clip-2", seed=0), fake_run(ONE_CENTRE, case="no-clip-1", seed=1)]}
        results = claims.evaluate(by_setting)
        larger = [fake_run(d_grid=big_map, seed=s) for s in range(3)]
        return "\n".join(claims.findings(results, claims.all_runs(by_setting), 0.05, larger))

    text = results_for(NEAR_EVERY_CENTRE, BAND)
    assert "5 of 5 seeds $G$ passes near every one of the 25 centres (reproduced)" in text
    assert "does not separate the success from failure 2**" in text  # failure 2's G passed near every centre
    assert "0 of the 12 runs of its settings have at least 20 modes" in text and "have 5.0 %" in text
    assert "do not radiate from the centre** in our clipped critic (not reproduced; tangential share 0.50" in text
    assert "the share rises to 1.00" in text and "one band through the centre, not the post's spokes" in text
    text = results_for(ONE_CENTRE, PLANE)
    assert "**Its criterion separates the success from every failure**" in text
    assert "Nor with both networks 3 x 128 at the same clip (share 0.50, radial in 3" in text
    assert "With both networks 3 x 128 at the same clip they do (3 of 3 seeds" in results_for(ONE_CENTRE, SPOKES)
    assert text.count("\n- ") == 5


def test_the_post_s_runs_leave_out_the_other_losses_trained_beside_them():
    by_setting = {"success": [fake_run(seed=s) for s in range(5)], "no-clip": [fake_run(case="no-clip-2")],
                  "standard-gan": [fake_run(case="standard-gan")], "failure-3": [fake_run(case="failure-3")]}
    assert len(claims.all_runs(by_setting)) == 8
    assert [r.config.case for r in claims.all_runs(by_setting, post_only=True)] == ["success"] * 5 + [
        "no-clip-2", "failure-3"]


def test_load_findings_reads_the_stored_runs():
    from wgan_lib.report import load_findings

    found = load_findings(train_missing=False)
    assert set(found.by_setting) >= {"success", "no-clip"} and len(found.larger) == 3
    assert len(found.bullets) == 7 and all(b.startswith("- **") for b in found.bullets)
    assert found.bullets[-1].startswith("- **What it takes to learn the grid.**")


def test_the_readme_block_holds_the_findings_and_the_verdicts(tmp_path):
    from wgan_lib.report import END, START, findings_block

    by_setting = {"success": [fake_run(seed=s) for s in range(5)]}
    results = claims.evaluate(by_setting)
    bullets = claims.findings(results, claims.all_runs(by_setting), 0.05, [])
    block = findings_block(results, tmp_path / "findings.png", bullets)
    assert block.startswith(START) and block.endswith(END)
    assert block.index(bullets[0]) < block.index("| claim of the post |")  # findings first, then the table
    assert "| Success: G near every centre | reproduced | not reproduced (0 of 5) |" in block
    assert block.count("\n| ") == len(claims.CLAIMS) + 1  # a row per claim under the header and its rule
    assert "and `best-screen`, 2 seeds a candidate at 100 epochs)" in block
    block = findings_block(results, tmp_path / "findings.png", bullets, ["best", "ladder-down"])
    assert "`best`, 10 seeds a discriminator at its final schedule, and `ladder-down`, 5 seeds a rung at 100 " \
           "epochs)" in block and "best-screen" not in block


def test_which_way_the_generator_moves_on_d_is_read_from_the_loss():
    assert claims.generator_descends("wgan") and claims.generator_descends("wgan-gp")
    assert claims.generator_descends("coulomb")
    assert not claims.generator_descends("standard")
