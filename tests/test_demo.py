"""`aekit demo --quick`: the out-of-the-box run (and the CI smoke run) writes models and one report."""
import re
import time

import aekit
from aekit.cli.main import main


def test_demo_quick(tmp_path, capsys):
    t0 = time.perf_counter()
    rc = main(["demo", "--quick", "--out", str(tmp_path), "--quiet"])
    seconds = time.perf_counter() - t0
    assert rc == 0
    html = (tmp_path / "report.html").read_text()
    assert html.count("<h2>") == 3  # one section per model
    for h in ("Convolutional autoencoder", "Denoising", "Latent manifold", "t-SNE"):
        assert h in html, h
    assert len(re.findall(r"<img ", html)) >= 20
    for name in ("conv.aekit", "denoising.aekit", "vae2d.aekit"):
        m = aekit.load(tmp_path / name)
        assert len(m.history.epoch) >= 2
    # quality floor: recognisable reconstructions (validation BCE well below an untrained model's ~0.69)
    assert aekit.load(tmp_path / "conv.aekit").history.history["val_loss"][-1] < 0.3
    assert aekit.load(tmp_path / "denoising.aekit").history.history["val_loss"][-1] < 0.2
    assert seconds < 180  # < 60 s on an idle 2-core machine; slack for a loaded CI box
