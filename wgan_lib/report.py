"""`python -m wgan_lib report`: the README's results section, made from the stored runs.

Writes a figure of the success case (G above D, every 100 epochs) and replaces the block between
the README's `<!-- results:start -->` and `<!-- results:end -->` markers with the comparison table
of every case's last snapshot. Nothing is trained: a missing run is an error.
"""
from pathlib import Path

from .cases import CASES
from .store import load_run, run_name

START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_report(results_dir="results", readme="README.md", figure="docs/success.png"):
    from . import plots

    results_dir, readme, figure = Path(results_dir), Path(readme), Path(figure)
    runs = [load_run(results_dir / run_name(case.config()), warn_stale=False) for case in CASES.values()]
    success = next(r for r in runs if r.config.case == "success")
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig = plots.plot_run_grid(success)
    fig.savefig(figure, dpi=70)
    plots.plt.close(fig)
    stale = [r.name for r in runs if r.stale]
    commits = sorted({str(r.provenance.get("git_commit")) for r in runs})
    block = "\n".join([
        START,
        f"![G's samples (upper rows) and D's contours (lower rows) of the success case]({figure.as_posix()})",
        "",
        plots.comparison_table(runs).markdown(),
        "",
        f"Made by `python -m wgan_lib report` from the runs in `{results_dir.as_posix()}/` "
        f"(trained by `python -m wgan_lib reproduce` at commit {', '.join(commits)}"
        + (f"; stale: {', '.join(stale)}" if stale else "") + ").",
        END,
    ])
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    readme.write_text(head + block + rest.split(END, 1)[1])
    return figure
