"""Data-loading bench for aekit.datasets; writes bench/results/datasets.json.

Measures, on the real data in ../shared/data (or $AEKIT_SHARED_DATA):

* cats: ``load_images(cats/train, size=(48, 48))`` cold (empty aekit cache; the JPEG files themselves may
  be in the OS page cache), with the default parallel decoders and with one decoder, then from aekit's
  cache (median of 3);
* MNIST: ``load_mnist(shared/mnist)`` (60k + 10k, gzip IDX) and ``load_digits_sample()`` (median of 3);
* Reuters-21578: load time, documents, sentences, distinct normalised tokens, and the share of tokens
  covered by a V = 5,000 vocabulary;
* streaming memory: in a fresh process per figure, the peak RSS (VmHWM, reset after setup through
  /proc/self/clear_refs) while streaming one shuffled epoch of N generated PNGs (64x64 RGB, batches of 64)
  with ``ImageStream``, for N = 1,000, 4,000 and 8,000, next to loading them all with ``load_images``;
  "setup" is building the stream (listing the folder, opening each header); and ``ArrayStream`` over a
  195 MiB .npy against ``np.load``.

    python bench/datasets_load.py          # about a minute on a shared 2-core machine
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

SHARED = Path(os.environ.get("AEKIT_SHARED_DATA") or ROOT.parent / "shared" / "data")
RESULTS = ROOT / "bench" / "results" / "datasets.json"


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the forked decoders)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_cpu(fn):
    c = cpu_seconds()
    out, wall = timed(fn)
    return out, wall, round(cpu_seconds() - c, 3)


def timed(fn, repeat=1):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, round(statistics.median(times), 3)


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


# --- child processes for the memory figures (fresh processes, so each peak is its own) -------------------


def reset_peak() -> None:
    """Restart VmHWM at the current RSS (Linux >= 4.0), so a peak covers only what follows."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(kind: str, target: str) -> None:
    import aekit.datasets as ds

    base = status_kib("VmRSS")
    n = 0
    if kind == "image_stream":
        s = ds.ImageStream(target, size=(64, 64), workers=2)
    elif kind == "array_stream":
        s = ds.ArrayStream(target)
    setup_peak = status_kib("VmHWM")
    ready = status_kib("VmRSS")
    reset_peak()
    if kind == "image_stream":
        for b in s.iter_batches(64, shuffle=True, seed=0):
            n += len(b)
    elif kind == "load_images":
        n = len(ds.load_images(target, size=(64, 64), cache=False, workers=1).x)
    elif kind == "array_stream":
        for b in s.iter_batches(256, shuffle=True, seed=0):
            n += len(b)
    elif kind == "np_load":
        n = len(np.load(target))
    peak = status_kib("VmHWM")
    print(
        json.dumps(
            {
                "samples": n,
                "rss_after_import_mib": round(base / 1024, 1),
                "setup_peak_growth_mib": round((setup_peak - base) / 1024, 1),
                "load_or_epoch_peak_growth_mib": round((peak - ready) / 1024, 1),
                "peak_rss_mib": round(max(peak, setup_peak) / 1024, 1),
            }
        )
    )


