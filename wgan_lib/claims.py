"""The post's claims, each with a measurable form fixed before the seeds that judge it were looked at.

Every claim says what the post wrote (its Japanese and an English rendering), which runs judge it
(a setting of the post: its run in the run set `cases` and its seeds in `full-seeds`, five in all,
each at the post's full schedule of 1000 epochs), a per-run test that turns the words into a
number and a threshold, why that test matches the words, and how the tests of the seeds make a
verdict. Beside the post's own criterion every claim about G is also read by the field's
(`summary.field_success`: at least 20 modes and at least half the samples of high quality).

Verdicts over n seeds, k of which come out as the post says (`RULES`):
- `most`: reproduced when k >= 0.8 n, not reproduced when k <= 0.2 n, partly in between;
- `both`: the post saw one run of a setting fail and another succeed: reproduced when some seeds
  meet the test and some do not;
- `some`: reproduced when at least one seed comes out as the post says;
- a claim whose words give nothing to measure is not decidable from the post's text.

A criterion that every run of the claims meets, or that none does, separates nothing; `evaluate`
says so beside the verdicts (`Criterion.separates`).

The findings the introduction and the README print are made here from the verdicts (`findings`,
`load_findings`), with a last one from the run set `ladder`: what one change at a time to the
post's success setting does (`ladder_finding`).
"""
import math
from dataclasses import dataclass

import numpy as np

from . import measures
from .summary import field_success, mean_and_error

# The thresholds of the measurable forms (see each claim's `why`).
NEAR_RADIUS = 0.5  # a quarter of the distance between neighbouring centres
NEAR_MIN_FRACTION = 0.002  # 5 of G's 2500 samples
RADIAL_MIN_SHARE = 0.75  # tangential share of D's gradient: 1 spokes, 0.5 a plane, 0 rings
# A second reading of the radial claim, fixed after the share was found to score a band through the
# centre like spokes and before it was computed on any run: contours radiate when, besides the share,
# at least two thirds of the directions from the centre are radial (`measures.radial_directions`:
# 1 spokes, about 1/3 a plane or a single band, 0 rings).
RADIAL_MIN_DIRECTIONS = 2 / 3
VALLEY_MAX_PERCENTILE = 0.25  # G's samples in the lowest quarter of D's values on the plot
DRIFT_MIN_OUTSIDE = 0.5  # half of G's samples outside the plotted square
GROWTH_MIN_FACTOR = 100.0  # the post's range grows 500-fold from epoch 100 to 999
POST_RANGE_999 = 3.0e5  # the post's table at epoch 999: min -1.8e5, max 1.2e5
MAGNITUDE_FACTOR = 10.0  # within a factor of 10 of the post's range


def _last(run):
    return run.samples[-1], run.d_grid[-1]


def passes_near_every_centre(run):
    """At the last snapshot, at least 5 of G's 2500 samples lie within 0.5 of each of the 25 centres."""
    samples, _ = _last(run)
    return measures.centres_passed(samples, NEAR_RADIUS, NEAR_MIN_FRACTION) == 25


def centres_passed(run):
    return measures.centres_passed(_last(run)[0], NEAR_RADIUS, NEAR_MIN_FRACTION)


def tangential_share(run):
    return measures.tangential_share(_last(run)[1], run.config.plot_extent)


def radial_directions(run):
    return measures.radial_directions(_last(run)[1], run.config.plot_extent)


def radiates(run):
    """The radial claim's second reading: tangential share >= 0.75 and radial in >= 2/3 of the directions."""
    return tangential_share(run) >= RADIAL_MIN_SHARE and radial_directions(run) >= RADIAL_MIN_DIRECTIONS


def valley_percentile(run):
    samples, d_grid = _last(run)
    return measures.valley_percentile(d_grid, run.config.plot_extent, samples)


def largest_outside(run):
    """The largest share of G's samples outside the plotted square at any snapshot."""
    return max(measures.drift(s, run.config.plot_extent)["outside"] for s in run.samples)


def d_range(run, epoch):
    """max - min of D over the plotted square after `epoch` (from the per-epoch log)."""
    return float(run.epoch_logs["d_max"][epoch] - run.epoch_logs["d_min"][epoch])


def generator_descends(loss):
    """Whether G moves down D under `loss` (its loss rises with D: WGAN, WGAN-GP, Coulomb GAN) or up
    it (the standard GAN), read from the loss itself."""
    import torch

    from .losses import LOSSES

    low, high = LOSSES[loss].generator_loss(torch.tensor([[0.0], [1.0]]))
    return bool(high > low)


def descended_map(run, snapshot=-1):
    """D's map at a snapshot, turned so that G descends it (as it is for the WGANs and the Coulomb
    GAN; negated for a generator that climbs D, like the standard GAN's)."""
    return run.d_grid[snapshot] if generator_descends(run.config.loss) else -run.d_grid[snapshot]


def centre_wells(run, snapshot=-1):
    """How many of the 25 centres hold G at a snapshot (default the last): centres where D, turned so
    that G descends it, is lower than everywhere on the circle of radius 1 around them
    (`measures.centre_wells`)."""
    return int(np.nansum(measures.centre_wells(descended_map(run, snapshot), run.config.plot_extent)))


def pull_towards_centres(run, snapshot=-1):
    """How straight D's gradient pushes G's samples near a centre into it, at a snapshot (default the
    last): the mean cosine of `measures.pull_towards_centres`, with D turned so that G descends it."""
    return measures.pull_towards_centres(descended_map(run, snapshot), run.config.plot_extent, run.samples[snapshot])


