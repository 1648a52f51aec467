"""Reduce dimensions and visualise: aekit.apps.embed and the ``aekit embed`` command."""

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.apps.embed import embed, map_2d
from aekit.cli.cmd_embed import embed_file
from aekit.cli.main import main
from aekit.errors import AekitError
from aekit.report.plots import plot_map

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def small_model(tmp_path):
    ae = aekit.build("dense", input_shape=(16,), hidden=[8], latent_dim=3, seed=0)
    x = np.random.default_rng(0).random((40, 16), dtype=np.float32)
    path = tmp_path / "m.aekit"
    ae.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(40) % 4)
    return ae, x, path


def test_embed_and_map_shapes(small_model):
    ae, x, _ = small_model
    codes = embed(ae, x)
    assert codes.shape == (40, 3) and codes.dtype == np.float32
    np.testing.assert_allclose(codes, ae.encode(x), rtol=1e-6)
    assert map_2d(codes, "pca").shape == (40, 2)
    t = map_2d(codes, "tsne", seed=0)
    assert t.shape == (40, 2) and np.isfinite(t).all()
    two = np.random.default_rng(1).normal(size=(10, 2)).astype(np.float32)
    np.testing.assert_array_equal(map_2d(two, "tsne"), two)  # a 2-D code is its own map


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_map_of_identical_or_nearly_identical_codes_is_finite(method):
    # t-SNE's PCA start divided by a zero spread and its Barnes-Hut tree killed the process (SIGSEGV) on
    # the NaN; a constant input gives a model whose codes are all equal, and 'aekit train' maps them
    same = np.ones((30, 5), np.float32)
    np.testing.assert_array_equal(map_2d(same, method), np.zeros((30, 2), np.float32))
    close = same.copy()
    close[0, 0] = np.nextafter(np.float32(1), np.float32(2))  # differ in the last bit of one value
    m = map_2d(close, method)
    assert m.shape == (30, 2) and np.isfinite(m).all()


def test_map_errors():
    z = np.zeros((10, 4), np.float32)
    with pytest.raises(AekitError, match="expected one of tsne, pca, umap"):
        map_2d(z, "mds")
    with pytest.raises(AekitError, match="N >= 3"):
        map_2d(np.zeros((2, 4)), "pca")
    with pytest.raises(AekitError, match="NaN"):
        map_2d(np.full((5, 4), np.nan), "pca")
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(AekitError, match="umap-learn"):
            map_2d(np.random.default_rng(0).normal(size=(20, 4)), "umap")


def test_sentences_to_a_non_text_model_is_an_error(small_model):
    with pytest.raises(AekitError, match="no text vocabulary"):
        embed(small_model[0], ["a sentence"])


def test_dense_autoencoder_beats_pca_at_equal_code_size():
    # Points on an open curve in 12-D: one number describes each, but no straight line does.
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 0.8, size=(1500, 1))
    freq, phase = rng.uniform(0.5, 2.0, size=12), rng.uniform(0, np.pi, size=12)
    x = (0.5 + 0.4 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)  # (1500, 12)
    x_tr, x_te = x[:1200], x[1200:]
    from sklearn.decomposition import PCA

    pca = PCA(1).fit(x_tr)
    pca_mse = float(((pca.inverse_transform(pca.transform(x_te)) - x_te) ** 2).mean())
    ae = aekit.build(
        "dense", input_shape=(12,), hidden=[64, 32], latent_dim=1, activation="tanh", output_activation="linear", seed=0
    )
    ae.fit(x_tr, epochs=60, batch_size=64, lr=3e-3, verbose=0, seed=0)
    ae_mse = float(((ae.reconstruct(x_te) - x_te) ** 2).mean())
    assert ae_mse < 0.5 * pca_mse, (ae_mse, pca_mse)