def run_child(kind: str, target) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(target)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_pngs(folder: Path, n: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        # smooth random pictures (noise would make unrealistically large PNGs)
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize((64, 64), Image.Resampling.BILINEAR).save(folder / f"{i:05d}.png")


# --- the figures --------------------------------------------------------------------------------------------


def bench_cats(res: dict) -> None:
    import aekit.datasets as ds

    cats = SHARED / "cats" / "train"
    if not cats.is_dir():
        res["cats"] = {"skipped": f"{cats} not found"}
        return
    with tempfile.TemporaryDirectory() as cache:
        os.environ["AEKIT_DATA"] = cache
        s, cold, cold_cpu = timed_cpu(lambda: ds.load_images(cats, size=(48, 48)))
        _, cached = timed(lambda: ds.load_images(cats, size=(48, 48)), repeat=3)
        _, cold_serial, serial_cpu = timed_cpu(lambda: ds.load_images(cats, size=(48, 48), cache=False, workers=1))
    del os.environ["AEKIT_DATA"]
    res["cats"] = {
        "images": int(len(s.x)),
        "shape": list(s.x.shape),
        "skipped": len(s.skipped),
        "cold_load_s": cold,
        "cold_load_cpu_s": cold_cpu,
        "cold_load_one_decoder_s": cold_serial,
        "cold_load_one_decoder_cpu_s": serial_cpu,
        "cached_load_s": cached,
        "decoders": ds.images.default_workers(None),
        "note": "wall times depend on the other jobs sharing the 2 cores (see load_average); "
        "CPU seconds (this process + forked decoders) do not, and on idle cores the "
        "parallel wall time is about cold_load_cpu_s / decoders",
    }


def bench_mnist(res: dict) -> None:
    import aekit.datasets as ds

    folder = SHARED / "mnist"
    out = {}
    if folder.is_dir():
        ((x, _), (xt, _)), t = timed(lambda: ds.load_mnist(folder), repeat=3)
        out.update(train=int(len(x)), test=int(len(xt)), load_s=t)
    else:
        out["skipped"] = f"{folder} not found"
    _, t = timed(ds.load_digits_sample, repeat=3)
    out["digits_sample_load_s"] = t
    res["mnist"] = out


def bench_reuters(res: dict, vocab_size: int = 5000) -> None:
    import aekit.datasets as ds

    folder = SHARED / "reuters21578"
    if not folder.is_dir():
        res["reuters"] = {"skipped": f"{folder} not found"}
        return
    docs, t_load = timed(lambda: ds.load_reuters(folder))
    t = time.perf_counter()
    sents = [s for d in docs for s in ds.split_sentences(d.body)]
    tokens = [ds.normalize(ds.tokenize(s)) for s in sents]
    t_tok = time.perf_counter() - t
    vocab = ds.Vocabulary.build(tokens, size=vocab_size)
    n_tok = sum(len(x) for x in tokens)
    known = sum(1 for x in tokens for w in x if w in vocab.stoi)
    res["reuters"] = {
        "files": len(list(folder.glob("reut2-*.sgm"))),
        "documents": len(docs),
        "documents_with_body": sum(1 for d in docs if d.body),
        "lewissplit": {k: sum(1 for d in docs if d.lewissplit == k) for k in ("TRAIN", "TEST", "NOT-USED")},
        "load_s": t_load,
        "sentences": len(sents),
        "tokens": n_tok,
        "distinct_normalised_tokens": len({w for x in tokens for w in x}),
        "split_tokenize_normalise_s": round(t_tok, 3),
        "vocabulary_size_V": len(vocab),
        "token_coverage_of_V": round(known / n_tok, 4),
    }


def bench_streaming(res: dict) -> None:
    out = {"picture": "64x64 RGB PNG, streamed at 64x64, batch 64, shuffled, 2 decoder threads"}
    with tempfile.TemporaryDirectory() as tmp:
        make_pngs(Path(tmp) / "all", 8000)
        for n in (1000, 4000, 8000):
            folder = Path(tmp) / f"png{n}"
            folder.mkdir()
            for i in range(n):
                (folder / f"{i:05d}.png").symlink_to(Path(tmp) / "all" / f"{i:05d}.png")
            out[f"image_stream_{n}"] = run_child("image_stream", folder)
            out[f"load_images_{n}"] = run_child("load_images", folder)
        arr = Path(tmp) / "big.npy"
        np.save(arr, np.random.default_rng(0).random((100_000, 512), dtype=np.float32))
        out["array"] = "100,000 x 512 float32 .npy (195 MiB), batch 256, shuffled"
        out["array_stream"] = run_child("array_stream", arr)
        out["np_load"] = run_child("np_load", arr)
    res["streaming_memory"] = out


def main() -> None:
    import PIL

    res = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pillow": PIL.__version__,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "shared_data": str(SHARED),
    }
    for step in (bench_cats, bench_mnist, bench_reuters, bench_streaming):
        t = time.perf_counter()
        step(res)
        print(f"{step.__name__}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    res["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from aekit.core.container import atomic_write

    atomic_write(RESULTS, (json.dumps(res, indent=2) + "\n").encode())
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
