"""Run every runnable block of docs/tutorials and docs/reference/examples, in page order,
against the local stack (conftest.py): JavaScript with node and the pinned supabase-js,
Python with the `supabase` client, bash with curl. A block that exits non-zero fails the
page; a block followed by an output block must print those lines. The marker convention is
in docs/testing.md ("Runnable docs")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from scenarios import seed

from flagship import config
from flagship.database import connect
from flagship.testing import docblocks

ROOT = config.ROOT
DOCS = [ROOT / "docs" / "tutorials", ROOT / "docs" / "reference" / "examples"]
PAGES = [p for d in DOCS for p in sorted(d.glob("*.md")) if docblocks.parse(p).executed()]
SUFFIX = {"js": ".mjs", "python": ".py", "bash": ".sh"}
TIMEOUT_S = 90


def command(lang: str, script: Path) -> list[str]:
    if lang == "js":
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "@supabase" / "supabase-js").exists():
            pytest.fail("Node.js and the pinned npm packages are required: scripts/bootstrap.sh")
        return [node, script.name]
    if lang == "python":
        return [sys.executable, script.name]
    return ["bash", "-eo", "pipefail", script.name]


def check(lang: str, script: Path) -> list[str]:
    """Syntax check only, for file blocks (they run when a later block imports them)."""
    if lang == "js":
        return [shutil.which("node") or "node", "--check", script.name]
    if lang == "python":
        return [sys.executable, "-m", "py_compile", script.name]
    return ["bash", "-n", script.name]


def wait_for_outbox(admin_url: str, timeout: float = 60) -> None:
    """Seeded content is indexed (and mail sent) by the worker: the page starts once the
    outbox has nothing left that is due, as a reader's stack would after a moment."""
    deadline = time.monotonic() + timeout
    with connect(admin_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                "select count(*) as n from ops.outbox"
                " where status in ('pending', 'processing') and run_after <= now()"
            ).fetchone()["n"]
            if left == 0:
                return
            time.sleep(0.2)
    pytest.fail("the worker did not drain the outbox in time")


def workdir_for(stack, page: Path) -> Path:
    """A project directory of the page's own, with the repo's node_modules (npm ci)."""
    work = stack.workdir / f"{page.parent.name}-{page.stem}"
    work.mkdir()
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    (work / "package.json").write_text('{"type": "module", "private": true}\n')
    return work


def run_page(stack, parsed: docblocks.Page, values: dict[str, str], work: Path) -> None:
    """Run the page's blocks in order; fail at the first that exits non-zero or does not
    print its output block."""
    for n, block in enumerate(parsed.executed()):
        server = stack.servers[block.attrs.get("server", "default")]
        env = {
            **os.environ,
            **values,
            "SUPABASE_URL": server.url,
            "SUPABASE_ANON_KEY": server.anon_key,
        }
        name = block.attrs.get("file") or f"step{n:02d}{SUFFIX[block.lang]}"
        script = work / name
        script.write_text(block.code)
        argv = check(block.lang, script) if block.kind == "file" else command(block.lang, script)
        done = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
        assert done.returncode == 0, (
            f"{block.where} ({block.lang}) exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
        if block.expected is not None:
            problem = docblocks.output_matches(block.expected, done.stdout)
            assert problem is None, f"{block.where}: {problem}\n--- stdout\n{done.stdout[-3000:]}"


@pytest.mark.parametrize("page", PAGES, ids=[f"{p.parent.name}/{p.name}" for p in PAGES])
def test_page_runs(stack, page):
    parsed = docblocks.parse(page)
    values = seed(parsed.scenario, stack.admin_url, uuid.uuid4().hex[:8])
    wait_for_outbox(stack.admin_url)
    run_page(stack, parsed, values, workdir_for(stack, page))


BROKEN = {  # kind: (block, what the failure must say)
    "exits": ("```js\nthrow new Error('boom');\n```\n", "Error: boom"),
    "prints": (
        "```bash\necho 'HTTP 500'\n```\n\n<!-- output -->\n```text\nHTTP 200\n```\n",
        "expected line not printed",
    ),
    "api": (
        "```python\nimport os\nfrom supabase import ClientOptions, create_client\n"
        "c = create_client(os.environ['SUPABASE_URL'], os.environ['SUPABASE_ANON_KEY'],"
        " ClientOptions(schema='api'))\n"
        "c.rpc('learning_list_courses', {'p_limit': 'many'}).execute()\n```\n",
        "APIError",
    ),
    "file": ("```js\nexport const = 1;\n```\n", "SyntaxError"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_block_fails_its_page(stack, tmp_path, kind):
    """The runner is not a rubber stamp: a block that throws, exits non-zero, prints other
    than its output block, or (a file block) does not parse fails the page."""
    marker = "<!-- run: file=broken.mjs -->" if kind == "file" else "<!-- run -->"
    block, says = BROKEN[kind]
    text = f"<!-- doc: scenario=first-course-app -->\n{marker}\n{block}"
    parsed = docblocks.parse(tmp_path / f"{kind}.md", text)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    with pytest.raises(AssertionError, match=f"{kind}.md:") as failed:
        run_page(stack, parsed, {}, tmp_path)
    assert says in str(failed.value)
