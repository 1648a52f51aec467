"""The speed paths of training and inference: thread policy, data gathering, channels_last, mixed
precision and device decisions. Behaviour only; timings live in bench/speed.py."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import aekit
from aekit.cli.main import main
from aekit.models.config import TrainConfig
from aekit.training import Callback
from aekit.training.batches import ArraySource
from aekit.training.device import (
    AmpPlan,
    amp_plan,
    batch_format,
    cpu_supports_bf16,
    fits_on_device,
    pick_device,
    to_memory_format,
    use_channels_last,
)
from aekit.training.fit_setup import fit_sources
from aekit.training.loop import fit_loop, mean_loss, new_state, reconstruction_loss
from aekit.training.threads import ENV, CpuMeter, auto_threads, requested_threads, thread_scope


class ThreadSpy(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, state, step, sums, n):
        self.seen.append(torch.get_num_threads())


@pytest.fixture
def digits():
    return np.random.default_rng(0).random((96, 8, 8), dtype=np.float32)


@pytest.fixture
def restore_threads():
    old = torch.get_num_threads()
    yield old
    torch.set_num_threads(old)


def dense(seed=0):
    return aekit.build("dense", input_shape=(8, 8), hidden=[16], latent_dim=4, seed=seed)


def conv(seed=0, **kw):
    return aekit.build("conv", input_shape=(1, 8, 8), filters=[4, 4], seed=seed, **kw)


# --- threads -------------------------------------------------------------------------------------------------
def test_fit_threads_sets_and_restores(digits, restore_threads):
    torch.set_num_threads(2)
    spy = ThreadSpy()
    dense().fit(digits, epochs=1, batch_size=32, verbose=0, seed=0, threads=1, callbacks=[spy])
    assert spy.seen and set(spy.seen) == {1}
    assert torch.get_num_threads() == 2


def test_fit_restores_threads_after_an_error(digits, restore_threads):
    class Boom(Callback):
        def on_batch_end(self, state, step, sums, n):
            raise RuntimeError("boom")

    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="boom"):
        dense().fit(digits, epochs=1, batch_size=32, verbose=0, threads=1, callbacks=[Boom()])
    assert torch.get_num_threads() == 2


def test_env_var_sets_threads_and_fit_option_wins(digits, restore_threads, monkeypatch):
    torch.set_num_threads(2)
    monkeypatch.setenv(ENV, "1")
    spy = ThreadSpy()
    dense().fit(digits, epochs=1, batch_size=32, verbose=0, callbacks=[spy])
    assert set(spy.seen) == {1}
    assert requested_threads(3) == 3 and requested_threads("auto") == 1  # 'auto' falls back to the variable
    monkeypatch.setenv(ENV, "lots")
    with pytest.raises(aekit.AekitError, match=ENV):
        dense().fit(digits, epochs=1, verbose=0)
    monkeypatch.setenv(ENV, "auto")
    assert requested_threads(None) is None


def test_bad_threads_option_is_refused():
    with pytest.raises(aekit.AekitError, match="threads"):
        TrainConfig(threads=0)
    with pytest.raises(aekit.AekitError, match="threads"):
        requested_threads(1.5)


def test_cli_threads_flag(monkeypatch, capsys):
    monkeypatch.setenv(ENV, "auto")
    assert main(["--threads", "1", "models"]) == 0
    import os

    assert os.environ[ENV] == "1"
    with pytest.raises(SystemExit) as e:
        main(["models", "--threads", "0"])
    assert e.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_auto_threads_uses_the_free_cores():
    assert auto_threads(cap=2, others=0.0, cores=2) == 2
    assert auto_threads(cap=2, others=0.9, cores=2) == 1  # one busy program: one thread
    assert auto_threads(cap=2, others=2.0, cores=2) == 1  # never fewer than one
    assert auto_threads(cap=4, others=1.0, cores=8) == 4  # never more than the caller's cap
    assert auto_threads(cap=8, others=None, cores=8) == 7  # unmeasured: leave one core


def test_cpu_meter_reads_a_load_or_nothing():
    m = CpuMeter()
    v = m.others()
    assert v is None if not m.available else v >= 0.0


def test_thread_scope_auto_never_exceeds_the_callers_setting(restore_threads, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    torch.set_num_threads(1)
    with thread_scope():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "10000"),  # nothing set: a bounded spin
        ({"OMP_WAIT_POLICY": "PASSIVE"}, None),  # the user's wait policy wins: aekit adds nothing
        ({"GOMP_SPINCOUNT": "500"}, "500"),  # the user's spin count wins
    ],
)
def test_import_sets_a_bounded_openmp_spin_unless_the_user_chose(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run(
        [sys.executable, "-c", "import os, aekit; print(os.environ.get('GOMP_SPINCOUNT'))"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    assert out == str(expected)


# --- data path -----------------------------------------------------------------------------------------------
def test_fit_does_not_copy_prepared_float32(digits):
    ae = dense()
    cfg = TrainConfig(epochs=1)
    source, _, _, _ = fit_sources(ae, digits, None, None, cfg)
    assert np.shares_memory(source.x.numpy(), digits)


def test_shuffled_epoch_visits_each_row_once_and_reuses_its_buffer():
    x = torch.arange(100, dtype=torch.float32).reshape(50, 2)
    y = -x
    src = ArraySource(x, y)
    src.GATHER_BYTES = 8 * 8 * 2  # force several chunks of 8 rows
    gen = torch.Generator().manual_seed(0)
    ptrs = set()
    for _ in range(2):
        rows = []
        for xb, yb in src.iter_batches(8, True, gen):
            assert xb.is_contiguous() and torch.equal(yb, -xb)
            rows.append(xb[:, 0].clone())  # batches are views of the reused buffer
            ptrs.add(xb.untyped_storage().data_ptr())
        assert sorted(torch.cat(rows).tolist()) == list(range(0, 100, 2))
    assert len(ptrs) == 1  # one gather buffer for every chunk of every epoch


def test_drop_single_skips_a_last_batch_of_one():
    src = ArraySource(torch.zeros(17, 3))
    sizes = [len(b) for b, _ in src.iter_batches(8, True, torch.Generator(), drop_single=True)]
    assert sizes == [8, 8]


# --- channels_last -------------------------------------------------------------------------------------------
def test_channels_last_forward_matches_nchw():
    ae = conv(latent_dim=None)
    x = torch.rand(5, 1, 8, 8)
    ref = ae.module(x).logits
    to_memory_format(ae.module, True)
    w = next(p for p in ae.module.parameters() if p.dim() == 4)
    assert w.is_contiguous(memory_format=torch.channels_last)
    out = ae.module(batch_format(x, True)).logits
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_one_channel_batches_are_restrided_so_convolutions_run_nhwc():
    x = torch.rand(6, 1, 8, 8)[1:5]  # a slice of a buffer, as the loop's batches are
    xb = batch_format(x, True)
    assert xb.stride() == (64, 1, 8, 1) and xb.data_ptr() == x.data_ptr()  # a view, no copy
    torch.testing.assert_close(xb, x)
    conv2d = torch.nn.Conv2d(1, 4, 3, padding=1).to(memory_format=torch.channels_last)
    out = conv2d(xb)
    # NHWC strides for 4 channels: the network after the first convolution runs channels_last
    assert out.stride() == (256, 1, 32, 4)
    assert batch_format(torch.rand(2, 3, 4, 4), True).is_contiguous(memory_format=torch.channels_last)


def test_channels_last_training_matches_nchw(digits):
    x = digits[:64, None]
    losses, recs = [], []
    for cl in (False, True):
        ae = conv()
        h = ae.fit(x, epochs=2, batch_size=16, verbose=0, seed=0, channels_last=cl, threads=1)
        losses.append(h.history["loss"])
        recs.append(ae.reconstruct(x))
        assert all(p.is_contiguous() for p in ae.module.parameters())  # usual layout after fit
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    np.testing.assert_allclose(recs[0], recs[1], atol=1e-4)


def test_validation_feeds_nhwc_batches_to_nhwc_weights_with_the_same_result():
    ae = conv(latent_dim=None)
    src, loss_fn = ArraySource(torch.rand(10, 1, 8, 8), None), reconstruction_loss(ae.loss_spec)
    cpu = torch.device("cpu")
    ref = mean_loss(ae.module, src, loss_fn, 4, cpu)
    to_memory_format(ae.module, True)
    strides = []
    first = next(m for m in ae.module.modules() if isinstance(m, torch.nn.Conv2d))
    first.register_forward_pre_hook(lambda m, inp: strides.append(inp[0].stride()))
    got = mean_loss(ae.module, src, loss_fn, 4, cpu, channels_last=True)
    assert len(strides) == 3 and all(s[1] == 1 for s in strides)  # channel stride 1: NHWC, as the weights
    assert got.keys() == ref.keys() and all(abs(got[k] - ref[k]) < 1e-5 for k in ref)


def test_channels_last_default_only_for_convolutions():
    cpu = torch.device("cpu")
    assert use_channels_last(None, conv().module, cpu)
    assert not use_channels_last(None, dense().module, cpu)
    assert not use_channels_last(False, conv().module, cpu)
    assert not use_channels_last(None, conv().module, torch.device("mps"))


# --- mixed precision -----------------------------------------------------------------------------------------
def test_amp_plan_per_device():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert amp_plan(False, cpu).dtype is None
    assert amp_plan(True, cpu, cpu_bf16=True).dtype == torch.bfloat16
    off = amp_plan(True, cpu, cpu_bf16=False)
    assert off.dtype is None and "bfloat16" in off.note
    assert amp_plan(True, cuda, cuda_bf16=True).dtype == torch.bfloat16
    old_gpu = amp_plan(True, cuda, cuda_bf16=False)
    assert old_gpu.dtype == torch.float16 and old_gpu.needs_scaler
    assert not amp_plan(True, cuda, cuda_bf16=True).needs_scaler
    assert amp_plan(True, torch.device("mps")).note


def test_fit_amp_runs_and_stays_close_to_float32(digits):
    losses = []
    for amp in (False, True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = dense().fit(digits, epochs=3, batch_size=16, verbose=0, seed=0, amp=amp, threads=1)
        said = any("bfloat16" in str(w.message) for w in caught)
        assert said == (amp and not cpu_supports_bf16())  # a warning exactly when amp cannot be honoured
        losses.append(h.history["loss"][-1])
    assert np.isfinite(losses).all()
    assert abs(losses[1] - losses[0]) <= 0.02 * losses[0]


def test_float16_autocast_with_grad_scaler_runs_on_cpu(digits):
    ae = dense()
    state = new_state(ae.module, TrainConfig(epochs=2, batch_size=32, seed=0), ae.loss_spec)
    state.amp = AmpPlan("cpu", torch.float16)
    state.scaler = state.amp.scaler()
    assert state.scaler is not None
    x = torch.from_numpy(digits)
    hist = fit_loop(state, ArraySource(x))
    assert np.isfinite(hist.history["loss"]).all() and hist.history["loss"][-1] < hist.history["loss"][0]


# --- devices -------------------------------------------------------------------------------------------------
def test_device_selection_and_residency():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    assert fits_on_device(10**12, torch.device("cpu"))
    assert fits_on_device(100, torch.device("cuda"), free_bytes=1000)
    assert not fits_on_device(300, torch.device("cuda"), free_bytes=1000)
    assert not fits_on_device(1, torch.device("mps"))


def test_place_keeps_cpu_data_where_it_is():
    x = torch.zeros(4, 3)
    src = ArraySource(x)
    src.place(torch.device("cpu"))
    assert src.x is x and not src._pinned


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_fit_with_amp_and_channels_last(digits):
    ae = conv()
    h = ae.fit(digits[:, None], epochs=1, batch_size=32, verbose=0, seed=0, device="cuda", amp=True)
    assert np.isfinite(h.history["loss"]).all()
