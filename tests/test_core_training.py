"""The training loop's features: resume, early stopping, TensorBoard, optimizers, scaling, targets."""

import numpy as np
import pytest
import torch

import aekit
from aekit.training.tensorboard import read_scalars


def _x(n=64, d=16, seed=0):
    rng = np.random.default_rng(seed)
    # rank 3 plus a little noise: a table in [0, 1] (standard-scaled by default) that PCA cannot fit exactly
    return (rng.random((n, 3)) @ rng.random((3, d)) / 3 + 0.05 * rng.random((n, d))).astype(np.float32)


def _build(**kw):
    return aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=3, seed=0, **kw)


def test_resume_continues_to_identical_weights(tmp_path):
    x = _x()
    ck = tmp_path / "ck.aekit"
    full = _build()
    full.fit(x, epochs=4, batch_size=16, verbose=0, seed=0)
    part = _build()
    part.fit(x, epochs=2, batch_size=16, verbose=0, seed=0, checkpoint=str(ck))  # a run "killed" after 2
    resumed = _build()
    h = resumed.fit(x, epochs=4, batch_size=16, verbose=0, seed=0, checkpoint=str(ck), resume=True)
    assert h.epoch == [0, 1, 2, 3]
    for p, q in zip(full.module.parameters(), resumed.module.parameters()):
        torch.testing.assert_close(p, q)
    assert aekit.load(ck).family == "dense"  # a checkpoint is also a loadable model file


def test_early_stopping_restores_best(tmp_path):
    x = _x()
    ae = _build(loss="bce")  # a bounded output, so the loss blows up without turning NaN
    # an absurd learning rate makes the loss blow up after the first epochs -> stop, keep the best
    h = ae.fit(
        x,
        scale=None,
        validation_data=x,
        epochs=30,
        batch_size=16,
        lr=5.0,
        optimizer="sgd",
        momentum=0.0,
        patience=2,
        verbose=0,
        seed=0,
    )
    assert len(h.epoch) < 30
    best = min(h.history["val_loss"])
    assert ae.reconstruction_error(x, metric="bce").mean() == pytest.approx(best, rel=1e-3)


def test_tensorboard_event_file(tmp_path):
    x = _x()
    _build().fit(x, validation_split=0.25, epochs=3, batch_size=16, verbose=0, seed=0, log_dir=str(tmp_path / "tb"))
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(files) == 1
    scalars = read_scalars(files[0])
    tags = {t for t, _, _ in scalars}
    assert {"epoch_loss", "epoch_val_loss", "epoch_reconstruction"} <= tags
    assert sorted(s for t, s, _ in scalars if t == "epoch_loss") == [1, 2, 3]


@pytest.mark.parametrize("opt", ["adam", "adamw", "adadelta", "rmsprop", "sgd"])
def test_optimizers_train(opt):
    x = _x()
    ae = _build()
    h = ae.fit(x, epochs=5, batch_size=16, optimizer=opt, weight_decay=1e-5, clip_grad_norm=1.0, verbose=0, seed=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_scale_is_fitted_on_training_data_and_saved(tmp_path):
    x = _x() * 50 + 10  # not in [0, 1]
    ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=3, output_activation="linear", seed=0)
    ae.fit(x, epochs=5, batch_size=16, scale="standard", verbose=0, seed=0)
    assert ae.scaler.kind == "standard"
    rec = ae.reconstruct(x)
    assert abs(rec.mean() - x.mean()) < 0.2 * x.std()  # outputs are back in data units
    ae2 = aekit.load(ae.save(tmp_path / "m.aekit"))
    np.testing.assert_array_equal(ae2.reconstruct(x), rec)


def test_explicit_targets_and_validation_pair():
    x = _x()
    noisy = np.clip(x + 0.1 * np.random.default_rng(1).standard_normal(x.shape), 0, 1).astype(np.float32)
    ae = _build()
    h = ae.fit(noisy, x, validation_data=(noisy[:16], x[:16]), epochs=3, batch_size=16, verbose=0, seed=0)
    assert len(h.history["val_reconstruction"]) == 3