def snapshot_means(runs, candidate, measure):
    """A measure at each snapshot, mean over the completed seeds of a candidate of the best-of search
    (NaN ignored; NaN where every seed is NaN); `measure(run, k)` as `centre_wells` takes it."""
    members = [r for r in runs if best_candidate_of(r) == candidate and r.status == "completed"]
    values = [[measure(r, k) for r in members] for k in range(len(members[0].snapshot_epochs))]
    return [float(np.nanmean(v)) if np.isfinite(v).any() else math.nan for v in values]


def range_growth(run):
    return d_range(run, run.config.epochs - 1) / d_range(run, 100)


def d_signs_and_magnitude(run):
    last = run.config.epochs - 1
    low, high = run.epoch_logs["d_min"][last], run.epoch_logs["d_max"][last]
    return bool(low < 0 < high and POST_RANGE_999 / MAGNITUDE_FACTOR <= high - low <= POST_RANGE_999 * MAGNITUDE_FACTOR)


@dataclass(frozen=True)
class Criterion:
    """A per-run test with the measured quantity behind it."""

    test: object  # run -> bool
    value: object = None  # run -> float, the number the test thresholds (None: the test is the number)
    label: str = ""


POST_SUCCESS = Criterion(passes_near_every_centre, centres_passed, "centres passed near (of 25)")
FIELD = Criterion(lambda run: run.status == "completed" and field_success(run.metrics[-1]),
                  lambda run: run.metrics[-1].get("modes", math.nan), "modes (field)")


@dataclass(frozen=True)
class Claim:
    key: str
    topic: str
    setting: str
    words: str
    translation: str
    form: str
    why: str
    criterion: Criterion | None
    expect: bool = True  # what the post says the test gives
    rule: str = "most"
    field: bool = False  # also read by the field's criterion


RULES = ("most", "both", "some", "undecidable")


def _failure(k, extra=""):
    return Claim(
        f"failure-{k}", f"Failure {k}", f"failure-{k}",
        "WGANでもハイパーパラメータを間違えると分布を模擬できないという例です。",
        "Examples where even a WGAN cannot imitate the distribution when the hyper-parameters are wrong.",
        "G does not pass near every centre at the last snapshot (the success's form, below, fails)." + extra,
        "The post judged success by G passing near each of the 25 centres; a failure is the absence of it.",
        POST_SUCCESS, expect=False, field=True)


CLAIMS = [
    *[_failure(k) for k in range(1, 7)],
    Claim("success-g", "Success: G near every centre", "success",
          "Gについては、綺麗に当てはまっているとはいえませんが、再現したい25個のガウシアンそれぞれの中心付近を"
          "通過するようには分布しています。",
          "G is not neatly fitted, but its distribution passes near the centre of each of the 25 Gaussians.",
          "At the last snapshot at least 5 of G's 2500 samples (0.2 %) lie within 0.5 of each of the 25 centres.",
          "'Passes near each centre' asks for some of G's mass near every centre, not for most of it there "
          "('not neatly fitted'); 0.5 is a quarter of the distance between neighbouring centres, close on the "
          "post's plots of [-6, 6]^2, and 5 samples are more than a stray one.",
          POST_SUCCESS, field=True),
    Claim("success-d-radial", "Success: D's contours radiate from the centre", "success",
          "Dについては、中央から放射状に等値線が伸びていることがわかります。",
          "D's contour lines extend radially from the centre.",
          "At the last snapshot, at least 75 % of the squared gradient of D over the disc 1 <= |x| <= 6 points "
          "around the centre (tangential share >= 0.75).",
          "Contour lines that radiate from the centre are lines along which D does not change: D's gradient "
          "crosses them, around the centre. The share is 1 for pure spokes, 0.5 for parallel lines (a plane) "
          "and 0 for circles; 0.75 is halfway from no preference to spokes.",
          Criterion(lambda run: tangential_share(run) >= RADIAL_MIN_SHARE, tangential_share, "tangential share")),
    Claim("success-valleys", "Success: G lies in D's valleys", "success",
          "おおよそ谷の部分にGが分布しています。",
          "G lies roughly in the valleys.",
          "At the last snapshot, G's samples inside the plot sit on average where D is lower than on 75 % of "
          "the plot (mean percentile of D at the samples <= 0.25).",
          "In the post's sign D is low where it believes the data are and G moves downhill; valleys are where "
          "D is low. Samples with no preference sit at the 50th percentile.",
          Criterion(lambda run: valley_percentile(run) <= VALLEY_MAX_PERCENTILE, valley_percentile,
                    "percentile of D at G")),
    Claim("failure-6-drift", "Failure 6: G drifts off the plot", "failure-6",
          "このあと、画面外にGの分布が移動してしまいました。",
          "After this, G's distribution moved off the screen.",
          "At some snapshot at least half of G's samples lie outside the plotted square [-6, 6]^2.",
          "'Moved off the screen' means most of G outside the plotted area; the post gives no epoch, so any "
          "snapshot counts. (Its plotted area is not given; ours is [-6, 6]^2.)",
          Criterion(lambda run: largest_outside(run) >= DRIFT_MIN_OUTSIDE, largest_outside,
                    "largest share outside")),
    Claim("no-clip-pair", "Without clipping: one run failed, one succeeded", "no-clip",
          "1回目は失敗し、…2回目は成功し",
          "The first run failed, ... the second succeeded.",
          "Among the seeds without clipping, some meet the success's form (G near every centre) and some do not.",
          "The post ran the setting twice with two outcomes: the setting succeeds sometimes.",
          POST_SUCCESS, rule="both", field=True),
    Claim("no-clip-growth", "Without clipping: D grows without bound", "no-clip",
          "クリッピングがないので、学習が進むにつれて値が大きくなっていきます。",
          "Without clipping, D's values grow as training goes on.",
          "D's range over the plot (max - min) at epoch 999 is at least 100 times its range at epoch 100.",
          "The post's table grows 500-fold over those epochs (600 to 3.0e5); 100-fold is growth of that kind.",
          Criterion(lambda run: range_growth(run) >= GROWTH_MIN_FACTOR, range_growth, "growth, epoch 100 to 999")),
    Claim("no-clip-table", "Without clipping: D's range reaches about -1.8e5 to 1.2e5", "no-clip",
          "等値線の最小値と最大値を下表にまとめておきました。(999: -180000, 120000)",
          "The minimum and maximum contour levels are in the table below (epoch 999: -180000 and 120000).",
          "At epoch 999 D's minimum over the plot is negative, its maximum positive, and its range within a "
          "factor of 10 of the post's 3.0e5.",
          "The table's numbers are rounded contour levels over the post's own plotted area, so only signs and "
          "the order of magnitude compare.",
          Criterion(d_signs_and_magnitude, lambda run: d_range(run, run.config.epochs - 1), "range at epoch 999")),
    Claim("conclusion-wgan", "Conclusion: WGAN learns the 25 Gaussians to some extent", "success",
          "WGANでも25個のガウス分布を再現するGをある程度は学習できることを確認できました。",
          "Even a WGAN can learn, to some extent, a G that reproduces the 25 Gaussians.",
          "The success's form: G near every centre, in most seeds of the successful setting.",
          "'To some extent' is the post's success, so its form is the success's.",
          POST_SUCCESS, field=True),
    Claim("conclusion-no-clip", "Conclusion: learning sometimes works without clipping", "no-clip",
          "クリッピングがなくても、学習できることがあることも確認できました。",
          "Learning sometimes works even without clipping.",
          "At least one seed without clipping meets the success's form.",
          "'Sometimes' asks for one success among the runs.",
          POST_SUCCESS, rule="some", field=True),
    Claim("coulomb-contrast", "G evolves differently from the Coulomb GAN", "success",
          "Gの発展の仕方がCoulomb GANとは異なるところが面白いところです。",
          "How G evolves differs, interestingly, from the Coulomb GAN.",
          "None: the post does not say how it differs.",
          "Any two runs differ somehow; without the post's description there is nothing to compare.",
          None, rule="undecidable"),
]


