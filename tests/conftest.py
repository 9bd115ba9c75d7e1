import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def all_spin_states(n):
    """All 2^n states, bit i of the index is spin i (numpy, independent of dragonjax)."""
    index = np.arange(2 ** n)
    return 2 * ((index[:, None] >> np.arange(n)) & 1) - 1
