"""Tables the chapters show: each function returns a `Table`, shown as HTML in a notebook and as
Markdown by `str`; `show` displays any mix of tables, figures and Markdown text in order.

The published numbers on the grid and the post's own table are data with their sources
(`published.csv`, `post_d_range.csv` beside this module), not code.
"""
import csv
import html
import math
import re
from pathlib import Path

from .cases import CASES, clip_label
from .losses import LOSSES
from .summary import final_metrics, run_field_success

DASH = "—"
# A cell that is a number, a percentage or a mean ± error; the page keeps it on one line (class "num").
NUMBER = re.compile(r"[-+]?[0-9][0-9.eE+-]*( ?%)?( ± [0-9][0-9.eE+-]*)?( ?%)?")
DATA_DIR = Path(__file__).resolve().parent


class Table:
    """A small table: `rows` of cells under `header`. Notebooks show it as HTML; `str` gives Markdown."""

    def __init__(self, header, rows, caption=None):
        self.header = [str(h) for h in header]
        self.rows = [[DASH if c is None else str(c) for c in row] for row in rows]
        self.caption = caption

    def markdown(self):
        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

        out = [line(self.header), "|" + "---|" * len(self.header)] + [line(r) for r in self.rows]
        return "\n".join(([self.caption, ""] if self.caption else []) + out)

    __str__ = __repr__ = markdown

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if NUMBER.fullmatch(c) else f"<td>{esc(c)}</td>"
                                        for c in r) + "</tr>" for r in self.rows)
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        return f'<table class="wgan-table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def column(self, name):
        """The cells of one column, by header name."""
        k = self.header.index(name)
        return [r[k] for r in self.rows]


def show(*items):
    """Display figures, tables and text in order; a str is shown as Markdown; figures are closed."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, plt.Figure):
            display(item)
            plt.close(item)
        elif isinstance(item, str):
            display(Markdown(item))
        else:
            display(item)


def data_note(*run_sets):
    """A line under a figure: where its runs' numbers are, as a CSV of the site and by run set."""
    from IPython.display import HTML

    sets = ", ".join(f"<code>{html.escape(name)}</code>" for name in run_sets)
    return HTML(f'<p class="data-note">The numbers behind this: <a href="runs.csv">runs.csv</a> (every stored run, '
                f"one row per snapshot; here the run set{'s' if len(run_sets) > 1 else ''} {sets}), "
                f"or the run folders under <code>results/</code>.</p>")


