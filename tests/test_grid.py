"""Tests of wgan_lib.grid: the ladder's finding, the best-of search's score, choice, schedules and
goals, the ladder down's reading and the finals' critics, on made-up runs whose answer is known."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from wgan_lib import finals, grid, report, tables
from wgan_lib.data import GRID_CENTERS
from wgan_lib.runsets import best_config

AXIS = np.linspace(-6, 6, 101)
X, Y = np.meshgrid(AXIS, AXIS, indexing="xy")
SPOKES, PLANE = np.sin(5 * np.arctan2(Y, X)), X + 0.5 * Y
BAND = np.tanh(5 * Y)  # one steep band through the centre: radial in a third of the directions
NEAR_EVERY_CENTRE = np.repeat(GRID_CENTERS, 100, axis=0) + 0.1  # 2500 samples, 0.14 from each centre


def ladder_run(rung, hq, modes=20, seed=0, status="completed", d_grid=PLANE):
    config = SimpleNamespace(case=f"ladder-{rung}", seed=seed, epochs=200, plot_extent=6.0)
    return SimpleNamespace(config=config, status=status, d_grid=[d_grid], samples=[NEAR_EVERY_CENTRE],
                           metrics=[{"epoch": 199, "modes": modes, "hq_fraction": hq, "reverse_kl": 1.0, "w1": 1.0}])


def five_seeds(rung, hq, step=0.0, **kwargs):
    """A rung's five seeds, the high-quality share of seed s being hq + s * step."""
    return [ladder_run(rung, hq + step * s, seed=s, **kwargs) for s in range(5)]


def test_the_ladder_finding_names_the_change_that_helps_most():
    runs = five_seeds("post", 0.02, 0.001) + five_seeds("relu", 0.60, 0.01, modes=22) + five_seeds("lr1e-3", 0.10, 0.01)
    runs += five_seeds("no-clip", 0.0, status="failed")
    assert grid.ladder_ranking(grid.ladder_summary(runs)) == ["relu", "lr1e-3", "no-clip"]
    text = grid.ladder_finding(runs)
    assert "success setting (2.2 % of its samples near a centre after 200 epochs)" in text
    assert "helps most is ReLU instead of ELU (62.0 ± 0.7 %, on 22.0 modes), then a learning rate of 1e-3" in text
    assert "met by ReLU instead of ELU (5 of 5 seeds)" in text
    text = grid.ladder_finding(five_seeds("post", 0.02, 0.01) + five_seeds("relu", 0.03, 0.01)
                                 + five_seeds("lr1e-3", 0.01))
    assert "none of the 2 changes tried one at a time raises the share" in text
    assert "(the largest rise, ReLU instead of ELU, gives 5.0 ± 0.7 % against 4.0 ± 0.7 %)" in text
    assert "none meets the bar" in text
    text = grid.ladder_finding(five_seeds("post", 0.02, 0.001) + five_seeds("relu", 0.10, 0.001)
                                 + five_seeds("lr1e-3", 0.01))
    assert "helps most is ReLU instead of ELU (10.2 ± 0.1 %" in text and "no single change meets" in text
    assert "radiate" not in text  # every D a plane


def test_the_ladder_finding_names_the_change_whose_critic_radiates():
    runs = five_seeds("post", 0.02)
    runs += [ladder_run("relu", 0.02, seed=s, d_grid=SPOKES if s else PLANE) for s in range(5)]
    runs += five_seeds("no-clip", 0.02, d_grid=BAND)  # a band: one reading only
    assert grid.ladder_radiating(runs) == {"relu": (4, 5)}
    assert "radiate from the centre, as in the post's picture, is ReLU instead of ELU (4 of 5 seeds, both " \
           "readings)." in grid.ladder_finding(runs)


def test_the_ladder_says_which_rungs_were_still_moving_between_its_middle_and_last_snapshots():
    def seeds(rung, middle, last, d_grid=PLANE):
        runs = five_seeds(rung, last, d_grid=d_grid)
        for s, run in enumerate(runs):
            run.metrics.insert(0, {"epoch": 100, "modes": 20, "hq_fraction": middle + 0.001 * s})
        return runs

    runs = seeds("post", 0.02, 0.025) + seeds("relu", 0.02, 0.05, d_grid=SPOKES)
    runs.append(ladder_run("relu", 0.9, seed=5, status="failed"))  # a diverged seed is left out
    assert grid.hq_at(runs[0], 100) == 0.02 and math.isnan(grid.hq_at(runs[0], 40))
    assert list(grid.ladder_settling(runs)) == ["relu"]  # the post's 0.5 points are under the threshold
    assert grid.ladder_settling(runs)["relu"][0] == pytest.approx(0.028)
    text = grid.ladder_settling_sentence(runs)
    assert text.startswith("From epoch 100 to 199 the high-quality share of every rung moves by less than one "
                           "percentage point, except ReLU instead of ELU (+2.8 ± 0.1 points): still moving")
    assert "ReLU instead of ELU also changes the shape of $D$" in text
    table = tables.ladder_table(runs)
    assert table.rows[1][:4] == ["ReLU instead of ELU", "20.0 ± 0.0", "5.0 ± 0.0", "2.2"]
    assert table.rows[1][-1] == "5 of 6" and table.rows[0][-1] == "0 of 5"


