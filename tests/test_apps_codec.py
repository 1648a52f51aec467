"""The .aekz codec: exact round trips up to the quantisation, the file contract, the rANS coder, the CLI."""

import json
import struct

import numpy as np
import pytest

import aekit
from aekit.apps.codec import (
    MAGIC,
    VERSION,
    QuantizationNoise,
    compress,
    compress_file,
    decode_codes,
    decompress,
    decompress_file,
    dequantize,
    encode_codes,
    quantize,
    read_file_header,
)
from aekit.cli.main import main
from aekit.core import entropy_coder as entropy
from aekit.errors import AekitError, FormatError


@pytest.fixture(scope="module")
def digits():
    from aekit.datasets import load_digits_sample

    return load_digits_sample()[0][:600]  # (600, 28, 28) uint8


@pytest.fixture(scope="module")
def model(digits):
    ae = aekit.build("dense", input_shape=(28, 28), hidden=[64], latent_dim=12, seed=0)
    ae.fit(digits, epochs=2, batch_size=64, verbose=0, seed=0)
    return ae


def test_codes_round_trip_is_exact_up_to_the_quantisation():
    z = np.random.default_rng(0).normal(size=(300, 7)).astype(np.float32) * [1, 2, 3, 4, 5, 6, 0.01]
    for bits in (1, 3, 8, 12):
        back, header = decode_codes(encode_codes(z, bits, fingerprint="f"))
        q, lo, hi = quantize(z, bits)
        assert np.array_equal(back, dequantize(q, lo, hi, bits))
        assert header["bits"] == bits and header["n"] == 300 and header["code_size"] == 7
        step = (hi - lo) / ((1 << bits) - 1)
        assert np.all(np.abs(back - z) <= step / 2 + 1e-5)  # rounding error at most half a step


def test_constant_dimension_and_single_sample():
    z = np.array([[1.5, -2.0, 0.0]], np.float32)
    back, _ = decode_codes(encode_codes(z, 4))
    assert np.array_equal(back, z)


