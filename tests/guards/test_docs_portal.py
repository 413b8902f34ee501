"""The developer portal (mkdocs.yml, `make docs`): it builds with --strict and no warning,
offline, with every page it promises; a broken link, a missing anchor or a page left out
of the navigation fails it; and the API reference renderer shows what an operation needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flagship import config
from flagship.reference import markdown

ROOT = config.ROOT
DOCUMENT = ROOT / "docs" / "reference" / "openapi.json"
# A resource the browser would fetch from another origin (links to other sites are fine).
EXTERNAL = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*\bsrc=\"(?:https?:)?//|"
    r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>"
)


def build(config_file: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(config_file),
            "-d",
            str(site),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("portal") / "site"
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_the_portal_has_every_page(site):
    for page in (
        "index.html",
        "authentication.html",
        "roles-and-scopes.html",
        "events.html",
        "changelog.html",
        "reference/index.html",  # docs/reference/README.md
        "reference/overview.html",
    ):
        assert (site / page).is_file(), page
    doc = json.loads(DOCUMENT.read_text())
    for page in markdown.tag_titles(doc):
        assert (site / "reference" / page.replace(".md", ".html")).is_file(), page
    for tutorial in (ROOT / "docs" / "tutorials").glob("*.md"):
        assert (site / "tutorials" / tutorial.with_suffix(".html").name).is_file(), tutorial
    home = (site / "index.html").read_text()
    assert "Quick start" in home and 'href="docs/' not in home  # README, links made relative


def test_the_portal_loads_nothing_from_elsewhere(site):
    for page in site.rglob("*.html"):
        found = EXTERNAL.findall(page.read_text())
        assert not found, (page, found)


def test_a_broken_link_anchor_or_orphan_page_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    with (docs / "authentication.md").open("a") as page:
        page.write("\n[gone](no-such-page.md) and [nowhere](events.md#no-such-anchor)\n")
    (docs / "orphan.md").write_text("# Not in the navigation\n")
    text = (ROOT / "mkdocs.yml").read_text()
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}")
    text = text.replace("- flagship/", f"- {ROOT}/flagship/")
    (tmp_path / "mkdocs.yml").write_text(text)
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    for reported in ("no-such-page.md", "no-such-anchor", "orphan.md"):
        assert reported in done.stderr, (reported, done.stderr)


def test_an_operation_shows_parameters_schemas_scope_and_errors():
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "tags": [{"name": "learning", "description": "Courses."}, {"name": "unused"}],
        "x-flagship-error-codes": {
            "learning_course_not_found": {"description": "No such course.", "sqlstate": "PT404"}
        },
        "components": {
            "parameters": {
                "select": {"name": "select", "in": "query", "schema": {"type": "string"}},
                "rowFilter.c.id": {"name": "id", "in": "query", "schema": {"type": "string"}},
            },
            "schemas": {
                "enroll_args": {
                    "type": "object",
                    "required": ["p_course_id"],
                    "properties": {"p_course_id": {"type": "string", "format": "uuid"}},
                }
            },
        },
        "paths": {
            "/rest/v1/rpc/learning_enroll": {
                "post": {
                    "tags": ["learning"],
                    "summary": "Enroll in a course",
                    "description": "Enroll.\n\nAPI-key scope: `learning:progress:write`.",
                    "x-flagship-scope": {"access": "scope", "scope": "learning:progress:write"},
                    "security": [{"apikey": [], "userSession": []}],
                    "parameters": [
                        {"$ref": "#/components/parameters/select"},
                        {"$ref": "#/components/parameters/rowFilter.c.id"},
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/enroll_args"}
                            }
                        }
                    },
                    "responses": {
                        "200": {"description": "Done."},
                        "404": {
                            "description": "Errors",
                            "x-flagship-errors": ["learning_course_not_found"],
                        },
                    },
                }
            },
            "/functions/v1/health": {"get": {"summary": "Health", "security": []}},
        },
    }
    pages = markdown.render(doc)
    assert set(pages) == {"overview.md", "learning.md", "default.md"}  # no page for an empty tag
    page = pages["learning.md"]
    assert "`POST /rest/v1/rpc/learning_enroll`" in page
    assert "| `select` | query | string |" in page
    assert "**Row filters**" in page and "`id`" in page
    assert "| `p_course_id` | string (uuid) | yes |" in page
    assert "**API-key scope**: `learning:progress:write`." in page
    assert page.count("learning:progress:write") == 1  # the description's copy is folded in
    assert "| `learning_course_not_found` | 404 | PT404 | No such course. |" in page
    assert "the anon key (`apikey`) + a user's access token" in page
    assert "**Authentication**: none." in pages["default.md"]
    assert "[learning](learning.md)" in pages["overview.md"]
    assert markdown.cell("`a|b` or c|d") == "<code>a&#124;b</code> or c\\|d"
