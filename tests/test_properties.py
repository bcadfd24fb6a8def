"""Property tests (Hypothesis): arbitrary input to the config, the `--set` parser and the stored-run
loader either works or fails with the library's own error naming what is wrong; never with another
exception.

(`mode_stats` and `wasserstein1` on arbitrary finite arrays are covered in test_metrics.py.)
"""
import dataclasses
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wgan_lib import Config, StackTrainer, load_run
from wgan_lib.config import ConfigError, apply_assignments, parse_assignment
from wgan_lib.store import RUN_JSON, SNAPSHOTS_NPZ, RunFileError, provenance, run_name, save_run

FIELDS = [f.name for f in dataclasses.fields(Config)]
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Integers up to 5000 digits: beyond float's range (math.isfinite would overflow) and beyond the
# 4300 digits that repr() and json refuse.
BIG = 10**5000
scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.integers(min_value=-BIG, max_value=BIG),
    st.sampled_from([0, 1, -1, 2, 2**31, 2**63 - 1, 2**63, -(2**63), 0.0, -0.0, 1e-300, 1e300, 0.5, 0.999999]),
    st.text(max_size=20),
    st.sampled_from(["wgan", "standard", "coulomb", "wgan-gp", "uniform", "normal", "elu", "relu", "", "success"]),
    st.none(),
    st.booleans(),
)
values = st.one_of(scalars, st.tuples(scalars), st.tuples(st.integers(-5, 2000), st.integers(-5, 2000)),
                   st.lists(st.integers(0, 5), max_size=3).map(tuple), st.lists(scalars, max_size=3))

# A change to one field can make another one invalid: batch_size is bounded by 25 * samples_per_center
# and snapshot_epochs by epochs.
RELATED = {"samples_per_center": {"batch_size"}, "epochs": {"snapshot_epochs"}}


def _named_fields(message):
    return {name for name in FIELDS if message.startswith(f"{name} ")}


@PROPERTY
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=4))
@example({"lr": float("nan")})
@example({"seed": 2**63})
@example({"snapshot_epochs": (0, 1000)})
@example({"samples_per_center": 1})
@example({"clip": None, "decay": 0})
@example({"epochs": 1, "snapshot_epochs": (0,)})
def test_any_field_values_construct_or_raise_config_error_naming_the_field(changes):
    try:
        config = Config(**changes)
    except ConfigError as err:
        named = _named_fields(str(err))
        allowed = set(changes) | {r for name in changes for r in RELATED.get(name, ())}
        assert named & allowed, f"{err} names none of {sorted(allowed)}"
        return
    # A config that constructs is usable: fingerprint, JSON round trip, snapshots (when small).
    text = json.dumps(config.to_dict())
    assert Config.from_dict(json.loads(text)) == config
    assert len(config.fingerprint()) == 64
    if config.epochs <= 10**4:
        assert all(0 <= e < config.epochs for e in config.snapshots)


# Two holes the property above once stepped around (regression tests): an int beyond the float
# range, and an int whose repr() Python refuses.
FLOAT_FIELDS = ["lr", "epsilon", "decay", "clip", "coulomb_dim", "coulomb_eps", "gp_lambda", "plot_extent"]


@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_integer_beyond_the_float_range_raises_config_error(name):
    with pytest.raises(ConfigError, match=rf"^{name} must be .*; got an integer of 1329 bits$"):
        Config(**{name: 10**400})


def test_a_tuple_holding_an_integer_over_4300_digits_raises_config_error():
    with pytest.raises(ConfigError, match=r"^activation must be .*; got a tuple holding an integer over 4300 digits$"):
        Config(activation=(10**5000,))


@pytest.mark.parametrize("name, sign", [("seed", 1), ("epochs", -1), ("n_critic", -1), ("batch_size", 1)])
def test_integer_over_4300_digits_raises_config_error(name, sign):
    shown = ("a negative" if sign < 0 else "an") + " integer of 16610 bits"
    with pytest.raises(ConfigError, match=rf"^{name} must be .*; got {shown}$"):
        Config(**{name: sign * 10**5000})


assignments = st.one_of(
    st.text(max_size=40),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(FIELDS + ["nosuch", "", " lr "]),
              st.one_of(st.text(max_size=30), st.integers().map(str), st.floats().map(repr),
                        st.sampled_from(["none", "inf", "-inf", "nan", "1,2,3", "1,,x", "1e999", "9" * 5000,
                                         "0x10", "1_000", " 7 ", "-0", "True"]))),
)


@PROPERTY
@given(assignments)
@example("seed=" + "9" * 5000)
@example("snapshot_epochs=" + ",".join(["1"] * 50))
@example("==")
def test_parse_assignment_returns_or_raises_config_error(text):
    try:
        key, value = parse_assignment(text)
    except ConfigError as err:
        if "=" in text and text.split("=", 1)[0].strip() in FIELDS:
            assert text.split("=", 1)[0].strip() in str(err)
        return
    assert key in FIELDS


