"""Named run sets: every group of stored runs the book reads, with its configs, its stacks and its folder.

A run set is plain data: a name, the configs of its runs (their schedules are in the configs),
what each run records (`metrics` only, `snapshots` of G and D, or snapshots plus D's `weights`),
the folder under `results/` that holds it, and its stacks. A stack is a group of runs trained
together as one batched program (`train.StackTrainer`); a batched product may round differently
with the batch around it, so a run is reproducible bit for bit given its stack, and the stacks
are part of the set's definition, never of how many processes train it. A new study is one
entry of `RUN_SETS`; `python -m wgan_lib reproduce NAME` trains or checks it, and `load(NAME)`
reads it back for a chapter.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from .cases import CASES, SUCCESS_SETTINGS, clip_label, get_case
from .config import Config, ConfigError
from .store import run_name
from .train import check_stackable

RECORDS = ("metrics", "snapshots", "weights")
RESULTS_ENV = "WGAN_RESULTS"
EPOCHS_ENV = "WGAN_BOOK_EPOCHS"
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunSet:
    """`stacks`: an int n splits the configs by position into n stacks (run k in stack k mod n);
    else a tuple of stacks, each a tuple of run names, and every run named in none of them is a
    stack of its own (so adding a run never changes another's stack)."""

    name: str
    description: str
    configs: tuple
    record: str = "snapshots"
    stacks: object = 1
    folder: str = ""

    def __post_init__(self):
        if self.record not in RECORDS:
            raise ConfigError(f"run set {self.name}: record must be one of {', '.join(RECORDS)}; got {self.record!r}")
        names = [run_name(c) for c in self.configs]
        if len(set(names)) != len(names):
            raise ConfigError(f"run set {self.name}: two configs name the same run")
        if not isinstance(self.stacks, int):
            unknown = [n for stack in self.stacks for n in stack if n not in names]
            if unknown:
                raise ConfigError(f"run set {self.name}: stacks name runs it does not have: {unknown[:3]}")
        for stack in self.stack_indices():
            check_stackable([self.configs[i] for i in stack])

    @property
    def path_name(self):
        return self.folder or self.name

    def path(self, results=None):
        return results_dir(results) / self.path_name

    def stack_indices(self):
        """The stacks as lists of positions in `configs`."""
        if isinstance(self.stacks, int):
            return [list(range(k, len(self.configs), self.stacks)) for k in range(min(self.stacks, len(self.configs)))]
        position = {run_name(c): i for i, c in enumerate(self.configs)}
        stacks = [[position[n] for n in stack] for stack in self.stacks]
        named = {i for stack in stacks for i in stack}
        return stacks + [[i] for i in range(len(self.configs)) if i not in named]

    def with_epochs(self, epochs):
        """The same set with every run's schedule cut to `epochs` (tests and quick looks), in a folder
        of its own (`<folder>-<epochs>ep`), so that it never replaces the full runs."""
        if epochs is None:
            return self
        configs = tuple(c.replace(epochs=epochs, snapshot_epochs=tuple(e for e in c.snapshot_epochs if e < epochs))
                        for c in self.configs)
        stacks = self.stacks if isinstance(self.stacks, int) else tuple(
            tuple(run_name(configs[i]) for i in stack) for stack in self.stack_indices())
        return RunSet(self.name, self.description, configs, self.record, stacks, f"{self.path_name}-{epochs}ep")


def results_dir(results=None):
    """The results folder: `results`, else $WGAN_RESULTS, else `results/` at the repository root."""
    return Path(results or os.environ.get(RESULTS_ENV) or REPO_ROOT / "results")


# ------------------------------------------------------------------------------------ the sets
def _cases():
    """The post's runs and the comparison losses at the post's full schedule, seed 0 (no-clip-1: 1)."""
    return tuple(case.config() for case in CASES.values())


# The studies of clip values and of seeds without clipping, at 200 epochs.
STUDY_EPOCHS = 200
CLIP_SWEEP_VALUES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, None)
NO_CLIP_SEARCH_SEEDS = tuple(range(8))


