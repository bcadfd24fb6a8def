"""What it takes to learn the grid: the ladder up from the post's success setting, each
discriminator at its best (the screen `best-screen` and the finals `best`), the ladder down from the
best, and the measures of where a critic holds G that say why a discriminator misses.

The protocol these functions implement, fixed before the runs that it judges were trained, is
docs/grid-best.md (the score, the choice, the schedules, the goals, the ladder down's reading, the
finals' critics); the book's chapter "What it takes to learn the grid" reads the run sets through
them, and the findings (`report.load_findings`) take their last sentences from here.
"""
import math

import numpy as np

from . import measures
from .claims import descended_map, radiates


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


def finding_sets(results=None, train_missing=True, finals=None, down=None):
    """{name: runs} of the run sets that the grid's sentences (`finding_sentences`) come from: the
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


def finding_sentences(sets, see=""):
    """Each discriminator at its best and why the post's settings fail, in words, from `finding_sets`:
    {heading: sentence}, the first from `best_final_sentence` or `best_screen_sentence`, the second
    (`ladder_down_reading`) only where the ladder down is in. `see` as in `best_screen_sentence`."""
    found = {"Each discriminator at its best": " ".join(filter(None, [best_final_sentence(sets["best"], see=see),
                                                                       best_miss_sentence(sets["best"])]))
             if "best" in sets else best_screen_sentence(sets["best-screen"], see=see)}
    if "ladder-down" in sets:
        found["Why the post's settings fail"] = ladder_down_reading(sets["ladder-down"])
    return found


def grid_answer(ladder, sets):
    """What it takes to learn the grid, in one sentence (the findings' lead): whether one change to
    the post's settings is enough (the run set `ladder`), which discriminator comes closest at its
    best (the finals `best` once all in, else the screen) and whether it meets its goal, and, once
    the ladder down is in, which of the post's choices costs most (`finding_sets` gives `sets`)."""
    from .runsets import LADDER_RUNGS, POST_CHOICES
    from .summary import summarise

    summary = ladder_summary(ladder)
    meeting = [rung for rung, row in summary.items() if row["success_rate"] > 0.5]
    text = ("no single change to the post's settings learns the grid" if not meeting else
            "of single changes to the post's settings, " + " and ".join(LADDER_RUNGS[r][0] for r in meeting)
            + " meets the bar in most seeds")
    runs = sets.get("best", sets.get("best-screen"))
    key = (lambda r: r.config.loss) if "best" in sets else best_candidate_of
    if "best-screen" in sets:
        runs = [r for r in runs if best_candidate_of(r) in best_choice(runs).values()]
    rows = summarise(runs, key=key)
    scores = {k: np.mean(seed_scores([r for r in runs if key(r) == k])) for k in rows}
    top = max(rows, key=lambda k: scores[k])
    loss = next(r.config.loss for r in runs if key(r) == top)
    numbers = f"{rows[top]['modes']:.1f} modes, {100 * rows[top]['hq_fraction']:.0f} % of its samples near a centre"
    if "best" in sets:
        missed = best_goal_missed(loss, rows[top])
        text += (f"; at their best, within 30 minutes of one core a seed, {BEST_NAMES[loss]} does best ({numbers})"
                 + ("" if missed is None else " and meets its goal" if not missed else ", short of its goal"))
    else:
        text += (f"; from the field's settings, {BEST_NAMES[loss]} does best in the screen ({numbers}; the ten-seed "
                 "finals are still training)")
    if "ladder-down" in sets:
        named = ladder_down_named(ladder_down_drops(sets["ladder-down"]))
        text += (f"; of the post's choices put back into its setting, {POST_CHOICES[named[0]][0]} costs most"
                 + (f", then {POST_CHOICES[named[1]][0]}" if len(named) > 1 else ""))
    return text[0].upper() + text[1:] + "."


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


def ladder_settling(runs, threshold=0.01):
    """{rung: (mean, standard error)} over its seeds of the change in the high-quality share from
    the ladder's middle snapshot to its last, for the rungs whose mean moves by `threshold` (a
    percentage point) or more: the rungs whose numbers had not settled."""
    from .runsets import LADDER_EPOCHS
    from .summary import mean_and_error

    last, middle = LADDER_EPOCHS - 1, LADDER_EPOCHS // 2
    moved = {rung: mean_and_error([hq_at(r, last) - hq_at(r, middle) for r in members])
             for rung, members in ladder_rungs(runs).items() if members}
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
    its screen seeds meet the bar, else WGAN-GP's kept candidate."""
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


def _pull_not_below(critics):
    """The discriminators whose mean pull the clipped critic's is not below by more than twice the
    standard error of the difference (`finals_critics`)."""
    pull, error = critics["wgan"]["pull"]
    return [d for d, c in critics.items() if d != "wgan" and not c["pull"][0] - pull > 2 * math.hypot(c["pull"][1], error)]


def finals_critic_reading_holds(runs):
    """Whether the screen's reading of the clipped WGAN's miss holds on the finals (docs/grid-best.md):
    None until every final run is in and some clipped seed is left to measure."""
    from .runsets import BEST_FINAL

    if best_complete(runs) != list(BEST_FINAL):
        return None
    critics = finals_critics(runs)
    return None if critics["wgan"]["n"] == 0 else not _pull_not_below(critics)


def finals_critic_outcome(runs):
    """What the finals say of the screen's reading of the clipped WGAN, as the end of a sentence for
    the screen's section: not judged yet, borne out, or not (against which discriminators, and
    whether the clipped critic went flat in most seeds, `finals_fates`)."""
    holds = finals_critic_reading_holds(runs)
    if holds is None:
        return ("the protocol's final runs (ten seeds each, the run set `best`, below) are what will show whether "
                "it lasts.")
    if holds:
        return "the protocol's final runs (ten seeds each, below) bear this reading out."
    fate = finals_fates(runs)["wgan"]
    return ("the protocol's final runs (ten seeds each, below) do not bear this reading out: there the clipped critic "
            "pulls no less straight than " + " and ".join(the(d) for d in _pull_not_below(finals_critics(runs)))
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
    from .summary import summarise

    spread, rows = finals_spread(runs), summarise(runs, key=lambda r: r.config.loss)
    true_median = measures.true_median_distance()
    found = []
    for loss in best_complete(runs):
        if not best_goal_missed(loss, rows[loss]) or loss not in spread:
            continue
        s = spread[loss]
        sharp, blurred = s["bands"][0][0], s["bands"][1][0]
        further = 1.0 - sharp - blurred
        text = (f"Of {the(loss)}'s samples, {100 * sharp:.0f} % are of high quality, {100 * blurred:.0f} % lie "
                f"just outside (0.15 to 0.3 from a centre) and {100 * further:.0f} % further out")
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
    from .summary import summarise

    fates, rows = finals_fates(runs), summarise(runs, key=lambda r: r.config.loss)
    found = []
    for loss in best_complete(runs):
        if not best_goal_missed(loss, rows[loss]) or loss not in fates:
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
    from .summary import summarise

    rows, parts = summarise(runs, key=lambda r: r.config.loss), []
    missing = [loss for loss in best_complete(runs) if best_goal_missed(loss, rows[loss])]
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
    top_config = next(r.config for r in runs if ladder_down_rung_of(r) == "top")
    text = (f"Put back one at a time into {BEST_NAMES[top_config.loss]}'s kept candidate "
            f"({best_settings(top_config)}: {top['modes'][0]:.1f} modes, "
            f"{100 * top['hq_fraction'][0]:.0f} % near a centre, score {top['score'][0]:.2f} after {runs[0].config.epochs} "
            f"epochs, mean of {seeds} seeds), the post's choice that costs most is " + parts[0])
    if len(parts) > 1:
        text += ", then " + parts[1]
    return text + "."
