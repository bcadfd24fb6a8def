import os

import pytest
import torch
from hypothesis import settings

# Property tests draw the same examples on every run of the test command ("ci": derandomize), so a
# red CI is reproducible and new edge cases never block an unrelated change at random.
# `HYPOTHESIS_PROFILE=explore make test` searches with fresh random examples, ten times as many.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread per test module: on 2 cores shared with other jobs, two threads spin
    against each other (measured: small ops ~50x slower). No result here depends on it."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
