import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread per test module: on 2 cores shared with other jobs, two threads spin
    against each other (measured: small ops ~50x slower). No result here depends on it."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
