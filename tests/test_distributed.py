"""Data-parallel training: 2 CPU processes (gloo) through torchrun against one process, resume, a dead rank.

The process tests start real torchrun runs (``python -m torch.distributed.run``), each child with
OMP_NUM_THREADS=1; the rest checks the sharding rules in this process.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit.core.arrays import shard_bounds
from aekit.datasets import ArrayStream
from aekit.errors import AekitError
from aekit.training import distributed
from aekit.training.batches import ArraySource, StreamSource
from aekit.training.distributed import World
from aekit.training.loop import LoopState

README = Path(__file__).resolve().parents[1] / "docs" / "scale-out.md"  # the guide's page
RUN_TIMEOUT = 240  # a whole launch on a loaded 2-core machine; the dead-rank bound is asserted separately


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


def _argv(command: str) -> list[str]:
    """A README command line as argv: ``torchrun``/``aekit`` become this interpreter's modules."""
    words = shlex.split(command)
    head = {"torchrun": [sys.executable, "-m", "torch.distributed.run"], "aekit": [sys.executable, "-m", "aekit"]}
    return head[words[0]] + words[1:]


def _weights(path) -> dict:
    return aekit.load(path).module.state_dict()


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def _data(path: Path, n: int = 1100, f: int = 16) -> Path:
    # 1100 = 4 batches of 256 + 76: the last global batch splits 38/38
    np.save(path, np.random.default_rng(0).random((n, f), dtype=np.float32))
    return path


# --- 2 processes against 1, through the README's command ----------------------------------------------------


