"""What it takes to learn the grid: the ladder up from the post's success setting, the search for
each discriminator's best (the screen `best-screen`), the ladder down from the best, and the
measures of where a critic holds G.

The protocol these functions implement, fixed before the runs that it judges were trained, is
docs/grid-best.md (the score, the choice, the schedules, the ladder down's reading); the finals
(`best`) and why a discriminator misses its goal are in finals.py; the book's chapter "What it
takes to learn the grid" reads the run sets through both, and the findings (`report`) join them.
"""
import math

import numpy as np

from . import measures
from .claims import descended_map, radiates


# ---------------------------------------------- where D holds G
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


# --------------------------------------------------- the ladder
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
    difference, whether any rung meets the bar, and which changes make D radiate."""
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
    largest = (f"the largest rise, {LADDER_RUNGS[ranked[0]][0]}, gives {100 * first['hq_fraction']:.1f} "
               f"± {100 * first['hq_fraction_se']:.1f} % against {100 * post['hq_fraction']:.1f} ± "
               f"{100 * post['hq_fraction_se']:.1f} %")
    if not helps and not meeting:
        return text + (f"none of the {len(summary) - 1} changes tried one at a time raises the share of samples "
                       f"near a centre by more than twice the standard error of the difference ({largest}), and "
                       "none meets the bar of 20 modes with half the samples near a centre: what the post's "
                       "settings lack is more than any one of them." + picture)
    if helps:
        text += (f"the one change that helps most is {LADDER_RUNGS[ranked[0]][0]} ({100 * first['hq_fraction']:.1f} "
                 f"± {100 * first['hq_fraction_se']:.1f} %, on {first['modes']:.1f} modes), then "
                 f"{LADDER_RUNGS[ranked[1]][0]} ({100 * second['hq_fraction']:.1f} %)")
    else:
        text += ("no single change raises the share of samples near a centre by more than twice the standard error "
                 f"of the difference ({largest})")
    if meeting:
        return text + "; the bar of 20 modes with half the samples near a centre is met by " + ", ".join(
            f"{LADDER_RUNGS[rung][0]} ({k} of {n} seeds)" for rung, k, n in meeting) + "." + picture
    return text + "; no single change meets the bar of 20 modes with half the samples near a centre." + picture


def ladder_rungs(runs):
    """The run set `ladder` by rung: {rung: its runs}, in the order of `LADDER_RUNGS`."""
    from .runsets import LADDER_RUNGS

    return {rung: [r for r in runs if r.config.case == f"ladder-{rung}"] for rung in LADDER_RUNGS}


def hq_at(run, epoch):
    """A run's high-quality share at the snapshot of `epoch` (NaN for a diverged run or no such snapshot)."""
    if run.status != "completed":
        return math.nan
    return next((m["hq_fraction"] for m in run.metrics if m["epoch"] == epoch), math.nan)


def hq_change(groups, start, end):
    """{group: (mean, standard error)} over its seeds of the change in each run's high-quality share
    from the snapshot of epoch `start` to that of `end` (`groups`: {group: its runs}; a diverged
    seed is left out)."""
    from .summary import mean_and_error

    return {group: mean_and_error([hq_at(r, end) - hq_at(r, start) for r in members])
            for group, members in groups.items() if members}


