"""Guards over the runnable docs, without a server: every fenced block of docs/tutorials and
docs/reference/examples is runnable or says why not, each page names a scenario the runner
has, relative links resolve, and the extractor refuses malformed markers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scenarios import SCENARIOS

from flagship import config
from flagship.testing import docblocks

ROOT = config.ROOT
DOCS = [ROOT / "docs" / "tutorials", ROOT / "docs" / "reference" / "examples"]
FILES = [p for d in DOCS for p in sorted(d.glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
IDS = [f"{p.parent.name}/{p.name}" for p in FILES]


def test_there_are_pages():
    names = {p.name for p in FILES}
    assert {
        "index.md",
        "first-course-app.md",
        "running-a-ctf.md",
        "integration-webhooks.md",
        "ai-assistant.md",
    } <= names
    for domain in ("accounts", "learning", "ctf", "community", "events", "files", "ai", "billing"):
        assert f"{domain}.md" in names, f"docs/reference/examples/{domain}.md is missing"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_block_is_marked(path):
    page = docblocks.parse(path)  # raises on an unmarked block
    if page.executed():
        assert page.scenario in SCENARIOS, f"{path.name}: unknown scenario {page.scenario!r}"
    for block in page.blocks:
        if block.kind == "file":
            imported = any(
                Path(block.attrs["file"]).stem in other.code
                for other in page.blocks
                if other is not block
            )
            assert imported, f"{block.where}: file {block.attrs['file']} is never used"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_relative_links_resolve(path):
    for target in LINK.findall(path.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        assert (path.parent / file).resolve().exists(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.parent.name == "examples" and p.name != "index.md"]
)
def test_reference_pages_show_three_clients(path):
    """Each reference operation comes in supabase-js, supabase-py and curl, all runnable."""
    page = docblocks.parse(path)
    langs = [b.lang for b in page.blocks if b.kind == "run"]
    for lang in ("js", "python", "bash"):
        assert langs.count(lang) >= 3, f"{path.name}: fewer than 3 runnable {lang} examples"


def parse(text: str) -> docblocks.Page:
    return docblocks.parse(Path("page.md"), text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```js\nx\n```\n", "without a marker"),
        ("<!-- no-run -->\n```js\nx\n```\n", "needs a reason"),
        ("<!-- no-run: short -->\n```js\nx\n```\n", "needs a reason"),
        ("<!-- output -->\n```text\nx\n```\n", "must follow a run block"),
        ("<!-- run -->\n```js\nx\n```\n", "scenario"),
        ("<!-- doc: scenario=a -->\n<!-- run -->\n```ruby\nx\n```\n", "cannot run"),
        ("<!-- doc: scenario=a -->\n<!-- run: server=prod -->\n```js\nx\n```\n", "server"),
        ("<!-- doc: scenario=a -->\n<!-- run: speed=fast -->\n```js\nx\n```\n", "unknown"),
        ("<!-- doc: scenario=a -->\n<!-- run -->\ntext\n```js\nx\n```\n", "not followed"),
        ("<!-- doc: scenario=a -->\n<!-- run -->\n```js\nx\n", "never closed"),
        ("<!-- run -->\n<!-- run -->\n```js\nx\n```\n", "two markers"),
    ],
)
def test_malformed_markers_are_refused(text, message):
    with pytest.raises(docblocks.DocBlockError, match=message):
        parse(text)


def test_blocks_are_read_in_order_with_outputs():
    page = parse(
        "<!-- doc: scenario=s -->\n# T\n\n<!-- run: file=lib.mjs -->\n```js\nexport const a = 1;\n"
        "```\n\n<!-- run -->\n````python\nprint('```')\n````\n\n<!-- output -->\n````text\n```\n"
        "````\n\n<!-- no-run: shows a shape only -->\n```json\n{}\n```\n"
    )
    assert page.scenario == "s"
    assert [(b.kind, b.lang) for b in page.blocks] == [
        ("file", "js"),
        ("run", "python"),
        ("output", None),
        ("no-run", None),
    ]
    assert page.blocks[1].code == "print('```')\n" and page.blocks[1].expected == "```\n"
    assert [b.kind for b in page.executed()] == ["file", "run"]


@pytest.mark.parametrize(
    ("expected", "stdout", "ok"),
    [
        ("a\nb\n", "a\nx\nb\n", True),
        ("b\na\n", "a\nb\n", False),  # order matters
        ("id ...: ok\n", "id 42: ok\n", True),
        ("id ...: ok\n", "id 42: failed\n", False),
        ("a\n", "ab\n", False),  # whole lines, not substrings
        ("", "anything", True),
    ],
)
def test_output_matching(expected, stdout, ok):
    assert (docblocks.output_matches(expected, stdout) is None) is ok