def screen_run(candidate, modes, hq, kl=0.5, seed=0, status="completed", wall=600.0, size=6, epochs=100):
    config = SimpleNamespace(case=f"best-{candidate}", seed=seed, epochs=epochs)
    return SimpleNamespace(config=config, status=status, provenance={"wall_time_s": wall, "stack_size": size},
                           metrics=[{"epoch": epochs - 1, "modes": modes, "hq_fraction": hq, "reverse_kl": kl,
                                     "w1": 1.0}])


def test_the_best_score_is_one_for_every_mode_sharp_and_near_zero_for_a_spread_or_a_collapse():
    assert grid.best_score({"modes": 25, "hq_fraction": 1.0}) == 1.0
    assert grid.best_score({"modes": 25, "hq_fraction": 0.02}) == pytest.approx(0.02)  # the post's thin spread
    assert grid.best_score({"modes": 1, "hq_fraction": 1.0}) == pytest.approx(0.04)  # a collapse onto one mode
    assert math.isnan(grid.best_score({}))


def test_the_best_choice_takes_the_highest_mean_score_and_breaks_ties_by_reverse_kl():
    runs = [screen_run("standard-lr1e-3", 17, 0.9, seed=0), screen_run("standard-lr1e-3", 17, 0.9, seed=1),
            screen_run("standard-lr3e-4", 25, 0.8, seed=0), screen_run("standard-lr3e-4", 25, 0.1, seed=1),
            screen_run("gp-lr1e-4-lambda10", 25, 0.5, kl=0.2), screen_run("gp-lr1e-4-lambda0.1", 25, 0.5, kl=0.1),
            screen_run("coulomb-lr1e-3", 25, 0.9, seed=0), screen_run("coulomb-lr1e-3", 0, 0.0, seed=1, status="failed"),
            screen_run("coulomb-lr1e-4", 20, 0.5)]
    scores = grid.best_screen_scores(runs)
    assert scores["standard"]["standard-lr1e-3"][0] == pytest.approx(17 / 25 * 0.9)
    assert scores["standard"]["standard-lr3e-4"][0] == pytest.approx((0.8 + 0.1) / 2)
    assert scores["coulomb"]["coulomb-lr1e-3"] == (pytest.approx(0.9 / 2), 0.5, 2)  # the diverged seed scores 0
    assert grid.best_choice(runs) == {"standard": "standard-lr1e-3", "wgan-gp": "gp-lr1e-4-lambda0.1",
                                        "coulomb": "coulomb-lr1e-3"}
    assert grid.best_choice(list(reversed(runs))) == grid.best_choice(runs)


def test_the_final_schedule_is_the_longest_within_the_budget_per_seed_in_steps_of_fifty_epochs():
    # 600 s for a stack of 6 runs x 100 epochs: 1 s per run and epoch; 1800 s buys 1800 epochs
    runs = [screen_run("clip0.01-lr1e-4", 20, 0.5, seed=s) for s in (0, 1)]
    assert grid.best_epochs(runs, "clip0.01-lr1e-4") == 1800
    # the slowest seed's stack decides; 1800 / 1.3 = 1384.6 epochs, rounded down to 1350
    runs[1] = screen_run("clip0.01-lr1e-4", 20, 0.5, seed=1, wall=780.0)
    assert grid.best_epochs(runs, "clip0.01-lr1e-4") == 1350
    with pytest.raises(ValueError, match="no run of candidate 'clip0.1-lr1e-4'"):
        grid.best_epochs(runs, "clip0.1-lr1e-4")


def test_the_goals_are_met_only_when_every_part_is():
    pacgan4 = {"modes": 24.8, "hq_fraction": 0.936, "reverse_kl": 0.04}
    assert len(finals.best_goal_missed("wgan-gp", pacgan4)) == 3  # equalling the best row does not beat it
    assert finals.best_goal_missed("wgan-gp", {"modes": 24.9, "hq_fraction": 0.95, "reverse_kl": 0.03}) == []
    assert finals.best_goal_missed("wgan-gp", {"modes": 25.0, "hq_fraction": 0.99, "reverse_kl": math.nan}) == \
        ["no reverse KL where it needs under 0.04"]
    assert finals.best_goal_missed("wgan", {"modes": 24.0, "hq_fraction": 0.8, "reverse_kl": 1.0}) == []
    assert finals.best_goal_missed("wgan", {"modes": 23.9, "hq_fraction": 0.9, "reverse_kl": 0.0}) == \
        ["23.9 modes where it needs at least 24"]
    assert finals.best_goal_missed("wgan-gp", {"modes": 25.0, "hq_fraction": 0.9, "reverse_kl": 0.01}) == \
        ["90 % near a centre where it needs more than 93.6 %"]
    assert finals.best_goal_missed("standard", pacgan4) is None


def test_the_screen_finding_orders_the_kept_candidates_and_counts_those_meeting_the_bar():
    runs = [screen_run("gp-lr1e-4-lambda10", 25, 0.9, seed=s) for s in (0, 1)]
    runs += [screen_run("clip0.01-lr1e-4", 24, 0.6, seed=0), screen_run("clip0.01-lr1e-4", 12, 0.6, seed=1)]
    for run in runs:  # the real configs, for the candidates' settings in words
        run.config = best_config(run.config.case.removeprefix("best-"), run.config.seed)
    text = grid.best_screen_finding(runs)
    assert text.startswith("After 100 epochs (mean of 2 seeds), the best of each: WGAN-GP (lr 1e-4, λ 10, 5 critic "
                           "updates) covers 25.0 modes with 90 % of its samples near a centre (score 0.90); "
                           "clipped WGAN (clip 0.01, lr 1e-4, 5 critic updates) covers 18.0 modes")
    assert text.endswith("WGAN-GP meets the bar of 20 modes with half the samples near a centre on every "
                         "seed; the other does not.")