def verdict(rule, k, n):
    """The verdict of `rule` when k of n seeds come out as the post says."""
    if rule == "undecidable" or n == 0:
        return "not decidable"
    if rule == "both":
        return "reproduced" if 0 < k < n else "not reproduced"
    if rule == "some":
        return "reproduced" if k >= 1 else "not reproduced"
    if k >= 0.8 * n:
        return "reproduced"
    return "not reproduced" if k <= 0.2 * n else "partly"


@dataclass
class ClaimResult:
    claim: Claim
    runs: list
    values: list  # the measured quantity per run
    met: list  # per run: does the test give what the post says (for `both`: does it meet the test)
    verdict: str
    field_met: list | None = None
    field_verdict: str | None = None

    @property
    def k(self):
        return sum(self.met)

    @property
    def n(self):
        return len(self.met)

    @property
    def mean_and_error(self):
        return mean_and_error(self.values)


def _judge(criterion, claim, runs):
    tests = [bool(criterion.test(run)) if run.status == "completed" else False for run in runs]
    met = tests if claim.rule == "both" else [t == claim.expect for t in tests]
    return met, verdict(claim.rule, sum(met), len(met))


def setting_runs(results=None, train_missing=True):
    """{setting: runs at the full schedule}: each setting's run of the set `cases` and its seeds of
    the set `full-seeds` (the two runs without clipping of `cases` are one setting)."""
    from .runsets import load, setting_name

    groups = {}
    for name in ("cases", "full-seeds"):
        for run in load(name, results, train_missing=train_missing):
            groups.setdefault(setting_name(run.config.case), []).append(run)
    return groups


def evaluate(runs_by_setting, claims=CLAIMS):
    """Judge every claim on its setting's runs; returns [ClaimResult]."""
    results = []
    for claim in claims:
        runs = runs_by_setting.get(claim.setting, [])
        if claim.criterion is None:
            results.append(ClaimResult(claim, runs, [], [], "not decidable"))
            continue
        value = claim.criterion.value or claim.criterion.test
        values = [float(value(run)) if run.status == "completed" else math.nan for run in runs]
        met, word = _judge(claim.criterion, claim, runs)
        result = ClaimResult(claim, runs, values, met, word)
        if claim.field:
            result.field_met, result.field_verdict = _judge(FIELD, claim, runs)
        results.append(result)
    return results


def separates(criterion, runs):
    """(k, n): how many of `runs` meet `criterion`; a criterion with k = 0 or k = n separates nothing."""
    tests = [bool(criterion.test(run)) if run.status == "completed" else False for run in runs]
    return sum(tests), len(tests)


def criteria_in_use(claims=CLAIMS):
    """The distinct criteria of the claims, by the label of their measure."""
    seen = {}
    for claim in claims:
        if claim.criterion is not None:
            seen.setdefault(claim.criterion.label, claim.criterion)
    seen.setdefault(FIELD.label, FIELD)
    return seen


LARGER_NETWORKS = "size-w128-d3-success-1000ep"  # run set network-size: G and D 3 x 128, clip 0.1


def larger_networks(results=None, train_missing=True):
    """The success setting with both networks 3 x 128 at the same clip and schedule (run set
    `network-size`): the cheapest test of whether more room for the critic draws the post's map."""
    from .runsets import load

    return load("network-size", results, train_missing=train_missing, where=lambda c: c.case == LARGER_NETWORKS)


