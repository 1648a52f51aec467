"""Data-aware defaults (aekit.training.defaults), the divergence guard, and the API edges of issue 9."""

import numpy as np
import pytest
import torch

import aekit
from aekit.core import container as io
from aekit.errors import AekitError, DivergenceError
from aekit.training.callbacks import DivergenceGuard, EarlyStopping
from aekit.training.defaults import auto_batch_size, decide_data, default_latent, plan_training


def _table(n=300, seed=0):
    """A 12-column table in mixed units: 3 latent factors, offsets in the hundreds."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    x = z @ rng.normal(size=(3, 12)) + 0.05 * rng.normal(size=(n, 12))
    return (x * rng.uniform(1, 50, 12) + rng.uniform(-100, 400, 12)).astype(np.float32)


def _pixels(n: int, seed=0):
    """n rows of 12 uint8 pixels: pictures (the picture rule) whatever their shape."""
    return (np.random.default_rng(seed).random((n, 12)) * 255).astype(np.uint8)


# --- the rules -------------------------------------------------------------------------------------------
def test_unit_pictures_keep_cross_entropy_and_sigmoid():
    for shape, pixels in [((28, 28), False), ((3, 32, 32), False), ((784,), True)]:
        d = decide_data((0.0, 1.0), shape, pixels=pixels)
        assert (d.scale, d.loss, d.output_activation) == (None, "bce", "sigmoid"), shape
        assert d.auto == ["scale", "loss", "output_activation"]


def test_tables_are_tables_whatever_their_range():
    """Rows of features in [0, 1] (min-max scaled, as ADBench delivers them) get the table rule too."""
    for lo, hi in [(0.0, 1.0), (0.2, 0.7), (-3.0, 420.0)]:
        d = decide_data((lo, hi), (30,))
        assert (d.scale, d.loss, d.output_activation) == ("standard", "mse", "linear"), (lo, hi)
    x = np.random.default_rng(0).random((200, 6)).astype(np.float32)
    ae = aekit.build("dense", input_shape=(6,), seed=0)
    ae.fit(x, epochs=1, verbose=0, seed=0)
    assert (ae.fit_info["scaling"], ae.fit_info["loss"], ae.fit_info["activation"]) == ("standard", "mse", "elu")
    pix = aekit.build("dense", input_shape=(6,), seed=0)
    pix.fit((x * 255).astype(np.uint8), epochs=1, verbose=0, seed=0)  # uint8 values are pixels
    assert pix.fit_info["loss"] == "bce"


def test_other_data_gets_standard_scaling_mse_and_linear_output():
    d = decide_data((-3.0, 420.0), (30,))
    assert (d.scale, d.loss, d.output_activation) == ("standard", "mse", "linear")


def test_pictures_in_0_255_are_divided_by_255():
    for shape in [(28, 28), (3, 32, 32), (32, 32, 3)]:
        d = decide_data((0.0, 255.0), shape)
        assert (d.scale, d.loss, d.output_activation) == ("pixel", "bce", "sigmoid"), shape
    # a series window (64, 1) in 0-255 is not a picture
    assert decide_data((20.0, 109.0), (64, 1)).scale == "standard"


def test_explicit_options_win_and_impossible_ones_are_refused():
    d = decide_data((-3.0, 420.0), (30,), scale="minmax", loss="bce")
    assert (d.scale, d.loss, d.output_activation) == ("minmax", "bce", "sigmoid") and d.auto == ["output_activation"]
    assert decide_data((0.0, 1.0), (28, 28), loss="mse").output_activation == "sigmoid"
    assert decide_data((0.0, 1.0), (30,), scale="minmax").loss == "bce"  # asked for [0, 1]: cross-entropy fits
    asked = decide_data((0.0, 1.0), (784,), loss="bce")  # flattened pictures with cross-entropy asked for
    assert (asked.scale, asked.loss, asked.output_activation) == (None, "bce", "sigmoid")
    assert decide_data((0.0, 1.0), (30,), scale="standard").loss == "mse"
    with pytest.raises(AekitError, match=r"loss='bce' needs data in \[0, 1\].*\[-3, 420\]"):
        decide_data((-3.0, 420.0), (30,), loss="bce")
    with pytest.raises(AekitError, match="output_activation='sigmoid' needs data in"):
        decide_data((-3.0, 420.0), (30,), scale=None, loss="mse", output_activation="sigmoid")


def test_code_size_is_a_quarter_of_the_width_capped_and_below_it():
    assert [default_latent(s) for s in [(784,), (30,), (13,), (64, 1), (3, 64, 64), (2,)]] == [32, 8, 4, 16, 32, 1]
    assert aekit.build("dense", input_shape=(30,)).code_size == 8
    assert aekit.build("dense", input_shape=(30,), latent_dim=5).code_size == 5  # explicit wins


def test_training_length_scales_with_the_data():
    small = plan_training(200, epochs=None, batch_size=None, validation_split=None, patience=None, has_validation=False)
    big = plan_training(60000, epochs=None, batch_size=None, validation_split=None, patience=None, has_validation=False)
    assert (small.batch_size, small.validation_split) == (16, 0.1) and small.patience
    assert big.batch_size == 256 and big.epochs < small.epochs

    def steps(p, n):  # optimiser steps over the 90 % left for training
        return p.epochs * np.ceil(n * 0.9 / p.batch_size)

    assert 5000 <= steps(big, 60000) <= 7000  # the step budget binds for big sets
    assert 11000 <= steps(small, 200) <= 13000  # 192,000 samples in batches of 16
    mid = plan_training(
        3000, epochs=None, batch_size=None, validation_split=None, patience=None, has_validation=False
    )  # batches of 32: the step budget again
    assert mid.batch_size == 32 and 5000 <= mid.epochs * np.ceil(2700 / 32) <= 7000
    fixed = plan_training(200, epochs=3, batch_size=None, validation_split=None, patience=None, has_validation=False)
    assert (fixed.epochs, fixed.validation_split, fixed.patience) == (3, 0.0, None)  # Keras semantics
    assert auto_batch_size(10) == 10


# --- fit applies them and the file keeps them ------------------------------------------------------------
def test_fit_on_float_pictures_in_0_255_trains_and_answers_in_user_units(tmp_path):
    x = (np.random.default_rng(0).random((64, 16, 16)) > 0.7).astype(np.float32) * 255  # (N, H, W)
    ae = aekit.build("dense", input_shape=(16, 16), hidden=[32], seed=0)
    h = ae.fit(x, epochs=3, verbose=0, seed=0)
    assert ae.fit_info["scaling"] == "pixel" and ae.fit_info["loss"] == "bce"
    assert all(v > 0 for v in h.history["loss"])  # cross-entropy on [0, 1] targets, never negative
    rec = aekit.load(ae.save(tmp_path / "m.aekit")).reconstruct(x)
    assert rec.shape == x.shape and 0 <= rec.min() and rec.max() <= 255 and rec.max() > 50


def test_fit_on_a_table_scales_and_reconstructs_in_the_tables_units(tmp_path):
    x = _table()
    ae = aekit.build("dense", input_shape=(12,), seed=0)
    ae.fit(x, epochs=30, verbose=0, seed=0)
    assert (ae.config.loss, ae.config.output_activation, ae.fit_info["scaling"]) == ("mse", "linear", "standard")
    loaded = aekit.load(ae.save(tmp_path / "m.aekit"))
    assert loaded.config.output_activation == "linear" and loaded.scaler.kind == "standard"
    rec = loaded.reconstruct(x)
    np.testing.assert_allclose(rec, ae.reconstruct(x), rtol=1e-5, atol=1e-3)
    # in the table's units: far better than predicting each column's mean
    assert ((rec - x) ** 2).mean() < 0.2 * x.var(axis=0).mean()


def test_explicit_bce_on_a_table_is_refused_in_one_line():
    with pytest.raises(AekitError, match="needs data in"):
        aekit.build("dense", input_shape=(12,), loss="bce").fit(_table(), epochs=1, verbose=0)


def test_refit_on_other_data_decides_again():
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    ae.fit(_table(), epochs=1, verbose=0)
    assert ae.config.loss == "mse"
    ae.fit(_pixels(50), epochs=1, verbose=0)
    assert (ae.config.loss, ae.module.output_activation) == ("bce", "sigmoid")


def test_auto_length_holds_out_validation_and_stops_early_saying_why(capsys):
    ae = aekit.build("dense", input_shape=(12,), hidden=[16], seed=0)
    ae.fit(_table(120), verbose=2, seed=0, patience=2)
    info = ae.fit_info
    assert info["validation"] == 12 and info["batch_size"] == 16 and "val_loss" in ae.history.history
    err = capsys.readouterr().err
    assert err.startswith("data: 120 samples (108 train + 12 validation) of shape (12,)")
    assert "scaling standard, loss mse with a linear output (elu hidden units), started from PCA, code size 3" in err
    if info["stopped"]:  # early stopping ended it: the reason is printed and kept
        assert info["stopped"] in err and "did not improve for 2 epochs" in info["stopped"]
    assert info["epochs_run"] <= info["epochs"]


def test_early_stopping_reason_names_epoch_and_monitor():
    class S:
        module = torch.nn.Linear(1, 1)
        stop, epoch, diverged, stop_reason = False, 0, None, None

    st, es = S(), EarlyStopping("val_loss", patience=1)
    for loss in (1.0, 2.0):
        st.epoch += 1
        es.on_epoch_end(st, {"val_loss": loss})
    es.on_train_end(st)
    assert st.stop and st.stop_reason.startswith("early stopping after epoch 2: val_loss did not improve")


# --- the divergence guard --------------------------------------------------------------------------------
def _finite(tensors) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors if torch.is_floating_point(t))


def test_a_nan_loss_stops_training_keeps_finite_weights_and_writes_nothing_non_finite(tmp_path):
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    ckpt = tmp_path / "ckpt.aekit"
    with pytest.raises(DivergenceError, match=r"diverged in epoch 1: loss is nan; kept the initial weights.*lr"):
        ae.fit(_table(), epochs=5, optimizer="sgd", lr=1e6, verbose=0, checkpoint=str(ckpt))
    assert _finite(ae.module.state_dict().values())
    assert len(ae.history.epoch) == 1  # stopped at once
    assert _finite(io.read_file(ckpt)[1].values())  # the checkpoint holds the finite weights
    assert _finite(io.read_file(ae.save(tmp_path / "m.aekit"))[1].values())


def test_an_exploding_loss_is_caught_and_the_last_good_epoch_kept():
    class S:
        module = torch.nn.Linear(2, 2)
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        history = aekit.training.loop.History()
        stop, epoch, diverged = False, 0, None

    st, guard = S(), DivergenceGuard()
    guard.on_train_begin(st)
    st.epoch = 1
    guard.on_epoch_end(st, {"loss": 2.0})
    good = {k: v.clone() for k, v in st.module.state_dict().items()}
    with torch.no_grad():
        st.module.weight.mul_(1e6)
    st.epoch = 2
    guard.on_epoch_end(st, {"loss": 5e4})
    assert st.stop and "epoch 2: loss 5e+04 exploded from 2" in st.diverged and "weights of epoch 1" in st.diverged
    assert torch.equal(st.module.weight, good["weight"])


def test_state_snapshot_puts_back_weights_and_optimizer_state():
    import copy

    from aekit.training.callbacks import StateSnapshot

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)

    def step():
        opt.zero_grad()
        m(torch.randn(8, 3)).pow(2).sum().backward()
        opt.step()

    fresh = StateSnapshot()
    fresh.take(m, opt)  # before the first step: the optimizer has no state yet
    step()
    snap = StateSnapshot()
    snap.take(m, opt)
    buffers = [t.data_ptr() for t in snap.saved]
    step()
    snap.take(m, opt)  # the next epoch's snapshot overwrites the same buffers
    assert [t.data_ptr() for t in snap.saved] == buffers
    want_m, want_opt = copy.deepcopy(m.state_dict()), copy.deepcopy(opt.state_dict())
    for _ in range(3):
        step()
    opt.param_groups[0]["lr"] = 5.0
    snap.restore(m, opt)
    # weights, running statistics, Adam's moments and step count, and the lr are the snapshot's
    for k, v in want_m.items():
        assert torch.equal(m.state_dict()[k], v)
    got = opt.state_dict()
    for i, st in want_opt["state"].items():
        for k, v in st.items():
            assert torch.equal(got["state"][i][k], v)
    assert got["param_groups"][0]["lr"] == 1e-2
    fresh.restore(m, opt)
    assert len(opt.state) == 0  # a snapshot from before the first step: a fresh optimizer state


def test_the_writer_refuses_non_finite_tensors(tmp_path):
    with pytest.raises(AekitError, match="'w' holds NaN or infinite"):
        io.write_file(tmp_path / "m.aekit", {"kind": "x"}, {"w": torch.tensor([1.0, float("inf")])})
    assert not (tmp_path / "m.aekit").exists()


# --- API edges -------------------------------------------------------------------------------------------
def test_fit_takes_what_the_loaders_return(tmp_path):
    from PIL import Image

    from aekit.datasets import load_images, load_table, load_timeseries

    (tmp_path / "pics").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(tmp_path / "pics" / f"{i}.png")
    ae = aekit.build("conv", input_shape=(3, 12, 12), filters=[4], seed=0)
    ae.fit(load_images(tmp_path / "pics", size=12, cache=False, workers=1), epochs=1, verbose=0)
    assert ae.fit_info["samples"] == 8
    np.savetxt(tmp_path / "t.csv", _table(40), delimiter=",", header=",".join(f"c{i}" for i in range(12)), comments="")
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    ae.fit(load_table(tmp_path / "t.csv"), epochs=1, verbose=0)
    assert ae.fit_info["samples"] == 40 and ae.encode(load_table(tmp_path / "t.csv")).shape == (40, ae.code_size)
    lines = ["timestamp,value"] + [
        f"2020-01-01 00:{i // 60:02d}:{i % 60:02d},{50 + np.sin(i / 5):.4f}" for i in range(200)
    ]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    ae = aekit.build("dense", input_shape=(20,), hidden=[8], seed=0)
    ts = load_timeseries(tmp_path / "s.csv")
    ae.fit(ts, epochs=1, verbose=0)
    assert ae.fit_info["samples"] == (200 - 20) // 5 + 1  # windows of the model's length, stride length/4
    # and inference takes them the same way (it refused a TimeSeries: "got a TimeSeries")
    assert ae.encode(ts).shape == (37, ae.code_size) and ae.reconstruction_error(ts).shape == (37,)


def test_summary_prints_a_keras_style_table_and_returns_it(capsys):
    ae = aekit.build("dense", input_shape=(8,), hidden=[4], latent_dim=2)
    text = ae.summary()
    assert capsys.readouterr().out.strip() == text.strip()
    assert "Layer (type)" in text and "Output Shape" in text and "(None, 2)" in text
    assert text.splitlines()[-1].startswith(f"Total params: {ae.n_params():,}")
    assert [r[1] for r in ae.layers()][:2] == ["Flatten", "Linear"]


def test_hidden_units_follow_the_data_and_keep_their_weights(tmp_path):
    ae = aekit.build("dense", input_shape=(12,), hidden=[8], linear_path="off", seed=0)
    w0 = ae.module.state_dict()["encoder.1.0.weight"].clone()
    ae.fit(_table(), epochs=0, verbose=0)  # decides without training a step
    assert ae.config.activation == "elu" and any(isinstance(m, torch.nn.ELU) for m in ae.module.modules())
    assert torch.equal(ae.module.state_dict()["encoder.1.0.weight"], w0)
    assert aekit.load(ae.save(tmp_path / "m.aekit")).config.activation == "elu"
    unit = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    unit.fit(_pixels(40), epochs=0, verbose=0)
    assert unit.config.activation == "relu"
    fixed = aekit.build("dense", input_shape=(12,), hidden=[8], activation="tanh", seed=0)
    fixed.fit(_table(), epochs=0, verbose=0)
    assert fixed.config.activation == "tanh"  # explicit wins


# --- the linear path: standardised data start as PCA and learn what PCA misses ---------------------------


def _pca_mse(train, test, k):
    from sklearn.decomposition import PCA

    mu, sd = train.mean(0), train.std(0)
    p = PCA(k).fit((train - mu) / sd)
    z = (test - mu) / sd
    return float(np.mean((p.inverse_transform(p.transform(z)) - z) ** 2)), mu, sd


def test_standardised_data_get_a_linear_path_that_starts_as_exactly_pca(tmp_path):
    x = _table(300)
    ae = aekit.build("dense", input_shape=(12,), hidden=[16, 8], latent_dim=2, seed=0)
    ae.fit(x, epochs=0, verbose=0, validation_split=0.0)  # decides and starts from PCA, no training step
    assert ae.config.linear_path == "on" and ae.fit_info["init"] == "pca"
    assert "linear_path" in ae.fit_info["decided_from_data"] and "init" in ae.fit_info["decided_from_data"]
    pca_err, mu, sd = _pca_mse(x, x, 2)
    got = float(np.mean(((ae.reconstruct(x) - x) / sd) ** 2))
    assert got == pytest.approx(pca_err, rel=1e-3)  # the start is PCA with as many components as the code
    back = aekit.load(ae.save(tmp_path / "m.aekit"))
    assert back.config.linear_path == "on"
    np.testing.assert_allclose(back.reconstruct(x), ae.reconstruct(x), rtol=1e-5, atol=1e-4)


def test_training_from_the_pca_start_beats_pca_on_held_out_nonlinear_data():
    # a curved 1-D manifold in 6-D: PCA with one component cannot follow the curve, the nonlinear path can
    rng = np.random.default_rng(1)
    t = rng.uniform(-2, 2, (600, 1))
    x = np.c_[t, t**2, np.sin(2 * t), t**3 / 4, np.cos(t), 0.5 * t] * [3, 1, 2, 5, 10, 1] + 100
    x = (x + 0.02 * rng.normal(size=x.shape)).astype(np.float32)
    train, test = x[:500], x[500:]
    ae = aekit.build("dense", input_shape=(6,), latent_dim=1, seed=0)
    ae.fit(train, verbose=0, seed=0)
    pca_err, mu, sd = _pca_mse(train, test, 1)
    err = float(np.mean(((ae.reconstruct(test) - test) / sd) ** 2))
    assert err < 0.5 * pca_err, (err, pca_err)


def test_linear_path_stays_off_for_pixels_and_where_asked():
    unit = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    unit.fit(_pixels(60), epochs=0, verbose=0)
    assert unit.config.linear_path == "off" and unit.fit_info["init"] == "random"
    off = aekit.build("dense", input_shape=(12,), hidden=[8], linear_path="off", seed=0)
    off.fit(_table(), epochs=0, verbose=0)
    assert off.config.linear_path == "off" and off.fit_info["init"] == "random"
    none = aekit.build("dense", input_shape=(12,), hidden=[8], seed=0)
    none.fit(_table(), epochs=0, verbose=0, init="none")
    assert none.config.linear_path == "on" and none.fit_info["init"] == "random"


def test_series_windows_share_one_scale_per_channel_and_start_as_pca_of_the_series(tmp_path):
    from sklearn.decomposition import PCA

    from aekit.datasets import TimeSeries, sliding_windows

    rng = np.random.default_rng(0)
    t = np.arange(3000)
    values = 50 + 10 * np.sin(t / 20) + rng.normal(size=3000)
    values[::97] += 40  # spikes: a per-step statistic would depend on where they fall
    ts = TimeSeries(np.arange(3000).astype("datetime64[s]"), values, "s.csv")
    ae = aekit.build("dense", input_shape=(32, 1), latent_dim=4, seed=0)
    ae.fit(ts, epochs=0, verbose=0, validation_split=0.0)
    assert ae.scaler.offset_.shape == (1, 1)  # one mean and deviation for the channel, not one per step
    assert ae.scaler.offset_[0, 0] == pytest.approx(values[: sliding_windows(ts, 32, 8).size].mean(), rel=0.05)
    w = sliding_windows(ts, 32, 8)[:, :, 0]
    z = (w - ae.scaler.offset_[0, 0]) / ae.scaler.scale_[0, 0]
    p = PCA(4).fit(z)
    pca_err = np.mean((p.inverse_transform(p.transform(z)) - z) ** 2)
    got = np.mean(((ae.reconstruct(w[:, :, None])[:, :, 0] - w) / ae.scaler.scale_[0, 0]) ** 2)
    assert got == pytest.approx(pca_err, rel=1e-3)  # the start is PCA of the standardised series' windows
    back = aekit.load(ae.save(tmp_path / "m.aekit"))
    np.testing.assert_allclose(back.reconstruct(w[:5, :, None]), ae.reconstruct(w[:5, :, None]), rtol=1e-5)


def test_patience_is_long_for_small_sets_unless_the_model_starts_as_pca():
    from aekit.training.defaults import auto_patience

    small = plan_training(240, epochs=None, batch_size=None, validation_split=None, patience=None, has_validation=False)
    assert small.patience == auto_patience(small.epochs) and small.patience > 20  # noisy validation on 24
    x = np.random.default_rng(0).normal(size=(240, 12)).astype(np.float32) * 5 + 3  # a table: starts as PCA
    m = aekit.build("dense", input_shape=(12,), seed=0)
    m.fit(x, epochs=None, verbose=0, seed=0)
    # a PCA start trains for at most 20 epochs, with the shortest patience
    assert m.config.linear_path == "on" and m.fit_info["epochs"] == 20 and m.fit_info["early_stopping"]["patience"] == 5
    fixed = aekit.build("dense", input_shape=(12,), seed=0)
    fixed.fit(x, epochs=None, patience=7, verbose=0, seed=0)  # explicit wins
    assert fixed.fit_info["early_stopping"]["patience"] == 7