def test_the_screen_sentence_names_the_best_candidate_and_the_clipped_wgans_kept_one():
    runs = [screen_run("gp-lr1e-4-lambda10", 25, 0.9, seed=s) for s in (0, 1)]
    runs += [screen_run("clip0.01-lr1e-4", 24, 0.6, seed=0), screen_run("clip0.01-lr1e-4", 12, 0.2, seed=1)]
    assert grid.best_screen_sentence(runs, see=" (section {ref}`best`)") == (
        "From the field's settings (section {ref}`best`), the best of the search is WGAN-GP: 25.0 modes with 90 % of "
        "the samples near a centre after 100 epochs (mean of 2 seeds); the clipped WGAN's best reaches 18.0 modes "
        "with 40 % of the samples near a centre.")
    clipped_best = [screen_run("clip0.01-lr1e-4", 25, 0.9, seed=s) for s in (0, 1)]
    assert grid.best_screen_sentence(clipped_best + [screen_run("gp-lr1e-4-lambda10", 25, 0.5)]).endswith(
        "the best of the search is clipped WGAN: 25.0 modes with 90 % of the samples near a centre after 100 epochs "
        "(mean of 2 seeds).")


def test_the_ladder_down_starts_from_the_clipped_wgan_only_when_both_its_seeds_meet_the_bar():
    gp = [screen_run("gp-lr1e-4-lambda10", 25, 0.9, seed=s) for s in (0, 1)]
    clipped_good = [screen_run("clip0.1-lr1e-4", 22, 0.6, seed=s) for s in (0, 1)]
    assert grid.ladder_down_top(gp + clipped_good) == "clip0.1-lr1e-4"
    clipped_half = [screen_run("clip0.1-lr1e-4", 22, 0.6, seed=0), screen_run("clip0.1-lr1e-4", 22, 0.4, seed=1)]
    assert grid.ladder_down_top(gp + clipped_half) == "gp-lr1e-4-lambda10"
    # the kept clipped candidate decides, not a better-scoring seed of another
    mixed = [screen_run("clip0.01-lr1e-4", 25, 0.9, seed=0), screen_run("clip0.01-lr1e-4", 25, 0.9, seed=1),
             screen_run("clip0.1-lr1e-4", 19, 0.5, seed=0), screen_run("clip0.1-lr1e-4", 25, 0.5, seed=1)]
    assert grid.ladder_down_top(gp + mixed) == "clip0.01-lr1e-4"
    assert grid.ladder_down_top(gp + mixed[2:]) == "gp-lr1e-4-lambda10"


def test_centre_wells_turns_d_the_way_its_generator_moves():
    axis = np.linspace(-6, 6, 101)
    x, y = np.meshgrid(axis, axis, indexing="xy")
    wells = sum(-np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.18) for cx, cy in GRID_CENTERS[:10])
    for loss, d_grid, expected in [("wgan", wells, 10), ("wgan", -wells, 0), ("standard", -wells, 10),
                                   ("standard", wells, 0)]:
        run = SimpleNamespace(config=SimpleNamespace(loss=loss, plot_extent=6.0), d_grid=[np.zeros((101, 101)), d_grid])
        assert grid.centre_wells(run) == expected
        assert grid.centre_wells(run, snapshot=0) == 0


def test_the_pull_towards_centres_turns_d_the_way_its_generator_moves():
    axis = np.linspace(-6, 6, 101)
    x, y = np.meshgrid(axis, axis, indexing="xy")
    bowls = np.min([(x - cx) ** 2 + (y - cy) ** 2 for cx, cy in GRID_CENTERS], axis=0)
    samples = GRID_CENTERS + np.array([0.5, 0.0])  # halfway out to the right of each centre
    for loss, d_grid, expected in [("wgan", bowls, 1.0), ("standard", bowls, -1.0), ("standard", -bowls, 1.0)]:
        run = SimpleNamespace(config=SimpleNamespace(loss=loss, plot_extent=6.0), d_grid=[d_grid], samples=[samples])
        assert grid.pull_towards_centres(run) == pytest.approx(expected, abs=0.01)


def down_run(rung, modes, hq, seed=0, status="completed", epochs=100):
    config = best_config("gp-lr1e-3-lambda0.1", seed, epochs=epochs).replace(case=f"down-{rung}")
    return SimpleNamespace(config=config, status=status, metrics=[{"epoch": epochs - 1, "modes": modes,
                                                                   "hq_fraction": hq, "reverse_kl": 0.1, "w1": 1.0}])


