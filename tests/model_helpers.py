"""What the recognizer's test files share: one torch thread while they run."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Small ops on 2 shared cores: one thread avoids OpenMP threads waiting on each other.

    Autouse in every test module that imports it (``from model_helpers import
    one_torch_thread  # noqa: F401``).
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
