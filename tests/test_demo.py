"""`aekit demo`: the demo is ordinary training runs plus one report. The full quick demo (and its quality
floors) runs in CI (.ci/run); here a tiny plan checks what the demo writes."""

import re

import aekit
from aekit.runs.demo import run_demo

# 2-D codes: the report draws them as they are (no t-SNE), which keeps this test quick
TINY = [
    ("Convolutional autoencoder", "conv", {"filters": [4], "latent_dim": 2}, 1, {}),
    ("Variational autoencoder with a 2-D code", "vae", {"hidden": [16], "latent_dim": 2}, 2, {}),
]


def test_demo_writes_run_folders_and_one_report(tmp_path, monkeypatch):
    monkeypatch.setattr("aekit.runs.demo.QUICK_TRAIN", 300)
    monkeypatch.setattr("aekit.runs.demo.QUICK_VAL", 100)
    report = run_demo(tmp_path, quick=True, verbose=0, plan=TINY)
    html = report.read_text()
    assert report == tmp_path / "report.html" and html.count("<h2>") == 2  # one section per model
    for h in ("Convolutional autoencoder", "Latent manifold", "Latent space"):
        assert h in html, h
    assert len(re.findall(r"<img ", html)) >= 10
    for name, epochs in (("conv", 1), ("denoising", 2)):  # run folders named by position in the plan
        m = aekit.load(tmp_path / name / "model.aekit")
        assert len(m.history.epoch) == epochs and "val_loss" in m.history.history
        assert (tmp_path / name / "history.csv").read_text().count("\n") == epochs + 1
        assert m.data.source == "digits" and m.data.image_shape == (1, 28, 28)