def test_a_ladder_down_drop_is_the_rungs_mean_below_the_tops_with_the_error_of_two_independent_means():
    runs = [down_run("top", 25, hq, seed=s) for s, hq in enumerate((0.8, 0.9))]
    runs += [down_run("elu", modes, 0.5, seed=s) for s, modes in enumerate((20, 24))]
    runs += [down_run("decay", 25, 0.9, seed=0), down_run("decay", 0, 0.0, seed=1, status="failed")]
    drops = grid.ladder_down_drops(runs)
    assert list(drops) == ["elu", "decay"]
    top_se, elu_se = 0.05, 2.0  # standard errors: std(ddof=1) / sqrt(2) of (0.8, 0.9) and (20, 24)
    assert drops["elu"]["hq_fraction"] == (pytest.approx(0.35), pytest.approx(top_se))  # the rung's hq never varies
    assert drops["elu"]["modes"] == (pytest.approx(3.0), pytest.approx(elu_se))
    top_scores, elu_scores = np.array([0.8, 0.9]), np.array([0.4, 0.48])
    assert drops["elu"]["score"] == (pytest.approx(top_scores.mean() - elu_scores.mean()),
                                     pytest.approx(math.hypot(top_scores.std(ddof=1), elu_scores.std(ddof=1))
                                                   / math.sqrt(2)))
    # the diverged seed counts in the score as 0 but not in the modes or the high-quality share
    assert drops["decay"]["score"][0] == pytest.approx(0.85 - 0.45)
    assert drops["decay"]["hq_fraction"][0] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="no run of its top"):
        grid.ladder_down_drops(runs[2:])


def test_the_ladder_down_names_the_largest_drop_and_the_second_only_when_it_is_clear():
    clear, unclear, small = {"score": (0.5, 0.1)}, {"score": (0.3, 0.2)}, {"score": (0.1, 0.01)}
    assert grid.ladder_down_named({"elu": unclear, "decay": clear, "2x64": small}) == ["decay"]
    assert grid.ladder_down_named({"elu": clear, "decay": {"score": (0.4, 0.1)}, "2x64": small}) == ["elu", "decay"]
    assert grid.ladder_down_named({"elu": unclear}) == ["elu"]  # the largest is named even when unclear


def test_the_ladder_down_in_words_names_what_costs_most_and_whether_it_is_beyond_the_seeds_spread():
    runs = [down_run("top", 25, 0.9, seed=s) for s in range(5)]
    runs += [down_run("elu", 25, 0.85 + 0.01 * s, seed=s) for s in range(5)]
    runs += [down_run("2x64", 20 + s, 0.2, seed=s) for s in range(5)]
    runs += [down_run("ncritic1", 25, 0.5 + 0.01 * s, seed=s) for s in range(5)]
    text = grid.ladder_down_reading(runs)
    assert text.startswith("Put back one at a time into WGAN-GP's kept candidate (lr 1e-3, λ 0.1, 5 critic updates: "
                           "25.0 modes, 90 % near a centre, score 0.90 after 100 epochs, mean of 5 seeds), the post's choice that costs most "
                           "is networks of 2 x 64 instead of 3 x 128 (the score falls by 0.72 ± 0.01, more than "
                           "twice its standard error, to 22.0 modes with 20 % near a centre), then one critic update "
                           "per generator update (the score falls by 0.38")
    assert "elu" not in text.lower() and "raises" not in text
    runs += [down_run("decay", 25, 0.95 + 0.001 * s, seed=s) for s in range(5)]
    assert grid.ladder_down_reading(runs).endswith(
        "Put back alone, the learning-rate decay of 1e-5 raises the score, by 0.05 ± 0.00 (more than twice its "
        "standard error): the top is not the best of these settings.")
    post = [down_run("post", 5, 0.1, seed=s) for s in range(5)]  # scores 0.02: the gap from the top's 0.90 is 0.88
    assert "0.72 ± 0.01, more than twice its standard error, to 22.0 modes with 20 % near a centre; alone it accounts " \
           "for 82 % of the gap between the top and the post's own setting, which scores 0.02)" \
           in grid.ladder_down_reading(runs, post)
    assert grid.ladder_down_gap(runs, post) == pytest.approx(0.88)
    assert grid.gap_share(0.44, 0.88) == "50 % of" and grid.gap_share(0.9, 0.88) == "all of"


def down_course(rung, course, seed):
    """A made-up run of the ladder down whose high-quality share at epochs 0, 20, ..., 80, 99 is `course`."""
    run = down_run(rung, 25, course[-1], seed=seed)
    run.metrics = [{"epoch": e, "modes": 25, "hq_fraction": hq, "reverse_kl": 0.1, "w1": 1.0}
                   for e, hq in zip((0, 20, 40, 60, 80, 99), course)]
    return run


def test_the_ladder_down_says_which_rungs_were_still_rising_and_whether_they_had_settled_by_the_end():
    noise = (-0.02, 0.03, -0.01, 0.02, -0.02)  # the top's seeds end about where they were at epoch 40
    top = [down_course("top", (0.0, 0.4, 0.5, 0.5, 0.5, 0.5 + noise[s]), s) for s in range(5)]
    slow = [down_course("elu", (0.0, 0.1, 0.1, 0.3, 0.5 + 0.01 * s, 0.5 + 0.01 * s), s) for s in range(5)]
    late = [down_course("2x64", (0.0, 0.1, 0.1, 0.2, 0.2 + 0.01 * s, 0.4), s) for s in range(5)]
    assert grid.ladder_down_settling_sentence(top) == (
        "From epoch 40 to 99 no rung's high-quality share rises by more than twice the standard error of its change: "
        "their numbers had settled.")
    assert grid.ladder_down_settling_sentence(top + slow) == (
        "From epoch 40 to 99 the high-quality share still rises, by more than twice the standard error of the change, "
        "on 1 of the 2 rungs: ELU instead of ReLU (+42 ± 1 points), which learns more slowly than the top. From epoch "
        "80 to 99 it does not move by more than twice its standard error (+0 ± 0 points): by the end it had settled.")
    assert grid.ladder_down_settling_sentence(top + slow + late).endswith(
        "on 2 of the 3 rungs: ELU instead of ReLU (+42 ± 1 points); networks of 2 x 64 instead of 3 x 128 (+30 ± 0 "
        "points), which learn more slowly than the top. From epoch 80 to 99 networks of 2 x 64 instead of 3 x 128 "
        "(+18 ± 1 points) still moves: its row says where it had got to, not where it ends.")