def fmt(value, spec):
    """`value` formatted by `spec`, or a dash for None and non-finite numbers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return format(value, spec)


def pct(fraction, spec=".1f"):
    """A fraction in [0, 1] as a percentage, or a dash."""
    return fmt(None if fraction is None else 100 * fraction, spec)


def pm(mean, error, spec, scale=1.0):
    """'mean ± standard error' (the error left out when it is not finite)."""
    if not math.isfinite(mean):
        return DASH
    text = format(mean * scale, spec)
    return text + (f" ± {format(error * scale, spec)}" if math.isfinite(error) else "")


def pm_sig(mean, error, digits=3):
    """'mean ± standard error' with the mean to `digits` significant figures and the error to the
    same decimal place (24.8 ± 0.2, 0.536 ± 0.032); very large or small means in `.{digits}g`."""
    if not math.isfinite(mean) or mean == 0 or not 1e-3 <= abs(mean) < 1e5:
        return pm(mean, error, f".{digits}g")
    return pm(mean, error, f".{max(0, digits - 1 - math.floor(math.log10(abs(mean))))}f")


def published():
    """The published numbers on the 2-D grid of 25 Gaussians (the same protocol: 2500 samples, 3
    standard deviations, 25 modes; means over each paper's runs): one dict per row of
    published.csv (source, method, modes, hq_percent, reverse_kl)."""
    with (DATA_DIR / "published.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("modes", "hq_percent", "reverse_kl"):
            row[key] = float(row[key]) if row[key] else None
    return rows


def post_d_range():
    """The post's table of D's contour range without clipping: {epoch: (min, max)}."""
    with (DATA_DIR / "post_d_range.csv").open(newline="") as f:
        return {int(r["epoch"]): (float(r["min"]), float(r["max"])) for r in csv.DictReader(f)}


# ---------------------------------------------------------------------------------- runs
def settings_table(cases_or_runs):
    """One row per case: loss, lr, decay, n_critic, clip, seed and the post's outcome."""
    rows = []
    for item in cases_or_runs:
        if hasattr(item, "settings"):
            name, cfg, outcome = item.name, item.config(), item.post_outcome
        else:
            cfg = item.config
            name, outcome = cfg.case, CASES[cfg.case].post_outcome if cfg.case in CASES else None
        rows.append([name, cfg.loss, f"{cfg.lr:g}", f"{cfg.decay:g}", cfg.n_critic, clip_label(cfg.clip),
                     cfg.seed, outcome])
    return Table(["case", "loss", "lr", "decay", "n_critic", "clip", "seed", "outcome in the post"], rows)


def metrics_table(run):
    """The run's metrics at every snapshot: modes, % high quality, reverse KL, W1."""
    rows = [[m.get("epoch"), m.get("modes"), pct(m.get("hq_fraction")), fmt(m.get("reverse_kl"), ".3f"),
             fmt(m.get("w1"), ".3f")] for m in run.metrics]
    return Table(["epoch", "modes", "HQ %", "reverse KL", "W1"], rows)


def outcome_table(runs, labels=None):
    """One row per run: status, last epoch, modes, HQ %, reverse KL, W1 at the last snapshot."""
    labels = [r.name for r in runs] if labels is None else labels
    rows = []
    for run, label in zip(runs, labels):
        m = run.final_metrics
        rows.append([label, run.config.seed, run.status, m.get("epoch"), m.get("modes"), pct(m.get("hq_fraction")),
                     fmt(m.get("reverse_kl"), ".3f"), fmt(m.get("w1"), ".3f")])
    return Table(["run", "seed", "status", "last epoch", "modes", "HQ %", "reverse KL", "W1"], rows)


def comparison_table(runs):
    """Every case's last snapshot: its loss, the field's numbers, the centres G passes near (the
    post's kind of success) and the post's outcome."""
    from .claims import centres_passed

    rows = []
    for run in runs:
        m = run.final_metrics
        case = CASES.get(run.config.case)
        rows.append([run.config.case, LOSSES[run.config.loss].description, run.status, m.get("modes"),
                     pct(m.get("hq_fraction")), fmt(m.get("reverse_kl"), ".3f"), fmt(m.get("w1"), ".3f"),
                     centres_passed(run) if run.samples is not None and len(run.samples) else None,
                     case.post_outcome if case else None])
    return Table(["case", "loss", "status", "modes", "HQ %", "reverse KL", "W1", "centres passed near",
                  "outcome in the post"], rows)


def published_table():
    """The published grid numbers (means over each paper's runs), one row per method and source."""
    rows = [[r["method"], fmt(r["modes"], "g"), fmt(r["hq_percent"], "g"), fmt(r["reverse_kl"], "g"), r["source"]]
            for r in published()]
    return Table(["method", "modes", "HQ %", "reverse KL", "source"], rows)


def d_range_table(runs, labels, epochs=(100, 200, 300, 400, 500, 600, 700, 800, 900, 999)):
    """D's minimum and maximum over the plotted square after each epoch, for each run, beside the
    post's table (its rounded contour levels over its own plotted area)."""
    post = post_d_range()
    header = ["epoch", "post: min", "post: max"]
    for label in labels:
        header += [f"{label}: min", f"{label}: max"]
    rows = []
    for e in epochs:
        row = [e, *(fmt(v, ".3g") for v in post.get(e, (None, None)))]
        for run in runs:
            lo, hi = run.epoch_logs["d_min"], run.epoch_logs["d_max"]
            row += [fmt(float(lo[e]), ".3g"), fmt(float(hi[e]), ".3g")] if e < len(lo) else [None, None]
        rows.append(row)
    return Table(header, rows)


def drift_table(run):
    """Where G's samples are at every snapshot: their mean, spread and share outside the plot."""
    from .measures import drift

    extent = run.config.plot_extent
    rows = []
    for e, s in zip(run.snapshot_epochs, run.samples):
        d = drift(s, extent)
        rows.append([int(e), f"({fmt(d['mean'][0], '.3g')}, {fmt(d['mean'][1], '.3g')})", fmt(d["spread"], ".3g"),
                     pct(d["outside"])])
    return Table(["epoch", "mean (x, y)", "spread (RMS)", f"% outside [-{extent:g}, {extent:g}]²"], rows)


def devices_in_words(runs):
    """The devices that trained `runs`, with their torch versions, as a chapter names them
    ('CPU (AMD EPYC, 1 thread), torch 2.13.0+cpu'; several joined by semicolons). A run's
    provenance records the device as torch names it ('cpu (AMD EPYC, 1 threads)', 'cuda (NVIDIA
    H200)'); the words give the kind of device in capitals and the threads in good English."""
    def words(device):
        device = re.sub(r"^(cpu|cuda)\b", lambda m: m.group(1).upper(), device)
        return re.sub(r"\b1 threads\b", "1 thread", device)

    return "; ".join(sorted({f"{words(r.provenance.get('device', 'an unrecorded device'))}, torch "
                             f"{r.provenance.get('torch', '?')}" for r in runs}))


def provenance_table(sets):
    """One row per run set ({name: (run_set, statuses)} with statuses a list of 'ok', 'stale', ...):
    how many runs are stored and current, the commits, devices and CPU capabilities that made
    them, their epochs, their stacks and the stacks' wall time."""
    rows = []
    for name, (run_set, runs, statuses) in sets.items():
        stored = [r for r in runs if r is not None]
        prov = [r.provenance for r in stored]
        stacks = {(p.get("git_commit"), p.get("wall_time_s"), p.get("stack_size")) for p in prov}
        wall = sum(w for _, w, _ in stacks if w is not None)
        count = {k: sum(s.startswith(k) for s in statuses) for k in ("ok", "stale")}
        rows.append([name, len(statuses), count["ok"], count["stale"], len(statuses) - count["ok"] - count["stale"],
                     ", ".join(str(e) for e in sorted({r.config.epochs for r in stored})),
                     ", ".join(sorted({(p.get("git_commit") or "?")[:8] for p in prov})),
                     ", ".join(sorted({p.get("cpu_capability") or "not recorded" for p in prov})),
                     len(stacks), fmt(wall / 60, ".0f")])
    return Table(["run set", "runs", "current", "stale", "missing or damaged", "epochs", "commits",
                  "CPU capability", "stacks", "stacks' wall time (min)"], rows)


# ---------------------------------------------------------------------------- runs over seeds
def seeds_table(summary, post_words=None):
    """One row per setting: mean ± standard error of each metric at the last snapshot, and how
    many seeds meet the bar on the field's measures (`summary.field_success`)."""
    rows = []
    for setting, s in summary.items():
        k = round(s["success_rate"] * s["n"])
        rows.append([setting, (post_words or {}).get(setting), s["n"], s["diverged"], pm(s["modes"], s["modes_se"], ".1f"),
                     pm(s["hq_fraction"], s["hq_fraction_se"], ".1f", 100), pm(s["reverse_kl"], s["reverse_kl_se"], ".2f"),
                     pm(s["w1"], s["w1_se"], ".2f"), f"{k} of {s['n']}"])
    return Table(["setting", "post", "seeds", "diverged", "modes", "HQ %", "reverse KL", "W1",
                  "≥ 20 modes and ≥ 50 % HQ"], rows)


def clip_lr_table(summary, clips, lrs):
    """Every cell of the clip x lr map: modes, HQ %, reverse KL and W1 (mean ± standard error)."""
    rows = []
    for lr in lrs:
        for clip in clips:
            s = summary[(clip_label(clip), lr)]
            rows.append([f"{lr:g}", clip_label(clip), s["n"], s["diverged"], pm(s["modes"], s["modes_se"], ".1f"),
                         pm(s["hq_fraction"], s["hq_fraction_se"], ".1f", 100),
                         pm(s["reverse_kl"], s["reverse_kl_se"], ".2f"), pm(s["w1"], s["w1_se"], ".2f")])
    return Table(["lr", "clip", "seeds", "diverged", "modes", "HQ %", "reverse KL", "W1"], rows)


def schedule_check_table(pairs):
    """Short against full schedule, same setting and seed (`pairs` of (full-schedule run, its
    100-epoch twin)): modes / HQ % at the twin's last snapshot, at epoch 100 and at the end of the
    full run, and whether the field's measures give the same verdict."""
    rows = []
    for full, short in pairs:
        at_100 = next((m for m in full.metrics if m.get("epoch") == 100), {})
        cells = [f"{fmt(m.get('modes'), '.0f')} / {pct(m.get('hq_fraction'))}"
                 for m in (final_metrics(short), at_100, full.final_metrics)]
        rows.append([full.config.case, full.config.seed, *cells,
                     "same" if run_field_success(short) == run_field_success(full) else "differs"])
    return Table(["case", "seed", "100-epoch run, epoch 99", "full run, epoch 100", "full run, epoch 999",
                  "verdict"], rows, caption="modes / HQ %")


def rounding_drift_table(pairs, epochs=(0, 10, 50, 99), key="d_loss"):
    """How far two runs of the same setting and seed trained in different stacks drift apart: the
    relative difference of their per-epoch mean critic loss at `epochs` ('0': bit for bit)."""
    rows = []
    for full, short in pairs:
        a, b = short.epoch_logs[key], full.epoch_logs[key]
        cells = [DASH if e >= min(len(a), len(b)) else
                 ("0" if a[e] == b[e] else f"{abs(a[e] - b[e]) / max(abs(b[e]), 1e-12):.0e}") for e in epochs]
        rows.append([full.config.case, full.config.seed, *cells])
    return Table(["case", "seed", *[f"epoch {e}" for e in epochs]], rows,
                 caption=f"relative difference of the epoch's mean {key.replace('_', ' ')}")


def network_size_table(runs):
    """The network-size runs: width, depth, loss, lr, decay, epochs, seed, modes and HQ % at the
    last snapshot, and the run's share of its stack's wall time."""
    rows = []
    for run in runs:
        c, m, p = run.config, run.final_metrics, run.provenance
        share = p["wall_time_s"] / p["stack_size"] if p.get("wall_time_s") and p.get("stack_size") else None
        rows.append([c.d_width, c.d_depth, LOSSES[c.loss].description, f"{c.lr:g}", f"{c.decay:g}", c.epochs,
                     c.seed, m.get("modes"), pct(m.get("hq_fraction")), fmt(share, ".0f")])
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3], r[4], r[5], r[6]))
    return Table(["width", "depth", "loss", "lr", "decay", "epochs", "seed", "modes", "HQ %",
                  "wall time / stack size (s)"], rows)


