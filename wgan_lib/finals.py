"""Each discriminator at its best: the finals (the run set `best`, ten seeds of each discriminator's
kept candidate), the goals they are judged by, and the measurements that say why a discriminator
misses its goal.

The goals and the reading of the finals' critics were fixed before the finals were trained
(docs/grid-best.md); where the samples fall and what became of each seed describe the finals and
test nothing (the same page says when each was added).
"""
import math

import numpy as np

from . import grid, measures
from .claims import descended_map
from .grid import BEST_NAMES, seed_scores, the


# ---------------------------------------------------- the goals
def best_complete(runs):
    """The discriminators (losses, in the order of `runsets.BEST_FINAL`) of which every seed of
    `runsets.BEST_SEEDS` is among the final runs `runs`: those whose goal can be judged."""
    from .runsets import BEST_FINAL, BEST_SEEDS

    return [loss for loss in BEST_FINAL if {r.config.seed for r in runs if r.config.loss == loss} >= set(BEST_SEEDS)]


# The goals of docs/grid-best.md, on the means over the ten seeds: (metric, comparison, bound).
BEST_GOALS = {
    "wgan-gp": (("modes", ">", 24.8), ("hq_fraction", ">", 0.936), ("reverse_kl", "<", 0.04)),  # PacGAN4
    "wgan": (("modes", ">=", 24.0), ("hq_fraction", ">=", 0.8)),
}


_COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}


def best_goal_parts_missed(discriminator, row):
    """The metrics of `discriminator`'s goal that a `summary.summarise` row misses ([] when it meets
    every part; None when the discriminator has no goal). A NaN mean misses."""
    if discriminator not in BEST_GOALS:
        return None
    return [metric for metric, op, bound in BEST_GOALS[discriminator]
            if not (math.isfinite(row[metric]) and _COMPARE[op](row[metric], bound))]


def _goal_value(metric, value):
    """A mean in the words of the goals: '22.1 modes', '60.2 % near a centre', 'a reverse KL of 0.326'."""
    if not math.isfinite(value):
        return f"no {dict(modes='mode count', hq_fraction='high-quality share', reverse_kl='reverse KL')[metric]}"
    return {"modes": f"{value:.3g} modes", "hq_fraction": f"{100 * value:.3g} % near a centre",
            "reverse_kl": f"a reverse KL of {value:.3g}"}[metric]


_GOAL_OPS = {">": "more than", ">=": "at least", "<": "under"}


def best_goal_missed(discriminator, row):
    """The parts of `discriminator`'s goal that a `summary.summarise` row misses, in words ([] when it
    meets every part; None when the discriminator has no goal)."""
    missed = best_goal_parts_missed(discriminator, row)
    if missed is None:
        return None
    return [f"{_goal_value(metric, row[metric])} where it needs {_GOAL_OPS[op]} "
            + (f"{100 * bound:g} %" if metric == "hq_fraction" else f"{bound:g}")
            for metric, op, bound in BEST_GOALS[discriminator] if metric in missed]


def best_course(runs, from_epoch=50):
    """{epoch: (mean modes, mean high-quality share)} over the completed `runs` at each snapshot from
    `from_epoch` on: whether a discriminator's numbers were still moving when its schedule ended."""
    completed = [r for r in runs if r.status == "completed"]
    epochs = [m["epoch"] for m in completed[0].metrics if m["epoch"] >= from_epoch] if completed else []
    course = {}
    for epoch in epochs:
        at = [next(m for m in r.metrics if m["epoch"] == epoch) for r in completed]
        course[epoch] = (float(np.mean([m["modes"] for m in at])), float(np.mean([m["hq_fraction"] for m in at])))
    return course


