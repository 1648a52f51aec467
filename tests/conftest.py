"""Test-session settings shared by every test module."""

import os

import torch

# The tests train tiny models, for which a second intra-op thread buys nothing and, on a busy 2-core machine,
# costs a lot (threads spin waiting for each other). Benchmarks choose their own thread counts.
torch.set_num_threads(int(os.environ.get("AEKIT_TEST_THREADS", "1")))