def all_runs(runs_by_setting):
    return [run for runs in runs_by_setting.values() for run in runs]


def times_the_post(range_999):
    """`range_999` (D's range over the plot at epoch 999) in words against the post's table."""
    ratio = range_999 / POST_RANGE_999
    return f"{1 / ratio:.0f} times smaller than the post's" if ratio < 1 else f"{ratio:.1f} times the post's"


def _radial_words(radial, success_runs, larger):
    """The findings' sentence on D's contours: the claim's verdict (the tangential share) and its
    second reading (the directions) for our critic and for the larger networks."""
    import numpy as np

    directions = np.mean([radial_directions(r) for r in success_runs])
    text = (("**$D$'s contours radiate from the centre**" if radial.verdict == "reproduced" else
             "**$D$'s contours do not radiate from the centre**")
            + f" in our clipped critic ({radial.verdict}; tangential share {radial.mean_and_error[0]:.2f}, where "
            f"spokes give 1 and a plane 0.5; radial in {100 * directions:.0f} % of the directions from the centre, "
            "where spokes are radial in all of them and a plane or a single band in a third).")
    if not larger:
        return text
    share = float(np.mean([tangential_share(r) for r in larger]))
    big_directions = 100 * float(np.mean([radial_directions(r) for r in larger]))
    k = sum(radiates(r) for r in larger)
    if k >= 0.8 * len(larger):
        return text + (f" With both networks 3 x 128 at the same clip they do ({k} of {len(larger)} seeds; share "
                       f"{share:.2f}, radial in {big_directions:.0f} % of the directions).")
    if share >= RADIAL_MIN_SHARE:
        return text + (f" With both networks 3 x 128 at the same clip the share rises to {share:.2f}, but the "
                       f"contours are radial in only {big_directions:.0f} % of the directions: one band through the "
                       "centre, not the post's spokes.")
    return text + (f" Nor with both networks 3 x 128 at the same clip (share {share:.2f}, radial in "
                   f"{big_directions:.0f} % of the directions).")


def findings(results, every_run, uniform_hq, larger):
    """The findings, one Markdown bullet each, from the claims' `results` (`evaluate`), every run of
    the post's settings, the high-quality share of samples spread evenly over the plot (the chance
    level, `measures.uniform_mode_counts`) and the runs with both networks 3 x 128 at the success's
    clip (`larger_networks`). The introduction and the README both print these (`load_findings`),
    so the words and the numbers change together when the runs do."""
    import numpy as np

    result = {r.claim.key: r for r in results}
    g, radial, drift = result["success-g"], result["success-d-radial"], result["failure-6-drift"]
    growth, table, pair = result["no-clip-growth"], result["no-clip-table"], result["no-clip-pair"]
    like_success = [f"failure {k}" for k in range(1, 7) if result[f"failure-{k}"].verdict == "not reproduced"]
    partly = [f"failure {k}" for k in range(1, 7) if result[f"failure-{k}"].verdict == "partly"]
    field_k, field_n = separates(FIELD, every_run)
    last = [r.metrics[-1] if r.status == "completed" and r.metrics else {} for r in every_run]
    median_hq = 100 * float(np.median([m.get("hq_fraction", 0.0) for m in last]))
    bullets = [
        f"**The post's success, taken at its word, reproduces**: in {g.k} of {g.n} seeds $G$ passes near every "
        f"one of the 25 centres ({g.verdict}).",
        ("**But its own criterion does not separate the success from " + ", ".join(like_success) + "**: there "
         "too $G$ passes near every centre in most seeds"
         + (f" (and in some seeds of {', '.join(partly)})" if partly else "")
         + ". What the post saw as the line between failure and success is not in our runs."
         if like_success or partly else
         "**Its criterion separates the success from every failure**, as the post says."),
        f"**By the field's measure no setting of the post learns the grid.** {field_k} of {field_n} runs have at "
        f"least 20 modes and half of their samples near a centre; the median run has {median_hq:.1f} % of its "
        f"samples within three standard deviations of a centre, where samples spread evenly over the plot have "
        f"{100 * uniform_hq:.1f} %. The post's success is a $G$ spread thinly over the grid."
        if field_k == 0 else
        f"**By the field's measure {field_k} of {field_n} runs learn the grid** (at least 20 modes and half of "
        f"their samples near a centre); the median run has {median_hq:.1f} % of its samples near a centre.",
        _radial_words(radial, radial.runs, larger),
        f"**Failure 6's drift off the plot is {drift.verdict}** ({drift.k} of {drift.n} seeds).",
        ("**Without clipping, $D$ grows** as the post says" if growth.verdict == "reproduced" else
         "**Without clipping, $D$'s growth is not as the post says**")
        + f" ({growth.verdict}, {growth.k} of {growth.n} seeds), "
        + ("**and to the post's numbers**" if table.verdict == "reproduced" else "**but not to the post's numbers**")
        + f" ({table.verdict})"
        + (f": its range at epoch 999 is {times_the_post(float(np.mean(table.values)))}. " if table.values else ". ")
        + f"One run failing and one succeeding is {pair.verdict} ({pair.k} of {pair.n} seeds succeed).",
    ]
    return [f"- {b}" for b in bullets]


@dataclass
class Findings:
    """What the introduction and the README show: the runs of the post's settings, the claims'
    verdicts on them, the larger networks' runs and the findings' bullets."""

    by_setting: dict
    results: list
    larger: list
    bullets: list
    grid_sets: list  # the run sets the last bullet's sentences on each discriminator's best come from


