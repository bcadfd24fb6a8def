"""Stored runs: one folder per run with `run.json` (config, status, metrics, curves, provenance)
and `snapshots.npz` (generator samples and D on the plotting grid at each snapshot).

Writing is atomic (a temporary folder renamed into place) and the JSON records the NPZ's sha256,
so a reader never sees half a run and a damaged one is reported, not used. Loading never
unpickles. Each run records a fingerprint of its config and of the code that trains it; a run
whose code fingerprint differs from the current code's is stale, and loading it warns.
"""
import ast
import functools
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Config, ConfigError

FORMAT_VERSION = 1
RUN_JSON = "run.json"
SNAPSHOTS_NPZ = "snapshots.npz"
PACKAGE_DIR = Path(__file__).resolve().parent
# The modules whose code decides what a run computes ...
TRAINING_MODULES = ("config.py", "data.py", "kernels.py", "losses.py", "metrics.py", "models.py", "optim.py",
                    "train.py")
# ... less the top-level definitions in them that cannot change a number a run stores. Validation
# only accepts or rejects a frozen config and returns it unchanged, parsing only builds one, and
# every field of a config is in the run's config fingerprint; so fixing a message or a check
# there leaves every stored run current.
NOT_COMPUTING = {
    "config.py": frozenset({"ConfigError", "_is_number", "_is_int", "_finite", "_shown", "_require",
                            "_positive", "_int_at_least", "validate", "_FIELDS", "_OPTIONAL_FLOATS",
                            "_NONE_WORDS", "parse_value", "parse_assignment", "apply_assignments"}),
}


class RunFileError(ValueError):
    """A stored run is missing, truncated, altered or not a run at all."""


class StaleRunWarning(UserWarning):
    """A stored run was made by other training code than the current one."""


def _defined_names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)} or {None}
    return {None}


def _without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def computing_source(name, source, canonical=None):
    """The part of module `name`'s source that the code fingerprint covers, in a canonical form:
    its syntax tree (no comments, no layout) without docstrings and without the definitions that
    NOT_COMPUTING lists, written out by `canonical` (default `_canonical`)."""
    tree = _without_docstrings(ast.parse(source))
    skipped = NOT_COMPUTING.get(name, frozenset())
    tree.body = [node for node in tree.body if not _defined_names(node) <= skipped]
    return (canonical or _canonical)(tree)


def _canonical(node):
    """Node type and fields, recursively, leaving out empty fields. Not `ast.unparse` or `ast.dump`:
    the GPU machine runs Python 3.12, whose unparse may quote f-strings differently and whose
    syntax tree has fields 3.11's lacks (`type_params`, always empty here)."""
    if isinstance(node, ast.AST):
        fields = [f"{name}={_canonical(value)}" for name, value in ast.iter_fields(node)
                  if value is not None and value != []]
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(item) for item in node) + "]"
    return repr(node)


def code_fingerprint(sources=None, canonical=None):
    """sha256 over the code that decides what a run computes (see `computing_source`): an edit to
    a docstring, a comment, the layout or a config check leaves it unchanged; any other edit to a
    training module changes it. `sources` maps module names to source text (default: this
    package's files), so the fingerprint of another commit's code can be computed; `canonical`
    replaces the written-out form (an earlier scheme's, to check runs stored under it)."""
    if sources is None:
        sources = {name: (PACKAGE_DIR / name).read_text() for name in TRAINING_MODULES}
    return _fingerprint(tuple(sources[name] for name in TRAINING_MODULES), canonical)


@functools.lru_cache(maxsize=8)
def _fingerprint(texts, canonical):  # parsing costs ~30 ms, and every load_run asks
    digest = hashlib.sha256()
    for name, source in zip(TRAINING_MODULES, texts):
        digest.update(name.encode() + b"\0" + computing_source(name, source, canonical).encode() + b"\0")
    return digest.hexdigest()