def ladder_settling(runs, threshold=0.01):
    """{rung: (mean, standard error)} over its seeds of the change in the high-quality share from
    the ladder's middle snapshot to its last, for the rungs whose mean moves by `threshold` (a
    percentage point) or more: the rungs whose numbers had not settled."""
    from .runsets import LADDER_EPOCHS

    moved = hq_change(ladder_rungs(runs), LADDER_EPOCHS // 2, LADDER_EPOCHS - 1)
    return {rung: change for rung, change in moved.items() if abs(change[0]) >= threshold}


def ladder_settling_sentence(runs):
    """Whether the ladder's numbers had settled (`ladder_settling`) and which rungs make D radiate
    (`ladder_radiating`), in words, for the grid chapter under the ladder's table."""
    from .runsets import LADDER_EPOCHS, LADDER_RUNGS

    last, middle = LADDER_EPOCHS - 1, LADDER_EPOCHS // 2
    unsettled, radiating = ladder_settling(runs), ladder_radiating(runs)
    text = f"From epoch {middle} to {last} the high-quality share of every rung moves by less than one percentage point"
    if unsettled:
        text += (", except " + ", ".join(f"{LADDER_RUNGS[rung][0]} ({100 * d[0]:+.1f} ± {100 * d[1]:.1f} points)"
                                        for rung, d in unsettled.items())
                 + f": still moving at {LADDER_EPOCHS} epochs, so its row says where it had got to, not where it ends")
    text += "."
    if radiating:
        words = " and ".join(LADDER_RUNGS[rung][0] for rung in radiating)
        text += (f" {words[0].upper() + words[1:]} also changes the shape of $D$: its contour lines radiate from the "
                 "centre in most seeds, the picture the post drew of its successful critic, which the post's ELU "
                 "networks at clip 0.1 do not draw in our runs (chapter {doc}`success`).")
    return text


# --------------------- the search for each discriminator's best
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
    its screen seeds meet the bar, else WGAN-GP's kept candidate."""
    from .summary import run_field_success

    choice = best_choice(runs)
    clipped = [r for r in runs if best_candidate_of(r) == choice.get("wgan")]
    if clipped and all(run_field_success(r) for r in clipped):
        return choice["wgan"]
    return choice["wgan-gp"]


BEST_NAMES = {"wgan": "clipped WGAN", "wgan-gp": "WGAN-GP", "standard": "standard GAN", "coulomb": "Coulomb GAN"}


def the(loss):
    """A discriminator's name as a sentence uses it: 'the clipped WGAN', 'the standard GAN', 'WGAN-GP'."""
    return BEST_NAMES[loss] if loss == "wgan-gp" else f"the {BEST_NAMES[loss]}"


def best_settings(config):
    """What a candidate of the best-of search sets beside the common base, in words."""
    parts = [f"lr {config.lr:.0e}".replace("e-0", "e-")]  # lr 1e-4, as the chapters write it
    if config.loss == "wgan-gp":
        parts.append(f"λ {config.gp_lambda:g}")
    if config.clip is not None:
        parts.insert(0, f"clip {config.clip:g}")
    if config.n_critic != 1:
        parts.append(f"{config.n_critic} critic updates")
    return ", ".join(parts)


def best_screen_top(runs):
    """The discriminator whose kept candidate has the highest mean score in the screen, and that
    candidate."""
    kept, scores = best_choice(runs), best_screen_scores(runs)
    top = max(kept, key=lambda d: scores[d][kept[d]][0])
    return top, kept[top]


def best_screen_sentence(runs, see=""):
    """The screen in one sentence (the grid chapter's first paragraph and the findings of the book
    and the README): the kept candidate with the highest score, and the clipped WGAN's kept
    candidate, in modes and high-quality share. `see`: words after "From the field's settings", such
    as a MyST reference to the section (the README's Markdown has none)."""
    from .summary import summarise

    rows = summarise(runs, key=best_candidate_of)
    kept, (top, _) = best_choice(runs), best_screen_top(runs)
    words = {d: f"{rows[c]['modes']:.1f} modes with {100 * rows[c]['hq_fraction']:.0f} % of the samples near a centre"
             for d, c in kept.items()}
    seeds = len({r.config.seed for r in runs})
    text = (f"From the field's settings{see}, the best of the search is {BEST_NAMES[top]}: "
            f"{words[top]} after {runs[0].config.epochs} epochs (mean of {seeds} seeds)")
    if top == "wgan" or "wgan" not in kept:
        return text + "."
    return text + f"; the clipped WGAN's best reaches {words['wgan']}."


def best_screen_finding(runs):
    """The screen in words: each discriminator's kept candidate with its mean modes, high-quality
    share and score, best first, and how many of them meet the bar on every seed."""
    from .summary import run_field_success, summarise

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
        return text + "None of them meets the bar of 20 modes with half the samples near a centre."
    words, others = " and ".join(BEST_NAMES[d] for d in meeting), len(choice) - len(meeting)
    return text + (f"{words[0].upper()}{words[1:]} meet{'s' if len(meeting) == 1 else ''} the bar of 20 "
                   "modes with half the samples near a centre on every seed"
                   + ("." if not others else "; the other does not." if others == 1 else
                      f"; the other {others} do not."))


# ---------------------------------------------- the ladder down
def ladder_down_rung_of(run):
    """The rung a run of the run set `ladder-down` stands on ('top', 'elu', ...)."""
    return run.config.case.removeprefix("down-")


def ladder_down_by_rung(runs):
    """The run set `ladder-down` by rung: {rung: its runs}, in the order of `runs`."""
    by_rung = {}
    for run in runs:
        by_rung.setdefault(ladder_down_rung_of(run), []).append(run)
    return by_rung


LADDER_DOWN_EARLY = 40  # the early snapshot the ladder down's table sets beside its last (docs/grid-best.md)


def ladder_down_settling_sentence(runs):
    """Whether the ladder down's rungs had settled by their last snapshot, in words: the rungs whose
    high-quality share still rose from epoch `LADDER_DOWN_EARLY` to the last by more than twice
    the standard error of the change (paired by seed), with the change over the last two
    snapshots, which says whether they were still moving at the end."""
    from .runsets import POST_CHOICES

    by_rung = ladder_down_by_rung(runs)
    epochs = [m["epoch"] for m in next(r for r in runs if r.status == "completed").metrics]
    last, before = epochs[-1], epochs[-2]
    overall, late = hq_change(by_rung, LADDER_DOWN_EARLY, last), hq_change(by_rung, before, last)
    rising = [rung for rung, (change, error) in overall.items() if change > 2 * error]

    def name(rung):
        return "the top" if rung == "top" else POST_CHOICES[rung][0]

    if not rising:
        return (f"From epoch {LADDER_DOWN_EARLY} to {last} no rung's high-quality share rises by more than twice "
                "the standard error of its change: their numbers had settled.")
    one = len(rising) == 1
    slower = "" if "top" in rising else f", which learn{'s' if one else ''} more slowly than the top"
    text = (f"From epoch {LADDER_DOWN_EARLY} to {last} the high-quality share still rises, by more than twice the "
            f"standard error of the change, on {len(rising)} of the {len(overall)} rungs: "
            + "; ".join(f"{name(rung)} ({_points(overall[rung])})" for rung in rising) + slower + ". ")
    still = [rung for rung in rising if abs(late[rung][0]) > 2 * late[rung][1]]
    if not still:
        changes = "; ".join(_points(late[rung]) for rung in rising)
        return text + (f"From epoch {before} to {last} {'it does' if one else 'none of them does'} not move by more "
                       f"than twice its standard error ({changes}): by the end {'it' if one else 'they'} had settled.")
    return text + (f"From epoch {before} to {last} " + "; ".join(f"{name(rung)} ({_points(late[rung])})" for rung in still)
                   + (" still moves: its row says where it had got to, not where it ends." if len(still) == 1 else
                      " still move: their rows say where they had got to, not where they end."))


def _points(change):
    """A change in the high-quality share, mean ± standard error, in percentage points."""
    return f"{100 * change[0]:+.0f} ± {100 * change[1]:.0f} points"


def ladder_down_top_config(runs):
    """The config of the ladder down's top (its first run on the rung 'top')."""
    return next(r.config for r in runs if ladder_down_rung_of(r) == "top")


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

    by_rung = ladder_down_by_rung(runs)
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


def ladder_down_gap(runs, post):
    """How far the post's own success setting (`post`: its runs of the ladder up) scores below the
    ladder down's top: the top's mean `best_score` less the post's (a diverged seed scores 0)."""
    return _ladder_down_means(runs)["top"]["score"][0] - float(np.mean(seed_scores(post)))


def gap_share(drop, gap):
    """How much of `gap` a `drop` is, in words: 'all of' once it reaches the whole gap, else 'N % of'."""
    return "all of" if drop >= gap else f"{100 * drop / gap:.0f} % of"


def ladder_down_reading(runs, post=None):
    """The ladder down in words: from the top's score, the rungs `ladder_down_named` names, what each
    costs in score, modes and high-quality share, and whether its drop exceeds twice its standard
    error; and any other choice whose putting back raises the score by more than twice its standard
    error. With `post` (the ladder up's runs of the post's success setting), each named drop is also
    given as a share of the gap between the top's score and the post's (a description beside the
    reading, not part of it)."""
    from .runsets import POST_CHOICES

    drops, means = ladder_down_drops(runs), _ladder_down_means(runs)
    top, gap = means["top"], ladder_down_gap(runs, post) if post else None
    parts = []
    named = ladder_down_named(drops)
    for rung in named:
        (drop, error), rung_means = drops[rung]["score"], means[rung]
        share = (f"; alone it accounts for {gap_share(drop, gap)} the gap between the top and the post's own "
                 f"setting, which scores {top['score'][0] - gap:.2f}" if gap and gap > 0 and drop > 0 else "")
        parts.append(f"{POST_CHOICES[rung][0]} (the score {'falls' if drop >= 0 else 'rises'} by {abs(drop):.2f} ± "
                     f"{error:.2f}, {'more' if abs(drop) > 2 * error else 'not more'} than twice its standard error, to "
                     f"{rung_means['modes'][0]:.1f} modes with {100 * rung_means['hq_fraction'][0]:.0f} % near a "
                     f"centre{share})")
    seeds = len({r.config.seed for r in runs})
    top_config = ladder_down_top_config(runs)
    text = (f"Put back one at a time into {BEST_NAMES[top_config.loss]}'s kept candidate "
            f"({best_settings(top_config)}: {top['modes'][0]:.1f} modes, "
            f"{100 * top['hq_fraction'][0]:.0f} % near a centre, score {top['score'][0]:.2f} after {runs[0].config.epochs} "
            f"epochs, mean of {seeds} seeds), ")
    text += ("the post's choice that costs most is " if drops[named[0]]["score"][0] > 0 else
             "none of the post's choices lowers the score; the nearest to a cost is ") + parts[0]
    if len(parts) > 1:
        text += ", then " + parts[1]
    raising = [rung for rung, drop in drops.items() if drop["score"][0] < -2 * drop["score"][1] and rung not in named]
    if raising:
        text += (". Put back alone, " + " and ".join(
            f"{POST_CHOICES[rung][0]} raises the score, by {-drops[rung]['score'][0]:.2f} ± {drops[rung]['score'][1]:.2f}"
            for rung in raising) + " (more than twice its standard error): the top is not the best of these settings")
    return text + "."
