"""The guide's "Your own data" commands (docs/own-data.md) run as written, on small files named as there."""

import re
import shlex
from pathlib import Path

import numpy as np
from PIL import Image

from aekit.cli.main import main

README = Path(__file__).resolve().parents[1] / "docs" / "own-data.md"


def _commands() -> list:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("# Your own data") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.startswith("aekit ")]


def test_the_own_data_commands_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(80, 2)) @ rng.normal(size=(2, 6)) * 20 + 100
    header = ",".join(f"c{i}" for i in range(6))
    for name, part in (("table.csv", rows), ("new_rows.csv", rows[:10])):
        Path(name).write_text(header + "\n" + "\n".join(",".join(f"{v:.3f}" for v in r) for r in part))
    Path("photos").mkdir()
    for i in range(16):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(f"photos/{i}.png")
    values = 10 + np.sin(np.arange(240) / 5.0)
    Path("series.csv").write_text(
        "timestamp,value\n"
        + "\n".join(f"2022-05-01 {i // 60:02d}:{i % 60:02d}:00,{v:.4f}" for i, v in enumerate(values))
    )
    commands = _commands()
    assert len(commands) >= 6 and {c[1] for c in commands} >= {"train", "detect", "encode", "reconstruct"}
    for argv in commands:
        extra = ["--no-report"] if argv[1] == "train" else []
        assert main(["-q", *argv[1:], *extra]) == 0, " ".join(argv)
    assert Path("points.csv").read_text().splitlines()[0] == "timestamp,value,score,anomaly"
    assert len(Path("codes.csv").read_text().splitlines()) == 17