def critic_table(runs, snapshot=-1):
    """For the runs that recorded D's weights: |grad_x D| over the plotted square (5th percentile,
    median, 95th), D's range there, and the share of D's parameters at and near +-clip."""
    import numpy as np

    from .measures import critic_on_plane, fraction_at_clip

    rows = []
    for run in runs:
        _, d, norms = critic_on_plane(run.config, run.d_weights[snapshot], gradient=True)
        p5, p50, p95 = np.percentile(norms, [5, 50, 95])
        clip = run.config.clip
        rows.append([run.config.case, clip_label(clip), int(run.snapshot_epochs[snapshot]), f"{p5:.3g}", f"{p50:.3g}",
                     f"{p95:.3g}", f"[{d.min():.3g}, {d.max():.3g}]",
                     pct(fraction_at_clip(run.d_weights[snapshot], clip), ".1f"),
                     pct(fraction_at_clip(run.d_weights[snapshot], clip, rel_tol=0.1), ".1f")])
    return Table(["run", "clip", "epoch", "|∇D| 5th pct", "median", "95th pct", "D on the square",
                  "parameters at ±c (%)", "within 10 % of ±c (%)"], rows)


# ------------------------------------------------------------------------------------- claims
def claims_table(results):
    """The spine of the book in one table: every claim of the post, what its seeds gave by the
    measurable form of chapter "The claims" (`claims.evaluate`), and the verdict by the post's
    criterion and by the field's."""
    rows = []
    for r in results:
        c = r.claim
        measured = DASH
        if c.criterion is not None:
            mean, se = r.mean_and_error
            measured = f"{c.criterion.label}: {pm_sig(mean, se)}; {r.k} of {r.n} seeds as the post says"
        field = DASH if r.field_met is None else f"{r.field_verdict} ({sum(r.field_met)} of {len(r.field_met)})"
        rows.append([c.topic, measured, r.verdict, field])
    return Table(["claim", "measured (mean ± s.e. over seeds)", "verdict", "by the field's measures"], rows)