def load_findings(results=None, train_missing=True):
    """The findings from the stored runs (`results`: the results folder, default the project's): the
    post's claims (`findings`) and what it takes to learn the grid (`ladder_finding`, then
    `grid_sentences`)."""
    from .measures import uniform_mode_counts
    from .runsets import load

    by_setting = setting_runs(results, train_missing=train_missing)
    verdicts = evaluate(by_setting)
    larger = larger_networks(results, train_missing=train_missing)
    _, uniform_hq = uniform_mode_counts(draws=1000, seed=0)
    bullets = findings(verdicts, all_runs(by_setting), float(uniform_hq.mean()), larger)
    grid_sets = grid_run_sets(results, train_missing=train_missing)
    bullets.append("- **What it takes to learn the grid.** "
                   + " ".join([ladder_finding(load("ladder", results, train_missing=train_missing)),
                               *grid_sentences(grid_sets).values()]))
    return Findings(by_setting, verdicts, larger, bullets, list(grid_sets))


def grid_run_sets(results=None, train_missing=True, finals=None, down=None):
    """{name: runs} of the run sets that the grid's sentences (`grid_sentences`) come from: the
    finals `best` once every run of it is stored, else the screen `best-screen`; and the ladder
    down `ladder-down` once every run of it is stored. The finals and the ladder down are never
    trained here (they take core-hours); `train_missing` is for the screen. `finals` and `down`:
    their stored runs where the caller has already loaded them (`runsets.load_stored`)."""
    from .runsets import is_complete, load, load_stored

    finals = load_stored("best", results) if finals is None else finals
    down = load_stored("ladder-down", results) if down is None else down
    sets = ({"best": finals} if is_complete("best", finals) else
            {"best-screen": load("best-screen", results, train_missing=train_missing)})
    if is_complete("ladder-down", down):
        sets["ladder-down"] = down
    return sets


def best_complete(runs):
    """The discriminators (losses, in the order of `runsets.BEST_FINAL`) of which every seed of
    `runsets.BEST_SEEDS` is among the final runs `runs`: those whose goal can be judged."""
    from .runsets import BEST_FINAL, BEST_SEEDS

    return [loss for loss in BEST_FINAL if {r.config.seed for r in runs if r.config.loss == loss} >= set(BEST_SEEDS)]


def grid_sentences(sets, see=""):
    """Each discriminator at its best and why the post's settings fail, in words, from `grid_run_sets`:
    {heading: sentence}, the first from `best_final_sentence` or `best_screen_sentence`, the second
    (`ladder_down_reading`) only where the ladder down is in. `see` as in `best_screen_sentence`."""
    found = {"Each discriminator at its best": best_final_sentence(sets["best"], see=see) if "best" in sets else
             best_screen_sentence(sets["best-screen"], see=see)}
    if "ladder-down" in sets:
        found["Why the post's settings fail"] = ladder_down_reading(sets["ladder-down"])
    return found


# ------------------------------------------------------------- what it takes to learn the grid
def ladder_summary(runs):
    """The run set `ladder` by rung: {rung: `summary.summarise` row}, in the order of `LADDER_RUNGS`."""
    from .runsets import LADDER_RUNGS
    from .summary import summarise

    rows = summarise(runs, key=lambda run: run.config.case.removeprefix("ladder-"))
    return {rung: rows[rung] for rung in LADDER_RUNGS if rung in rows}


def ladder_ranking(summary):
    """The rungs other than the post's, by how much they raise the high-quality share over it
    (rungs whose every seed diverged last)."""
    gain = {rung: row["hq_fraction"] - summary["post"]["hq_fraction"] for rung, row in summary.items() if rung != "post"}
    return sorted(gain, key=lambda rung: gain[rung] if math.isfinite(gain[rung]) else -math.inf, reverse=True)


def ladder_radiating(runs):
    """{rung: (k, n)} for the rungs of the run set `ladder` whose D radiates (`radiates`: both
    readings of the radial claim) at the last snapshot in most seeds (k >= 0.8 n)."""
    from .runsets import LADDER_RUNGS

    found = {}
    for rung in LADDER_RUNGS:
        members = [r for r in runs if r.config.case == f"ladder-{rung}" and r.status == "completed"]
        k = sum(radiates(r) for r in members)
        if members and k >= 0.8 * len(members):
            found[rung] = (k, len(members))
    return found


def ladder_finding(runs):
    """What it takes to learn the grid, in words, from the run set `ladder` (the grid chapter's first
    paragraph and the findings' last bullet): which one change raises the high-quality share most
    over the post's success setting, whether that is more than twice the standard error of the
    difference, whether any rung meets the field's bar, and which changes make D radiate."""
    from .runsets import LADDER_RUNGS

    summary = ladder_summary(runs)
    post, ranked = summary["post"], ladder_ranking(summary)
    radiating = ladder_radiating(runs)
    picture = ("" if not radiating else " The change that makes $D$'s contours radiate from the centre, as in the "
               "post's picture, is " + ", ".join(f"{LADDER_RUNGS[rung][0]} ({k} of {n} seeds, both readings)"
                                                for rung, (k, n) in radiating.items()) + ".")
    first, second = summary[ranked[0]], summary[ranked[1]]
    error = math.hypot(post["hq_fraction_se"], first["hq_fraction_se"])
    helps = first["hq_fraction"] - post["hq_fraction"] > 2 * error
    meeting = [(rung, round(row["success_rate"] * row["n"]), row["n"]) for rung, row in summary.items()
               if row["success_rate"] > 0]
    text = (f"From the post's success setting ({100 * post['hq_fraction']:.1f} % of its samples near a centre "
            f"after {runs[0].config.epochs} epochs), ")
    if not helps and not meeting:
        return text + (f"none of the {len(summary) - 1} changes tried one at a time raises the share of samples "
                              "near a centre by more than the seeds' spread, and none meets the field's bar of 20 "
                              "modes with half the samples near a centre: what the post's settings lack is more "
                              "than any one of them." + picture)
    if helps:
        text += (f"the one change that helps most is {LADDER_RUNGS[ranked[0]][0]} ({100 * first['hq_fraction']:.1f} "
                 f"± {100 * first['hq_fraction_se']:.1f} %, on {first['modes']:.1f} modes), then "
                 f"{LADDER_RUNGS[ranked[1]][0]} ({100 * second['hq_fraction']:.1f} %)")
    else:
        text += "no single change raises the share of samples near a centre by more than the seeds' spread"
    if meeting:
        return text + "; the field's bar of 20 modes with half the samples near a centre is met by " + ", ".join(
            f"{LADDER_RUNGS[rung][0]} ({k} of {n} seeds)" for rung, k, n in meeting) + "." + picture
    return text + "; no single change meets the field's bar of 20 modes with half the samples near a centre." + picture


