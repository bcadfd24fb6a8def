"""`python -m wgan_lib report`: the README's findings, made from the stored runs.

Writes a figure of the post's successful setting over its five seeds (D's map with G's samples on
top) and replaces the block between the README's `<!-- results:start -->` and
`<!-- results:end -->` markers with the findings (`load_findings`, the same bullets as the
book's introduction) and the verdict on each claim of the post (`claims.evaluate`).
Nothing is trained: a missing run is an error.
"""
from dataclasses import dataclass
from pathlib import Path

from . import finals, grid

START, END = "<!-- results:start -->", "<!-- results:end -->"


@dataclass
class Findings:
    """What the introduction and the README show: the runs of the post's settings, the claims'
    verdicts on them, the larger networks' runs and the findings' bullets."""

    by_setting: dict
    results: list
    larger: list
    bullets: list
    grid_sets: list  # the run sets the last bullet's sentences on each discriminator's best come from


def finding_sets(results=None, train_missing=True, final_runs=None, down=None):
    """{name: runs} of the run sets that the grid's sentences (`finding_sentences`) come from: the
    finals `best` once every run of it is stored, else the screen `best-screen`; and the ladder
    down `ladder-down` once every run of it is stored. The finals and the ladder down are never
    trained here (they take core-hours); `train_missing` is for the screen. `final_runs` and `down`:
    their stored runs where the caller has already loaded them (`runsets.load_stored`)."""
    from .runsets import is_complete, load, load_stored

    final_runs = load_stored("best", results) if final_runs is None else final_runs
    down = load_stored("ladder-down", results) if down is None else down
    sets = ({"best": final_runs} if is_complete("best", final_runs) else
            {"best-screen": load("best-screen", results, train_missing=train_missing)})
    if is_complete("ladder-down", down):
        sets["ladder-down"] = down
    return sets


def finding_sentences(sets, see="", ladder=None):
    """Each discriminator at its best and why the post's settings fail, in words, from `finding_sets`:
    {heading: sentence}, the first from `best_final_sentence` or `best_screen_sentence`, the second
    (`ladder_down_reading`, measured against the post's own setting in `ladder`, the run set of the
    ladder up, where given) only where the ladder down is in. `see` as in `best_screen_sentence`."""
    found = {"Each discriminator at its best": " ".join(filter(None, [finals.best_final_sentence(sets["best"], see=see),
                                                                       finals.best_miss_sentence(sets["best"])]))
             if "best" in sets else grid.best_screen_sentence(sets["best-screen"], see=see)}
    if "ladder-down" in sets:
        found["Why the post's settings fail"] = grid.ladder_down_reading(
            sets["ladder-down"], post=grid.ladder_rungs(ladder)["post"] if ladder else None)
    return found


def grid_answer(ladder, sets):
    """What it takes to learn the grid, in one sentence (the findings' lead): whether one change to
    the post's settings is enough (the run set `ladder`), which discriminator comes closest at its
    best (the finals `best` once all in, else the screen) and whether it meets its goal, and, once
    the ladder down is in, which of the post's choices costs most (`finding_sets` gives `sets`)."""
    from .runsets import BEST_BUDGET_S, LADDER_RUNGS, POST_CHOICES
    from .summary import summarise

    summary = grid.ladder_summary(ladder)
    meeting = [rung for rung, row in summary.items() if row["success_rate"] > 0.5]
    text = ("no single change to the post's settings learns the grid" if not meeting else
            "of single changes to the post's settings, " + " and ".join(LADDER_RUNGS[r][0] for r in meeting)
            + " meets the bar in most seeds")
    def numbers(row):
        return f"{row['modes']:.1f} modes, {100 * row['hq_fraction']:.0f} % of its samples near a centre"

    if "best" in sets:
        runs = sets["best"]
        loss = finals.finals_by_score(runs)[0]
        row = summarise([r for r in runs if r.config.loss == loss], key=lambda r: r.config.loss)[loss]
        missed = finals.best_goal_missed(loss, row)
        text += (f"; at their best, within {BEST_BUDGET_S // 60} minutes of one core a seed, {grid.BEST_NAMES[loss]} "
                 f"does best ({numbers(row)})"
                 + ("" if missed is None else " and meets its goal" if not missed else ", short of its goal"))
    else:
        runs = sets["best-screen"]
        loss, candidate = grid.best_screen_top(runs)
        row = summarise([r for r in runs if grid.best_candidate_of(r) == candidate], key=grid.best_candidate_of)[candidate]
        text += (f"; from the field's settings, {grid.BEST_NAMES[loss]} does best in the screen ({numbers(row)}; the "
                 "ten-seed finals are still training)")
    if "ladder-down" in sets:
        down = sets["ladder-down"]
        drops = grid.ladder_down_drops(down)
        named, gap = grid.ladder_down_named(drops), grid.ladder_down_gap(down, grid.ladder_rungs(ladder)["post"])
        (drop, error) = drops[named[0]]["score"]
        into = f"put back one at a time into {grid.BEST_NAMES[grid.ladder_down_top_config(down).loss]}'s setting"
        if drop <= 0:
            text += f"; none of the post's choices {into} lowers its score"
        else:
            text += (f"; {into}, the post's choice that costs most is {POST_CHOICES[named[0]][0]} ("
                     + (f"alone {grid.gap_share(drop, gap)} the gap to the post's setting" if gap > 0 else
                        f"{drop:.2f} of its score")
                     + ("" if drop > 2 * error else ", though within twice its standard error") + ")"
                     + (f", then {POST_CHOICES[named[1]][0]}" if len(named) > 1 else ""))
    return text[0].upper() + text[1:] + "."


