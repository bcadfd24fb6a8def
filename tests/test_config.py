"""Tests of wgan_lib.config and wgan_lib.cases: validation of every field, `--set` parsing,
round trips and fingerprints, and the cases of the post (book chapter "Sources")."""
import dataclasses
import json
import math

import pytest

from wgan_lib import CASES, Config, ConfigError, StackTrainer, get_case
from wgan_lib.config import apply_assignments, parse_assignment, validate

NAN, INF = float("nan"), float("inf")

# (field, bad value, extra valid changes that make the value bad or the check reachable)
BAD_VALUES = [
    ("case", "", {}), ("case", 5, {}),
    ("loss", "foo", {}), ("loss", "WGAN", {}),
    ("lr", 0.0, {}), ("lr", -1e-3, {}), ("lr", NAN, {}), ("lr", INF, {}), ("lr", "1e-3", {}), ("lr", True, {}),
    ("beta_1", 1.0, {}), ("beta_1", -0.1, {}), ("beta_1", NAN, {}),
    ("beta_2", 1.0, {}), ("beta_2", 1.5, {}),
    ("epsilon", 0.0, {}), ("epsilon", -1e-8, {}), ("epsilon", INF, {}),
    ("decay", -1e-5, {}), ("decay", NAN, {}), ("decay", INF, {}),
    ("n_critic", 0, {}), ("n_critic", 1.5, {}), ("n_critic", True, {}),
    ("clip", 0.0, {}), ("clip", -0.1, {}), ("clip", NAN, {}), ("clip", INF, {}), ("clip", True, {}),
    ("epochs", 0, {}), ("epochs", 2.0, {}), ("epochs", True, {}),
    ("batch_size", 0, {}), ("batch_size", 100001, {}),  # default: 25 * 4000 = 100000 points
    ("batch_size", 51, {"samples_per_center": 2, "batch_size": 50}),  # 25 * 2 = 50 points
    ("samples_per_center", 0, {}), ("samples_per_center", -4, {}),
    ("noise", "gaussian", {}),
    ("noise_dim", 0, {}),
    ("g_width", 0, {}), ("d_width", 0, {}), ("g_depth", -1, {}), ("d_depth", -1, {}), ("d_width", False, {}),
    ("activation", "tanh", {}),
    ("coulomb_dim", 2.0, {}), ("coulomb_dim", NAN, {}),
    ("coulomb_eps", 0.0, {}),
    ("gp_lambda", -1.0, {}), ("gp_lambda", NAN, {}),
    ("snapshot_epochs", (1000,), {}), ("snapshot_epochs", (-1,), {}), ("snapshot_epochs", (0, 10), {"epochs": 10}),
    ("snapshot_epochs", [0, 5], {}), ("snapshot_epochs", (0.5,), {}),
    ("snapshot_every", 0, {}),
    ("n_eval_samples", 0, {}),
    ("plot_extent", 0.0, {}), ("plot_extent", INF, {}),
    ("plot_resolution", 1, {}),
    ("seed", -3, {}), ("seed", 2**63, {}), ("seed", 1.5, {}), ("seed", True, {}),
]


def _id(item):
    name, value, extra = item
    return f"{name}={value!r}" + (f"+{extra}" if extra else "")


@pytest.mark.parametrize("item", BAD_VALUES, ids=[_id(i) for i in BAD_VALUES])
def test_bad_value_raises_config_error_naming_field_and_value(item):
    name, value, extra = item
    base = Config().replace(**extra)
    with pytest.raises(ConfigError) as info:
        base.replace(**{name: value})
    message = str(info.value)
    assert name in message
    assert repr(value) in message, message
    assert "\n" not in message  # one line, as the CLI prints it


def test_every_field_has_a_bad_value_above():
    assert {f.name for f in dataclasses.fields(Config)} == {name for name, _, _ in BAD_VALUES}