def test_the_ladder_down_in_words_says_so_when_no_choice_put_back_lowers_the_score():
    runs = [down_run("top", 20, 0.5, seed=s) for s in range(5)]
    runs += [down_run("elu", 25, 0.5 + 0.01 * s, seed=s) for s in range(5)]
    post = [down_run("post", 5, 0.1, seed=s) for s in range(5)]
    text = grid.ladder_down_reading(runs, post)
    assert ("none of the post's choices lowers the score; the nearest to a cost is ELU instead of ReLU (the score "
            "rises by 0.12 ± 0.01, more than twice its standard error, to 25.0 modes with 52 % near a centre).") in text
    assert "costs most" not in text and "gap" not in text


def test_the_finals_sentence_orders_by_score_and_says_which_goal_is_met():
    def final(loss, modes, hq, kl, seed, epochs):
        config = SimpleNamespace(loss=loss, seed=seed, epochs=epochs, case=f"best-{loss}")
        return SimpleNamespace(config=config, status="completed",
                               metrics=[{"epoch": epochs - 1, "modes": modes, "hq_fraction": hq, "reverse_kl": kl,
                                         "w1": 1.0}])

    runs = [final("wgan", 20, 0.1, 0.5, s, 250) for s in range(10)]
    runs += [final("wgan-gp", 25, 0.95, 0.01, s, 150) for s in range(10)]
    runs += [final("standard", 17, 0.9, 1.0, s, 1200) for s in range(10)]
    assert finals.best_final_sentence(runs) == (
        "At their best from the field's settings, 10 seeds of at most 30 minutes of one core each: WGAN-GP 25.0 "
        "modes with 95 % of its samples near a centre after 150 epochs (beating its goal, PacGAN4's row); standard "
        "GAN 17.0 modes with 90 % of its samples near a centre after 1200 epochs; clipped WGAN 20.0 modes with 10 % "
        "of its samples near a centre after 250 epochs (short of its goal, 24 modes with 80 %).")


def test_a_final_is_judged_only_with_every_seed_in():
    def final(loss, seed):
        return SimpleNamespace(config=SimpleNamespace(loss=loss, seed=seed))

    runs = [final("coulomb", s) for s in range(10)] + [final("standard", s) for s in range(10)]
    runs += [final("wgan", s) for s in range(9)] + [final("wgan-gp", s) for s in (0, 1, 2, 3, 4, 5, 6, 7, 8, 8)]
    assert finals.best_complete(runs) == ["standard", "coulomb"]  # in the order of runsets.BEST_FINAL
    assert finals.best_complete([]) == []


def test_the_grid_sentences_come_from_the_finals_and_the_ladder_down_only_once_every_run_is_stored(monkeypatch):
    from wgan_lib import runsets

    stored = {"best": [], "ladder-down": []}
    monkeypatch.setattr(runsets, "load_stored", lambda name, results=None: stored[name])
    monkeypatch.setattr(runsets, "load", lambda name, results=None, train_missing=True: ["screen"])
    monkeypatch.setattr(grid, "best_screen_sentence", lambda runs, see="": f"screen{see}.")
    monkeypatch.setattr(finals, "best_final_sentence", lambda runs, see="": f"finals of {len(runs)}{see}.")
    monkeypatch.setattr(grid, "ladder_down_reading", lambda runs, post=None: f"down of {len(runs)}.")
    monkeypatch.setattr(finals, "best_miss_sentence", lambda runs: f"why of {len(runs)}.")
    planned = {name: len(runsets.get_run_set(name).configs) for name in stored}
    assert report.finding_sets() == {"best-screen": ["screen"]}
    assert report.finding_sentences(report.finding_sets(), see=" (s)") == {"Each discriminator at its best": "screen (s)."}
    stored["best"], stored["ladder-down"] = ["run"] * (planned["best"] - 1), ["run"] * (planned["ladder-down"] - 1)
    assert list(report.finding_sets()) == ["best-screen"]
    stored["best"] = ["run"] * planned["best"]
    assert list(report.finding_sets()) == ["best"]
    assert report.finding_sentences(report.finding_sets(), see=" (s)") == \
        {"Each discriminator at its best": f"finals of {planned['best']} (s). why of {planned['best']}."}
    stored["ladder-down"] = ["run"] * planned["ladder-down"]
    assert list(report.finding_sets()) == ["best", "ladder-down"]
    assert list(report.finding_sentences(report.finding_sets()).values()) == \
        [f"finals of {planned['best']}. why of {planned['best']}.", f"down of {planned['ladder-down']}."]
    stored["best"] = stored["ladder-down"] = None  # runs passed in are used, not loaded again
    assert list(report.finding_sets(final_runs=["run"] * planned["best"], down=[])) == ["best"]


