"""One run's configuration as plain data, validated in one place.

Every field of `Config` is checked by `validate`, which raises `ConfigError` naming the field,
the bad value and what is allowed. The command line's `--set key=value` goes through
`parse_assignment`, so the same messages reach a user of the CLI and a user of the library.
"""
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

ACTIVATIONS = ("elu", "relu")
NOISE_KINDS = ("uniform", "normal")


class ConfigError(ValueError):
    """A configuration value is outside what the trainer accepts."""


@dataclass(frozen=True)
class Config:
    """Everything that decides one training run. The defaults are the post's success case."""

    case: str = "custom"
    loss: str = "wgan"
    # Optimiser (Keras 2.1.2 Adam). D and G share these, as in every run of the post.
    lr: float = 1e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    epsilon: float = 1e-8
    decay: float = 1e-5
    n_critic: int = 1
    clip: float | None = 0.1  # None: no clipping
    # Schedule and data.
    epochs: int = 1000
    batch_size: int = 512
    samples_per_center: int = 4000
    noise: str = "uniform"
    noise_dim: int = 4
    # Networks: `depth` hidden layers of `width` units each (the post does not give its sizes;
    # see the book's introduction for how these were chosen).
    g_width: int = 64
    g_depth: int = 2
    d_width: int = 64
    d_depth: int = 2
    activation: str = "elu"
    # Loss-specific settings.
    coulomb_dim: float = 3.0
    coulomb_eps: float = 1.0
    gp_lambda: float = 10.0
    # What is recorded. Empty snapshot_epochs means 0, 100, 200, ... and the last epoch.
    snapshot_epochs: tuple[int, ...] = ()
    snapshot_every: int = 100
    n_eval_samples: int = 2500
    plot_extent: float = 6.0
    plot_resolution: int = 101
    seed: int = 0

    def __post_init__(self):
        validate(self)

    @property
    def n_samples(self):
        return 25 * self.samples_per_center

    @property
    def batches_per_epoch(self):
        return self.n_samples // self.batch_size

    @property
    def snapshots(self):
        """Epochs (0-based, counted after that epoch's training) at which G and D are recorded."""
        if self.snapshot_epochs:
            return tuple(sorted(set(self.snapshot_epochs)))
        return tuple(sorted(set(range(0, self.epochs, self.snapshot_every)) | {self.epochs - 1}))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config field {unknown[0]!r}; allowed: {', '.join(sorted(known))}")
        values = dict(values)
        if isinstance(values.get("snapshot_epochs"), list):
            values["snapshot_epochs"] = tuple(values["snapshot_epochs"])
        return cls(**values)

    def fingerprint(self):
        """sha256 of the canonical JSON of every field: equal fingerprints, equal runs."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value):
    """Finite as the float the trainer will use (math.isfinite of an int beyond ~1.8e308 raises)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _shown(value):
    """repr(value) for a message, kept short: repr of an int over 4300 digits raises ValueError."""
    if _is_int(value) and abs(value) >= 10**30:
        return f"{'a negative' if value < 0 else 'an'} integer of {abs(value).bit_length()} bits"
    try:
        text = repr(value)
    except ValueError:  # a container holding such an int
        return f"a {type(value).__name__} holding an integer over 4300 digits"
    return text if len(text) <= 80 else text[:77] + "..."


def _require(ok, name, value, allowed):
    if not ok:
        raise ConfigError(f"{name} must be {allowed}; got {_shown(value)}")


def _positive(name, value, finite=True):
    ok = _is_number(value) and value > 0 and (_finite(value) or not finite)
    _require(ok, name, value, "a finite number > 0")


def _int_at_least(name, value, low):
    # Counts and sizes become int64 in numpy and torch (and JSON cannot write ints over 4300 digits).
    _require(_is_int(value) and low <= value < 2**63, name, value, f"an integer in [{low}, 2**63)")