def test_defaults_are_the_success_case_and_valid():
    c = validate(Config())
    assert (c.loss, c.lr, c.decay, c.n_critic, c.clip, c.beta_1, c.batch_size, c.samples_per_center,
            c.noise, c.noise_dim, c.activation) == ("wgan", 1e-4, 1e-5, 1, 0.1, 0.5, 512, 4000, "uniform", 4, "elu")
    assert c.n_samples == 100000 and c.batches_per_epoch == 195  # int(100000 / 512)
    assert c.snapshots[:3] == (0, 100, 200) and c.snapshots[-1] == 999


@pytest.mark.parametrize("name, value", [("lr", -1.0), ("batch_size", 0), ("loss", "foo")])
def test_direct_construction_is_validated(name, value):
    """`Config(...)` is the public constructor; the module says every field is checked by `validate`.
    An invalid Config built directly must not slip through to the trainer."""
    with pytest.raises(ConfigError, match=name):
        Config(**{name: value})


def test_stack_trainer_rejects_an_invalid_config():
    """A NaN lr never reaches the trainer: the Config itself refuses it."""
    with pytest.raises(ConfigError, match="lr"):
        StackTrainer([Config(lr=NAN, samples_per_center=8, batch_size=8, epochs=1, g_width=4, d_width=4,
                             n_eval_samples=10, plot_resolution=3)])


def test_unknown_case():
    with pytest.raises(ConfigError, match="nosuchcase"):
        get_case("nosuchcase")


# ----------------------------------------------------------------------------- --set parsing


@pytest.mark.parametrize("text, key, value", [
    ("clip=none", "clip", None), ("clip=None", "clip", None), ("clip=off", "clip", None), ("clip=0.01", "clip", 0.01),
    ("lr=1e-3", "lr", 1e-3), (" lr = 2e-4 ", "lr", 2e-4),
    ("snapshot_epochs=0,5", "snapshot_epochs", (0, 5)), ("snapshot_epochs=7", "snapshot_epochs", (7,)),
    ("n_critic=3", "n_critic", 3), ("loss=coulomb", "loss", "coulomb"), ("seed=12", "seed", 12),
    ("decay=0", "decay", 0.0),
])
def test_parse_assignment_valid(text, key, value):
    got_key, got_value = parse_assignment(text)
    assert got_key == key
    assert got_value == value and type(got_value) is type(value)


@pytest.mark.parametrize("text, names", [
    ("lr", ["lr"]), ("nonsense", ["nonsense"]), ("nonsense=1", ["nonsense"]), ("lr=abc", ["lr", "abc"]),
    ("n_critic=1.5", ["n_critic", "1.5"]), ("epochs=1e3", ["epochs", "1e3"]), ("seed=", ["seed"]),
    ("clip=abc", ["clip", "abc"]), ("snapshot_epochs=a,b", ["snapshot_epochs", "a,b"]),
])
def test_parse_assignment_invalid_names_key(text, names):
    with pytest.raises(ConfigError) as info:
        parse_assignment(text)
    for name in names:
        assert name in str(info.value)


def test_apply_assignments():
    c = apply_assignments(Config(), ["clip=none", "lr=1e-3", "snapshot_epochs=0,5", "epochs=10", "loss=standard"])
    assert (c.clip, c.lr, c.snapshot_epochs, c.epochs, c.loss) == (None, 1e-3, (0, 5), 10, "standard")
    assert c.snapshots == (0, 5)
    # Parsed values are validated: each bad one names its key.
    for text, key in [("lr=-1", "lr"), ("n_critic=0", "n_critic"), ("clip=0", "clip"), ("lr=nan", "lr"),
                      ("batch_size=100001", "batch_size"), ("snapshot_epochs=0,1000", "snapshot_epochs")]:
        with pytest.raises(ConfigError, match=key):
            apply_assignments(Config(), [text])


# ----------------------------------------------------------------------------- round trips, fingerprints


