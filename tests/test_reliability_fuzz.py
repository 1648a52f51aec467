"""Property-based fuzzing of every binary reader (issue 13): mutated, truncated and forged (valid checksums
over bad content) ``.aekit`` model files, ``.aekz`` files (codes, and the pictures of codec models), IDX
files and training checkpoints.

Properties: nothing but aekit's error types (:class:`aekit.AekitError` and subclasses) escapes a reader,
and no reader allocates more than the file's size allows: the peak of Python/numpy allocations
(``tracemalloc``) stays under a bound linear in the file size, and no ``MemoryError`` is raised (torch
allocations are not traced; the model loader builds the module on the meta device first for that reason).

Budget: ``max_examples`` below per test (13 tests), ``derandomize=True`` so CI runs the same examples every
time; set ``AEKIT_FUZZ_EXAMPLES`` to run more locally.
"""

import gzip
import json
import os
import struct
import tracemalloc
import zlib
from functools import cache

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import aekit  # noqa: E402
from aekit.core import container as aio  # noqa: E402
from aekit.errors import AekitError  # noqa: E402

EXAMPLES = int(os.environ.get("AEKIT_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def within_bounds(read, size: int, per_byte: float, slack: int = 2 << 20):
    """Run ``read()``; only AekitError may escape; the traced allocation peak stays <= per_byte * size +
    slack. Returns the result (None when the reader refused the file)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = read()
    except AekitError:
        result = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= per_byte * size + slack, f"peak {peak:,} bytes for a file of {size:,} bytes"
    return result


# --- mutations ------------------------------------------------------------------------------------------


def mutations(n: int, head: int = 400):
    """Byte edits (position, value), half of them in the first ``head`` bytes where the lengths live."""
    pos = st.one_of(st.integers(0, min(head, n) - 1), st.integers(0, n - 1))
    return st.lists(st.tuples(pos, st.integers(0, 255)), min_size=1, max_size=8)


def mutate(blob: bytes, edits) -> bytes:
    b = bytearray(blob)
    for i, v in edits:
        b[i] = v
    return bytes(b)


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([0, 1, -1, 2**31, 2**62]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=8,
)


def set_path(obj, path: tuple, value):
    """Replace obj[path[0]][path[1]]... (a missing or non-container step replaces the parent)."""
    for key in path[:-1]:
        nxt = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(nxt, dict):
            obj[key] = nxt = {}
        obj = nxt
    obj[path[-1]] = value


# --- the valid files the fuzzer starts from -------------------------------------------------------------


@cache
def seeds() -> dict:
    """The valid files, made once (not a fixture: hypothesis would print them with every failure)."""
    import tempfile

    from aekit.apps.codec import compress

    tmp = tempfile.mkdtemp(prefix="aekit-fuzz-")

    rng = np.random.default_rng(0)
    x = rng.random((24, 12), dtype=np.float32)
    ae = aekit.build("dense", input_shape=(12,), hidden=[6], latent_dim=3, seed=0)
    ae.fit(x, epochs=1, batch_size=8, verbose=0, seed=0, scale="minmax", checkpoint=os.path.join(tmp, "c.aekit"))
    ae.save(os.path.join(tmp, "m.aekit"))
    img = (rng.random((5, 4, 3)) * 255).astype(">u1")
    idx = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in img.shape) + img.tobytes()
    with open(os.path.join(tmp, "m.aekit"), "rb") as f:
        model = f.read()
    with open(os.path.join(tmp, "c.aekit"), "rb") as f:
        ckpt = f.read()
    return {
        "model": model,
        "ckpt": ckpt,
        "aekz": compress(ae, x, bits=5),
        "idx": idx,
        "idx_gz": gzip.compress(idx),
        "fingerprint": ae.fingerprint(),
    }


@pytest.fixture(scope="module")
def seed():
    return _Seeds()


class _Seeds:
    """Looks up :func:`seeds` lazily; its repr stays short in hypothesis' reports."""

    def __getitem__(self, key):
        return seeds()[key]

    def __repr__(self) -> str:
        return "seeds()"


def write(tmp_path, name: str, blob: bytes):
    p = tmp_path / name
    p.write_bytes(blob)
    return p


# --- .aekit model files ---------------------------------------------------------------------------------


def _load_model(path):
    m = aekit.load(path)
    m.encode(np.zeros((2, *m.input_shape), np.float32))  # a loaded model must also work
    return m


@FUZZ
@given(edits=st.data())
def test_model_file_mutated(seed, tmp_path, edits):
    blob = mutate(seed["model"], edits.draw(mutations(len(seed["model"]))))
    within_bounds(lambda: _load_model(write(tmp_path, "m.aekit", blob)), len(blob), 32)


@FUZZ
@given(data=st.data())
def test_model_file_truncated(seed, tmp_path, data):
    cut = data.draw(st.integers(0, len(seed["model"]) - 1))
    blob = seed["model"][:cut]
    assert within_bounds(lambda: _load_model(write(tmp_path, "m.aekit", blob)), len(blob), 32) is None


MODEL_PATHS = [
    ("config", "latent_dim"),
    ("config", "hidden"),
    ("config", "input_shape"),
    ("config",),
    ("family",),
    ("kind",),
    ("preprocessing", "scaler", "shape"),
    ("preprocessing", "scaler"),
    ("preprocessing",),
    ("history",),
    ("history", "history"),
    ("train_config",),
    ("train_config", "batch_size"),
    ("config", "activation"),
    ("config", "corruption"),
]


@FUZZ
@given(data=st.data())
def test_model_file_forged(seed, tmp_path, data):
    """Valid checksums over a header whose fields were replaced, or over mutated weights."""
    header, tensors = aio.read_file(write(tmp_path, "seed.aekit", seed["model"]))
    for k in ("payload_sha256", "payload_bytes"):
        header.pop(k)
    if data.draw(st.booleans()):
        set_path(header, data.draw(st.sampled_from(MODEL_PATHS)), data.draw(JSON_VALUES))
        blob = aio.encode_file(header, tensors)
    else:  # forge the safetensors payload itself: its own header lengths, dtypes and shapes
        from safetensors.torch import save as st_save

        payload = mutate(st_save(tensors), data.draw(mutations(len(st_save(tensors)), head=120)))
        header.update(payload_sha256=aio.payload_fingerprint(payload), payload_bytes=len(payload))
        hb = json.dumps(header, sort_keys=True).encode()
        blob = aio._PREFIX.pack(aio.MAGIC, aio.FORMAT_VERSION, len(hb)) + hb + payload
    within_bounds(lambda: _load_model(write(tmp_path, "m.aekit", blob)), len(blob), 32)


# --- .aekz files ----------------------------------------------------------------------------------------


def _decode(blob):
    from aekit.apps.codec import MAX_SYMBOLS_PER_BYTE, decode_codes

    # the codec's own limit: at most MAX_SYMBOLS_PER_BYTE codes per file byte, ~24 bytes each while decoding
    return within_bounds(lambda: decode_codes(blob), len(blob), 24 * MAX_SYMBOLS_PER_BYTE)


@FUZZ
@given(data=st.data())
def test_aekz_mutated(seed, data):
    _decode(mutate(seed["aekz"], data.draw(mutations(len(seed["aekz"])))))


@FUZZ
@given(data=st.data())
def test_aekz_truncated(seed, data):
    assert _decode(seed["aekz"][: data.draw(st.integers(0, len(seed["aekz"]) - 1))]) is None


def _reheader(blob: bytes, edit) -> bytes:
    from aekit.apps import codec

    hlen = struct.unpack_from("<I", blob, 10)[0]
    header = json.loads(blob[14 : 14 + hlen])
    body_rest = edit(header, blob[14 + hlen : -4])
    hb = json.dumps(header).encode()
    version = codec._PREFIX.unpack_from(blob, 0)[1]
    body = codec._PREFIX.pack(codec.MAGIC, version, len(hb)) + hb + body_rest
    return body + struct.pack("<I", zlib.crc32(body))


@FUZZ
@given(data=st.data())
def test_aekz_forged(seed, data):
    """Valid CRC over forged counts (n, code_size, bits, shapes) or over a mutated entropy-coded block."""
    key = data.draw(st.sampled_from(["n", "code_size", "bits", "sample_shape", "dtype", "fingerprint", "body"]))
    value = data.draw(st.one_of(st.integers(-2, 2**41), JSON_VALUES))
    edits = data.draw(mutations(len(seed["aekz"]), head=200))

    def edit(header, rest):
        if key == "body":
            return mutate(rest, [(i % len(rest), v) for i, v in edits])
        header[key] = value
        return rest

    _decode(_reheader(seed["aekz"], edit))


# --- IDX files ------------------------------------------------------------------------------------------


def _read_idx(tmp_path, blob: bytes, gz: bool):
    from aekit.datasets import read_idx

    p = write(tmp_path, "f.idx" + (".gz" if gz else ""), blob)
    # gzip: what the file holds decompressed (at most ~1032x), copied a few times while read and converted
    per_byte = 4 * 1100 if gz else 4
    return within_bounds(lambda: read_idx(p), len(blob), per_byte)


@FUZZ
@given(data=st.data())
def test_idx_mutated(seed, tmp_path, data):
    gz = data.draw(st.booleans())
    blob = seed["idx_gz"] if gz else seed["idx"]
    _read_idx(tmp_path, mutate(blob, data.draw(mutations(len(blob), head=20))), gz)


@FUZZ
@given(data=st.data())
def test_idx_truncated(seed, tmp_path, data):
    gz = data.draw(st.booleans())
    blob = seed["idx_gz"] if gz else seed["idx"]
    assert _read_idx(tmp_path, blob[: data.draw(st.integers(0, len(blob) - 1))], gz) is None


@FUZZ
@given(data=st.data())
def test_idx_forged(seed, tmp_path, data):
    """Any type code, rank and sizes (up to 2**32 - 1 each) in front of a short payload, plain or gzip."""
    code = data.draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF]))
    dims = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=5))
    payload = data.draw(st.binary(max_size=64))
    blob = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload
    gz = data.draw(st.booleans())
    arr = _read_idx(tmp_path, gzip.compress(blob) if gz else blob, gz)
    if arr is not None:
        assert list(arr.shape) == dims


