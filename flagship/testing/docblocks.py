"""The code blocks of the tutorials and reference examples, read from their Markdown with
the markers that say what to do with each, so the runner (tests/docs) executes them against
a local gateway and the docs cannot drift from the API.

Markers are HTML comments on the line before a fence (docs/testing.md, "Runnable docs"):

- `<!-- doc: scenario=NAME -->` once per page: the scene the runner seeds for it;
- `<!-- run -->` executes the block (js: node, python, bash); `<!-- run: server=model -->`
  picks another server of the scenario;
- `<!-- run: file=NAME -->` writes the block to the page's working directory as NAME (later
  blocks import it); it is checked (node --check / compile) but not run on its own;
- `<!-- output -->` before a ```text block: the lines the previous run block must print;
- `<!-- no-run: REASON -->` the block is shown only; the reason is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = {
    "js": "js",
    "javascript": "js",
    "mjs": "js",
    "python": "python",
    "py": "python",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
}
MARKER = re.compile(r"^<!--\s*(doc|run|output|no-run)\s*(?::\s*(.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
ATTR = re.compile(r"^[a-z][a-z-]*=[A-Za-z0-9_.\-]+$")
SERVERS = ("default", "model")


class DocBlockError(ValueError):
    """A page's markers are wrong: the message says where and how to fix it."""


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    info: str  # the fence's language word as written
    code: str
    kind: str  # run | file | output | no-run
    attrs: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    expected: str | None = None  # for run blocks: the text of the following output block

    @property
    def lang(self) -> str | None:
        return LANGUAGES.get(self.info.lower())

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class Page:
    path: Path
    scenario: str
    blocks: list[Block]

    def executed(self) -> list[Block]:
        """The blocks the runner acts on, in page order (run and file blocks)."""
        return [b for b in self.blocks if b.kind in ("run", "file")]


def parse_attrs(text: str, where: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for word in text.split():
        if not ATTR.match(word):
            raise DocBlockError(f"{where}: marker attribute {word!r} is not key=value")
        key, value = word.split("=", 1)
        attrs[key] = value
    return attrs


def parse(path: Path, text: str | None = None) -> Page:
    """Every fenced block of a page with its marker; raises DocBlockError on a block without
    one, a marker without a block, a no-run without a reason or an orphan output block."""
    lines = (path.read_text() if text is None else text).splitlines()
    scenario: str | None = None
    blocks: list[Block] = []
    pending: tuple[str, str, int] | None = None  # marker kind, argument, line
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{path.name}:{i + 1}"
        marker = MARKER.match(line.strip())
        if marker:
            kind, arg = marker.group(1), marker.group(2) or ""
            if kind == "doc":
                attrs = parse_attrs(arg, where)
                if "scenario" not in attrs or scenario is not None:
                    raise DocBlockError(f"{where}: one <!-- doc: scenario=NAME --> per page")
                scenario = attrs["scenario"]
            else:
                if pending is not None:
                    raise DocBlockError(f"{where}: two markers for one block")
                pending = (kind, arg, i + 1)
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            mark = fence.group("fence")
            close = re.compile(rf"^ {{0,3}}{mark[0]}{{{len(mark)},}}\s*$")
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise DocBlockError(f"{where}: code block never closed")
            if pending is None:
                raise DocBlockError(
                    f"{where}: code block without a marker: precede it with <!-- run -->, "
                    "<!-- run: file=NAME -->, <!-- output --> or <!-- no-run: REASON -->"
                )
            blocks.append(_block(path, i + 1, fence.group("info"), "\n".join(body) + "\n", pending))
            pending = None
            i = j + 1
            continue
        if pending is not None and line.strip():
            raise DocBlockError(f"{path.name}:{pending[2]}: marker not followed by a code block")
        i += 1
    if pending is not None:
        raise DocBlockError(f"{path.name}:{pending[2]}: marker not followed by a code block")
    runnable = [b for b in blocks if b.kind in ("run", "file")]
    if runnable and scenario is None:
        raise DocBlockError(f"{path.name}: runnable blocks need <!-- doc: scenario=NAME -->")
    _attach_outputs(blocks)
    return Page(path, scenario or "", blocks)


def _block(path: Path, line: int, info: str, code: str, marker: tuple[str, str, int]) -> Block:
    kind, arg, _ = marker
    where = f"{path.name}:{line}"
    block = Block(path, line, info, code, kind)
    if kind == "no-run":
        if len(arg.strip()) < 8:
            raise DocBlockError(f"{where}: <!-- no-run: REASON --> needs a reason")
        block.reason = arg.strip()
        return block
    if kind == "output":
        if arg:
            raise DocBlockError(f"{where}: <!-- output --> takes no attributes")
        return block
    block.attrs = parse_attrs(arg, where)
    if "file" in block.attrs:
        block.kind = "file"
    unknown = set(block.attrs) - {"file", "server"}
    if unknown:
        raise DocBlockError(f"{where}: unknown marker attribute(s) {sorted(unknown)}")
    if block.attrs.get("server", "default") not in SERVERS:
        raise DocBlockError(f"{where}: server must be one of {SERVERS}")
    if block.lang is None:
        raise DocBlockError(f"{where}: cannot run a ```{info or '(no language)'} block")
    return block


def _attach_outputs(blocks: list[Block]) -> None:
    previous: Block | None = None
    for block in blocks:
        if block.kind == "output":
            if previous is None or previous.kind != "run" or previous.expected is not None:
                raise DocBlockError(f"{block.where}: an output block must follow a run block")
            previous.expected = block.code
        previous = block


def output_matches(expected: str, stdout: str) -> str | None:
    """None when every non-blank expected line appears among stdout's lines, in order;
    `...` inside a line stands for any text. Else a description of the first line missing."""
    got = [line.rstrip() for line in stdout.splitlines()]
    at = 0
    for want in (w.rstrip() for w in expected.splitlines()):
        if not want.strip():
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("...")) + r"\Z")
        while at < len(got) and not pattern.match(got[at]):
            at += 1
        if at == len(got):
            return f"expected line not printed (in order): {want!r}"
        at += 1
    return None


def pages(root: Path) -> list[Page]:
    return [parse(p) for p in sorted(root.rglob("*.md"))]