def test_from_dict_round_trip_through_json():
    c = Config().replace(case="x", loss="coulomb", clip=None, lr=3e-4, snapshot_epochs=(0, 5), epochs=10,
                         noise="normal", seed=7)
    back = Config.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.fingerprint() == c.fingerprint()
    with pytest.raises(ConfigError, match="bogus"):
        Config.from_dict({**c.to_dict(), "bogus": 1})
    with pytest.raises(ConfigError, match="n_critic"):
        Config.from_dict({**c.to_dict(), "n_critic": 0})


OTHER_VALUES = dict(case="other", loss="standard", lr=2e-4, beta_1=0.6, beta_2=0.99, epsilon=1e-7, decay=1e-4,
                    n_critic=2, clip=None, epochs=999, batch_size=256, samples_per_center=3000, noise="normal",
                    noise_dim=3, g_width=32, g_depth=3, d_width=32, d_depth=3, activation="relu",
                    coulomb_dim=4.0, coulomb_eps=0.5, gp_lambda=1.0, snapshot_epochs=(0, 3), snapshot_every=50,
                    n_eval_samples=1000, plot_extent=5.0, plot_resolution=51, seed=1)


def test_fingerprint_changes_with_every_field():
    base = Config()
    assert set(OTHER_VALUES) == {f.name for f in dataclasses.fields(Config)}
    assert Config().fingerprint() == base.fingerprint()
    seen = {base.fingerprint()}
    for name, value in OTHER_VALUES.items():
        changed = base.replace(**{name: value})
        assert getattr(changed, name) != getattr(base, name)
        assert changed.fingerprint() != base.fingerprint(), name
        seen.add(changed.fingerprint())
    assert len(seen) == len(OTHER_VALUES) + 1


# ----------------------------------------------------------------------------- the cases

# The post's table (book chapter "Sources"): (decay, lr, n_critic, clip) per case; all WGAN, batch 512, beta_1 0.5.
POST_TABLE = {
    "failure-1": (1e-4, 1e-4, 1, 0.1), "failure-2": (1e-4, 1e-4, 1, 0.01), "failure-3": (1e-4, 1e-2, 1, 0.01),
    "failure-4": (1e-4, 1e-2, 1, 0.1), "failure-5": (1e-4, 1e-3, 1, 0.1), "failure-6": (1e-4, 1e-3, 5, 0.1),
    "success": (1e-5, 1e-4, 1, 0.1), "no-clip-1": (1e-5, 1e-4, 1, None), "no-clip-2": (1e-5, 1e-4, 1, None),
}


def test_cases_match_the_post():
    assert set(CASES) == set(POST_TABLE) | {"standard-gan", "coulomb-gan", "wgan-gp", "lsgan"}
    for name, (decay, lr, n_critic, clip) in POST_TABLE.items():
        c = get_case(name).config()
        assert (c.loss, c.decay, c.lr, c.n_critic, c.clip) == ("wgan", decay, lr, n_critic, clip), name
        assert (c.batch_size, c.beta_1, c.samples_per_center, c.epochs, c.case) == (512, 0.5, 4000, 1000, name)
    assert get_case("no-clip-1").config().seed != get_case("no-clip-2").config().seed
    for name, loss in (("standard-gan", "standard"), ("coulomb-gan", "coulomb")):
        c = get_case(name).config()
        assert (c.loss, c.lr, c.decay, c.clip) == (loss, 1e-4, 1e-5, None)
    assert (get_case("coulomb-gan").config().coulomb_dim, get_case("coulomb-gan").config().coulomb_eps) == (3.0, 1.0)
    # Case configs accept overrides and stay validated.
    assert get_case("success").config(epochs=3).epochs == 3
    with pytest.raises(ConfigError, match="epochs"):
        get_case("success").config(epochs=0)
    assert not math.isnan(get_case("success").config().lr)