def test_model_round_trip_matches_decoding_the_dequantised_codes(model, digits):
    x = digits[:100]
    blob = compress(model, x, bits=6)
    out = decompress(blob, model)
    assert out.shape == x.shape and out.dtype == np.uint8  # the layout and dtype x came in
    q, lo, hi = quantize(model.encode(x), 6)
    expect = (np.clip(model.decode(dequantize(q, lo, hi, 6)).reshape(x.shape), 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(out, expect)
    assert len(blob) < x.nbytes / 20  # 12 codes x 6 bits per 784-byte digit


def test_fewer_bits_give_smaller_files_and_larger_errors(model, digits):
    x = digits[:200].astype(np.float32) / 255
    sizes, errs = [], []
    for bits in (2, 5, 8):
        blob = compress(model, x, bits=bits)
        sizes.append(len(blob))
        errs.append(float(np.mean((decompress(blob, model) - model.reconstruct(x)) ** 2)))
    assert sizes[0] < sizes[1] < sizes[2]
    assert errs[0] > errs[1] > errs[2]


def test_file_starts_with_magic_and_version(model, digits):
    blob = compress(model, digits[:10])
    assert blob[:8] == MAGIC and blob[:4] == b"AEKZ"
    assert struct.unpack("<H", blob[8:10])[0] == VERSION == 1


def test_wrong_model_is_refused(model, digits):
    other = aekit.build("dense", input_shape=(28, 28), hidden=[64], latent_dim=12, seed=1)
    blob = compress(model, digits[:10])
    with pytest.raises(AekitError, match="another model"):
        decompress(blob, other)


@pytest.mark.parametrize("cut", [3, 12, 40, -30, -1])
def test_truncated_file_is_refused(model, digits, cut):
    blob = compress(model, digits[:50])
    with pytest.raises(FormatError, match="truncated|corrupt|magic"):
        decompress(blob[:cut], model)


def test_corrupt_and_foreign_files_are_refused(model, digits, tmp_path):
    blob = bytearray(compress(model, digits[:50]))
    blob[-10] ^= 0xFF
    with pytest.raises(FormatError, match="corrupt"):
        decompress(bytes(blob), model)
    model.save(tmp_path / "m.aekit")
    for foreign in ((tmp_path / "m.aekit").read_bytes(), b"\x89PNG\r\n\x1a\n" + bytes(100), b""):
        with pytest.raises(FormatError, match="not an aekit .aekz"):
            decompress(foreign, model)
    bad = bytearray(blob)
    bad[8] = 9  # a future version
    with pytest.raises(FormatError, match="version 9"):
        decompress(bytes(bad), model)


def test_bits_are_checked():
    for bits in (0, 13, 2.5, True):
        with pytest.raises(AekitError, match="bits="):
            encode_codes(np.zeros((2, 2), np.float32), bits)


def test_files_and_the_stored_model_hint(model, digits, tmp_path):
    model.save(tmp_path / "m.aekit")
    info = compress_file(model, digits[:40], tmp_path / "d.aekz", bits=5, model_path=tmp_path / "m.aekit")
    assert info["bytes"] == (tmp_path / "d.aekz").stat().st_size and info["n"] == 40
    assert read_file_header(tmp_path / "d.aekz")["model"] == str((tmp_path / "m.aekit").resolve())
    out, header = decompress_file(tmp_path / "d.aekz")  # the model is found through the hint
    assert out.shape == (40, 28, 28) and header["bits"] == 5
    compress_file(model, digits[:40], tmp_path / "nohint.aekz")
    with pytest.raises(AekitError, match="--model"):
        decompress_file(tmp_path / "nohint.aekz")


@pytest.mark.parametrize("seed", range(6))
def test_entropy_coder_is_lossless_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.integers(1, 13))
    n, d = int(rng.integers(1, 300)), int(rng.integers(1, 9))
    q = rng.integers(0, 1 << bits, size=(n, d))
    if seed % 2:  # skewed, with gaps in the alphabet
        q = np.minimum(rng.geometric(0.4, size=(n, d)) * 3, (1 << bits) - 1)
    blob = entropy.encode_symbols(q, bits)
    assert np.array_equal(entropy.decode_symbols(blob, n, d, bits), q)


def test_entropy_coder_beats_raw_bits_on_skewed_streams():
    rng = np.random.default_rng(0)
    q = np.clip(np.rint(rng.normal(128, 6, size=(4000, 8))), 0, 255).astype(np.int64)  # ~4.6 bits of 8
    for model in ("table", "gauss", "auto"):
        blob = entropy.encode_symbols(q, 8, model=model)
        assert len(blob) < 0.65 * q.size  # raw: 1 byte per symbol
        assert np.array_equal(entropy.decode_symbols(blob, 4000, 8, 8), q)
    ideal = entropy.cost_bits(q, entropy.build_tables(q, 8, "table")[0]) / 8
    assert len(entropy.encode_symbols(q, 8, "table")) < ideal * 1.02 + 600


def test_entropy_stream_errors_are_format_errors():
    q = np.random.default_rng(0).integers(0, 16, size=(100, 4))
    blob = entropy.encode_symbols(q, 4)
    with pytest.raises(FormatError):
        entropy.decode_symbols(blob[:-5], 100, 4, 4)
    with pytest.raises(FormatError):
        entropy.decode_symbols(blob[:3], 100, 4, 4)


def test_quantization_noise_perturbs_training_only(digits):
    import torch

    def trained(callbacks):
        ae = aekit.build("dense", input_shape=(28, 28), hidden=[32], latent_dim=8, seed=0)
        h = ae.fit(digits[:256], epochs=2, batch_size=64, verbose=0, seed=0, callbacks=callbacks)
        return ae, h

    plain, _ = trained([])
    noisy, h = trained([QuantizationNoise(4)])
    assert np.isfinite(h.history["loss"]).all()
    assert not np.allclose(plain.encode(digits[:5]), noisy.encode(digits[:5]))  # the noise changed training
    assert not noisy.module.head._forward_hooks  # removed at the end of fit
    # inference is the plain module: encode equals the encoder and head applied by hand, without noise
    x = torch.from_numpy(noisy.prepare(digits[:5]))
    with torch.no_grad():
        noisy.module.eval()
        by_hand = noisy.module.encode(x)[0].numpy()
    np.testing.assert_array_equal(noisy.encode(digits[:5]), by_hand)


def test_quantization_noise_is_at_most_half_a_step_per_dimension():
    import torch

    ae = aekit.build("dense", input_shape=(6,), hidden=[], latent_dim=3, seed=0)
    cb, state = QuantizationNoise(2), type("S", (), {"module": ae.module})()  # the callback reads state.module
    x = torch.rand(50, 6)
    ae.module.train()
    clean = ae.module.head(ae.module.encoder(x))[0].detach()
    cb.on_train_begin(state)
    noisy = ae.module.head(ae.module.encoder(x))[0].detach()
    ae.module.eval()
    in_eval = ae.module.head(ae.module.encoder(x))[0].detach()
    cb.on_train_end(state)
    step = (clean.amax(0) - clean.amin(0)) / 3  # 2 bits: 3 steps over each dimension's range
    diff = (noisy - clean).abs()
    assert (diff > 0).float().mean() > 0.9 and (diff <= step / 2 + 1e-6).all()
    assert torch.equal(in_eval, clean)  # evaluation mode: no noise


def test_cli_compress_decompress(model, digits, tmp_path, capsys):
    model.save(tmp_path / "m.aekit")
    np.save(tmp_path / "x.npy", digits[:30])
    assert (
        main(
            [
                "compress",
                str(tmp_path / "m.aekit"),
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "x.aekz"),
                "--bits",
                "6",
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["n"] == 30 and info["bits"] == 6 and (tmp_path / "x.aekz").read_bytes()[:4] == b"AEKZ"
    assert main(["decompress", str(tmp_path / "x.aekz"), "-o", str(tmp_path / "r.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = np.load(tmp_path / "r.npy")
    assert out["shape"] == [30, 28, 28] and r.shape == (30, 28, 28) and r.dtype == np.uint8
    assert main(["-q", "decompress", str(tmp_path / "x.aekz"), "-o", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_errors_exit_2(model, digits, tmp_path, capsys):
    model.save(tmp_path / "m.aekit")
    aekit.build("dense", input_shape=(28, 28), hidden=[64], latent_dim=12, seed=5).save(tmp_path / "other.aekit")
    np.save(tmp_path / "x.npy", digits[:30])
    main(["-q", "compress", str(tmp_path / "m.aekit"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.aekz")])
    capsys.readouterr()
    cases = [
        [
            "decompress",
            str(tmp_path / "x.aekz"),
            "-o",
            str(tmp_path / "r.npy"),
            "--model",
            str(tmp_path / "other.aekit"),
        ],
        ["decompress", str(tmp_path / "x.npy"), "-o", str(tmp_path / "r.npy"), "--model", str(tmp_path / "m.aekit")],
        [
            "compress",
            str(tmp_path / "m.aekit"),
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "y.aekz"),
            "--bits",
            "20",
        ],
    ]
    (tmp_path / "cut.aekz").write_bytes((tmp_path / "x.aekz").read_bytes()[:-7])
    cases.append(["decompress", str(tmp_path / "cut.aekz"), "-o", str(tmp_path / "r.npy")])
    for argv in cases:
        try:
            rc = main(argv)
        except SystemExit as e:  # --bits 20 is refused where it is parsed (argparse)
            rc = e.code
        assert rc == 2
        err = capsys.readouterr().err
        assert err.startswith("aekit: error: ") and err.count("\n") == 1