def load_findings(results=None, train_missing=True):
    """The findings from the stored runs (`results`: the results folder, default the project's): the
    post's claims (`claims.findings`) and what it takes to learn the grid in one sentence
    (`grid_answer`), with why the finals miss their goals (`finals.best_miss_sentence`) once they
    are all in; the grid chapter opens with the details (`grid.ladder_finding`, `finding_sentences`)."""
    from .claims import all_runs, evaluate, findings, larger_networks, setting_runs
    from .measures import uniform_mode_counts
    from .runsets import load

    by_setting = setting_runs(results, train_missing=train_missing)
    verdicts = evaluate(by_setting)
    larger = larger_networks(results, train_missing=train_missing)
    _, uniform_hq = uniform_mode_counts(draws=1000, seed=0)
    bullets = findings(verdicts, all_runs(by_setting, post_only=True), float(uniform_hq.mean()), larger)
    grid_sets = finding_sets(results, train_missing=train_missing)
    ladder = load("ladder", results, train_missing=train_missing)
    why = finals.best_miss_sentence(grid_sets["best"]) if "best" in grid_sets else ""
    bullets.append("- **What it takes to learn the grid.** " + " ".join(filter(None, [grid_answer(ladder, grid_sets), why]))
                   + " The book's chapter *What it takes to learn the grid* gives the ladder, the search, the finals "
                   "and their numbers.")
    return Findings(by_setting, verdicts, larger, bullets, list(grid_sets))


def findings_block(results, figure, findings=(), grid_sets=("best-screen",)):
    from .runsets import (BEST_SCREEN_EPOCHS, BEST_SCREEN_SEEDS, BEST_SEEDS, LADDER_DOWN_EPOCHS, LADDER_DOWN_SEEDS,
                          LADDER_EPOCHS, LADDER_SEEDS)
    from .tables import Table, pm_sig

    grid_words = {"best-screen": f"`best-screen`, {len(BEST_SCREEN_SEEDS)} seeds a candidate at {BEST_SCREEN_EPOCHS} "
                                 "epochs",
                  "best": f"`best`, {len(BEST_SEEDS)} seeds a discriminator at its final schedule",
                  "ladder-down": f"`ladder-down`, {len(LADDER_DOWN_SEEDS)} seeds a rung at {LADDER_DOWN_EPOCHS} "
                                 "epochs"}

    rows = []
    for r in results:
        c = r.claim
        measured = "—"
        if c.criterion is not None:
            mean, se = r.mean_and_error
            measured = f"{c.criterion.label} {pm_sig(mean, se)} ({r.k} of {r.n} seeds as the post says)"
        field = "—" if r.field_met is None else f"{r.field_verdict} ({sum(r.field_met)} of {len(r.field_met)})"
        rows.append([c.topic, r.verdict, field, measured])
    table = Table(["claim of the post", "verdict (its own words)", "by the field's measures",
                   "measured (mean ± s.e. over seeds)"], rows)
    return "\n".join([
        START,
        *findings,
        "",
        f"![The post's successful setting, five seeds at epoch 999: D's map with G's samples (white) and the "
        f"25 centres (red)]({figure.as_posix()})",
        "",
        table.markdown(),
        "",
        "Made by `python -m wgan_lib report` from the stored runs (the run sets `cases` and `full-seeds`, "
        "five seeds per setting at the post's 1000 epochs; the last finding from the run sets `ladder`, "
        f"{len(LADDER_SEEDS)} seeds a rung at {LADDER_EPOCHS} epochs, "
        + ", ".join(grid_words[name] for name in grid_sets[:-1]) + (", and " if len(grid_sets) > 1 else "and ")
        + f"{grid_words[grid_sets[-1]]}); each claim's measurable form and threshold "
        "are in `wgan_lib/claims.py` and in the book's chapter *The claims, one by one*. The field's measures "
        "are the counts the VEEGAN and PacGAN papers report (modes covered, share of samples within three "
        "standard deviations of a centre), read at a bar of our own that those papers do not set: at least "
        "20 modes and half of the samples.",
        END,
    ])


def write_report(results=None, readme="README.md", figure="docs/findings.png"):
    from . import figures

    readme, figure = Path(readme), Path(figure)
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} block to replace")
    found = load_findings(results, train_missing=False)
    success = found.by_setting["success"]
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig = figures.plot_last_snapshots(success, [f"seed {r.config.seed}" for r in success])
    fig.savefig(figure, dpi=100, bbox_inches="tight")
    figures.plt.close(fig)
    head, rest = text.split(START, 1)
    block = findings_block(found.results, figure, found.bullets, found.grid_sets)
    readme.write_text(head + block + rest.split(END, 1)[1])
    return figure