def _final_critic(loss, seed, pulls, wells, status="completed"):
    """A made-up final run whose measures are given: `pulls` by snapshot (epochs 0, 50, 100), `wells` at the last."""
    return SimpleNamespace(config=SimpleNamespace(loss=loss, seed=seed), status=status,
                           snapshot_epochs=np.array([0, 50, 100]), pulls=pulls, wells=wells)


@pytest.fixture
def made_up_measures(monkeypatch):
    monkeypatch.setattr(grid, "pull_towards_centres", lambda run, k=-1: run.pulls[k])
    monkeypatch.setattr(grid, "centre_wells", lambda run, k=-1: run.wells)


def test_a_final_critics_pull_is_its_mean_from_epoch_50_on_and_its_wells_are_at_the_last_snapshot(made_up_measures):
    assert finals.critic_hold(_final_critic("wgan", 0, [0.9, 0.2, 0.4], 7)) == (pytest.approx(0.3), 7)
    assert finals.critic_hold(_final_critic("wgan", 0, [0.9, np.nan, 0.4], 7))[0] == pytest.approx(0.4)
    runs = [_final_critic("wgan", s, [0, p, p], w) for s, (p, w) in enumerate([(0.2, 4), (0.4, 6)])]
    runs.append(_final_critic("wgan", 2, [0, 9, 9], 99, status="diverged"))
    found = finals.finals_critics(runs)
    assert list(found) == ["wgan"] and found["wgan"]["n"] == 2 and found["wgan"]["diverged"] == 1
    assert found["wgan"]["pull"] == (pytest.approx(0.3), pytest.approx(0.1))
    assert found["wgan"]["wells"] == (pytest.approx(5.0), pytest.approx(1.0))
    table = tables.finals_critic_table(runs)
    assert table.rows == [["clipped WGAN", "2 (1 diverged, left out)", "0.30 ± 0.10", "5.0 ± 1.0"]]


def test_the_screens_reading_of_the_clipped_wgan_is_judged_on_all_final_runs(made_up_measures, monkeypatch):
    def made_up_finals(clipped_pull, standard_pull, seeds=range(10)):
        pulls = {"wgan": clipped_pull, "wgan-gp": 0.8, "standard": standard_pull, "coulomb": 0.5}
        return [_final_critic(loss, s, [0, p + 0.01 * (s % 2), p - 0.01 * (s % 2)], 10)
                for loss, p in pulls.items() for s in seeds]

    assert "judged once all" in finals.finals_critic_reading(made_up_finals(0.2, 0.7, seeds=range(9)))
    holds = finals.finals_critic_reading(made_up_finals(0.2, 0.7))
    assert "mean cosine of 0.20 ± 0.00" in holds and "the screen's reading holds" in holds
    missed = finals.finals_critic_reading(made_up_finals(0.5, 0.7))  # the Coulomb GAN's 0.5 is no straighter
    assert "does not hold" in missed and "not below the Coulomb GAN's" in missed
    diverged = [r if r.config.loss != "wgan" else _final_critic("wgan", r.config.seed, [], 0, status="diverged")
                for r in made_up_finals(0.2, 0.7)]
    assert "no critic left to measure" in finals.finals_critic_reading(diverged)
    # the same judgement as a yes or no, and as the end of the screen's sentence
    cases = (made_up_finals(0.2, 0.7, seeds=range(9)), made_up_finals(0.2, 0.7), made_up_finals(0.5, 0.7), diverged)
    assert [finals.finals_critic_reading_holds(runs) for runs in cases] == [None, True, False, None]
    assert "what will show whether it lasts" in finals.finals_critic_outcome(cases[0])
    assert finals.finals_critic_outcome(made_up_finals(0.2, 0.7)).endswith("bear this reading out.")
    monkeypatch.setattr(finals, "finals_fates", lambda runs: {"wgan": {"flat": dict.fromkeys(range(6), 90), "n": 10}})
    assert finals.finals_critic_outcome(made_up_finals(0.5, 0.7)).endswith(
        "do not bear this reading out: there the clipped critic pulls no less straight than the Coulomb GAN's, and in "
        "6 of its 10 seeds it dies.")
    monkeypatch.setattr(finals, "finals_fates", lambda runs: {"wgan": {"flat": dict.fromkeys(range(5), 90), "n": 10}})
    assert finals.finals_critic_outcome(made_up_finals(0.5, 0.7)).endswith("than the Coulomb GAN's.")


def _spread_run(loss, seed, hq, status="completed"):
    return SimpleNamespace(config=SimpleNamespace(loss=loss, seed=seed, epochs=150, case=""), status=status,
                           metrics=[{"epoch": 149, "modes": 24, "hq_fraction": hq, "reverse_kl": 0.1, "w1": 0.1}])


