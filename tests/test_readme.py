"""Every ```python block in README.md and in the guide's pages (docs/*.md) runs as written (each in a fresh
namespace, in a temporary folder)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# README.md is assembled from docs/readme_*.md: those parts are read there, once
PAGES = [README, *sorted(p for p in (ROOT / "docs").glob("*.md") if not p.name.startswith("readme_"))]
SOURCES = [
    (page, b) for page in PAGES for b in re.findall(r"^```python\n(.*?)^```", page.read_text("utf-8"), re.S | re.M)
]
BLOCKS = [b for _, b in SOURCES]


def _title(block: str) -> str:
    first = next((line for line in block.splitlines() if line.strip() and not line.startswith("import")), "")
    return first[:40]


def test_readme_has_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("page,block", SOURCES, ids=[f"{i}:{p.name}:{_title(b)}" for i, (p, b) in enumerate(SOURCES)])
def test_readme_block_runs(page, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(page), "exec"), {"__name__": "__readme__"})


def test_readme_is_a_short_entry_point_that_links_every_guide_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 12 * 1024
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in text, page.name


def test_generated_pages_are_up_to_date():
    """README.md and docs/adbench.md are what docs/build_readme.py makes of their parts and the committed
    benchmark results: no figure on them is typed by hand or left stale."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_readme", ROOT / "docs" / "build_readme.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for path, text in build.render().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python docs/build_readme.py"
