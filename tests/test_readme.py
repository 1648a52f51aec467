"""Every ```python block in README.md runs as written (each in a fresh namespace, in a temporary folder)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def _title(block: str) -> str:
    first = next((line for line in block.splitlines() if line.strip() and not line.startswith("import")), "")
    return first[:40]


def test_readme_has_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i}:{_title(b)}" for i, b in enumerate(BLOCKS)])
def test_readme_block_runs(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