def verdicts_table(results):
    """The claims table in short: each claim's verdict by the post's words and by the field's."""
    rows = [[r.claim.topic, f"{r.verdict}" + (f" ({r.k} of {r.n} seeds)" if r.claim.criterion else ""),
             DASH if r.field_met is None else f"{r.field_verdict} ({sum(r.field_met)} of {len(r.field_met)})"]
            for r in results]
    return Table(["the post's claim", "by its own words", "by the field's measures"], rows)


def claim_seeds_table(results):
    """Each claim's measured quantity seed by seed (a check mark where the seed came out as the post
    says), so that a reader sees what the means and counts of `claims_table` are made of."""
    n = max((len(r.runs) for r in results), default=0)
    rows = []
    for r in results:
        if r.claim.criterion is None:
            continue
        cells = [f"{fmt(v, '.3g')} {'✓' if ok else '✗'}" for v, ok in zip(r.values, r.met)]
        seeds = [str(run.config.seed) for run in r.runs]
        rows.append([r.claim.topic, r.claim.criterion.label, ", ".join(seeds), *cells, *[""] * (n - len(cells))])
    return Table(["claim", "measured", "seeds", *[f"run {k + 1}" for k in range(n)]], rows,
                 caption="✓: the seed came out as the post says; ✗: it did not")