def _listed(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def best_goal_sentences(runs):
    """For each discriminator whose finals are all in (`best_complete`) and that has a goal, whether
    its means meet it, in words with every part it misses, and for a miss how its means moved from
    epoch 50 on (`best_course`: would a longer schedule have got there?)."""
    from .summary import summarise

    rows = summarise(runs, key=lambda r: r.config.loss)
    found = []
    for loss in best_complete(runs):
        missed = best_goal_missed(loss, rows[loss])
        if missed is None:
            continue
        name = the(loss)[0].upper() + the(loss)[1:]
        if not missed:
            found.append(f"{name} meets its goal.")
            continue
        found.append(f"{name} misses its goal: " + "; ".join(missed) + ".")
        course = best_course([r for r in runs if r.config.loss == loss])
        if len(course) > 1:
            found.append(f"Its means at epochs {_listed(str(e) for e in course)}: "
                         f"{_listed(f'{m:.1f}' for m, _ in course.values())} modes, "
                         f"{_listed(f'{100 * h:.0f}' for _, h in course.values())} % near a centre.")
    return " ".join(found)


def judged_misses(runs):
    """The discriminators whose finals are all in (`best_complete`) and whose means miss their goal."""
    from .summary import summarise

    rows = summarise(runs, key=lambda r: r.config.loss)
    return [loss for loss in best_complete(runs) if best_goal_missed(loss, rows[loss])]


def finals_by_score(runs):
    """The discriminators of the final runs, best mean score first (`grid.seed_scores`: a diverged
    seed scores 0)."""
    losses = list(dict.fromkeys(r.config.loss for r in runs))
    scores = {d: np.mean(seed_scores([r for r in runs if r.config.loss == d])) for d in losses}
    return sorted(losses, key=lambda d: -scores[d])


def best_final_sentence(runs, see=""):
    """The finals (run set `best`, every seed stored) in one sentence, for the findings of the book
    and the README: each discriminator's means at its last snapshot, best score first, and whether
    it meets its goal (`best_goal_missed`). `see` as in `best_screen_sentence`."""
    from .runsets import BEST_BUDGET_S
    from .summary import summarise

    rows = summarise(runs, key=lambda r: r.config.loss)  # a discriminator is its loss
    order = finals_by_score(runs)
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
    return (f"At their best from the field's settings{see}, {seeds} seeds of at most {BEST_BUDGET_S // 60} minutes "
            "of one core each: " + "; ".join(parts) + ".")


# ----------------------------- where the finals' critics hold G
PULL_FROM_EPOCH = 50  # the finals' pull is a seed's mean over its snapshots from here on (docs/grid-best.md)


def critic_hold(run, from_epoch=PULL_FROM_EPOCH):
    """(pull, wells) of a final run (docs/grid-best.md): the mean over its snapshots from `from_epoch`
    on of `pull_towards_centres`, and `centre_wells` at its last snapshot."""
    pulls = [grid.pull_towards_centres(run, k) for k, epoch in enumerate(run.snapshot_epochs) if epoch >= from_epoch]
    return (float(np.nanmean(pulls)) if np.isfinite(pulls).any() else math.nan), grid.centre_wells(run)


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


def _pull_not_below(critics):
    """The discriminators whose mean pull the clipped critic's is not below by more than twice the
    standard error of the difference (`finals_critics`)."""
    pull, error = critics["wgan"]["pull"]
    return [d for d, c in critics.items() if d != "wgan" and not c["pull"][0] - pull > 2 * math.hypot(c["pull"][1], error)]


def _critics_to_judge(runs):
    """`finals_critics` once every final run is in and some clipped seed is left to measure, else None."""
    from .runsets import BEST_FINAL

    if best_complete(runs) != list(BEST_FINAL):
        return None
    critics = finals_critics(runs)
    return critics if critics["wgan"]["n"] else None


def finals_critic_reading_holds(runs):
    """Whether the screen's reading of the clipped WGAN's miss holds on the finals (docs/grid-best.md):
    None until every final run is in and some clipped seed is left to measure."""
    critics = _critics_to_judge(runs)
    return None if critics is None else not _pull_not_below(critics)


def finals_critic_outcome(runs):
    """What the finals say of the screen's reading of the clipped WGAN, as the end of a sentence for
    the screen's section: not judged yet, borne out, or not (against which discriminators, and
    whether the clipped critic went flat in most seeds, `finals_fates`)."""
    critics = _critics_to_judge(runs)
    if critics is None:
        return ("the protocol's final runs (ten seeds each, the run set `best`, below) are what will show whether "
                "it lasts.")
    short = _pull_not_below(critics)
    if not short:
        return "the protocol's final runs (ten seeds each, below) bear this reading out."
    fate = finals_fates(runs)["wgan"]
    return ("the protocol's final runs (ten seeds each, below) do not bear this reading out: there the clipped critic "
            "pulls no less straight than " + " and ".join(the(d) for d in short)
            + "'s" + (f", and in {len(fate['flat'])} of its {fate['n']} seeds it dies" if 2 * len(fate["flat"]) > fate["n"]
                      else "") + ".")


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
    gaps = [d for d in critics if d != "wgan"]
    short = _pull_not_below(critics)
    others = ", ".join(f"{the(d)}'s {critics[d]['pull'][0]:.2f}" for d in gaps)
    said = (f"Over its {clipped['n']} final seeds, the clipped critic points $G$'s loose samples at their centre "
            f"with a mean cosine of {pull:.2f} ± {error:.2f} from epoch {PULL_FROM_EPOCH} on ({others}), and has "
            f"wells at {clipped['wells'][0]:.1f} of the 25 centres at its last snapshot. ")
    if not short:
        return said + ("Its pull is below every other discriminator's by more than twice the error of the "
                       "difference: the screen's reading holds on the finals; the clipped critic leans towards "
                       "the centres without pointing at them.")
    return said + ("Its pull is not below " + " and ".join(the(d) for d in short)
                   + "'s by more than twice the error of the difference: the screen's reading does not hold on "
                   "the finals, and the clipped WGAN's miss is not explained by its critic's slope alone.")


# ------ where the finals' samples fall, and what became of them
def sample_spread(run):
    """Where a final run's samples fall at its last snapshot, and whether its critic marks the
    centres its generator misses: {"bands": `measures.distance_bands`, "median": the median distance
    to the nearest centre, "missed": centres with no high-quality sample, "wells_at_missed": how
    many of those are wells of D (`measures.centre_wells`)}."""
    samples = run.samples[-1]
    missed = measures.centres_missed(samples)
    wells = measures.centre_wells(descended_map(run, -1), run.config.plot_extent)
    return {"bands": measures.distance_bands(samples), "median": float(np.median(measures.nearest_centre(samples)[0])),
            "missed": int(missed.sum()), "wells_at_missed": int(np.nansum(wells[missed]))}


def finals_spread(runs):
    """{discriminator: {"bands": [(mean, standard error)] a band, "median": (mean, standard error),
    "missed": centres missed over all its seeds, "wells_at_missed": of those, wells of its critic,
    "n": seeds measured}} over each discriminator's completed final runs (`sample_spread`), in the
    order of `runsets.BEST_FINAL`."""
    from .runsets import BEST_FINAL
    from .summary import mean_and_error

    found = {}
    for loss in BEST_FINAL:
        spreads = [sample_spread(r) for r in runs if r.config.loss == loss and r.status == "completed"]
        if spreads:
            bands = np.array([s["bands"] for s in spreads])
            found[loss] = {"bands": [mean_and_error(column) for column in bands.T],
                           "median": mean_and_error([s["median"] for s in spreads]),
                           "missed": sum(s["missed"] for s in spreads),
                           "wells_at_missed": sum(s["wells_at_missed"] for s in spreads), "n": len(spreads)}
    return found


def finals_spread_sentences(runs):
    """For each discriminator whose finals are all in and that misses its goal, where its samples
    that are not of high quality fall (blurred around the centres, within 6 standard deviations, or
    further out) and whether its critic marks the centres its generator misses; a description of
    the finals, not a test fixed before them (docs/grid-best.md)."""
    spread, true_median, found = finals_spread(runs), measures.true_median_distance(), []
    for loss in judged_misses(runs):
        if loss not in spread:
            continue
        s = spread[loss]
        sharp, blurred = s["bands"][0][0], s["bands"][1][0]
        further = 1.0 - sharp - blurred
        text = (f"Of {the(loss)}'s samples, {100 * sharp:.0f} % are of high quality, {100 * blurred:.0f} % lie "
                f"just outside ({measures.SPREAD_EDGES[0]:g} to {measures.SPREAD_EDGES[1]:g} from a centre) and "
                f"{100 * further:.0f} % further out")
        if blurred > further:
            text += (f": the share it lacks is mostly blur, its samples about {s['median'][0] / true_median:.1f} times as far "
                     f"from their centre as true samples (median distance {s['median'][0]:.3f} against {true_median:.3f})")
        text += "."
        if s["missed"]:
            text += (f" Its {s['n']} seeds miss {s['missed']} centres in all, and its critic has a well at "
                     f"{s['wells_at_missed']} of them at the last snapshot: "
                     + ("at most of the centres its generator misses, its critic has no well to draw it in."
                        if 2 * s["wells_at_missed"] < s["missed"] else
                        "at most of them its critic has a well, and its generator still does not go there."))
        found.append(text)
    return " ".join(found)


def critic_flat_from(run):
    """The epoch from which D takes one value over the whole plotted square to the end of the run
    (its range there, logged every epoch, exactly 0: no unit of D alive on the plane, so no
    gradient for G), or None when it never goes flat for good."""
    flat = np.asarray(run.epoch_logs["d_max"]) == np.asarray(run.epoch_logs["d_min"])
    if not len(flat) or not flat[-1]:
        return None
    alive = np.flatnonzero(~flat)
    return int(alive[-1] + 1) if len(alive) else 0


def left_the_square(run):
    """Whether more than half of G's samples lie outside the plotted square at the last snapshot."""
    return measures.drift(run.samples[-1], run.config.plot_extent)["outside"] > 0.5


def finals_fates(runs):
    """{discriminator: {"flat": {seed: epoch its critic went flat for good}, "left": [seeds whose G
    left the square], "n": seeds}} over each discriminator's completed final runs, in the order of
    `runsets.BEST_FINAL` (`critic_flat_from`, `left_the_square`)."""
    from .runsets import BEST_FINAL

    found = {}
    for loss in BEST_FINAL:
        members = [r for r in runs if r.config.loss == loss and r.status == "completed"]
        if members:
            flat = {r.config.seed: critic_flat_from(r) for r in members}
            found[loss] = {"flat": {seed: epoch for seed, epoch in flat.items() if epoch is not None},
                           "left": [r.config.seed for r in members if left_the_square(r)], "n": len(members)}
    return found


def finals_fate_sentences(runs):
    """For each discriminator whose finals are all in and that misses its goal, how many seeds' critics
    went flat (`critic_flat_from`) and how many generators left the plotted square
    (`left_the_square`), in words: a description of the finals, not a test (docs/grid-best.md)."""
    fates, found = finals_fates(runs), []
    for loss in judged_misses(runs):
        if loss not in fates:
            continue
        fate, name = fates[loss], the(loss)
        flat, left = fate["flat"], fate["left"]
        if not flat and not left:
            found.append(f"In no seed did {name}'s critic go flat or its generator leave the plotted square.")
            continue
        parts = []
        if flat:
            epochs = sorted(flat.values())
            when = f"epoch {epochs[0]}" if len(epochs) == 1 else f"an epoch between {epochs[0]} and {epochs[-1]}"
            parts.append(f"{name}'s critic went flat in {len(flat)} of its {fate['n']} seeds: from {when} on it "
                         "takes one value over the whole plotted square, so its generator gets no gradient and stops "
                         "where it is")
        if left:
            both = len(set(left) & set(flat))
            whose = "its" if flat else f"{name}'s"
            parts.append(f"in {len(left)} of the {fate['n']} seeds {whose} generator left the "
                         "plotted square (more than half of the samples outside it at the last snapshot"
                         + (f"; {both} of these {len(left)} seeds also among those whose critic went flat" if both else "")
                         + ")")
        text = "; ".join(parts)
        found.append(text[0].upper() + text[1:] + ".")
    return " ".join(found)


def best_miss_sentence(runs):
    """Why each discriminator that misses its goal misses it, in one sentence for the findings, from
    the finals' descriptions: a critic that went flat in most seeds (`finals_fates`), else samples
    mostly blurred around the centres or mostly away from them (`finals_spread`); "" when none
    misses."""
    missing, parts = judged_misses(runs), []
    fates, spread = (finals_fates(runs), finals_spread(runs)) if missing else ({}, {})
    for loss in missing:
        if loss not in fates:
            continue
        name, fate, bands = the(loss), fates[loss], spread[loss]["bands"]
        if 2 * len(fate["flat"]) > fate["n"]:
            parts.append(f"{name}'s critic went flat in {len(fate['flat'])} of its {fate['n']} seeds, leaving its "
                         "generator no gradient")
        elif bands[1][0] > 1.0 - bands[0][0] - bands[1][0]:
            ratio = spread[loss]["median"][0] / measures.true_median_distance()
            parts.append(f"{name}'s samples sit about {ratio:.1f} times as far from their centres as true samples, "
                         "a blur around the modes it finds")
        else:
            parts.append(f"most of {name}'s samples that miss lie away from every centre")
    if not parts:
        return ""
    return f"Why {'the goals are' if len(parts) > 1 else 'the goal is'} missed, as measured: " + "; ".join(parts) + "."