# --- training checkpoints -------------------------------------------------------------------------------


def _restore(path):
    """Restore into a fresh state of the same model, then train one epoch from it: a checkpoint that is
    accepted must also be usable. A refused one must leave the state as it was."""
    from aekit.models.config import TrainConfig
    from aekit.training.batches import ArraySource
    from aekit.training.checkpoint import restore_checkpoint
    from aekit.training.loop import fit_loop, new_state

    ae = aekit.build("dense", input_shape=(12,), hidden=[6], latent_dim=3, seed=1)
    cfg = TrainConfig(epochs=2, batch_size=8, verbose=0, seed=0)
    state = new_state(ae.module, cfg, ae.loss_spec)
    before = {k: v.clone() for k, v in ae.module.state_dict().items()}
    try:
        restore_checkpoint(path, state)
    except AekitError:
        assert all(torch.equal(before[k], v) for k, v in ae.module.state_dict().items())
        raise
    fit_loop(state, ArraySource(torch.rand(16, 12)))
    return state


def _ckpt(tmp_path, blob):
    return within_bounds(lambda: _restore(write(tmp_path, "c.aekit", blob)), len(blob), 32)


@FUZZ
@given(data=st.data())
def test_checkpoint_mutated(seed, tmp_path, data):
    _ckpt(tmp_path, mutate(seed["ckpt"], data.draw(mutations(len(seed["ckpt"])))))


