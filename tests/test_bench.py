"""`bench` is a benchmark, not a test: the suite only checks that it runs and reports every line."""
from wgan_lib.cli import main


def test_bench_quick_runs_and_reports_every_stack(capsys):
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for label in ("success case", "eleven success-case seeds", "every case of the set 'cases'",
                  "ten seeds of every case", "compiled kernels:", "products and ELUs only",
                  "the set 'cases' (13 runs in 4 stacks) at the post's schedule on"):
        assert label in out, label
    rows = [line for line in out.splitlines() if line.startswith(("success case", "eleven", "every case", "ten seeds"))]
    assert len(rows) == 4
    ratios = [float(line.split()[-2]) for line in rows]
    assert ratios[0] == 1.0 and all(r > 0 for r in ratios)
