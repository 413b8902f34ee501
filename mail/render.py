"""Render a catalogued email to (subject, html, text) with the shared layout."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from mail.catalog import KINDS
from mail.money import money

TEMPLATES = Path(__file__).parent / "templates"
_html = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
# Plain text is not HTML: nothing to escape.
_text = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, auto_reload=False)  # noqa: S701  # nosec B701
_subject = SandboxedEnvironment(undefined=StrictUndefined)
for _env in (_html, _text, _subject):
    _env.filters["money"] = money


@functools.cache
def _subject_template(template: str) -> Template:
    """The compiled subject line of a kind (compiling it is most of the cost of a render)."""
    return _subject.from_string(KINDS[template].subject)


class UnknownTemplate(ValueError):
    pass


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def render(template: str, data: dict[str, Any] | None = None, **extra: Any) -> Rendered:
    if template not in KINDS:
        raise UnknownTemplate(template)
    context = {**(data or {}), **extra}
    try:
        subject = _subject_template(template).render(**context)
    except Exception:  # a missing variable in a subject falls back to the plain subject
        subject = KINDS[template].subject.split("{{")[0].strip() or "Flagship"
    subject = " ".join(subject.split())[:200]
    context["subject"] = subject
    html = _html.get_template(f"{template}.html").render(**context)
    text = _text.get_template(f"{template}.txt").render(**context)
    return Rendered(subject, html, text)
