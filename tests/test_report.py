"""The HTML report: one self-contained file, the sections that apply, and every picture loads in a browser."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import aekit
from aekit.report import write_report


@pytest.fixture(scope="module")
def digits():
    from aekit.datasets import load_digits_sample

    x, y = load_digits_sample()
    return x[:300], y[:300]


def _imgs(html: str) -> list:
    return re.findall(r"<img [^>]*src=\"([^\"]+)\"", html)


def test_vae_report_has_manifold_samples_and_no_network(digits, tmp_path):
    x, y = digits
    ae = aekit.build("vae", input_shape=(28, 28), hidden=[32], latent_dim=2, seed=0)
    ae.fit(x, validation_data=x[:50], epochs=2, batch_size=64, verbose=0, seed=0)
    p = write_report(ae, x, y, tmp_path / "r.html", title="VAE <test>")
    html = p.read_text()
    srcs = _imgs(html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)  # nothing fetched from the network
    for h in (
        "Loss curves",
        "Reconstructions",
        "Latent space",
        "Latent manifold",
        "Samples",
        "First-layer filters",
        "Reconstruction error",
        "compression factor",
    ):
        assert h in html, h
    assert "Denoising" not in html and "VAE &lt;test&gt;" in html  # title escaped
    assert "392.0 (784 / 2)" in html  # compression factor = input size / code size
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_denoising_conv_report_has_noisy_rows_codes_and_tsne(digits, tmp_path):
    x, y = digits
    ae = aekit.build("conv", input_shape=(1, 28, 28), filters=[4, 4], corruption="gaussian:0.5", seed=0)
    ae.fit(x, epochs=1, batch_size=64, verbose=0, seed=0)
    html = write_report(ae, x[:120], y[:120], tmp_path / "r.html").read_text()
    for h in ("Denoising", "noisy", "Codes", "t-SNE", "Latent space"):
        assert h in html, h
    assert "Latent manifold" not in html
    assert len(_imgs(html)) == 7  # curves, reconstructions, denoising, codes, map, filters, histogram


def test_series_report_shows_series_not_pictures(tmp_path):
    t = np.linspace(0, 20, 40 * 16, dtype=np.float32).reshape(40, 16, 1)
    x = np.sin(t + np.arange(40, dtype=np.float32)[:, None, None])
    ae = aekit.build("lstm", input_shape=(16, 1), hidden=8, latent_dim=2, seed=0)
    ae.fit(x, epochs=1, batch_size=16, verbose=0, seed=0)
    html = write_report(ae, x, None, tmp_path / "r.html").read_text()
    assert "Reconstructions" in html and "First-layer filters" not in html and "Codes" not in html
    assert "Reconstruction error" in html


@pytest.mark.parametrize("family", ["conv", "conv_vae"])
def test_report_of_a_conv_model_on_windows_draws_lines(family, tmp_path):
    # a conv model holds 30-step windows as (1, 30, 1) pictures; the report reshaped them to (4, 1, 30, 1)
    # and matplotlib refused to plot them, so 'aekit train conv_vae --data series.csv' ended in an
    # internal error after training
    t = np.linspace(0, 20, 40 * 30, dtype=np.float32).reshape(40, 30, 1)
    ae = aekit.build(family, input_shape=(1, 30, 1), filters=[4], latent_dim=2, seed=0)
    ae.fit(np.sin(t), epochs=1, batch_size=16, verbose=0, seed=0)
    ae.data.kind, ae.data.window, ae.data.stride = "series", 30, 15  # as 'aekit train' records a series
    html = write_report(ae, np.sin(t), None, tmp_path / "r.html").read_text()
    assert "Reconstructions" in html and "as series" in html


def test_empty_input_is_a_user_error(tmp_path):
    ae = aekit.build("dense", input_shape=(4,), hidden=[], latent_dim=2, seed=0)
    with pytest.raises(aekit.AekitError):
        write_report(ae, np.zeros((0, 4), np.float32), out_path=tmp_path / "r.html")


def chromium() -> str | None:
    for c in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(c)
        if p:
            return p
    return None


def render_in_chromium(html_path: Path, screenshot: Path, work: Path) -> tuple[int, int]:
    """Open the report in headless Chromium, save a screenshot, and return (images loaded, <img> tags) as
    counted by the report's own onload script (``<body data-images-loaded=...>``)."""
    exe = chromium()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={work / 'profile'}",
        "--virtual-time-budget=10000",
    ]
    url = html_path.resolve().as_uri()
    subprocess.run(
        [exe, *flags, f"--screenshot={screenshot}", "--window-size=1200,3000", url],
        capture_output=True,
        timeout=180,
        check=False,
    )
    dom = subprocess.run([exe, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
    m = re.search(r"<body[^>]*data-images-loaded=\"(\d+)\"", dom)
    assert m, "the report's onload script did not run (no data-images-loaded count in the DOM)"
    return int(m.group(1)), len(_imgs(html_path.read_text()))


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_every_image_loads_in_chromium(digits, tmp_path):
    x, y = digits
    ae = aekit.build("vae", input_shape=(28, 28), hidden=[32], latent_dim=2, seed=0)
    ae.fit(x, epochs=1, batch_size=64, verbose=0, seed=0)
    page = write_report(ae, x[:100], y[:100], tmp_path / "r.html")
    loaded, total = render_in_chromium(page, tmp_path / "shot.png", tmp_path)
    assert total >= 7 and loaded == total
    assert (tmp_path / "shot.png").stat().st_size > 10_000
