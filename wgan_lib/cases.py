"""Every run of the post, by name, with the settings its tables give; and, for comparison, every
other registered discriminator loss trained with the post's successful settings.

All of the post's cases share batch 512, beta_1 = 0.5 and the same lr and decay for D and G
(book chapter "Sources"). The comparison cases (`standard-gan`, `coulomb-gan`, `wgan-gp`, ...)
are not in the post's WGAN article: one per loss of `losses.LOSSES` other than the post's WGAN,
each named by its loss's `case`, with the success case's optimiser and no clipping.
"""
from dataclasses import dataclass

from .config import Config, ConfigError
from .losses import LOSSES


@dataclass(frozen=True)
class Case:
    name: str
    settings: dict
    post_outcome: str
    description: str

    def config(self, **changes):
        return Config(case=self.name).replace(**{**self.settings, **changes})

    @property
    def in_post(self):
        return self.post_outcome != NOT_IN_POST


NOT_IN_POST = "not in the post"

# The post's two runs without clipping differ only by seed (the post gives none): no-clip-1 stands
# for its failed run and no-clip-2 for its successful one.
NO_CLIP_FAILING_SEED = 1
NO_CLIP_SUCCEEDING_SEED = 0

SUCCESS_SETTINGS = dict(loss="wgan", decay=1e-5, lr=1e-4, n_critic=1, clip=0.1)


def _failure(k, lr, clip, n_critic=1, outcome="failed"):
    return Case(f"failure-{k}", dict(loss="wgan", decay=1e-4, lr=lr, n_critic=n_critic, clip=clip), outcome,
                f"WGAN, lr {lr:g}, decay 1e-4, clip {clip:g}" + (f", n_critic {n_critic}" if n_critic > 1 else ""))


CASES = {
    c.name: c
    for c in [
        _failure(1, 1e-4, 0.1),
        _failure(2, 1e-4, 0.01),
        _failure(3, 1e-2, 0.01),
        _failure(4, 1e-2, 0.1),
        _failure(5, 1e-3, 0.1),
        _failure(6, 1e-3, 0.1, n_critic=5, outcome="failed; G then drifted off the plotted area"),
        Case("success", dict(SUCCESS_SETTINGS), "succeeded: G passes near all 25 centres",
             "WGAN, lr 1e-4, decay 1e-5, clip 0.1"),
        Case("no-clip-1", dict(SUCCESS_SETTINGS, clip=None, seed=NO_CLIP_FAILING_SEED), "failed",
             "success settings without clipping (the post's first run)"),
        Case("no-clip-2", dict(SUCCESS_SETTINGS, clip=None, seed=NO_CLIP_SUCCEEDING_SEED),
             "succeeded; D's values grow without bound", "success settings without clipping (the post's second run)"),
        *[Case(loss.case, dict(SUCCESS_SETTINGS, loss=name, clip=None), NOT_IN_POST,
               f"{loss.description} with the success case's optimiser")
          for name, loss in LOSSES.items() if name != SUCCESS_SETTINGS["loss"]],
    ]
}


def get_case(name):
    if name not in CASES:
        raise ConfigError(f"unknown case {name!r}; allowed: {', '.join(CASES)}")
    return CASES[name]


NO_CLIP_LABEL = "none"


def clip_label(clip):
    """'0.001', ..., '1' for a clip value; 'none' for no clipping (names runs, labels plots)."""
    return NO_CLIP_LABEL if clip is None else f"{clip:g}"
