import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# The suite runs in parallel workers (pytest-xdist, ``-n auto`` in pyproject.toml): one thread per worker for
# OpenMP/BLAS code (dwave-samplers, OpenJij, numpy), so that the workers do not oversubscribe the cores.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402  (after the thread settings above)
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def all_spin_states(n):
    """All 2^n states, bit i of the index is spin i (numpy, independent of dragonjax)."""
    index = np.arange(2 ** n)
    return 2 * ((index[:, None] >> np.arange(n)) & 1) - 1
