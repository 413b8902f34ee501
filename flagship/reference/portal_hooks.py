"""MkDocs hooks of the developer portal (mkdocs.yml): the pages that are built, not written.

- the home page is README.md, its `docs/…` links made relative to the portal;
- the API reference is rendered from docs/reference/openapi.json (flagship.reference.markdown)
  into reference/*.md on every build, and gets a navigation section;
- the tutorials section lists what docs/tutorials/ holds (index first, then the courses in
  their reading order), so the navigation never names a page that is not there.
Every generated page goes through the same `--strict` link and anchor validation as the rest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

from flagship.reference import markdown

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "reference" / "openapi.json"
TUTORIALS = (
    "index.md",
    "first-course-app.md",
    "running-a-ctf.md",
    "integration-webhooks.md",
    "ai-assistant.md",
)


def home_page() -> str:
    """README.md with its links into docs/ made relative to the portal's root."""
    text = (ROOT / "README.md").read_text()
    return re.sub(r"\]\(docs/", "](", text)


def folder_pages(docs_dir: Path, folder: str, first: tuple[str, ...] = ("index.md",)) -> list[str]:
    """The hand-written pages of a docs folder: the named ones first, then the rest by name."""
    present = sorted(p.name for p in (docs_dir / folder).glob("*.md"))
    known = [name for name in first if name in present]
    return [f"{folder}/{name}" for name in known + [p for p in present if p not in known]]


def insert_before(nav: list, title: str, entry: dict) -> None:
    keys = [next(iter(item)) if isinstance(item, dict) else item for item in nav]
    nav.insert(keys.index(title) if title in keys else len(nav), entry)


def on_config(config, **kwargs):
    """Add the Tutorials and API reference sections to the navigation of mkdocs.yml."""
    doc = json.loads(DOCUMENT.read_text())
    nav = config["nav"]
    tutorials = folder_pages(Path(config["docs_dir"]), "tutorials", TUTORIALS)
    if tutorials:
        insert_before(nav, "Authentication", {"Tutorials": tutorials})
    docs_dir = Path(config["docs_dir"])
    reference = ["reference/README.md", {"Every tag and error code": "reference/overview.md"}]
    reference += [
        page for page in folder_pages(docs_dir, "reference") if not page.endswith("/README.md")
    ]
    examples = folder_pages(docs_dir, "reference/examples")
    if examples:
        reference.append({"Examples": examples})
    reference += [{tag: f"reference/{page}"} for page, tag in markdown.tag_titles(doc).items()]
    insert_before(nav, "Authentication", {"API reference": reference})
    return config


def on_files(files: Files, config, **kwargs) -> Files:
    """Add the home page and the rendered reference pages to the build."""
    files.append(File.generated(config, "index.md", content=home_page()))
    pages = markdown.render(json.loads(DOCUMENT.read_text()))
    for name, content in pages.items():
        files.append(File.generated(config, f"reference/{name}", content=content))
    return files