def criteria_table(criteria, runs):
    """How many of `runs` meet each criterion ({label: Criterion}); a criterion met by every run or
    by none separates nothing."""
    from .claims import separates

    rows = []
    for label, criterion in criteria.items():
        k, n = separates(criterion, runs)
        rows.append([label, f"{k} of {n}", "separates nothing" if k in (0, n) else "separates"])
    return Table(["criterion (by its measure)", "runs that meet it", ""], rows)


# ------------------------------------------------------------- each discriminator at its best
def best_screen_table(runs):
    """The screen (run set `best-screen`): each candidate's mean score over its seeds, its mean modes,
    high-quality share and reverse KL at the last snapshot, and which candidate each discriminator
    keeps (`grid.best_choice`)."""
    from .grid import BEST_NAMES, best_candidate_of, best_choice, best_screen_scores, best_settings
    from .summary import summarise

    chosen, scores = set(best_choice(runs).values()), best_screen_scores(runs)
    rows_by_candidate = summarise(runs, key=best_candidate_of)
    rows = []
    for disc, scored in scores.items():
        for candidate, (score, _, n) in scored.items():
            row, config = rows_by_candidate[candidate], next(r.config for r in runs if best_candidate_of(r) == candidate)
            rows.append([BEST_NAMES[disc], best_settings(config), n, fmt(score, ".3f"),
                         fmt(row["modes"], ".1f"), fmt(100 * row["hq_fraction"], ".1f"), fmt(row["reverse_kl"], ".2f"),
                         "kept" if candidate in chosen else ""])
    return Table(["discriminator", "candidate", "seeds", "score", "modes", "HQ %", "reverse KL", ""], rows)


SHORT_METRICS = {"modes": "modes", "hq_fraction": "HQ", "reverse_kl": "KL"}  # as the tables' headers name them