def legacy_code_fingerprint(sources):
    """Scheme 1 (runs stored before scheme 2): sha256 over the raw bytes of the same modules."""
    digest = hashlib.sha256()
    for name in TRAINING_MODULES:
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def run_name(config):
    """`case-seedS` for a case of the post as registered (or a study's run); with a short config
    fingerprint appended when the config differs from the registered one (other epochs, a --set),
    so a variant never overwrites the canonical run."""
    from .cases import CASES

    case = config.case
    if case in (".", "..") or case.startswith(".") or any(ch in case for ch in '/\\\0') or not case.isprintable():
        # The name becomes a folder: a case like '../x' would write outside the results folder,
        # and a leading dot is reserved for `save_run`'s temporary folders.
        raise ConfigError(f"case {case!r} cannot name a run folder: no '/', '\\', leading '.' or "
                          "unprintable characters")
    name = f"{case}-seed{config.seed}"
    if config.case in CASES and config != CASES[config.case].config(seed=config.seed):
        name += f"-{config.fingerprint()[:8]}"
    return name


def _git_commit():
    """HEAD, with '-dirty' when a module that decides what a run computes differs from it. Where the
    package is not in a git checkout (a copy of the tree sent to a GPU machine), the commit the
    sender names in WGAN_GIT_COMMIT, marked '-declared'; else None."""
    declared = os.environ.get("WGAN_GIT_COMMIT")
    try:
        out = subprocess.run(["git", "-C", str(PACKAGE_DIR), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(PACKAGE_DIR), "status", "--porcelain", "--",
                                *[str(PACKAGE_DIR / name) for name in TRAINING_MODULES]],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        out = None
    if out is None or out.returncode != 0:
        return f"{declared}-declared" if declared else None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance(device, wall_time_s, stack_size):
    """Where, when and with what a run was made."""
    import sklearn
    import torch

    from . import kernels

    try:
        import ot
        pot_version = ot.__version__
    except ImportError:
        pot_version = None
    device_name = str(device)
    if str(device).startswith("cuda") and torch.cuda.is_available():
        device_name += f" ({torch.cuda.get_device_name(torch.device(device))})"
    else:
        device_name += f" ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return {
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit_learn": sklearn.__version__,
        "pot": pot_version,
        "platform": platform.platform(),
        "device": device_name,
        "wall_time_s": round(float(wall_time_s), 3),
        "stack_size": int(stack_size),
        # the same numbers either way (kernels.py); the wall time depends on it
        "kernels": kernels.backend() if not str(device).startswith("cuda") else "torch",
    }