def test_where_the_finals_samples_fall_is_said_for_a_discriminator_that_misses_its_goal(monkeypatch):
    spreads = {"wgan-gp": {"bands": np.array([0.6, 0.3, 0.1, 0.0]), "median": 0.118, "missed": 3, "wells_at_missed": 1},
               "standard": {"bands": np.array([0.9, 0.1, 0.0, 0.0]), "median": 0.06, "missed": 9, "wells_at_missed": 9},
               "wgan": {"bands": np.array([0.2, 0.2, 0.5, 0.1]), "median": 0.5, "missed": 2, "wells_at_missed": 2}}
    monkeypatch.setattr(finals, "sample_spread", lambda run: spreads[run.config.loss])
    runs = [_spread_run(loss, s, spreads[loss]["bands"][0]) for loss in spreads for s in range(10)]
    runs[-1] = _spread_run("wgan", 9, 0.0, status="diverged")  # the clipped WGAN's seed 9: not measured
    found = finals.finals_spread(runs)
    assert list(found) == ["wgan-gp", "wgan", "standard"]  # the order of the finals
    assert found["wgan"]["n"] == 9 and found["wgan"]["missed"] == 18 and found["wgan"]["wells_at_missed"] == 18
    assert found["wgan-gp"]["bands"][1] == (pytest.approx(0.3), pytest.approx(0.0))
    text = finals.finals_spread_sentences(runs)
    # the standard GAN has no goal; WGAN-GP's shortfall is blur, the clipped WGAN's lies further out
    assert "standard" not in text
    assert ("Of WGAN-GP's samples, 60 % are of high quality, 30 % lie just outside (0.15 to 0.3 from a centre) "
            "and 10 % further out: the share it lacks is mostly blur, its samples about 2.0 times as far from their "
            "centre as true samples (median distance 0.118 against 0.059). Its 10 seeds miss 30 centres in all, and "
            "its critic has a well at 10 of them at the last snapshot: at most of the centres its generator misses, "
            "its critic has no well to draw it in.") in text
    assert ("Of the clipped WGAN's samples, 20 % are of high quality, 20 % lie just outside (0.15 to 0.3 from a "
            "centre) and 60 % further out. Its 9 seeds miss 18 centres in all, and its critic has a well at 18 of "
            "them at the last snapshot: at most of them its critic has a well, and its generator still does not go "
            "there.") in text
    assert finals.finals_spread_sentences(runs[5:25]) == ""  # no finals with a goal complete
    table = tables.finals_spread_table(runs)
    assert table.rows[0][:3] == ["the true mixture", tables.DASH, "98.9"]
    assert table.rows[1] == ["WGAN-GP", "10", "60.0 ± 0.0", "30.0 ± 0.0", "10.0 ± 0.0", "0.0 ± 0.0", "0.118 ± 0.000",
                             "30 (10)"]


def test_the_grids_answer_in_one_sentence_grows_with_the_run_sets_that_are_in():
    def final(loss, modes, hq, kl, seed):
        config = SimpleNamespace(loss=loss, seed=seed, epochs=150, case=f"best-{loss}")
        return SimpleNamespace(config=config, status="completed",
                               metrics=[{"epoch": 149, "modes": modes, "hq_fraction": hq, "reverse_kl": kl, "w1": 1.0}])

    ladder = five_seeds("post", 0.02) + five_seeds("relu", 0.04)
    screen = [screen_run(c, 24, hq, seed=s) for c, hq in (("gp-lr1e-3-lambda0.1", 0.7), ("gp-lr1e-4-lambda10", 0.3),
                                                         ("clip0.01-lr1e-4", 0.1)) for s in (0, 1)]
    for run in screen:
        run.config = best_config(run.config.case.removeprefix("best-"), run.config.seed, epochs=100)
    text = report.grid_answer(ladder, {"best-screen": screen})
    assert text == ("No single change to the post's settings learns the grid; from the field's settings, WGAN-GP does "
                    "best in the screen (24.0 modes, 70 % of its samples near a centre; the ten-seed finals are still "
                    "training).")
    final_runs = [final("wgan-gp", 22, 0.6, 0.3, s) for s in range(10)] + [final("standard", 15, 0.8, 1.0, s) for s in range(10)]
    down = [down_run("top", 24, 0.6, seed=s) for s in range(5)] + [down_run("elu", 24, 0.1 + 0.01 * s, seed=s)
                                                                    for s in range(5)]
    text = report.grid_answer(five_seeds("post", 0.02) + five_seeds("relu", 0.6, modes=22), {"best": final_runs, "ladder-down": down})
    assert text == ("Of single changes to the post's settings, ReLU instead of ELU meets the bar in most seeds; at their "
                    "best, within 30 minutes of one core a seed, WGAN-GP does best (22.0 modes, 60 % of its samples "
                    "near a centre), short of its goal; put back one at a time into WGAN-GP's setting, the post's "
                    "choice that costs most is ELU instead of ReLU (alone 82 % of the gap to the post's setting).")  # (0.576 - 0.115) / (0.576 - 0.016)
    noisy = down[:5] + [down_run("elu", 24, hq, seed=s) for s, hq in enumerate((0.0, 0.0, 0.6, 1.0, 1.0))]
    assert report.grid_answer(ladder, {"best": final_runs, "ladder-down": noisy}).endswith(
        "costs most is ELU instead of ReLU (alone 14 % of the gap to the post's setting, though within twice its "
        "standard error).")  # 0.576 - 0.96 x 0.52 = 0.077 of a gap of 0.560
    better = down[:5] + [down_run("elu", 25, 0.7, seed=s) for s in range(5)]
    assert report.grid_answer(ladder, {"best": final_runs, "ladder-down": better}).endswith(
        "short of its goal; none of the post's choices put back one at a time into WGAN-GP's setting lowers its score.")