@PROPERTY
@given(st.lists(assignments, max_size=3))
def test_apply_assignments_returns_a_valid_config_or_raises_config_error(texts):
    try:
        config = apply_assignments(Config(), texts)
    except ConfigError:
        return
    assert isinstance(config, Config)


@PROPERTY
@given(st.text(min_size=1, max_size=30))
def test_run_name_is_one_safe_folder_name_or_config_error(case):
    try:
        config = Config(case=case)
    except ConfigError:
        return
    try:
        name = run_name(config)
    except ConfigError as err:
        assert "case" in str(err)
        return
    assert Path(name).name == name and not name.startswith(".") and "/" not in name and "\0" not in name


# ---------------------------------------------------------------- stored runs


@pytest.fixture(scope="module")
def stored_template(tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = Config(case="prop").replace(samples_per_center=32, batch_size=32, epochs=2, g_width=8, d_width=8,
                                             g_depth=1, d_depth=1, n_eval_samples=100, plot_resolution=11)
        trainer = StackTrainer([config])
        trainer.train()
    finally:
        torch.set_num_threads(n)
    return save_run(trainer.logs[0], tmp_path_factory.mktemp("prop"), provenance("cpu", 0.0, [run_name(trainer.logs[0].config)]))


def _paths(record, prefix=()):
    """Every key path into a JSON record (dict keys and list indexes)."""
    yield prefix
    if isinstance(record, dict):
        for k, v in record.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(record, list):
        for i, v in enumerate(record[:3]):
            yield from _paths(v, prefix + (i,))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-10**400, max_value=10**400),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _check_loaded(path):
    try:
        run = load_run(path, warn_stale=False)
    except RunFileError as err:
        assert str(path) in str(err)
        return None
    # What loads is usable by the book's code.
    for key in ("w1", "modes"):
        assert run.metric(key).shape == (len(run.metrics),)
    assert run.samples.shape == (len(run.metrics), run.config.n_eval_samples, 2)
    assert all(v.dtype == np.float64 for v in run.epoch_logs.values())
    return run


@PROPERTY
@given(data=st.data())
def test_any_edit_of_run_json_loads_or_raises_run_file_error(stored_template, data):
    record = json.loads((stored_template / RUN_JSON).read_text())
    paths = sorted(_paths(record), key=repr)
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(json_values, label="value")
    delete = data.draw(st.booleans(), label="delete") and path != ()
    if path == ():
        record = value
    else:
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        if delete:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / stored_template.name
        shutil.copytree(stored_template, folder)
        (folder / RUN_JSON).write_text(json.dumps(record))
        _check_loaded(folder)


@PROPERTY
@given(st.data())
def test_any_byte_damage_to_run_json_loads_or_raises_run_file_error(stored_template, data):
    raw = (stored_template / RUN_JSON).read_bytes()
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert"]), label="kind")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    if kind == "truncate":
        raw = raw[:at]
    elif kind == "flip":
        raw = raw[:at] + bytes([raw[at] ^ (1 << data.draw(st.integers(0, 7), label="bit"))]) + raw[at + 1:]
    else:
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8), label="bytes") + raw[at:]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / stored_template.name
        shutil.copytree(stored_template, folder)
        (folder / RUN_JSON).write_bytes(raw)
        _check_loaded(folder)


@PROPERTY
@given(st.data())
def test_any_byte_damage_to_snapshots_with_a_matching_checksum_raises_run_file_error(stored_template, data):
    """Damage the checksum cannot see (the archive was broken before the checksum was taken):
    the archive reader must still report it as a RunFileError, whatever part of it is hit."""
    raw = (stored_template / SNAPSHOTS_NPZ).read_bytes()
    kind = data.draw(st.sampled_from(["truncate", "flip"]), label="kind")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    if kind == "truncate":
        raw = raw[:at]
    else:
        raw = raw[:at] + bytes([raw[at] ^ (1 << data.draw(st.integers(0, 7), label="bit"))]) + raw[at + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / stored_template.name
        shutil.copytree(stored_template, folder)
        (folder / SNAPSHOTS_NPZ).write_bytes(raw)
        record = json.loads((folder / RUN_JSON).read_text())
        record["snapshots_sha256"] = hashlib.sha256(raw).hexdigest()
        (folder / RUN_JSON).write_text(json.dumps(record))
        run = _check_loaded(folder)
    if run is not None:  # a flip in a part numpy never reads (zip comments, timestamps) is harmless
        original = load_run(stored_template)
        assert np.array_equal(run.samples, original.samples) and np.array_equal(run.d_grid, original.d_grid)