def _studies():
    clips = [Config(case=f"clip-{clip_label(clip)}").replace(**{**SUCCESS_SETTINGS, "clip": clip, "epochs": STUDY_EPOCHS})
             for clip in CLIP_SWEEP_VALUES]
    seeds = [Config(case="no-clip-search").replace(**{**SUCCESS_SETTINGS, "clip": None, "seed": seed,
                                                      "epochs": STUDY_EPOCHS}) for seed in NO_CLIP_SEARCH_SEEDS]
    return tuple(clips + seeds)


# Ten seeds of every setting, and the clip x learning-rate map, at 100 epochs, metrics only.
SWEEP_EPOCHS = 100
SWEEP_SCHEDULE = dict(epochs=SWEEP_EPOCHS, snapshot_every=50)  # snapshots at epochs 0, 50 and 99
SEED_SETTINGS = ("failure-1", "failure-2", "failure-3", "failure-4", "failure-5", "failure-6", "success",
                 "no-clip-1", "standard-gan", "coulomb-gan", "wgan-gp")
SEEDS = tuple(range(10))
MAP_CLIPS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, None)
MAP_LRS = (1e-4, 1e-3, 1e-2)
MAP_SEEDS = (0, 1, 2)


def setting_name(case_name):
    """The setting a case stands for: the post's two runs without clipping are one setting."""
    return "no-clip" if case_name.startswith("no-clip") else case_name


def setting_of(run):
    """The setting of a run of the seeds sets ('success', 'no-clip', ...)."""
    return setting_name(run.config.case.removeprefix("seeds-"))


def _seeds():
    return tuple(CASES[name].config(case=f"seeds-{setting_name(name)}", seed=seed, **SWEEP_SCHEDULE)
                 for name in SEED_SETTINGS for seed in SEEDS)


def _clip_lr():
    return tuple(CASES["success"].config(case=f"map-clip{clip_label(clip)}-lr{lr:g}", clip=clip, lr=lr, seed=seed,
                                         **SWEEP_SCHEDULE)
                 for clip in MAP_CLIPS for lr in MAP_LRS for seed in MAP_SEEDS)


# The post's settings at its full schedule with more seeds: seeds 1-4 of every case (2-4 of the
# runs without clipping, whose seeds 0 and 1 are the cases no-clip-2 and no-clip-1); with the
# cases' own runs they make five seeds of each setting.
FULL_SEEDS = (1, 2, 3, 4)
POST_SETTINGS = ("failure-1", "failure-2", "failure-3", "failure-4", "failure-5", "failure-6", "success")


def _full_seeds():
    configs = [get_case(name).config(seed=seed) for name in POST_SETTINGS for seed in FULL_SEEDS]
    configs += [get_case("no-clip-1").config(case="no-clip", seed=seed) for seed in (2, 3, 4)]
    return tuple(configs)


CRITIC_CASES = ("success", "failure-2", "wgan-gp")


def _critic():
    return tuple(CASES[name].config(epochs=200, snapshot_every=20) for name in CRITIC_CASES)


def _sanity():
    """Settings the field uses for this benchmark, away from the post: can the trainer fit the grid?"""
    big = dict(g_width=128, d_width=128, g_depth=3, d_depth=3, clip=None, decay=0.0, snapshot_every=10)
    settings = {
        "std-relu-3x128-lr1e-3": dict(big, loss="standard", activation="relu", lr=1e-3),
        "std-elu-3x128-lr1e-3": dict(big, loss="standard", activation="elu", lr=1e-3),
        "std-relu-2x64-lr1e-3": dict(big, loss="standard", activation="relu", lr=1e-3, g_width=64, d_width=64,
                                     g_depth=2, d_depth=2),
        "gp-relu-3x128-lr1e-4": dict(big, loss="wgan-gp", activation="relu", lr=1e-4, beta_2=0.9, n_critic=5),
        # The post's own settings with only the networks changed: ReLU 3 x 128 instead of ELU 2 x 64.
        "success-relu-3x128": dict(g_width=128, d_width=128, g_depth=3, d_depth=3, activation="relu",
                                   snapshot_every=10),
        "std-relu-3x128-lr1e-4": dict(big, loss="standard", activation="relu", lr=1e-4),
    }
    return tuple(CASES["success"].config(case=f"sanity-{name}", epochs=60, **s) for name, s in settings.items())