def validate(config):
    """Return `config` unchanged if every field is allowed, else raise ConfigError."""
    c = config
    _require(isinstance(c.case, str) and c.case != "", "case", c.case, "a non-empty name")
    from .losses import LOSSES  # here, not at the top: the registry imports torch

    _require(isinstance(c.loss, str) and c.loss in LOSSES, "loss", c.loss, f"one of {', '.join(LOSSES)}")
    _positive("lr", c.lr)
    for name in ("beta_1", "beta_2"):
        value = getattr(c, name)
        _require(_is_number(value) and 0 <= value < 1, name, value, "a number in [0, 1)")
    _positive("epsilon", c.epsilon)
    _require(_is_number(c.decay) and _finite(c.decay) and c.decay >= 0, "decay", c.decay,
             "a finite number >= 0")
    _int_at_least("n_critic", c.n_critic, 1)
    if c.clip is not None:
        _require(_is_number(c.clip) and c.clip > 0 and _finite(c.clip), "clip", c.clip,
                 "a finite number > 0, or None for no clipping")
    _int_at_least("epochs", c.epochs, 1)
    _int_at_least("samples_per_center", c.samples_per_center, 1)
    _int_at_least("batch_size", c.batch_size, 1)
    _require(c.batch_size <= c.n_samples, "batch_size", c.batch_size,
             f"at most the number of data points, 25 * samples_per_center = {c.n_samples}")
    _require(c.noise in NOISE_KINDS, "noise", c.noise, f"one of {', '.join(NOISE_KINDS)}")
    _int_at_least("noise_dim", c.noise_dim, 1)
    for name in ("g_width", "d_width"):
        _int_at_least(name, getattr(c, name), 1)
    for name in ("g_depth", "d_depth"):
        _int_at_least(name, getattr(c, name), 0)
    _require(c.activation in ACTIVATIONS, "activation", c.activation, f"one of {', '.join(ACTIVATIONS)}")
    _require(_is_number(c.coulomb_dim) and c.coulomb_dim > 2 and _finite(c.coulomb_dim),
             "coulomb_dim", c.coulomb_dim, "a finite number > 2")
    _positive("coulomb_eps", c.coulomb_eps)
    _require(_is_number(c.gp_lambda) and _finite(c.gp_lambda) and c.gp_lambda >= 0, "gp_lambda",
             c.gp_lambda, "a finite number >= 0")
    _require(isinstance(c.snapshot_epochs, tuple)
             and all(_is_int(e) and 0 <= e < c.epochs for e in c.snapshot_epochs if _is_int(c.epochs)),
             "snapshot_epochs", c.snapshot_epochs, f"a tuple of epochs in [0, epochs) = [0, {c.epochs})")
    _int_at_least("snapshot_every", c.snapshot_every, 1)
    _int_at_least("n_eval_samples", c.n_eval_samples, 1)
    _positive("plot_extent", c.plot_extent)
    _int_at_least("plot_resolution", c.plot_resolution, 2)
    _require(_is_int(c.seed) and 0 <= c.seed < 2**63, "seed", c.seed, "an integer in [0, 2**63)")
    return c


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_OPTIONAL_FLOATS = {"clip"}
_NONE_WORDS = {"none", "null", "off", "inf"}


def parse_value(key, text):
    """Turn the text of `--set key=value` into the field's type, or raise ConfigError."""
    if key not in _FIELDS:
        raise ConfigError(f"unknown config field {key!r}; allowed: {', '.join(sorted(_FIELDS))}")
    kind = type(getattr(Config(), key))
    text = text.strip()
    try:
        if key in _OPTIONAL_FLOATS:
            return None if text.lower() in _NONE_WORDS else float(text)
        if kind is tuple:
            return tuple(int(part) for part in text.split(",") if part.strip())
        if kind is bool:
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        return text
    except ValueError:
        # (int() also refuses over 4300 digits: far beyond the 2**63 that every count allows)
        allowed = {int: "an integer below 2**63", float: "a number",
                   tuple: "comma-separated integers below 2**63"}.get(kind, "text")
        if key in _OPTIONAL_FLOATS:
            allowed = "a number or 'none'"
        raise ConfigError(f"{key} must be {allowed}; got {_shown(text)}") from None


def parse_assignment(text):
    """Split `key=value` into (key, typed value), or raise ConfigError."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"--set expects key=value; got {_shown(text)}")
    key, value = text.split("=", 1)
    return key.strip(), parse_value(key.strip(), value)


def apply_assignments(config, assignments):
    """Return `config` with every `key=value` text applied and the result validated."""
    changes = dict(parse_assignment(a) for a in assignments)
    return config.replace(**changes)
