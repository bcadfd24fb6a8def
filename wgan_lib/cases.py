"""Every run of the post, by name, with the settings its tables give.

All cases share batch 512, beta_1 = 0.5 and the same lr and decay for D and G (reference.md §1).
`standard-gan` and `coulomb-gan` are not in the post's WGAN article: they train the other two
discriminators with the success case's optimiser settings, for comparison.
"""
from dataclasses import dataclass

from .config import Config, ConfigError


@dataclass(frozen=True)
class Case:
    name: str
    settings: dict
    post_outcome: str
    description: str

    def config(self, **changes):
        return Config(case=self.name).replace(**{**self.settings, **changes})


# The no-clipping runs differ from each other only by seed; the seeds were picked by the search
# documented in the book's "Without clipping" chapter (one seed that fails, one that succeeds).
NO_CLIP_FAILING_SEED = 1
NO_CLIP_SUCCEEDING_SEED = 0

_SUCCESS = dict(loss="wgan", decay=1e-5, lr=1e-4, n_critic=1, clip=0.1)

CASES = {
    c.name: c
    for c in [
        Case("failure-1", dict(loss="wgan", decay=1e-4, lr=1e-4, n_critic=1, clip=0.1), "failed",
             "WGAN, lr 1e-4, decay 1e-4, clip 0.1"),
        Case("failure-2", dict(loss="wgan", decay=1e-4, lr=1e-4, n_critic=1, clip=0.01), "failed",
             "WGAN, lr 1e-4, decay 1e-4, clip 0.01"),
        Case("failure-3", dict(loss="wgan", decay=1e-4, lr=1e-2, n_critic=1, clip=0.01), "failed",
             "WGAN, lr 1e-2, decay 1e-4, clip 0.01"),
        Case("failure-4", dict(loss="wgan", decay=1e-4, lr=1e-2, n_critic=1, clip=0.1), "failed",
             "WGAN, lr 1e-2, decay 1e-4, clip 0.1"),
        Case("failure-5", dict(loss="wgan", decay=1e-4, lr=1e-3, n_critic=1, clip=0.1), "failed",
             "WGAN, lr 1e-3, decay 1e-4, clip 0.1"),
        Case("failure-6", dict(loss="wgan", decay=1e-4, lr=1e-3, n_critic=5, clip=0.1),
             "failed; G then drifted off the plotted area", "WGAN, lr 1e-3, decay 1e-4, n_critic 5, clip 0.1"),
        Case("success", dict(_SUCCESS), "succeeded: G passes near all 25 centres",
             "WGAN, lr 1e-4, decay 1e-5, clip 0.1"),
        Case("no-clip-1", dict(_SUCCESS, clip=None, seed=NO_CLIP_FAILING_SEED), "failed",
             "success settings without clipping (a seed that fails)"),
        Case("no-clip-2", dict(_SUCCESS, clip=None, seed=NO_CLIP_SUCCEEDING_SEED),
             "succeeded; D's values grow without bound", "success settings without clipping (a seed that succeeds)"),
        Case("standard-gan", dict(_SUCCESS, loss="standard", clip=None), "not in the post",
             "standard GAN (cross-entropy) with the success case's optimiser"),
        Case("coulomb-gan", dict(_SUCCESS, loss="coulomb", clip=None), "not in the post",
             "Coulomb GAN (Plummer kernel d=3, eps=1) with the success case's optimiser"),
    ]
}

POST_CASES = tuple(name for name in CASES if name not in ("standard-gan", "coulomb-gan"))


def get_case(name):
    if name not in CASES:
        raise ConfigError(f"unknown case {name!r}; allowed: {', '.join(CASES)}")
    return CASES[name]