def test_readme_torchrun_command_matches_one_process(tmp_path, capsys):
    text = README.read_text(encoding="utf-8")
    section = text.split("# Many processes and machines", 1)[1].split("\n## ", 1)[0]
    cmd = next(line for line in section.splitlines() if line.startswith("torchrun --standalone --nproc-per-node 2"))
    _data(tmp_path / "big.npy")
    proc = subprocess.run(_argv(cmd), cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = aekit.load(tmp_path / "runs/ddp/model.aekit")
    assert (two.parallel.world_size, two.parallel.global_batch_size, two.parallel.batch_per_process) == (2, 256, 128)
    assert (tmp_path / "runs/ddp/history.csv").is_file() and (tmp_path / "runs/ddp/report.html").is_file()
    assert proc.stdout.count("trained dense") == 1  # rank 0 reports, once
    from aekit.cli.main import main

    assert main(["info", str(tmp_path / "runs/ddp/model.aekit")]) == 0
    assert "2 processes, global batch 256" in capsys.readouterr().out

    # the same command in one process (this one), same seed and global batch
    words = shlex.split(cmd)
    one_args = words[words.index("aekit") + 1 :]
    one_args[one_args.index("runs/ddp")] = str(tmp_path / "one")
    one_args[one_args.index("big.npy")] = str(tmp_path / "big.npy")
    assert main([*one_args, "--no-report", "--quiet"]) == 0
    one = aekit.load(tmp_path / "one/model.aekit")
    assert one.parallel.world_size == 1
    assert _max_diff(one.module.state_dict(), two.module.state_dict()) < 1e-5
    for key in ("loss",):
        np.testing.assert_allclose(two.history.history[key], one.history.history[key], rtol=1e-5)
    assert one.history.history["loss"][-1] < one.history.history["loss"][0]  # it trained


# --- a dead rank, then resume under 2 processes ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out += [int(d.name), *_children(int(d.name))]
            except (OSError, ValueError, IndexError):
                pass
    return out


def _rank_pid(launcher: int, rank: int):
    for pid in _children(launcher):
        try:
            env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"TORCHELASTIC_RUN_ID" in b"".join(env):
            return pid
    return None


RESUME_SCRIPT = """
import os, sys
import numpy as np, aekit

ckpt, data, epochs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ae = aekit.load(ckpt)  # the killed run's model; fit restores weights, optimizer, epoch and RNG states
ae.fit(np.load(data), epochs=epochs, batch_size=32, seed=3, verbose=0, checkpoint=ckpt, resume=True)
ae.save(out)  # rank 0 writes
if os.environ["RANK"] == "0":
    print("resumed", ae.parallel.world_size, len(ae.history.epoch))
"""


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the worker processes through /proc")
def test_dead_rank_stops_the_run_with_one_line_and_resume_continues(tmp_path):
    data = _data(tmp_path / "x.npy", n=2000, f=12)
    out = tmp_path / "run"
    common = [
        "dense",
        "--data",
        str(data),
        "--out",
        str(out),
        "--seed",
        "3",
        "--no-report",
        "--set",
        "hidden=8",
        "--set",
        "latent_dim=3",
        "--set",
        "batch_size=32",
    ]
    p = subprocess.Popen(
        [sys.executable, "-m", "aekit", "train", *common, "--nproc", "2", "--set", "epochs=10000"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + RUN_TIMEOUT
        while not (out / "checkpoint.aekit").exists() and time.time() < deadline and p.poll() is None:
            time.sleep(0.1)
        victim = _rank_pid(p.pid, 1)
        assert victim is not None, "rank 1 not found"
        t0 = time.time()
        os.kill(victim, signal.SIGKILL)
        _, err = p.communicate(timeout=90)
        seconds = time.time() - t0
    finally:
        if p.poll() is None:
            p.kill()
    assert seconds < 60, seconds
    assert p.returncode == 2
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"aekit: error: training process rank 1 of 2 ended with signal SIGKILL; the others were "
        r"stopped; continue with --resume from .*checkpoint\.aekit",
        last,
    ), err[-2000:]
    assert "Traceback" not in err
    ckpt = aekit.load(out / "checkpoint.aekit")  # complete: the checksum holds
    done = len(ckpt.history.epoch)
    assert done >= 1

    # resume under 2 processes up to done + 2 epochs from a user script calling Autoencoder.fit under torchrun;
    # the same as one uninterrupted process
    target = done + 2
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(script),
            str(out / "checkpoint.aekit"),
            str(data),
            str(target),
            str(out / "model.aekit"),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("resumed") == 1  # the script prints on rank 0 only
    resumed = aekit.load(out / "model.aekit")
    assert len(resumed.history.epoch) == target and resumed.parallel.world_size == 2

    x = np.load(data)
    ref = aekit.build("dense", input_shape=(12,), hidden=[8], latent_dim=3, seed=3)
    ref.fit(x, epochs=target, batch_size=32, seed=3, verbose=0)  # scaling decided from the data, as in train_run
    assert _max_diff(ref.module.state_dict(), resumed.module.state_dict()) < 1e-4
    np.testing.assert_allclose(resumed.history.history["loss"], ref.history.history["loss"], rtol=1e-4)


# --- the sharding rules, in this process --------------------------------------------------------------------


def test_shards_of_a_global_batch_cover_it_once():
    for m in (1, 7, 8, 33):
        for size in (1, 2, 3, 4):
            parts = [shard_bounds(m, r, size) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == m
            assert all(parts[i][1] == parts[i + 1][0] for i in range(size - 1))
            sizes = [b - a for a, b in parts]
            assert max(sizes) - min(sizes) <= 1


def _collect(source, world, batch_size=8, drop_single=True, seed=5):
    gen = torch.Generator().manual_seed(seed)
    return [
        xb[:, 0].tolist() for xb, _ in source.iter_batches(batch_size, True, gen, drop_single=drop_single, world=world)
    ]


def test_array_source_ranks_split_each_global_batch_of_one_process():
    x = torch.arange(21, dtype=torch.float32)[:, None].repeat(1, 3)  # 21 = 2 batches of 8 + 5
    one = _collect(ArraySource(x), World())
    r0, r1 = _collect(ArraySource(x), World(0, 2)), _collect(ArraySource(x), World(1, 2))
    assert len(one) == len(r0) == len(r1) == 3
    for b, a0, a1 in zip(one, r0, r1):
        assert a0 + a1 == b and abs(len(a0) - len(a1)) <= 1
    # a final batch smaller than the world: skipped in training on every rank, kept for evaluation
    x3 = torch.arange(17, dtype=torch.float32)[:, None]  # 2 x 8 + 1
    assert len(_collect(ArraySource(x3), World(0, 2))) == len(_collect(ArraySource(x3), World(1, 2))) == 2
    evals = _collect(ArraySource(x3), World(0, 2), drop_single=False) + _collect(
        ArraySource(x3), World(1, 2), drop_single=False
    )
    assert sorted(v for b in evals for v in b) == list(range(17))


def test_memmap_stream_reads_rank_parts(tmp_path):
    a = np.random.default_rng(1).random((50, 4), dtype=np.float32)
    np.save(tmp_path / "a.npy", a)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    for view in (mm, mm[7:40]):
        s = ArrayStream(view)
        assert s._layout is not None and s._array is None  # read from the file, not through the map
        ref = np.asarray(view)
        one = list(s.iter_batches(16, shuffle=True, seed=2))
        parts = [list(s.iter_batches(16, shuffle=True, seed=2, shard=(r, 3))) for r in range(3)]
        for k, b in enumerate(one):
            np.testing.assert_array_equal(np.concatenate([p[k] for p in parts]), b)
        np.testing.assert_array_equal(np.sort(np.concatenate(one), axis=0), np.sort(ref, axis=0))
    src = StreamSource(ArrayStream(mm), (4,))
    got = [xb for xb, _ in src.iter_batches(16, True, torch.Generator().manual_seed(0), world=World(1, 2))]
    assert [len(b) for b in got] == [8, 8, 8, 1]


def test_fit_reads_a_memmap_without_loading_it(tmp_path, monkeypatch):
    np.save(tmp_path / "a.npy", np.random.default_rng(1).random((300, 6), dtype=np.float32))
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    seen = []
    real = ArrayStream.iter_batches

    def spy(self, *a, **k):
        seen.append(self._layout is not None)
        return real(self, *a, **k)

    monkeypatch.setattr(ArrayStream, "iter_batches", spy)
    ae = aekit.build("dense", input_shape=(6,), hidden=[4], latent_dim=2, seed=0)
    h = ae.fit(mm, epochs=2, batch_size=64, verbose=0, seed=0)
    assert seen and all(seen) and len(h.history["loss"]) == 2  # streamed from the file


def test_validation_smaller_than_the_world_is_refused():
    from aekit.training.loop import mean_loss

    with pytest.raises(AekitError, match="validation data: 2 samples for 3 processes"):
        mean_loss(torch.nn.Linear(2, 2), ArraySource(torch.zeros(2, 2)), None, 8, torch.device("cpu"), World(0, 3))


def test_loss_weight_restores_the_global_mean():
    w = World(0, 2)
    assert distributed.loss_weight(128, 256, w) == 1.0
    assert distributed.loss_weight(3, 5, w) == pytest.approx(1.2) and distributed.loss_weight(2, 5, World(1, 2)) == 0.8
    assert distributed.loss_weight(7, 9, World()) == 1.0


def _state(world, **cfg):
    from aekit.models.config import TrainConfig

    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    return LoopState(
        m,
        torch.optim.SGD(m.parameters(), 0.1),
        TrainConfig(**cfg),
        None,
        torch.device("cpu"),
        torch.Generator(),
        torch.Generator(),
        world=world,
    )


def test_global_batch_must_divide_and_sync_batch_norm_needs_cuda():
    with pytest.raises(AekitError, match=r"batch_size=30 is the global batch .* multiple of the 4 processes"):
        with distributed.data_parallel(_state(World(0, 4), batch_size=30)):
            pass
    with pytest.raises(AekitError, match="sync_batch_norm=True needs CUDA"):
        with distributed.data_parallel(_state(World(0, 2), batch_size=32, sync_batch_norm=True)):
            pass
    st = _state(World())  # one process: nothing is wrapped
    with distributed.data_parallel(st):
        assert st.forward_module is None


def test_restored_streams_differ_per_rank_and_repeat():
    saved = torch.Generator().manual_seed(11).get_state()
    states = []
    for rank in (1, 2, 1):
        st = _state(World(rank, 3))
        st.torch_rng = saved.clone()
        distributed.per_rank_streams(st)
        states.append((st.torch_rng, st.noise_gen.initial_seed()))
    assert torch.equal(states[0][0], states[2][0]) and states[0][1] == states[2][1]
    assert not torch.equal(states[0][0], states[1][0]) and not torch.equal(states[0][0], saved)


def test_sync_batch_norm_conversion_is_undone_with_trained_values():
    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    bn = m[1]
    swapped = distributed._convert_sync_bn(m)
    assert isinstance(m[1], torch.nn.SyncBatchNorm) and m[1].weight is bn.weight
    with torch.no_grad():
        m[1].weight.fill_(3.0)
    distributed._revert_sync_bn(swapped)
    assert m[1] is bn and bn.weight[0].item() == 3.0


def test_rank_zero_alone_writes_and_launch_refuses_inside_torchrun(tmp_path, monkeypatch):
    ae = aekit.build("dense", input_shape=(4,), hidden=[3], latent_dim=2, seed=0)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert ae.save(tmp_path / "m.aekit") == tmp_path / "m.aekit" and not (tmp_path / "m.aekit").exists()
    with pytest.raises(AekitError, match="already running under torchrun"):
        distributed.launch(2, ["train"])
    monkeypatch.setenv("RANK", "0")
    ae.save(tmp_path / "m.aekit")
    assert (tmp_path / "m.aekit").exists()


def test_train_help_documents_nproc_and_strips_it():
    from aekit.cli.cmd_train import _without_nproc
    from aekit.cli.main import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    text = sub.format_help()
    assert "--nproc N" in text and "torchrun --nproc-per-node 2 -m aekit train" in text
    assert _without_nproc(["train", "dense", "--nproc", "2", "--data", "x", "--nproc=3"]) == [
        "train",
        "dense",
        "--data",
        "x",
    ]


def test_cli_data_larger_than_memory_streams_with_a_streamed_scaler(tmp_path, monkeypatch):
    """A .npy larger than half the free memory is memory-mapped by the data reader; training reads it
    batch by batch, fitting the table's scaler (standard: decided from the data) in one streaming pass (same
    figures as in memory)."""
    import aekit.datasets.arrays as arrays_mod
    from aekit.datasets.preprocessing import Scaler
    from aekit.runs import train_run

    x = np.random.default_rng(2).normal(size=(500, 6)).astype(np.float32) * 3 + 1
    np.save(tmp_path / "big.npy", x)
    monkeypatch.setattr(arrays_mod, "available_memory", lambda: 1024)  # "larger than memory"
    used = []
    real = ArrayStream.iter_batches
    monkeypatch.setattr(
        ArrayStream,
        "iter_batches",
        lambda self, *a, **k: (used.append(self._layout is not None), real(self, *a, **k))[1],
    )
    run = train_run(
        "dense",
        tmp_path / "big.npy",
        tmp_path / "run",
        report=False,
        options={"hidden": "4", "latent_dim": "2", "epochs": "2", "batch_size": "64", "validation_split": "0.2"},
    )
    assert used and all(used)
    h = run.model.history.history
    assert len(h["loss"]) == 2 and len(h["val_loss"]) == 2
    ref = Scaler("standard").fit(x[:400])  # the training part: the last 20 % validate
    assert run.model.scaler.kind == "standard"
    np.testing.assert_allclose(run.model.scaler.offset_, ref.offset_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run.model.scaler.scale_, ref.scale_, rtol=1e-5)
    std = Scaler("standard").fit_batches([x[:123], x[123:]])
    np.testing.assert_allclose(std.offset_, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std.scale_, x.std(0), rtol=1e-5)