# ------------------------------------------------------------- each discriminator at its best
def best_score(metrics):
    """The score of docs/grid-best.md: (modes / 25) x high-quality share; 1 for every mode covered with
    every sample sharp, near 0 for a thin spread and for a collapse alike (NaN for a diverged run)."""
    if not metrics or metrics.get("modes") is None or metrics.get("hq_fraction") is None:
        return math.nan
    return metrics["modes"] / 25 * metrics["hq_fraction"]


def seed_scores(runs):
    """Each run's `best_score` at its last snapshot; a run that diverged scores 0 (it learnt nothing)."""
    from .summary import final_metrics

    return [0.0 if r.status != "completed" else best_score(final_metrics(r)) for r in runs]


def best_candidate_of(run):
    """The candidate a run of the run sets `best-screen` and `best` tries ('gp-lr1e-4-lambda10', ...)."""
    return run.config.case.removeprefix("best-")


def best_screen_scores(runs):
    """{discriminator: {candidate: (mean score, mean reverse KL, n)}} over the seeds of the screen, at
    each run's last snapshot; a diverged seed scores 0 (it learnt nothing) and counts in n."""
    from .runsets import BEST_CANDIDATES
    from .summary import final_metrics

    table = {}
    for disc, candidates in BEST_CANDIDATES.items():
        for candidate in candidates:
            members = [r for r in runs if best_candidate_of(r) == candidate]
            if not members:
                continue
            scores = seed_scores(members)
            kl = [f["reverse_kl"] for f in map(final_metrics, members) if math.isfinite(f["reverse_kl"])]
            table.setdefault(disc, {})[candidate] = (float(sum(scores) / len(scores)),
                                                     float(sum(kl) / len(kl)) if kl else math.inf, len(members))
    return table


def best_choice(runs):
    """{discriminator: its best candidate}: the highest mean score, ties to the lower mean reverse KL
    (then the candidate listed first, so the choice never depends on the order of `runs`)."""
    from .runsets import BEST_CANDIDATES

    choice = {}
    for disc, scored in best_screen_scores(runs).items():
        order = list(BEST_CANDIDATES[disc])
        choice[disc] = min(scored, key=lambda c: (-scored[c][0], scored[c][1], order.index(c)))
    return choice


def seconds_per_run_epoch(run):
    """One run's share of one core per epoch: its stack's wall time over the stack's size and epochs."""
    p = run.provenance
    return p["wall_time_s"] / p["stack_size"] / run.config.epochs


def best_epochs(runs, candidate, budget_s=None, step=50):
    """The final schedule of `candidate`: the longest whose cost per seed, at its screen's time per run
    and epoch (the slowest of its seeds' stacks), fits `budget_s` (default `BEST_BUDGET_S`), rounded
    down to a multiple of `step` epochs."""
    from .runsets import BEST_BUDGET_S

    members = [r for r in runs if best_candidate_of(r) == candidate]
    if not members:
        raise ValueError(f"the screen has no run of candidate {candidate!r}")
    per_epoch = max(seconds_per_run_epoch(r) for r in members)
    return int((budget_s or BEST_BUDGET_S) / per_epoch // step * step)


def ladder_down_top(runs):
    """The top of the ladder down (docs/grid-best.md): the clipped WGAN's kept candidate when both of
    its screen seeds meet the field's bar, else WGAN-GP's kept candidate."""
    from .summary import run_field_success

    choice = best_choice(runs)
    clipped = [r for r in runs if best_candidate_of(r) == choice.get("wgan")]
    if clipped and all(run_field_success(r) for r in clipped):
        return choice["wgan"]
    return choice["wgan-gp"]


# The goals of docs/grid-best.md, on the means over the ten seeds: (metric, comparison, bound).
BEST_GOALS = {
    "wgan-gp": (("modes", ">", 24.8), ("hq_fraction", ">", 0.936), ("reverse_kl", "<", 0.04)),  # PacGAN4
    "wgan": (("modes", ">=", 24.0), ("hq_fraction", ">=", 0.8)),
}
_COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}


def best_goal_missed(discriminator, row):
    """The parts of `discriminator`'s goal that a `summary.summarise` row misses, in words ([] when it
    meets every part; None when the discriminator has no goal). A NaN mean misses."""
    if discriminator not in BEST_GOALS:
        return None
    words = {"modes": "modes", "hq_fraction": "high-quality share", "reverse_kl": "reverse KL"}
    return [f"{words[metric]} {row[metric]:.3g} is not {op} {bound:g}" for metric, op, bound in BEST_GOALS[discriminator]
            if not (math.isfinite(row[metric]) and _COMPARE[op](row[metric], bound))]