@FUZZ
@given(data=st.data())
def test_checkpoint_truncated(seed, tmp_path, data):
    assert _ckpt(tmp_path, seed["ckpt"][: data.draw(st.integers(0, len(seed["ckpt"]) - 1))]) is None


CKPT_PATHS = [
    ("training_state",),
    ("training_state", "epoch"),
    ("training_state", "optimizer"),
    ("training_state", "optimizer", "state"),
    ("training_state", "optimizer", "param_groups"),
    ("training_state", "optimizer", "state", "0"),
    ("training_state", "optimizer", "state", "0", "step"),
    ("history",),
    ("history", "epoch"),
]


@FUZZ
@given(data=st.data())
def test_checkpoint_forged(seed, tmp_path, data):
    """Valid checksums over a forged training state or optimizer hyper-parameters, or over tensors removed
    or replaced (RNG states, optimizer moments, weights) by ones of another shape or dtype."""
    header, tensors = aio.read_file(write(tmp_path, "seed.aekit", seed["ckpt"]))
    for k in ("payload_sha256", "payload_bytes"):
        header.pop(k)
    mode = data.draw(st.sampled_from(["header", "group", "tensor"]))
    if mode == "header":
        set_path(header, data.draw(st.sampled_from(CKPT_PATHS)), data.draw(JSON_VALUES))
    elif mode == "group":  # the optimizer's hyper-parameters: lr, betas, eps, amsgrad, ...
        group = header["training_state"]["optimizer"]["param_groups"][0]
        group[data.draw(st.sampled_from(sorted(group)))] = data.draw(
            st.one_of(JSON_VALUES, st.sampled_from([-1.0, 0.0, True, [0.5, 2.0], [0.9], "adam"]))
        )
    else:
        key = data.draw(st.sampled_from(sorted(tensors)))
        shape = data.draw(st.lists(st.integers(0, 7), max_size=3))
        dtype = data.draw(st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.int64, torch.bool]))
        if data.draw(st.booleans()):
            del tensors[key]
        else:
            tensors[key] = torch.zeros(shape, dtype=dtype)
    _ckpt(tmp_path, aio.encode_file(header, tensors))