_SIZE_VARIANTS = {"standard-gan": dict(loss="standard", clip=None), "wgan-gp": dict(loss="wgan-gp", clip=None),
                  "coulomb-gan": dict(loss="coulomb", clip=None), "success": dict()}


def _size_config(width, depth, variant, epochs=100, seed=0, lr=None, decay=None):
    """A network-size run: the success case's settings with both networks `depth` x `width` and the
    variant's loss; named size-w{W}-d{D}-{variant}[-lr{lr}][-nodecay][-{epochs}ep]-seed{S}."""
    name = f"size-w{width}-d{depth}-{variant}" + (f"-lr{lr:g}" if lr is not None else "")
    name += ("-nodecay" if decay == 0 else "") + ("" if epochs == 100 else f"-{epochs}ep")
    optimiser = {**({} if lr is None else {"lr": lr}), **({} if decay is None else {"decay": decay})}
    return CASES["success"].config(case=name, seed=seed, epochs=epochs, snapshot_every=10 if epochs <= 200 else 100,
                                   g_width=width, d_width=width, g_depth=depth, d_depth=depth,
                                   **_SIZE_VARIANTS[variant], **optimiser)


def _network_size():
    sizes = ((32, 2), (64, 2), (128, 2), (128, 3))
    configs = [_size_config(w, d, v) for w, d in sizes for v in ("standard-gan", "wgan-gp")]
    configs += [_size_config(128, 3, v, epochs=1000, seed=s) for v in ("standard-gan", "success") for s in (0, 1, 2)]
    configs += [_size_config(w, d, v, lr=lr, decay=0.0) for w, d in ((32, 2), (64, 2), (128, 3))
                for v in ("standard-gan", "coulomb-gan") for lr in (3e-4, 1e-3)]
    return tuple(configs)


# Does the critic's size decide the shape of its map? The success case (and its unclipped twin)
# with a larger D and the post's 2 x 64 G, at the post's full schedule.
CRITIC_SIZES = ((128, 2), (128, 3))
CRITIC_SIZE_SEEDS = (0, 1, 2)


def _critic_size():
    configs = [CASES["success"].config(case=f"critic-{w}x{d}", seed=s, d_width=w, d_depth=d)
               for w, d in CRITIC_SIZES for s in CRITIC_SIZE_SEEDS]
    configs += [CASES["success"].config(case=f"critic-{w}x{d}-noclip", seed=s, d_width=w, d_depth=d, clip=None)
                for w, d in CRITIC_SIZES[1:] for s in CRITIC_SIZE_SEEDS[:2]]
    return tuple(configs)


def _critic_size_stacks():
    """One stack per critic size and clipping, so that the costly 3 x 128 runs share two workers."""
    stacks = {}
    for c in _critic_size():
        stacks.setdefault(((c.d_width, c.d_depth), c.clip), []).append(run_name(c))
    return tuple(map(tuple, stacks.values()))


# What it takes to learn the grid: from the post's success setting, one change at a time (each
# rung changes one thing and keeps the rest), five seeds a rung, 200 epochs with a snapshot every 20.
LADDER_EPOCHS = 200
LADDER_SEEDS = (0, 1, 2, 3, 4)
LADDER_RUNGS = {  # rung: (what it changes, in words; the change to the success setting)
    "post": ("the post's success setting", {}),
    "relu": ("ReLU instead of ELU", dict(activation="relu")),
    "3x128": ("networks of 3 x 128 instead of 2 x 64", dict(g_width=128, d_width=128, g_depth=3, d_depth=3)),
    "lr1e-3": ("a learning rate of 1e-3 instead of 1e-4", dict(lr=1e-3)),
    "no-decay": ("no learning-rate decay", dict(decay=0.0)),
    "beta2-0.9": ("Adam's beta_2 = 0.9 instead of 0.999", dict(beta_2=0.9)),
    "ncritic5": ("five critic updates per generator update", dict(n_critic=5)),
    "noise-normal-2d": ("2-D normal noise instead of 4-D uniform", dict(noise="normal", noise_dim=2)),
    "no-clip": ("no clipping", dict(clip=None)),
    "gradient-penalty": ("a gradient penalty instead of clipping", dict(loss="wgan-gp", clip=None)),
}