BEST_NAMES = {"wgan": "clipped WGAN", "wgan-gp": "WGAN-GP", "standard": "standard GAN", "coulomb": "Coulomb GAN"}


def best_screen_sentence(runs, see=""):
    """The screen in one sentence (the grid chapter's first paragraph and the findings of the book
    and the README): the kept candidate with the highest score, and the clipped WGAN's kept
    candidate, in modes and high-quality share. `see`: words after "From the field's settings", such
    as a MyST reference to the section (the README's Markdown has none)."""
    from .summary import summarise

    rows = summarise(runs, key=best_candidate_of)
    kept, scores = best_choice(runs), best_screen_scores(runs)
    top = max(kept, key=lambda d: scores[d][kept[d]][0])
    words = {d: f"{rows[c]['modes']:.1f} modes with {100 * rows[c]['hq_fraction']:.0f} % of the samples near a centre"
             for d, c in kept.items()}
    seeds = len({r.config.seed for r in runs})
    text = (f"From the field's settings{see}, the best of the search is {BEST_NAMES[top]}: "
            f"{words[top]} after {runs[0].config.epochs} epochs (mean of {seeds} seeds)")
    if top == "wgan" or "wgan" not in kept:
        return text + "."
    return text + f"; the clipped WGAN's best reaches {words['wgan']}."


def best_final_sentence(runs, see=""):
    """The finals (run set `best`, every seed stored) in one sentence, for the findings of the book
    and the README: each discriminator's means at its last snapshot, best score first, and whether
    it meets its goal (`best_goal_missed`). `see` as in `best_screen_sentence`."""
    from .summary import summarise

    rows = summarise(runs, key=lambda r: r.config.loss)  # a discriminator is its loss
    scores = {d: seed_scores([r for r in runs if r.config.loss == d]) for d in rows}
    order = sorted(rows, key=lambda d: -sum(scores[d]) / len(scores[d]))  # best mean score first
    goals = {"wgan-gp": "PacGAN4's row", "wgan": "24 modes with 80 %"}
    parts = []
    for disc in order:
        row, missed = rows[disc], best_goal_missed(disc, rows[disc])
        epochs = next(r.config.epochs for r in runs if r.config.loss == disc)
        part = (f"{BEST_NAMES[disc]} {row['modes']:.1f} modes with {100 * row['hq_fraction']:.0f} % of its samples "
                f"near a centre after {epochs} epochs")
        if missed is not None:
            part += f" ({'beating' if not missed else 'short of'} its goal, {goals[disc]})"
        parts.append(part)
    seeds = len({r.config.seed for r in runs})
    return (f"At their best from the field's settings{see}, {seeds} seeds of at most 30 minutes of one core "
            "each: " + "; ".join(parts) + ".")


PULL_FROM_EPOCH = 50  # the finals' pull is a seed's mean over its snapshots from here on (docs/grid-best.md)


def critic_hold(run, from_epoch=PULL_FROM_EPOCH):
    """(pull, wells) of a final run (docs/grid-best.md): the mean over its snapshots from `from_epoch`
    on of `pull_towards_centres`, and `centre_wells` at its last snapshot."""
    pulls = [pull_towards_centres(run, k) for k, epoch in enumerate(run.snapshot_epochs) if epoch >= from_epoch]
    return (float(np.nanmean(pulls)) if np.isfinite(pulls).any() else math.nan), centre_wells(run)


def finals_critics(runs):
    """{discriminator: {"pull": (mean, standard error), "wells": (mean, standard error), "n": seeds
    measured, "diverged": seeds left out}} over each discriminator's final runs (`critic_hold`; a
    diverged seed has no critic to measure), in the order of `runsets.BEST_FINAL`."""
    from .runsets import BEST_FINAL
    from .summary import mean_and_error

    found = {}
    for loss in BEST_FINAL:
        members = [r for r in runs if r.config.loss == loss]
        if members:
            held = [critic_hold(r) for r in members if r.status == "completed"]
            found[loss] = {"pull": mean_and_error([p for p, _ in held]), "wells": mean_and_error([w for _, w in held]),
                           "n": len(held), "diverged": len(members) - len(held)}
    return found


def finals_critic_reading(runs):
    """Whether the screen's reading of the clipped WGAN's miss holds on the finals (docs/grid-best.md),
    in words: judged only with every final run in (`best_complete`); the clipped critic's mean pull
    must be below each other discriminator's by more than twice the error of the difference."""
    from .runsets import BEST_FINAL

    if best_complete(runs) != list(BEST_FINAL):
        return ("Whether the screen's reading of the clipped WGAN holds on the finals is judged once all "
                "their seeds are in.")
    critics = finals_critics(runs)
    clipped = critics["wgan"]
    if clipped["n"] == 0:
        return "Every seed of the clipped WGAN's finals diverged: there is no critic left to measure."
    pull, error = clipped["pull"]
    gaps = {d: (c["pull"][0] - pull, math.hypot(c["pull"][1], error)) for d, c in critics.items() if d != "wgan"}
    short = [d for d, (gap, gap_error) in gaps.items() if not gap > 2 * gap_error]
    others = ", ".join(f"the {BEST_NAMES[d]}'s {critics[d]['pull'][0]:.2f}" for d in gaps)
    said = (f"Over its {clipped['n']} final seeds, the clipped critic points $G$'s loose samples at their centre "
            f"with a mean cosine of {pull:.2f} ± {error:.2f} from epoch {PULL_FROM_EPOCH} on ({others}), and has "
            f"wells at {clipped['wells'][0]:.1f} of the 25 centres at its last snapshot. ")
    if not short:
        return said + ("Its pull is below every other discriminator's by more than twice the error of the "
                       "difference: the screen's reading holds on the finals; the clipped critic leans towards "
                       "the centres without pointing at them.")
    return said + ("Its pull is not below the " + " and the ".join(BEST_NAMES[d] for d in short)
                   + "'s by more than twice the error of the difference: the screen's reading does not hold on "
                   "the finals, and the clipped WGAN's miss is not explained by its critic's slope alone.")


