"""ONNX export: every part of every family matches PyTorch in onnxruntime, with a dynamic batch size.

onnx and onnxruntime are optional extras (aekit[onnx]); these tests skip cleanly without them, except the
test of the error a user gets when onnx is missing.
"""

import json
import sys

import numpy as np
import pytest

import aekit
from aekit import AekitError
from aekit.autoencoder.onnx import export_onnx
from aekit.cli.main import main

CASES = {
    "dense": ("dense", (12,), {"hidden": [16], "latent_dim": 3}),
    "vae": ("vae", (12,), {"hidden": [16], "latent_dim": 2}),
    "conv": ("conv", (1, 10, 9), {"filters": [4, 4]}),  # odd sizes, the feature map as the code
    "conv_vae": ("conv_vae", (3, 8, 8), {"filters": [4, 8]}),  # encoder exports the posterior mean
    "lstm": ("lstm", (6, 2), {"hidden": 8, "latent_dim": 3, "bidirectional": True}),
}


def trained(name):
    family, shape, opts = CASES[name]
    ae = aekit.build(family, input_shape=shape, seed=0, **opts)
    x = np.random.default_rng(0).random((32, *ae.input_shape), dtype=np.float32) * 4 - 1
    # scale= puts a scaler in the model: the export must bake it in to match encode/reconstruct
    ae.fit(x, epochs=1, batch_size=16, verbose=0, seed=0, scale="standard", device="cpu")
    return ae, x


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnx_matches_pytorch_for_every_part_and_batch_size(name, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    ae, x = trained(name)
    z = np.random.default_rng(1).normal(size=(32, ae.code_size)).astype(np.float32)
    for part in ("encoder", "decoder", "full"):
        path = ae.export_onnx(tmp_path / f"{part}.onnx", part=part)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for n in (1, 7):  # two batch sizes through one exported graph: the batch axis is dynamic
            if part == "decoder":
                got, want = sess.run(None, {"z": z[:n]})[0], ae.decode(z[:n])
            elif part == "encoder":
                got, want = sess.run(None, {"x": x[:n]})[0], ae.encode(x[:n])
            else:
                got, want = sess.run(None, {"x": x[:n]})[0], ae.reconstruct(x[:n])
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=f"{name} {part} n={n}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoder.onnx", "encoder.onnx", "full.onnx"]


def test_export_leaves_the_model_untouched(tmp_path):
    pytest.importorskip("onnx")
    ae, x = trained("dense")
    before, codes = ae.fingerprint(), ae.encode(x)
    export_onnx(ae, tmp_path / "sub" / "m.onnx")  # the folder is created
    assert ae.fingerprint() == before and not ae.module.training
    np.testing.assert_array_equal(ae.encode(x), codes)


def test_export_errors(tmp_path, monkeypatch):
    ae = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
    with pytest.raises(AekitError, match="part='middle' is not valid"):
        export_onnx(ae, tmp_path / "m.onnx", part="middle")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    with pytest.raises(AekitError, match=r"install aekit\[onnx\]"):
        export_onnx(ae, tmp_path / "m.onnx")
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_cli_export(tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    ae, x = trained("conv")
    model = ae.save(tmp_path / "m.aekit")
    out = tmp_path / "enc.onnx"
    assert main(["export", str(model), "-o", str(out), "--part", "encoder", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["part"] == "encoder" and info["family"] == "conv" and info["output"] == str(out)
    got = ort.InferenceSession(str(out)).run(None, {"x": x[:5]})[0]
    np.testing.assert_allclose(got, ae.encode(x[:5]), atol=1e-5, rtol=0)
    assert main(["export", str(model), "-o", str(tmp_path / "full.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "full.onnx").exists()
    assert main(["export", str(tmp_path / "missing.aekit"), "-o", str(out)]) == 2
    assert "aekit: error: model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["export", str(model), "-o", str(out), "--part", "middle"])
    assert e.value.code == 2