def _ladder():
    return tuple(CASES["success"].config(case=f"ladder-{rung}", seed=seed, epochs=LADDER_EPOCHS, snapshot_every=20,
                                         **changes)
                 for rung, (_, changes) in LADDER_RUNGS.items() for seed in LADDER_SEEDS)


# Each discriminator at its best (docs/grid-best.md, fixed before any of these runs): the field's
# base, three candidates per discriminator, two seeds, 100 epochs; the candidate with the highest
# (modes / 25) x high-quality share is then trained with ten seeds.
BEST_BASE = dict(activation="relu", g_width=128, d_width=128, g_depth=3, d_depth=3, noise="normal", noise_dim=2,
                 decay=0.0, clip=None)
BEST_CANDIDATES = {  # discriminator: {candidate: its changes to the base}
    "standard": {"standard-lr1e-3": dict(loss="standard", lr=1e-3),
                 "standard-lr3e-4": dict(loss="standard", lr=3e-4),
                 "standard-lr1e-4": dict(loss="standard", lr=1e-4)},
    "wgan-gp": {"gp-lr1e-4-lambda10": dict(loss="wgan-gp", n_critic=5, beta_2=0.9, lr=1e-4, gp_lambda=10.0),
                "gp-lr1e-4-lambda0.1": dict(loss="wgan-gp", n_critic=5, beta_2=0.9, lr=1e-4, gp_lambda=0.1),
                "gp-lr1e-3-lambda0.1": dict(loss="wgan-gp", n_critic=5, beta_2=0.9, lr=1e-3, gp_lambda=0.1)},
    "wgan": {"clip0.01-lr1e-4": dict(loss="wgan", n_critic=5, clip=0.01, lr=1e-4),
             "clip0.1-lr1e-4": dict(loss="wgan", n_critic=5, clip=0.1, lr=1e-4),
             "clip0.03-lr1e-3": dict(loss="wgan", n_critic=5, clip=0.03, lr=1e-3)},
    "coulomb": {"coulomb-lr1e-3": dict(loss="coulomb", lr=1e-3),
                "coulomb-lr3e-4": dict(loss="coulomb", lr=3e-4),
                "coulomb-lr1e-4": dict(loss="coulomb", lr=1e-4)},
}
BEST_SCREEN_EPOCHS, BEST_SCREEN_SEEDS = 100, (0, 1)
BEST_BUDGET_S = 30 * 60  # one seed's share of one CPU core


def best_config(candidate, seed, epochs=BEST_SCREEN_EPOCHS, snapshot_every=20):
    """The config of a candidate of the best-of search: the success case, the base, its changes."""
    changes = next(c[candidate] for c in BEST_CANDIDATES.values() if candidate in c)
    return CASES["success"].config(case=f"best-{candidate}", seed=seed, epochs=epochs, snapshot_every=snapshot_every,
                                   **{**BEST_BASE, **changes})


def _best_screen():
    return tuple(best_config(candidate, seed) for candidates in BEST_CANDIDATES.values() for candidate in candidates
                 for seed in BEST_SCREEN_SEEDS)


def _best_screen_stacks():
    """One stack per discriminator (its three candidates, both seeds)."""
    return tuple(tuple(run_name(best_config(candidate, seed)) for candidate in candidates for seed in BEST_SCREEN_SEEDS)
                 for candidates in BEST_CANDIDATES.values())


BEST_SEEDS = tuple(range(10))
# Five seeds a stack: near the screen's stacks of six, whose time per run and epoch set the final
# schedules, and the costliest stack (five runs of 30 core-minutes) trains within one sitting.
BEST_STACK_SEEDS = 5
BEST_SNAPSHOT_EVERY = 50  # so that epoch 100 is a snapshot: the report gives it beside the last


def best_final_configs(final):
    """The final runs of the best-of search: for {discriminator: (kept candidate, epochs)}, ten seeds of
    each at its schedule; two stacks per discriminator (`best_final_stacks`)."""
    return tuple(best_config(candidate, seed, epochs=epochs, snapshot_every=BEST_SNAPSHOT_EVERY)
                 for candidate, epochs in final.values() for seed in BEST_SEEDS)


