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

The findings the introduction and the README print are made from the verdicts (`findings`; put
together with the last one, what it takes to learn the grid, by `report.load_findings`).
"""
import math
from dataclasses import dataclass

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
    field: bool = False  # also read by the field's measures (`summary.field_success`)


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


def all_runs(runs_by_setting, post_only=False):
    """Every run of `runs_by_setting` (`setting_runs`); `post_only`: only those of the post's own
    settings (its failures, its success and its runs without clipping), not the other losses that
    the run set `cases` trains beside them for comparison."""
    from .runsets import POST_SETTINGS

    return [run for setting, runs in runs_by_setting.items() for run in runs
            if not post_only or setting in (*POST_SETTINGS, "no-clip")]


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
    the post's settings (`all_runs(..., post_only=True)`), the high-quality share of samples spread evenly over the plot (the chance
    level, `measures.uniform_mode_counts`) and the runs with both networks 3 x 128 at the success's
    clip (`larger_networks`). The introduction and the README both print these (`report.load_findings`),
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
        f"**By the field's measures no setting of the post learns the grid.** {field_k} of the {field_n} runs of its "
        f"settings have at least 20 modes and half of their samples near a centre; the median run has {median_hq:.1f} % of its "
        f"samples within three standard deviations of a centre, where samples spread evenly over the plot have "
        f"{100 * uniform_hq:.1f} %. The post's success is a $G$ spread thinly over the grid."
        if field_k == 0 else
        f"**By the field's measures {field_k} of {field_n} runs learn the grid** (at least 20 modes and half of "
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
