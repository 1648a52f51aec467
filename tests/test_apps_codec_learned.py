"""The learned image codec: GDN, the factorised entropy model, coding with its tables, any size, colour."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import aekit
from aekit.apps.codec import MODEL_VERSION, compress, compress_file, decompress, parse_header
from aekit.apps.learned_codec import _rd_per_picture, encode_pictures, refine_latents
from aekit.cli.main import main
from aekit.core.entropy_coder import decode_with_model, encode_with_model
from aekit.errors import AekitError
from aekit.nn.blocks import GDN
from aekit.nn.entropy_model import FactorizedPrior


def smooth_pictures(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Colourful smooth pictures (N, H, W, 3) uint8: a colour gradient plus a disc of another colour."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((n, h, w, 3), np.float64)
    for i in range(n):
        a, b = rng.random(3), rng.random(3)
        base = a[None, None] * (1 - xx[..., None]) + b[None, None] * xx[..., None]
        cy, cx, r = rng.random(), rng.random(), 0.15 + 0.2 * rng.random()
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        out[i] = np.where(disc[..., None], rng.random(3)[None, None], base)
    return (out * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def trained():
    """A small codec trained for a few epochs on smooth colourful 24x24 pictures (seconds)."""
    x = smooth_pictures(192, 24, 24)
    ae = aekit.build("codec", input_shape=(24, 24, 3), filters=24, latent_channels=16, stages=2, quality=8, seed=0)
    ae.fit(x, epochs=20, batch_size=16, lr=3e-3, verbose=0, seed=0)
    return ae, x


def test_gdn_shapes_and_bounded_parameters():
    g, ig = GDN(4), GDN(4, inverse=True)
    x = torch.randn(2, 4, 5, 5)
    assert g(x).shape == ig(x).shape == x.shape
    # beta = 1, gamma = 0.1 I at init: y = x / sqrt(1 + 0.1 x^2)
    assert torch.allclose(g(x), x / torch.sqrt(1 + 0.1 * x * x), atol=1e-5)
    opt = torch.optim.SGD(g.parameters(), lr=100.0)
    g(x).sum().backward()  # a huge step would drive beta/gamma negative without the reparameterisation
    opt.step()
    beta = torch.clamp(g.beta, min=g._beta_bound) ** 2 - g._PEDESTAL
    assert (beta > 0).all() and torch.isfinite(g(x)).all()


def test_likelihoods_sum_to_one_per_channel():
    ep = FactorizedPrior(5)
    with torch.no_grad():  # move the densities away from the initial ones
        for p in ep.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    v = torch.arange(-400, 401, dtype=torch.float64).expand(5, 1, -1)
    total = ep.bin_probability(v).sum(-1).squeeze(1)  # (C,)
    assert torch.allclose(total, torch.ones(5, dtype=torch.float64), atol=1e-6)
    lo, pmf, tail = ep.pmf_table()
    assert np.allclose(pmf.sum(1) + tail, 1, atol=1e-9) and (tail < 1e-6).all()


def test_symbols_round_trip_exactly_with_escapes():
    ep = FactorizedPrior(3)
    lo, pmf, tail = ep.pmf_table()
    from aekit.core.entropy_coder import model_freqs

    freqs = model_freqs(pmf, tail)
    q = np.random.default_rng(0).integers(-40, 40, (50, 3))
    q[0, 0], q[7, 2] = 10_000, -12_345  # far outside the tables: escaped
    assert (decode_with_model(encode_with_model(q, lo, freqs), 50, lo, freqs) == q).all()


def test_coded_size_matches_estimated_rate(trained):
    ae, x = trained
    m = ae.module.eval()
    with torch.no_grad():
        out = m(torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255)
    estimate = float(-torch.log2(out.likelihoods).sum()) / 8  # bytes
    body = encode_pictures(ae, list(np.moveaxis(x, -1, 1).astype(np.float32) / 255))
    assert abs(len(body) - estimate) / estimate < 0.03
    # the file adds only its header: no per-file tables or ranges
    assert len(compress(ae, x)) - len(body) < 400


def test_round_trip_is_the_models_own_reconstruction(trained):
    ae, x = trained
    blob = compress(ae, x)
    assert parse_header(blob)[0]["version"] == MODEL_VERSION
    back = decompress(blob, ae)
    assert back.shape == x.shape and back.dtype == np.uint8
    ref = (np.clip(ae.reconstruct(x), 0, 1) * 255 + 0.5).astype(np.uint8)  # rounded code, eval mode
    assert np.abs(back.astype(int) - ref.astype(int)).max() <= 1


def test_odd_sizes_round_trip_with_their_shapes(trained):
    ae, _ = trained
    pics = [smooth_pictures(1, 37, 53, seed=1)[0], smooth_pictures(1, 19, 24, seed=2)[0]]
    back = decompress(compress(ae, pics), ae)
    assert [p.shape for p in back] == [(37, 53, 3), (19, 24, 3)]
    # decoded like the training size: not much worse than pictures of 24x24
    err = [np.mean((a / 255.0 - b / 255.0) ** 2) for a, b in zip(pics, back)]
    assert max(err) < 0.02


def test_saved_and_loaded_codec_compresses_to_identical_bytes(trained, tmp_path):
    ae, x = trained
    ae.save(tmp_path / "c.aekit")
    again = aekit.load(tmp_path / "c.aekit")
    assert compress(again, x[:20]) == compress(ae, x[:20])
    lo, f = ae.module.coder_tables()
    lo2, f2 = again.module.coder_tables()
    assert (lo == lo2).all() and (f == f2).all()


def test_refined_codes_are_integers_and_lower_the_rate_distortion_loss(trained):
    """The encoder-side search never makes a picture's loss worse and, on a briefly trained model (whose
    encoder is far from the best code), lowers it on average; same seed, same codes."""
    ae, x = trained
    m, lmbda = ae.module.eval(), ae.config.rate_lambda
    xt = torch.from_numpy(np.moveaxis(x[:32], -1, 1).astype(np.float32) / 255)  # (B, C, H, W)
    with torch.no_grad():
        y = m.encoder(xt)  # (B, M, h, w)
        before = _rd_per_picture(m, y.round(), xt, lmbda)
    y1 = refine_latents(m, xt, y, steps=30, lmbda=lmbda)
    assert y1.shape == y.shape and torch.equal(y1, y1.round())
    with torch.no_grad():
        after = _rd_per_picture(m, y1, xt, lmbda)
    assert (after <= before + 1e-6).all() and after.mean() < 0.99 * before.mean()
    assert torch.equal(refine_latents(m, xt, y, steps=30, lmbda=lmbda), y1)


def test_compress_with_refine_decodes_with_the_same_decoder_and_refuses_bad_values(trained, tmp_path, capsys):
    ae, x = trained
    blob = compress(ae, x[:16], refine=10)
    assert blob == compress(ae, x[:16], refine=10)
    assert decompress(blob, ae).shape == x[:16].shape
    for bad in (-1, 2.5, True):
        with pytest.raises(AekitError, match="refine"):
            compress(ae, x[:4], refine=bad)
    dense = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
    with pytest.raises(AekitError, match="refine: only a 'codec'"):
        compress(dense, np.zeros((3, 4), np.float32), refine=5)
    ae.save(tmp_path / "c.aekit")
    np.save(tmp_path / "x.npy", x[:8])
    assert (
        main(
            [
                "compress",
                str(tmp_path / "c.aekit"),
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "x.aekz"),
                "--refine",
                "5",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["refine"] == 5
    with pytest.raises(SystemExit) as e:  # refused where it is parsed (argparse)
        main(
            [
                "compress",
                str(tmp_path / "c.aekit"),
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "y.aekz"),
                "--refine",
                "-3",
            ]
        )
    assert e.value.code == 2 and not (tmp_path / "y.aekz").exists()


def test_colour_is_kept(trained, tmp_path):
    """On colourful pictures the reconstruction keeps most of the colour (saturation) of the input."""
    ae, x = trained
    back = decompress(compress(ae, x), ae).astype(np.float64)
    xf = x.astype(np.float64)

    def chroma(a):  # per-pixel spread across R, G, B, averaged
        return float(np.mean(a.max(-1) - a.min(-1)))

    assert chroma(back) > 0.8 * chroma(xf)
    info = compress_file(ae, x, tmp_path / "x.aekz", psnr=True)
    assert len(info["psnr_channels"]) == 3 and min(info["psnr_channels"]) > 18


def test_quality_sets_lambda_and_the_rate_term_trains():
    lo = aekit.build("codec", input_shape=(3, 16, 16), filters=8, latent_channels=8, stages=2, quality=1)
    assert lo.config.rate_lambda < aekit.build("codec", input_shape=(3, 16, 16), quality=8).config.rate_lambda
    h = lo.fit(smooth_pictures(32, 16, 16), epochs=2, batch_size=16, verbose=0, seed=0)
    assert {"loss", "reconstruction", "bpp"} <= set(h.history)
    with pytest.raises(AekitError, match="quality"):
        aekit.build("codec", input_shape=(3, 16, 16), quality=9)
    with pytest.raises(AekitError, match="latent_channels"):
        aekit.build("codec", input_shape=(3, 16, 16), latent_dim=32)


def test_cli_compresses_a_folder_of_sizes_and_keeps_names(trained, tmp_path, capsys):
    from PIL import Image

    ae, _ = trained
    ae.save(tmp_path / "c.aekit")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, (h, w) in {"tall": (40, 21), "odd": (37, 53), "small": (9, 12)}.items():
        Image.fromarray(smooth_pictures(1, h, w, seed=h)[0]).save(photos / f"{name}.png")
    assert main(["compress", str(tmp_path / "c.aekit"), str(photos), "-o", str(tmp_path / "p.aekz")]) == 0
    said = capsys.readouterr().out
    assert "bits per pixel" in said and "PSNR" in said
    assert main(["decompress", str(tmp_path / "p.aekz"), "-o", str(tmp_path / "back")]) == 0
    for name, (h, w) in {"tall": (40, 21), "odd": (37, 53), "small": (9, 12)}.items():
        assert Image.open(tmp_path / "back" / f"{name}.png").size == (w, h)
    assert main(["decompress", str(tmp_path / "p.aekz"), "-o", str(tmp_path / "x.npy")]) == 2


def test_report_shows_rate_and_distortion(trained, tmp_path):
    from aekit.report import write_report

    ae, x = trained
    page = write_report(ae, x[:20], out_path=tmp_path / "r.html").read_text()
    assert "Rate and distortion" in page and "bits per pixel" in page and "PSNR per channel" in page


def test_a_version_2_file_with_impossible_sizes_is_refused(trained):
    import json
    import struct
    import zlib

    from aekit.apps.codec import MAGIC
    from aekit.errors import FormatError

    ae, x = trained
    blob = compress(ae, x[:2])
    header, pos = parse_header(blob)
    header.pop("version")
    header["size"] = [0, -5]
    hb = json.dumps(header).encode()
    body = struct.pack("<8sHI", MAGIC, MODEL_VERSION, len(hb)) + hb + blob[pos:-4]
    bad = body + struct.pack("<I", zlib.crc32(body))
    with pytest.raises(FormatError, match="sizes"):
        decompress(bad, ae)