def best_final_stacks(final):
    """Per discriminator, its seeds in stacks of BEST_STACK_SEEDS (seeds 0-4, then 5-9)."""
    return tuple(tuple(run_name(best_config(candidate, seed, epochs=epochs, snapshot_every=BEST_SNAPSHOT_EVERY))
                       for seed in BEST_SEEDS[k:k + BEST_STACK_SEEDS])
                 for candidate, epochs in final.values() for k in range(0, len(BEST_SEEDS), BEST_STACK_SEEDS))


# What the stored screen chose by the rules above (grid.best_choice, grid.best_epochs; a test
# checks that the stored screen still gives it): {discriminator: (kept candidate, final epochs)}.
BEST_FINAL = {"wgan-gp": ("gp-lr1e-3-lambda0.1", 150), "wgan": ("clip0.01-lr1e-4", 250),
              "standard": ("standard-lr1e-3", 1200), "coulomb": ("coulomb-lr1e-4", 800)}


# The ladder down (docs/grid-best.md): from a setting that learns the grid, put back one of the
# post's choices at a time. A rung exists where the top differs from the post in its fields.
LADDER_DOWN_EPOCHS, LADDER_DOWN_SEEDS = BEST_SCREEN_EPOCHS, (0, 1, 2, 3, 4)
POST_CHOICES = {  # rung: (what it puts back, in words; the fields it takes from the post's success setting)
    "elu": ("ELU instead of ReLU", ("activation",)),
    "2x64": ("networks of 2 x 64 instead of 3 x 128", ("g_width", "g_depth", "d_width", "d_depth")),
    "uniform-4d": ("4-D uniform noise instead of 2-D normal", ("noise", "noise_dim")),
    "decay": ("the learning-rate decay of 1e-5", ("decay",)),
    "ncritic1": ("one critic update per generator update", ("n_critic",)),
    "beta2-0.999": ("Adam's beta_2 = 0.999", ("beta_2",)),
    "lr1e-4": ("the post's learning rate 1e-4", ("lr",)),
    "clip0.1": ("clipping at the post's 0.1", ("loss", "clip")),  # for a WGAN-GP top: instead of the penalty
}


def ladder_down_rungs(top):
    """{rung: changes to the `top` candidate's config} for the rungs of the ladder down: the top, then
    each of the post's choices where the top differs from it."""
    post, config = CASES["success"].config(), best_config(top, 0)
    rungs = {"top": {}}
    for rung, (_, fields) in POST_CHOICES.items():
        if any(getattr(config, f) != getattr(post, f) for f in fields):
            rungs[rung] = {f: getattr(post, f) for f in fields}
    return rungs


def ladder_down_configs(top):
    return tuple(best_config(top, seed, epochs=LADDER_DOWN_EPOCHS).replace(case=f"down-{rung}", **changes)
                 for rung, changes in ladder_down_rungs(top).items() for seed in LADDER_DOWN_SEEDS)


def ladder_down_stacks(top):
    """One stack per rung (its five seeds), as the ladder up has."""
    return tuple(tuple(f"down-{rung}-seed{s}" for s in LADDER_DOWN_SEEDS) for rung in ladder_down_rungs(top))


LADDER_DOWN_TOP = "gp-lr1e-3-lambda0.1"  # grid.ladder_down_top of the stored screen (a test checks it)


def _names(*parts):
    return tuple(parts)