def best_screen_finding(runs):
    """The screen in words: each discriminator's kept candidate with its mean modes, high-quality
    share and score, best first, and how many of them meet the field's bar on every seed."""
    from .summary import run_field_success, summarise
    from .tables import best_settings

    choice, scores = best_choice(runs), best_screen_scores(runs)
    rows = summarise(runs, key=best_candidate_of)
    order = sorted(choice, key=lambda d: -scores[d][choice[d]][0])
    parts = []
    for disc in order:
        candidate, row = choice[disc], rows[choice[disc]]
        config = next(r.config for r in runs if best_candidate_of(r) == candidate)
        parts.append(f"{BEST_NAMES[disc]} ({best_settings(config)}) covers {row['modes']:.1f} modes with "
                     f"{100 * row['hq_fraction']:.0f} % of its samples near a centre (score "
                     f"{scores[disc][candidate][0]:.2f})")
    meeting = [d for d in order if all(run_field_success(r) for r in runs if best_candidate_of(r) == choice[d])]
    epochs, seeds = runs[0].config.epochs, len({r.config.seed for r in runs})
    text = (f"After {epochs} epochs (mean of {seeds} seeds), the best of each: " + "; ".join(parts) + ". ")
    if not meeting:
        return text + "None of them meets the field's bar of 20 modes with half the samples near a centre."
    words, others = " and ".join(BEST_NAMES[d] for d in meeting), len(choice) - len(meeting)
    return text + (f"{words[0].upper()}{words[1:]} meet{'s' if len(meeting) == 1 else ''} the field's bar of 20 "
                   "modes with half the samples near a centre on every seed"
                   + ("." if not others else "; the other does not." if others == 1 else
                      f"; the other {others} do not."))


# ------------------------------------------------------------- the ladder down
def ladder_down_rung_of(run):
    """The rung a run of the run set `ladder-down` stands on ('top', 'elu', ...)."""
    return run.config.case.removeprefix("down-")


def ladder_down_drops(runs):
    """{rung: {metric: (drop, standard error)}} for every rung of the run set `ladder-down` but the
    top, in the order of `runs`: how far the rung's mean modes, high-quality share and score
    (`best_score`; a diverged seed scores 0) fall below the top's, with the standard error of the
    difference of two independent means (docs/grid-best.md)."""
    by_rung = _ladder_down_means(runs)
    top = by_rung["top"]
    return {rung: {metric: (top[metric][0] - mean, math.hypot(top[metric][1], error))
                   for metric, (mean, error) in means.items()}
            for rung, means in by_rung.items() if rung != "top"}


def _ladder_down_means(runs):
    """{rung: {metric: (mean, standard error)}} over each rung's seeds at the last snapshot, for modes
    and high-quality share (completed seeds) and the score (a diverged seed scores 0)."""
    from .summary import final_metrics, mean_and_error

    by_rung = {}
    for run in runs:
        by_rung.setdefault(ladder_down_rung_of(run), []).append(run)
    if "top" not in by_rung:
        raise ValueError("the ladder down has no run of its top; its drops are measured from the top")
    means = {}
    for rung, members in by_rung.items():
        finals = [final_metrics(r) for r in members]
        means[rung] = {"modes": mean_and_error([f["modes"] for f in finals]),
                       "hq_fraction": mean_and_error([f["hq_fraction"] for f in finals]),
                       "score": mean_and_error(seed_scores(members))}
    return means


def ladder_down_named(drops):
    """The rungs the chapter names (docs/grid-best.md): the one with the largest drop in score, and
    the second largest too when its drop exceeds twice its standard error."""
    ranked = sorted(drops, key=lambda rung: -drops[rung]["score"][0])
    second = ranked[1:2]
    return ranked[:1] + [r for r in second if drops[r]["score"][0] > 2 * drops[r]["score"][1]]


def ladder_down_reading(runs):
    """The ladder down in words: from the top's score, the rungs `ladder_down_named` names, what each
    costs in score, modes and high-quality share, and whether its drop exceeds twice its standard
    error."""
    from .runsets import POST_CHOICES

    drops, means = ladder_down_drops(runs), _ladder_down_means(runs)
    top = means["top"]
    parts = []
    for rung in ladder_down_named(drops):
        (drop, error), rung_means = drops[rung]["score"], means[rung]
        parts.append(f"{POST_CHOICES[rung][0]} (the score falls by {drop:.2f} ± {error:.2f}, "
                     f"{'more' if drop > 2 * error else 'not more'} than twice its standard error, to "
                     f"{rung_means['modes'][0]:.1f} modes with {100 * rung_means['hq_fraction'][0]:.0f} % near a "
                     "centre)")
    seeds = len({r.config.seed for r in runs})
    text = (f"Put back one at a time into a setting that learns the grid ({top['modes'][0]:.1f} modes, "
            f"{100 * top['hq_fraction'][0]:.0f} % near a centre, score {top['score'][0]:.2f} after {runs[0].config.epochs} "
            f"epochs, mean of {seeds} seeds), the post's choice that costs most is " + parts[0])
    if len(parts) > 1:
        text += ", then " + parts[1]
    return text + "."