def _fate_run(loss, seed, ranges, outside=0.0):
    """A made-up final run: D's range over the plotted square each epoch, and a share of its last samples
    outside the square."""
    inside = np.zeros((100, 2))
    samples = np.concatenate([np.full((round(100 * outside), 2), 50.0), inside[round(100 * outside):]])
    return SimpleNamespace(config=SimpleNamespace(loss=loss, seed=seed, plot_extent=6.0, epochs=len(ranges), case=""),
                           status="completed", epoch_logs={"d_min": [0.0] * len(ranges), "d_max": list(ranges)},
                           samples=[samples],
                           metrics=[{"epoch": len(ranges) - 1, "modes": 5, "hq_fraction": 0.02, "reverse_kl": 1.0,
                                     "w1": 1.0}])


def test_a_critic_is_flat_from_the_epoch_its_range_is_zero_to_the_end():
    assert finals.critic_flat_from(_fate_run("wgan", 0, [1e-3, 1e-5, 0.0, 0.0])) == 2
    assert finals.critic_flat_from(_fate_run("wgan", 0, [1e-3, 0.0, 1e-6, 0.0])) == 3  # flat for good only from 3
    assert finals.critic_flat_from(_fate_run("wgan", 0, [0.0, 0.0])) == 0
    assert finals.critic_flat_from(_fate_run("wgan", 0, [0.0, 1e-9])) is None  # alive again at the end
    assert finals.left_the_square(_fate_run("wgan", 0, [1.0], outside=0.6))
    assert not finals.left_the_square(_fate_run("wgan", 0, [1.0], outside=0.5))


def test_what_became_of_the_finals_is_said_for_a_discriminator_that_misses_its_goal():
    runs = [_fate_run("wgan", s, [1e-3] * 5 if s < 6 else [1e-3] * (s - 4) + [0.0] * (9 - s), outside=0.9 * (s < 2))
            for s in range(10)]
    runs[8] = _fate_run("wgan", 8, [1e-3, 0, 0, 0, 0], outside=0.8)  # flat and gone
    runs += [_fate_run("wgan-gp", s, [1.0] * 5) for s in range(10)]
    fates = finals.finals_fates(runs)
    assert fates["wgan"]["flat"] == {6: 2, 7: 3, 8: 1} and fates["wgan"]["left"] == [0, 1, 8]
    assert finals.finals_fate_sentences(runs) == (
        "In no seed did WGAN-GP's critic go flat or its generator leave the plotted square. The clipped WGAN's "
        "critic went flat in 3 of its 10 seeds: from an epoch between 1 and 3 on it takes one value over the whole "
        "plotted square, so its generator gets no gradient and stops where it is; in 3 of the 10 seeds its generator "
        "left the plotted square (more than half of the samples outside it at the last snapshot; 1 of these 3 seeds "
        "also among those whose critic went flat).")
    assert finals.finals_fate_sentences(runs[:9] + runs[10:]) == (  # nine clipped seeds: not judged yet
        "In no seed did WGAN-GP's critic go flat or its generator leave the plotted square.")


def test_why_the_finals_miss_names_a_flat_critic_first_then_blur_or_samples_away_from_every_centre(monkeypatch):
    def final(loss, seed):
        config = SimpleNamespace(loss=loss, seed=seed, epochs=150, case=f"best-{loss}")
        return SimpleNamespace(config=config, status="completed",
                               metrics=[{"epoch": 149, "modes": 20, "hq_fraction": 0.5, "reverse_kl": 0.3, "w1": 1.0}])

    runs = [final(loss, s) for loss in ("wgan-gp", "wgan", "standard") for s in range(10)]
    fates = {"wgan-gp": {"flat": {}, "left": [], "n": 10}, "wgan": {"flat": dict.fromkeys(range(6), 100), "left": [], "n": 10},
             "standard": {"flat": {}, "left": [], "n": 10}}
    spread = {loss: {"bands": [(0.5, 0.0), (0.4, 0.0), (0.1, 0.0), (0.0, 0.0)], "median": (0.118, 0.0)} for loss in fates}
    monkeypatch.setattr(finals, "finals_fates", lambda runs: fates)
    monkeypatch.setattr(finals, "finals_spread", lambda runs: spread)
    assert finals.best_miss_sentence(runs) == (
        "Why the goals are missed, as measured: WGAN-GP's samples sit about 2.0 times as far from their centres as true "
        "samples, a blur around the modes it finds; the clipped WGAN's critic went flat in 6 of its 10 seeds, leaving "
        "its generator no gradient.")  # the standard GAN has no goal to miss
    fates["wgan"]["flat"] = dict.fromkeys(range(5), 100)  # half the seeds: not most
    spread["wgan"]["bands"] = [(0.5, 0.0), (0.1, 0.0), (0.3, 0.0), (0.1, 0.0)]
    assert finals.best_miss_sentence(runs).endswith("; most of the clipped WGAN's samples that miss lie away from every "
                                                  "centre.")
    assert finals.best_miss_sentence(runs[:9]) == ""  # nine WGAN-GP seeds, no clipped ones: nothing judged
    assert finals.best_miss_sentence(runs[:10]).startswith("Why the goal is missed, as measured: WGAN-GP's samples")


def test_a_generator_that_left_the_square_is_said_without_a_flat_critic():
    runs = [_fate_run("wgan", s, [1e-3] * 3, outside=0.9 * (s == 4)) for s in range(10)]
    assert finals.finals_fate_sentences(runs) == (
        "In 1 of the 10 seeds the clipped WGAN's generator left the plotted square (more than half of the samples "
        "outside it at the last snapshot).")