def test_plot_map_writes_png(tmp_path):
    import subprocess
    import sys

    pts = np.random.default_rng(0).normal(size=(50, 2))
    p = plot_map(pts, np.arange(50) % 5, tmp_path / "sub" / "m.png", title="t", class_names=list("abcde"))
    # no global matplotlib state: drawing neither picks a backend nor imports pyplot (in a fresh interpreter)
    code = (
        "import numpy as np, sys, matplotlib; from aekit.report.plots import plot_map; "
        f"plot_map(np.zeros((5, 2)), [0, 1, 0, 1, 2], {str(tmp_path / 'x.png')!r}); "
        "print('matplotlib.pyplot' in sys.modules, matplotlib.rcParams._get_backend_or_none())"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False",
        "None",
    ]
    assert p.read_bytes()[:8] == PNG
    with Image.open(p) as im:
        assert im.size[0] > 100 and im.size[1] > 100
    assert plot_map(pts, None, tmp_path / "n.png").read_bytes()[:8] == PNG
    with pytest.raises(AekitError, match=r"\(N, 2\)"):
        plot_map(np.zeros((5, 3)), None, tmp_path / "bad.png")
    with pytest.raises(AekitError, match="4 labels for 50 points"):
        plot_map(pts, [0, 1, 2, 3], tmp_path / "bad.png")


def test_cli_embed_golden(small_model, tmp_path, capsys):
    ae, x, model = small_model
    out, img = tmp_path / "codes.npy", tmp_path / "map.png"
    rc = main(
        [
            "embed",
            str(model),
            str(tmp_path / "x.npy"),
            "-o",
            str(out),
            "--map",
            "pca",
            "--map-image",
            str(img),
            "--labels",
            str(tmp_path / "y.npy"),
            "--json",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 40 and res["code_size"] == 3 and res["map"] == "pca" and res["coloured_by_labels"]
    np.testing.assert_allclose(np.load(out), ae.encode(x), rtol=1e-5, atol=1e-6)
    assert img.read_bytes()[:8] == PNG
    # no --map-image: the picture goes next to the codes
    rc = main(["embed", str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "c2.npy"), "--map", "pca"])
    assert rc == 0 and (tmp_path / "c2_map.png").read_bytes()[:8] == PNG
    assert "40 codes of size 3" in capsys.readouterr().out
    # labels as a one-column CSV under a header line, or a plain text file without one
    y = np.load(tmp_path / "y.npy")
    (tmp_path / "y.csv").write_text("label\n" + "\n".join(map(str, y)) + "\n")
    (tmp_path / "y.txt").write_text("\n".join(map(str, y)) + "\n")
    for lab in ("y.csv", "y.txt"):
        rc = main(
            [
                "--json",
                "embed",
                str(model),
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "c3.npy"),
                "--map",
                "pca",
                "--labels",
                str(tmp_path / lab),
            ]
        )
        assert rc == 0 and json.loads(capsys.readouterr().out)["coloured_by_labels"], lab


def test_cli_embed_errors(small_model, tmp_path, capsys):
    _, _, model = small_model
    np.save(tmp_path / "bad_labels.npy", np.arange(7))
    rc = main(
        [
            "embed",
            str(model),
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "c.npy"),
            "--map",
            "pca",
            "--labels",
            str(tmp_path / "bad_labels.npy"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "aekit: error:" in err and "expected 40 labels" in err
    rc = main(["embed", str(model), str(tmp_path / "missing.npy"), "-o", str(tmp_path / "c.npy")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((5, 7), np.float32))
    rc = main(["embed", str(model), str(tmp_path / "wrong.npy"), "-o", str(tmp_path / "c.npy")])
    assert rc == 2 and "aekit: error:" in capsys.readouterr().err


def test_embed_file_image_folder_labels_from_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for cls, level in (("dark", 40), ("light", 210)):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(4):
            a = np.clip(level + rng.normal(0, 10, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(a, "L").save(tmp_path / "pics" / cls / f"{i}.png")
    ae = aekit.build("dense", input_shape=(1, 8, 8), hidden=[16], latent_dim=2, seed=0)
    res = embed_file(ae, tmp_path / "pics", tmp_path / "c.npy", map_image=tmp_path / "m.png")
    assert res["n"] == 8 and res["code_size"] == 2 and res["coloured_by_labels"] and res["map"] == "codes"
    assert np.load(tmp_path / "c.npy").shape == (8, 2)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