def _finite_or_none(values):
    return [float(v) if v is not None and math.isfinite(v) else None for v in values]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_run(log, out_dir, provenance_info, with_snapshots=True):
    """Write one run (a `train.RunLog`) under `out_dir`; return its folder. Without snapshots
    (the sweeps, which need only metrics) the folder holds run.json alone."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = log.config
    final = out_dir / run_name(config)
    tmp = out_dir / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_run(log, tmp, final.name, provenance_info, with_snapshots)
    except BaseException:  # an error or Ctrl-C while writing: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = out_dir / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    return final


def _write_run(log, tmp, name, provenance_info, with_snapshots=True):
    config = log.config
    if with_snapshots:
        side = config.plot_resolution
        samples = np.asarray(log.samples, dtype=np.float32).reshape(-1, config.n_eval_samples, 2)
        d_grid = np.asarray(log.d_grid, dtype=np.float32).reshape(-1, side, side)
        np.savez_compressed(tmp / SNAPSHOTS_NPZ, snapshot_epochs=np.asarray(log.snapshot_epochs, dtype=np.int64),
                            samples=samples, d_grid=d_grid)
    record = {
        "format": FORMAT_VERSION,
        "name": name,
        "config": config.to_dict(),
        "config_fingerprint": config.fingerprint(),
        "code_fingerprint": code_fingerprint(),
        "status": log.status,
        "failed_epoch": log.failed_epoch,
        "reason": log.reason,
        "epoch_logs": {k: _finite_or_none(v) for k, v in log.epoch_logs.items()},
        "snapshots": [{k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in m.items()}
                      for m in log.metrics],
        # null: no snapshots.npz (a metrics-only run of a sweep)
        "snapshots_sha256": _sha256(tmp / SNAPSHOTS_NPZ) if with_snapshots else None,
        "provenance": provenance_info,
    }
    (tmp / RUN_JSON).write_text(_json_text(record))


@dataclass
class StoredRun:
    """A run loaded back: everything `save_run` wrote, arrays as numpy."""

    path: Path
    config: Config
    status: str
    failed_epoch: int | None
    reason: str | None
    epoch_logs: dict
    metrics: list
    snapshot_epochs: np.ndarray
    samples: np.ndarray | None  # None for a metrics-only run (no snapshots.npz)
    d_grid: np.ndarray | None
    provenance: dict
    config_fingerprint: str
    code_fingerprint: str
    stale: bool = field(default=False)

    @property
    def name(self):
        return self.path.name

    def metric(self, key):
        """One metric over the snapshots, as an array (NaN where a snapshot had none)."""
        return np.array([m.get(key, np.nan) if m.get(key) is not None else np.nan for m in self.metrics])

    @property
    def final_metrics(self):
        return self.metrics[-1] if self.metrics else {}


EPOCH_LOG_KEYS = ("d_loss", "g_loss", "d_min", "d_max")
RUN_STATUSES = ("completed", "diverged")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number_or_none(value):
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _check_record(record, config, json_path):
    """Raise RunFileError unless every field of run.json has the type and size `save_run` writes."""
    def bad(what):
        raise RunFileError(f"{json_path}: {what}")

    if record["status"] not in RUN_STATUSES:
        bad(f"status must be one of {', '.join(RUN_STATUSES)}; got {record['status']!r}")
    if not (record.get("failed_epoch") is None or _is_int(record["failed_epoch"])):
        bad(f"failed_epoch must be an integer or null; got {record['failed_epoch']!r}")
    if not (record.get("reason") is None or isinstance(record["reason"], str)):
        bad(f"reason must be text or null; got {record['reason']!r}")
    logs = record["epoch_logs"]
    if not isinstance(logs, dict) or any(k not in logs for k in EPOCH_LOG_KEYS):
        bad(f"epoch_logs must map each of {', '.join(EPOCH_LOG_KEYS)} to a list")
    for key, values in logs.items():
        if not (isinstance(values, list) and len(values) <= config.epochs and all(map(_is_number_or_none, values))):
            bad(f"epoch_logs[{key!r}] must be a list of at most {config.epochs} numbers or nulls")
    snapshots = record["snapshots"]
    if not (isinstance(snapshots, list) and all(isinstance(m, dict) and _is_int(m.get("epoch"))
                                                and all(map(_is_number_or_none, m.values())) for m in snapshots)):
        bad("snapshots must be a list of {epoch, metric: number or null} records")
    if not isinstance(record["provenance"], dict):
        bad("provenance must be a JSON object")
    for key in ("config_fingerprint", "code_fingerprint"):
        if not isinstance(record[key], str):
            bad(f"{key} must be text; got {record[key]!r}")


def _check_arrays(arrays, record, config, npz_path):
    """Raise RunFileError unless the arrays have the shapes and dtypes the record and config imply."""
    n = len(record["snapshots"])
    expected = {"snapshot_epochs": ((n,), "i"), "samples": ((n, config.n_eval_samples, 2), "f"),
                "d_grid": ((n, config.plot_resolution, config.plot_resolution), "f")}
    for key, (shape, kind) in expected.items():
        array = arrays[key]
        if array.shape != shape or array.dtype.kind != kind:
            raise RunFileError(f"{npz_path}: {key} has shape {array.shape} and dtype {array.dtype}; "
                               f"run.json implies shape {shape} and a{'n integer' if kind == 'i' else ' float'} dtype")
    if arrays["snapshot_epochs"].tolist() != [m["epoch"] for m in record["snapshots"]]:
        raise RunFileError(f"{npz_path}: snapshot_epochs {arrays['snapshot_epochs'].tolist()} differ from "
                           f"the epochs of run.json's snapshots")


def load_run(path, warn_stale=True):
    """Load and verify a stored run; raise RunFileError naming the file and what is wrong."""
    path = Path(path)
    json_path, npz_path = path / RUN_JSON, path / SNAPSHOTS_NPZ
    if not json_path.is_file():
        raise RunFileError(f"{json_path}: missing (not a stored run)")
    try:
        record = json.loads(json_path.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise RunFileError(f"{json_path}: not valid JSON ({err})") from None
    except OSError as err:
        raise RunFileError(f"{json_path}: unreadable ({err})") from None
    required = ("format", "config", "status", "epoch_logs", "snapshots", "snapshots_sha256", "provenance",
                "config_fingerprint", "code_fingerprint")
    if not isinstance(record, dict) or any(k not in record for k in required):
        missing = [k for k in required if not isinstance(record, dict) or k not in record]
        raise RunFileError(f"{json_path}: not a stored run (missing {', '.join(missing)})")
    if record["format"] != FORMAT_VERSION:
        raise RunFileError(f"{json_path}: format {record['format']!r}, this code reads format {FORMAT_VERSION}")
    if not (record["snapshots_sha256"] is None or isinstance(record["snapshots_sha256"], str)):
        raise RunFileError(f"{json_path}: snapshots_sha256 must be text or null; got {record['snapshots_sha256']!r}")
    with_snapshots = record["snapshots_sha256"] is not None
    if not with_snapshots and npz_path.exists():
        raise RunFileError(f"{json_path}: records no snapshots, but {SNAPSHOTS_NPZ} is there (file altered)")
    if with_snapshots:
        if not npz_path.is_file():
            raise RunFileError(f"{npz_path}: missing")
        try:
            npz_digest = _sha256(npz_path)
        except OSError as err:
            raise RunFileError(f"{npz_path}: unreadable ({err})") from None
        if npz_digest != record["snapshots_sha256"]:
            raise RunFileError(f"{npz_path}: checksum does not match run.json (file altered or truncated)")
    if not isinstance(record["config"], dict):
        raise RunFileError(f"{json_path}: invalid config (not a JSON object)")
    try:
        config = Config.from_dict(record["config"])
    except (ConfigError, TypeError, ValueError, OverflowError) as err:  # ConfigError is a ValueError
        raise RunFileError(f"{json_path}: invalid config ({err})") from None
    _check_record(record, config, json_path)
    if with_snapshots:
        try:
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in ("snapshot_epochs", "samples", "d_grid")}
        except Exception as err:  # noqa: BLE001 - a damaged archive fails in many ways (zipfile, zlib, numpy)
            raise RunFileError(f"{npz_path}: unreadable ({type(err).__name__}: {err})") from None
        _check_arrays(arrays, record, config, npz_path)
    else:
        arrays = {"snapshot_epochs": np.array([m["epoch"] for m in record["snapshots"]], dtype=np.int64),
                  "samples": None, "d_grid": None}
    stale = record["code_fingerprint"] != code_fingerprint() or record["config_fingerprint"] != config.fingerprint()
    if stale and warn_stale:
        warnings.warn(f"{path}: stored by other training code or config than the current one (stale); "
                      "`python -m wgan_lib reproduce` retrains it", StaleRunWarning, stacklevel=2)
    try:
        logs = {k: np.array([np.nan if v is None else v for v in vs], dtype=np.float64)
                for k, vs in record["epoch_logs"].items()}
    except (OverflowError, TypeError, ValueError) as err:  # e.g. an integer beyond the float range
        raise RunFileError(f"{json_path}: epoch_logs are not numbers ({err})") from None
    return StoredRun(path=path, config=config, status=record["status"], failed_epoch=record.get("failed_epoch"),
                     reason=record.get("reason"), epoch_logs=logs, metrics=record["snapshots"],
                     snapshot_epochs=arrays["snapshot_epochs"], samples=arrays["samples"], d_grid=arrays["d_grid"],
                     provenance=record["provenance"], config_fingerprint=record["config_fingerprint"],
                     code_fingerprint=record["code_fingerprint"], stale=stale)


def load_status(path):
    """(status, run) for the run folder `path`, without warnings: status is 'ok', 'stale',
    'damaged: <why>' or 'missing', and run the loaded StoredRun (None when missing or damaged)."""
    path = Path(path)
    if not (path / RUN_JSON).exists():
        return "missing", None
    try:
        run = load_run(path, warn_stale=False)
    except RunFileError as err:
        return f"damaged: {err}", None
    return ("stale" if run.stale else "ok"), run


def run_status(path):
    """'ok', 'stale', 'damaged: <why>' or 'missing' for the run folder `path`, without warnings."""
    return load_status(path)[0]


def restamp_fingerprint(path, sources_at, earlier_schemes=()):
    """Give a stored run folder the current code fingerprint where that is provably right, and
    return what was done: for runs stored under an earlier fingerprint scheme (scheme 1 hashed the
    raw bytes of the modules).

    Proof, from the run's own provenance: the training modules at its recorded git commit
    (`sources_at(commit)`, a dict of module name to source) have the fingerprint the run records
    (`provenance.code_fingerprint_scheme1` once restamped; else its `code_fingerprint` under scheme 1
    or under one of `earlier_schemes`, functions of the sources), so that code made it; and their
    current-scheme fingerprint equals the current code's, so it computes what the current code
    computes. Only `code_fingerprint` changes (in run.json and, for the critic study,
    d_weights.json); the raw-bytes value is kept in the provenance. Returns 'restamped',
    'already current', or 'left alone: <why>'."""
    path = Path(path)
    record = json.loads((path / RUN_JSON).read_text())
    current = code_fingerprint()
    if record.get("code_fingerprint") == current:
        return "already current"
    provenance_info = record.get("provenance") or {}
    commit = provenance_info.get("git_commit")
    if not commit or commit.endswith("-dirty"):
        return f"left alone: recorded commit {commit!r} does not identify the code"
    commit = commit.removesuffix("-declared")  # the code there is checked against the run below
    try:
        sources = sources_at(commit)
    except (OSError, KeyError, ValueError) as err:
        return f"left alone: cannot read the code at {commit}: {err}"
    raw = legacy_code_fingerprint(sources)
    if "code_fingerprint_scheme1" in provenance_info:
        made_it = provenance_info["code_fingerprint_scheme1"] == raw
    else:
        made_it = any(scheme(sources) == record.get("code_fingerprint")
                      for scheme in (legacy_code_fingerprint, *earlier_schemes))
    if not made_it:
        return f"left alone: the code at {commit} does not have the recorded fingerprint"
    if code_fingerprint(sources) != current:
        return f"left alone: the code at {commit} computes differently from the current code"
    record["provenance"]["code_fingerprint_scheme1"] = raw
    record["code_fingerprint"] = current
    replace_json(path / RUN_JSON, record)
    weights = path / "d_weights.json"
    if weights.is_file():
        extra = json.loads(weights.read_text())
        if extra.get("code_fingerprint") != current:
            extra["code_fingerprint"] = current
            replace_json(weights, extra)
    return "restamped"


def _json_text(record):
    """How every JSON record of a run folder is written (a restamped record keeps its layout)."""
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def replace_json(path, record):
    """Write `record` to `path` atomically: a temporary file renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(_json_text(record))
    os.replace(tmp, path)