@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt_pepper"])
def test_corruptions(kind):
    from aekit.models.config import CorruptionConfig
    from aekit.models.corruption import corrupt

    x = torch.rand(200, 50)
    g = torch.Generator().manual_seed(0)
    y = corrupt(x, CorruptionConfig(kind, 0.3), g)
    assert y.shape == x.shape and not torch.equal(x, y)
    assert y.min() >= x.min() and y.max() <= x.max()  # clipped to the data range
    if kind != "gaussian":
        assert 0.2 < (y != x).float().mean() < 0.4


def test_stacked_pretraining_changes_weights_before_finetune():
    x = _x(n=64, d=16)
    ae = aekit.build("stacked", input_shape=(16,), hidden=[12, 8], latent_dim=4, pretrain_epochs=3, seed=0)
    before = [p.detach().clone() for p in ae.module.parameters()]
    ae.fit(x, epochs=0, batch_size=16, verbose=0, seed=0)  # pretraining only
    after = list(ae.module.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after) if a.dim() == 2)


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_lstm_bidirectional_layers(merge):
    ae = aekit.build(
        "lstm", input_shape=(7, 2), hidden=5, num_layers=2, bidirectional=True, merge_mode=merge, latent_dim=4, seed=0
    )
    x = np.random.default_rng(0).standard_normal((10, 7, 2)).astype(np.float32)
    assert ae.reconstruct(x).shape == (10, 7, 2) and ae.encode(x).shape == (10, 4)


@pytest.mark.parametrize(
    "shape,mode", [((3, 48, 48), "pool"), ((1, 28, 28), "strided"), ((2, 25, 13), "strided"), ((48, 48, 3), "pool")]
)
def test_conv_any_size_output_matches(shape, mode):
    ae = aekit.build("conv", input_shape=shape, filters=[4, 4], mode=mode, latent_dim=6, seed=0)
    c, h, w = ae.input_shape
    x = np.random.default_rng(0).random((3, c, h, w), dtype=np.float32)
    assert ae.reconstruct(x).shape == x.shape


def test_image_layouts_and_uint8():
    ae = aekit.build("conv", input_shape=(3, 8, 8), filters=[4], seed=0)
    nchw = np.random.default_rng(0).integers(0, 256, (4, 3, 8, 8), dtype=np.uint8)
    nhwc = np.moveaxis(nchw, 1, -1)
    np.testing.assert_allclose(ae.encode(nchw), ae.encode(nhwc), rtol=1e-6)
    assert ae.reconstruct(nhwc).shape == nhwc.shape  # returned in the caller's layout
    assert 0 <= ae.reconstruct(nchw).min() and ae.reconstruct(nchw).max() <= 1
    gray = aekit.build("conv", input_shape=(28, 28), filters=[4], seed=0)
    assert gray.reconstruct(np.zeros((2, 28, 28), np.uint8)).shape == (2, 28, 28)


def test_kitten_compressor_is_a_dense_configuration():
    ae = aekit.build(
        "dense", input_shape=(48, 48, 3), hidden=[2048], latent_dim=48 * 48 * 3 // 4, batch_norm=True, seed=0
    )
    assert ae.code_size == 1728 and any(t == "BatchNorm1d" for _, t, _ in ae.layers())


def test_progress_lines_per_epoch_and_silence():
    import io

    from aekit.training import ProgressBar

    x = _x()
    out = io.StringIO()
    _build().fit(x, epochs=2, batch_size=16, verbose=0, seed=0, callbacks=[ProgressBar(2, stream=out)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "loss:" in lines[1]


def test_verbose_zero_prints_nothing(capsys):
    _build().fit(_x(), epochs=1, batch_size=16, verbose=0, seed=0)
    assert capsys.readouterr().err == ""


def test_time_limit_and_lr_scheduler_callbacks():
    from aekit.training import LearningRateScheduler, TimeLimit

    seen = []

    class Record(aekit.training.Callback):
        def on_epoch_begin(self, state):
            seen.append(state.optimizer.param_groups[0]["lr"])

    ae = _build()
    sched = LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5**epoch)
    h = ae.fit(_x(), epochs=3, batch_size=16, verbose=0, seed=0, callbacks=[sched, Record()])
    assert seen == [0.01, 0.005, 0.0025] and len(h.epoch) == 3
    h = _build().fit(_x(), epochs=50, batch_size=16, verbose=0, seed=0, callbacks=[TimeLimit(0.0)])
    assert len(h.epoch) == 1  # the budget ran out during the first epoch
