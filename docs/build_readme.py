"""Assemble README.md, the short entry point, from its two parts in docs/ (run: python docs/build_readme.py);
the guide itself is the other pages in docs/ (api.md, data.md, cli.md, ...), which README.md links to."""

from pathlib import Path

DOCS = Path(__file__).resolve().parent
PARTS = ["readme_head.md", "readme_tail.md"]  # the entry point; the guide is the other pages in docs/

text = "\n".join(DOCS.joinpath(p).read_text(encoding="utf-8").strip() + "\n" for p in PARTS)
(DOCS.parent / "README.md").write_text(text, encoding="utf-8")
print(f"README.md: {len(text.splitlines())} lines")
