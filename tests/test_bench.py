"""`bench` is a benchmark, not a test: the suite only checks that it runs and reports every line."""
from wgan_lib.cli import main


def test_bench_quick_runs_and_reports_every_trainer(capsys):
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for label in ("plain loop", "stacked, success case", "eleven success-case seeds", "stacked, every case",
                  "ten seeds of every case", "implied wall time", "products and ELUs only",
                  "lower bound for the 11 runs", "the most any stacked trainer", "OMP_WAIT_POLICY",
                  "single-threaded processes (reproduce --jobs"):
        assert label in out, label
    rows = [line for line in out.splitlines() if line.startswith(("plain", "stacked"))]
    assert len(rows) == 5
    ratios = [float(line.split()[-2]) for line in rows]
    assert ratios[0] == 1.0 and all(r > 0 for r in ratios)