RUN_SETS = {s.name: s for s in [
    RunSet("cases", "every run of the post and the comparison losses, 1000 epochs", _cases(),
           stacks=(("failure-1-seed0", "failure-2-seed0", "failure-3-seed0", "failure-5-seed0", "no-clip-1-seed1",
                    "standard-gan-seed0", "coulomb-gan-seed0"),
                   ("failure-4-seed0", "failure-6-seed0", "success-seed0", "no-clip-2-seed0"))),
    RunSet("full-seeds", "seeds 1-4 of every setting of the post, 1000 epochs", _full_seeds(), stacks=2),
    RunSet("studies", "the clip sweep and the seed search without clipping, 200 epochs", _studies(),
           stacks=(("clip-0.001-seed0", "clip-0.003-seed0", "clip-0.03-seed0", "clip-0.3-seed0", "clip-none-seed0",
                    "no-clip-search-seed1", "no-clip-search-seed3", "no-clip-search-seed5", "no-clip-search-seed7"),
                   ("clip-0.01-seed0", "clip-0.1-seed0", "clip-1-seed0", "no-clip-search-seed0",
                    "no-clip-search-seed2", "no-clip-search-seed4", "no-clip-search-seed6"))),
    RunSet("seeds", "ten seeds of every setting, 100 epochs", _seeds(), record="metrics", stacks=2),
    RunSet("clip-lr", "clip value against learning rate, three seeds a cell, 100 epochs", _clip_lr(),
           record="metrics", stacks=2),
    RunSet("critic", "the critic study: D's weights at every snapshot, 200 epochs", _critic(), record="weights"),
    RunSet("critic-size", "the success case with a larger critic (and without clipping), 1000 epochs", _critic_size(),
           stacks=_critic_size_stacks()),
    RunSet("ladder", "the success setting with one change at a time, five seeds a rung, 200 epochs", _ladder(),
           stacks=tuple(tuple(f"ladder-{rung}-seed{s}" for s in LADDER_SEEDS) for rung in LADDER_RUNGS)),
    RunSet("best-screen", "three candidates per discriminator from the field's base, two seeds, 100 epochs",
           _best_screen(), stacks=_best_screen_stacks()),
    RunSet("best", "each discriminator's kept candidate, ten seeds, 30 core-minutes a seed",
           best_final_configs(BEST_FINAL), stacks=best_final_stacks(BEST_FINAL)),
    RunSet("ladder-down", "from WGAN-GP's best, one of the post's choices put back at a time, five seeds a rung, "
           "100 epochs", ladder_down_configs(LADDER_DOWN_TOP), stacks=ladder_down_stacks(LADDER_DOWN_TOP)),
    RunSet("sanity", "settings the field uses, away from the post, 60 epochs", _sanity(),
           stacks=(("sanity-std-relu-3x128-lr1e-3-seed0", "sanity-std-relu-3x128-lr1e-4-seed0",
                    "sanity-success-relu-3x128-seed0"),)),
    RunSet("network-size", "network sizes against losses and learning rates", _network_size(),
           stacks=(_names(*(run_name(_size_config(32, 2, v, **kw)) for v, kw in (
                       ("coulomb-gan", dict(lr=1e-3, decay=0.0)), ("standard-gan", dict(lr=3e-4, decay=0.0)),
                       ("standard-gan", {})))),
                   _names(*(run_name(_size_config(32, 2, v, **kw)) for v, kw in (
                       ("coulomb-gan", dict(lr=3e-4, decay=0.0)), ("standard-gan", dict(lr=1e-3, decay=0.0)),
                       ("wgan-gp", {})))),
                   _names(*(run_name(_size_config(64, 2, v, **kw)) for v, kw in (
                       ("coulomb-gan", dict(lr=1e-3, decay=0.0)), ("standard-gan", dict(lr=3e-4, decay=0.0)),
                       ("standard-gan", {})))),
                   _names(*(run_name(_size_config(64, 2, v, **kw)) for v, kw in (
                       ("coulomb-gan", dict(lr=3e-4, decay=0.0)), ("standard-gan", dict(lr=1e-3, decay=0.0)),
                       ("wgan-gp", {})))),
                   _names(run_name(_size_config(128, 3, "coulomb-gan", lr=1e-3, decay=0.0)),
                          run_name(_size_config(128, 3, "standard-gan"))),
                   _names(run_name(_size_config(128, 2, "standard-gan")), run_name(_size_config(128, 2, "wgan-gp"))),
                   _names(*(run_name(_size_config(128, 3, v, **kw)) for v, kw in (
                       ("coulomb-gan", dict(lr=3e-4, decay=0.0)), ("standard-gan", dict(lr=3e-4, decay=0.0)),
                       ("standard-gan", dict(lr=1e-3, decay=0.0)), ("wgan-gp", {})))),
                   _names(*(run_name(_size_config(128, 3, v, epochs=1000, seed=s)) for v, s in (
                       ("standard-gan", 0), ("standard-gan", 2), ("success", 1)))),
                   _names(*(run_name(_size_config(128, 3, v, epochs=1000, seed=s)) for v, s in (
                       ("standard-gan", 1), ("success", 0), ("success", 2)))))),
]}