def best_table(runs, early_epoch=100):
    """Each discriminator's best (run set `best`): mean ± standard error over the seeds of modes,
    high-quality share and reverse KL at the last snapshot, the high-quality share at `early_epoch`,
    and whether the means meet the discriminator's goal (`finals.best_goal_missed`), judged only once
    every seed of `runsets.BEST_SEEDS` is stored (docs/grid-best.md); until then the goal is open."""
    from .finals import best_complete, best_goal_parts_missed
    from .grid import BEST_NAMES, best_settings, hq_at
    from .runsets import BEST_SEEDS
    from .summary import mean_and_error, summarise

    rows, judged = [], best_complete(runs)
    for loss, row in summarise(runs, key=lambda r: r.config.loss).items():  # a discriminator is its loss
        members = [r for r in runs if r.config.loss == loss]
        early = mean_and_error([hq_at(r, early_epoch) for r in members if r.status == "completed"])
        missed, complete = best_goal_parts_missed(loss, row), loss in judged
        goal = (DASH if missed is None else "open until every seed is in" if not complete else
                "met" if not missed else "missed: " + ", ".join(SHORT_METRICS[m] for m in missed))
        rows.append([BEST_NAMES[loss], f"{best_settings(members[0].config)}; {members[0].config.epochs} epochs",
                     f"{row['n']}" + ("" if complete else f" of {len(BEST_SEEDS)}")
                     + (f" ({row['diverged']} diverged)" if row["diverged"] else ""),
                     pm(row["modes"], row["modes_se"], ".1f"), pm(row["hq_fraction"], row["hq_fraction_se"], ".1f", 100),
                     pm(early[0], early[1], ".1f", 100), pm(row["reverse_kl"], row["reverse_kl_se"], ".3f"), goal])
    return Table(["discriminator", "settings", "seeds", "modes", "HQ %", f"HQ % at epoch {early_epoch}",
                  "reverse KL", "goal"], rows)


def finals_critic_table(runs):
    """Where each discriminator's final critics hold G (`finals.finals_critics`): mean ± standard
    error over its seeds of the pull towards the centres from `finals.PULL_FROM_EPOCH` on and of the
    centres with a well at the last snapshot."""
    from .finals import PULL_FROM_EPOCH, finals_critics
    from .grid import BEST_NAMES

    rows = [[BEST_NAMES[d], f"{c['n']}" + (f" ({c['diverged']} diverged, left out)" if c["diverged"] else ""),
             pm(*c["pull"], ".2f"), pm(*c["wells"], ".1f")] for d, c in finals_critics(runs).items()]
    return Table(["discriminator", "seeds", f"pull from epoch {PULL_FROM_EPOCH} on (mean cosine)",
                  "centres with a well at the last snapshot"], rows)


def ladder_table(runs):
    """The run set `ladder`, one row per rung: mean ± standard error over its seeds at the last
    snapshot of modes, high-quality share and reverse KL, the share at the middle snapshot (has it
    settled?), and how many seeds' D radiates (`claims.radiates`, both readings)."""
    from .claims import radiates
    from .grid import hq_at, ladder_rungs, ladder_summary
    from .runsets import LADDER_EPOCHS, LADDER_RUNGS
    from .summary import mean_and_error

    middle, summary, rows = LADDER_EPOCHS // 2, ladder_summary(runs), []
    for rung, members in ladder_rungs(runs).items():
        if not members:
            continue
        row = summary[rung]
        rows.append([LADDER_RUNGS[rung][0], pm(row["modes"], row["modes_se"], ".1f"),
                     pm(row["hq_fraction"], row["hq_fraction_se"], ".1f", 100),
                     fmt(100 * mean_and_error([hq_at(r, middle) for r in members])[0], ".1f"),
                     pm(row["reverse_kl"], row["reverse_kl_se"], ".2f"),
                     f"{sum(radiates(r) for r in members)} of {len(members)}"])
    return Table(["the post's success with", "modes", "HQ %", f"HQ % at epoch {middle}", "reverse KL", "D radiates"],
                 rows)


