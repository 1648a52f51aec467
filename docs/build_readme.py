"""Assemble README.md from the section files in docs/ (run: python docs/build_readme.py)."""

from pathlib import Path

DOCS = Path(__file__).resolve().parent
PARTS = [
    "readme_head.md",
    "readme_core.md",
    "readme_data.md",
    "readme_owndata.md",
    "readme_cli.md",
    "readme_apps_a.md",
    "readme_apps_b.md",
    "readme_apps_c.md",
    "readme_sklearn.md",
    "readme_scale.md",
    "readme_tail.md",
]

text = "\n".join(DOCS.joinpath(p).read_text(encoding="utf-8").strip() + "\n" for p in PARTS)
(DOCS.parent / "README.md").write_text(text, encoding="utf-8")
print(f"README.md: {len(text.splitlines())} lines")