# --- .aekz files of a codec model (version 2: pictures through the model's own entropy model) -----------


@cache
def codec_seed():
    from aekit.apps.codec import compress

    ae = aekit.build("codec", input_shape=(16, 16, 3), filters=8, latent_channels=4, stages=2, seed=0)
    pics = (np.random.default_rng(0).random((3, 16, 16, 3)) * 255).astype(np.uint8)
    return ae, compress(ae, pics)


def _decompress_v2(blob):
    from aekit.apps.codec import MAX_PIXELS_PER_BYTE, decompress

    ae, _ = codec_seed()
    # pictures decoded as float32 and converted back: a few copies of what the file may claim
    return within_bounds(lambda: decompress(blob, ae), len(blob), 16 * MAX_PIXELS_PER_BYTE)


@FUZZ
@given(data=st.data())
def test_aekz_codec_model_forged(data):
    """Valid CRC over forged picture counts and sizes, or over a mutated model-coded block."""
    _, blob = codec_seed()
    key = data.draw(st.sampled_from(["n", "sizes", "size", "channels", "dtype", "layout", "body", "cut"]))
    value = data.draw(
        st.one_of(
            st.integers(-2, 2**41),
            JSON_VALUES,
            st.lists(st.tuples(st.integers(-1, 2**20), st.integers(-1, 2**20)), max_size=4),
        )
    )
    edits = data.draw(mutations(len(blob), head=200))
    if key == "cut":
        _decompress_v2(blob[: data.draw(st.integers(0, len(blob) - 1))])
        return

    def edit(header, rest):
        if key == "body":
            return mutate(rest, [(i % len(rest), v) for i, v in edits])
        header[key] = value
        return rest

    out = _decompress_v2(_reheader(blob, edit))
    if key in ("dtype", "layout", "body") and out is not None:  # counts intact: pictures come back
        assert len(out) == 3