def finals_spread_table(runs):
    """Where each discriminator's final samples fall at the last snapshot (`finals.finals_spread`):
    mean ± standard error over its seeds of the shares in each band of distance to the nearest
    centre and of the median distance, the centres missed over all seeds and how many of those are
    wells of its critic; the true mixture's shares and median, exactly, in the first row."""
    from .finals import finals_spread
    from .grid import BEST_NAMES
    from .measures import SPREAD_EDGES, true_distance_bands, true_median_distance

    edges = [f"{e:g}" for e in SPREAD_EDGES]
    header = (["", "seeds", f"< {edges[0]} (HQ) %"] + [f"{a} to {b} %" for a, b in zip(edges, edges[1:])]
              + [f"≥ {edges[-1]} %", "median distance", "centres missed (with a well)"])
    rows = [["the true mixture", DASH] + [fmt(100 * b, ".1f") for b in true_distance_bands()]
            + [fmt(true_median_distance(), ".3f"), DASH]]
    for loss, s in finals_spread(runs).items():
        rows.append([BEST_NAMES[loss], f"{s['n']}"] + [pm(m, e, ".1f", 100) for m, e in s["bands"]]
                    + [pm(*s["median"], ".3f"), f"{s['missed']} ({s['wells_at_missed']})"])
    return Table(header, rows)


def ladder_down_table(runs, early_epoch=None):
    """The ladder down (run set `ladder-down`), one row per rung: what it puts back of the post's
    choices, mean ± standard error over its seeds of modes and high-quality share at the last
    snapshot, the share at `early_epoch` (has it settled?), and its drop in score below the top's
    (`grid.ladder_down_drops`)."""
    from .grid import LADDER_DOWN_EARLY, hq_at, ladder_down_by_rung, ladder_down_drops, ladder_down_rung_of
    from .runsets import POST_CHOICES
    from .summary import mean_and_error, summarise

    early_epoch = LADDER_DOWN_EARLY if early_epoch is None else early_epoch
    drops, by_rung, rows = ladder_down_drops(runs), ladder_down_by_rung(runs), []
    for rung, row in summarise(runs, key=ladder_down_rung_of).items():
        early = mean_and_error([hq_at(r, early_epoch) for r in by_rung[rung] if r.status == "completed"])
        drop = drops.get(rung, {}).get("score")
        rows.append(["none (the top)" if rung == "top" else POST_CHOICES[rung][0],
                     f"{row['n']}" + (f" ({row['diverged']} diverged)" if row["diverged"] else ""),
                     pm(row["modes"], row["modes_se"], ".1f"), pm(row["hq_fraction"], row["hq_fraction_se"], ".1f", 100),
                     pm(early[0], early[1], ".1f", 100), DASH if drop is None else pm(drop[0], drop[1], ".2f")])
    return Table(["the post's choice put back", "seeds", "modes", "HQ %", f"HQ % at epoch {early_epoch}",
                  "drop in score"], rows)


def snapshot_table(runs, candidates, measure, spec=".1f"):
    """A measure of each candidate's runs at every snapshot, mean over its completed seeds (NaN
    ignored), beside its modes and high-quality share at the last snapshot. `candidates` maps a
    row's label to a candidate of the best-of search; `measure(run, k)` is a number for the run's
    k-th snapshot (`grid.centre_wells`, `grid.pull_towards_centres`)."""
    from .grid import best_candidate_of, snapshot_means
    from .summary import summarise

    summary = summarise(runs, key=best_candidate_of)
    epochs = next(r.snapshot_epochs for r in runs if r.status == "completed")
    rows = []
    for label, candidate in candidates.items():
        means = snapshot_means(runs, candidate, measure)
        row = summary[candidate]
        rows.append([label] + [fmt(m, spec) for m in means]
                    + [fmt(row["modes"], ".1f"), pct(row["hq_fraction"], ".0f")])
    return Table([""] + [f"epoch {e}" for e in epochs] + ["modes", "HQ %"], rows)