def get_run_set(name):
    if name not in RUN_SETS:
        raise ConfigError(f"unknown run set {name!r}; allowed: {', '.join(RUN_SETS)}")
    return RUN_SETS[name]


def book_epochs():
    """$WGAN_BOOK_EPOCHS as an int (the book's quick-look schedule), or None."""
    text = os.environ.get(EPOCHS_ENV)
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{EPOCHS_ENV} must be a positive integer; got {text!r}") from None
    if value < 1:
        raise ConfigError(f"{EPOCHS_ENV} must be a positive integer; got {text!r}")
    return value


def prose_check(condition, what):
    """Stop the book's build when the stored runs no longer say what a chapter's prose says (`what`),
    so that a regeneration cannot leave a sentence stale. Skipped for quick looks at a cut schedule
    ($WGAN_BOOK_EPOCHS), whose runs the prose does not describe."""
    if book_epochs() is None and not condition:
        raise AssertionError(f"the prose says {what}, and the stored runs no longer do")


def load(name, results=None, epochs=None, train_missing=True, progress=True, where=None):
    """The stored runs of run set `name` (those whose config `where` accepts, default all), in the
    order of its configs (`StoredRun`s).

    A run that is missing, damaged, or stored for another config is trained on the spot with its
    whole stack, one process (`train_missing`; else a `RunFileError` names it). A stale run (made
    by other training code) is returned with a warning. `epochs` (default $WGAN_BOOK_EPOCHS) cuts
    the schedule, for quick looks."""
    import sys

    from .runner import stored_run, train_stacks
    from .store import RunFileError, load_run, warn_if_stale

    run_set = get_run_set(name).with_epochs(epochs if epochs is not None else book_epochs())
    folder = run_set.path(results)
    wanted = [i for i, c in enumerate(run_set.configs) if where is None or where(c)]
    runs = {i: stored_run(folder, run_set.configs[i], run_set.record)[1] for i in wanted}
    todo = [i for i in wanted if runs[i] is None]
    if todo:
        names = ", ".join(run_name(run_set.configs[i]) for i in todo[:3]) + (" ..." if len(todo) > 3 else "")
        if not train_missing:
            raise RunFileError(f"run set {name!r} in {folder}: {len(todo)} run(s) not stored: {names}; "
                               f"run `python -m wgan_lib reproduce {name}`")
        stacks = [stack for stack in run_set.stack_indices() if set(stack) & set(todo)]
        print(f"{name}: {len(todo)} run(s) not stored for the current code ({names}); training their "
              f"{len(stacks)} stack(s) for {run_set.configs[todo[0]].epochs} epochs", file=sys.stderr)
        train_stacks(run_set, stacks, results, progress=progress)
        runs.update({i: load_run(folder / run_name(run_set.configs[i]), warn_stale=False) for i in todo})
    return [warn_if_stale(runs[i], stacklevel=3) for i in wanted]


def load_stored(name, results=None):
    """The runs of run set `name` stored so far for its current configs (current or stale), in the
    order of its configs, without training the rest: for a chapter that reports a run set while it
    trains. `is_complete(name, runs)` says whether they are all of it."""
    from .runner import stored_run
    from .store import warn_if_stale

    run_set = get_run_set(name).with_epochs(book_epochs())
    runs = [stored_run(run_set.path(results), config, run_set.record)[1] for config in run_set.configs]
    return [warn_if_stale(run, stacklevel=3) for run in runs if run is not None]


def is_complete(name, runs):
    """Whether `runs` (from `load_stored(name)`) are every run of run set `name`."""
    return len(runs) == len(get_run_set(name).configs)


def load_cases(names, results=None):
    """The stored runs of the cases `names` (of the run set 'cases'), in that order."""
    for name in names:
        get_case(name)
    runs = {r.config.case: r for r in load("cases", results, where=lambda c: c.case in names)}
    return [runs[name] for name in names]
