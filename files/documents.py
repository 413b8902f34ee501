"""SVG and PDF checks.

SVG is refused when it could run or fetch anything (scripts, `on*` handlers, `foreignObject`,
external `href`s and `url(...)`s, `<!DOCTYPE>`/entities, animations that rewrite links);
otherwise it is re-serialised, which drops comments and processing instructions.

A PDF must parse with pypdf, must not be encrypted, and no object reachable from its trailer
may carry JavaScript, a launch/submit/import action, embedded files, rich media or XFA.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET  # nosec B405 (serialises a tree defusedxml parsed)

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from files.errors import UploadRefused

SVG_NS = "http://www.w3.org/2000/svg"
XLINK = "{http://www.w3.org/1999/xlink}href"
_FORBIDDEN_TAGS = {
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "handler",
    "listener",
    "audio",
    "video",
    "image",
}
_LINK_ANIMATION = {"set", "animate"}
_URL = re.compile(r"url\s*\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)
_CSS_DANGER = re.compile(r"@import|expression\s*\(|javascript:|behavior\s*:", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _svg_refused(reason: str, **details) -> UploadRefused:
    return UploadRefused(
        "file_svg_unsafe", f"The SVG is refused: {reason}.", details=details or None
    )


def _check_css(text: str, where: str) -> None:
    if _CSS_DANGER.search(text):
        raise _svg_refused(f"active CSS in {where}")
    for target in _URL.findall(text):
        if target and not target.startswith("#"):
            raise _svg_refused(f"an external url() in {where}", url=target)


def sanitise_svg(data: bytes) -> bytes:
    """The SVG re-serialised, or UploadRefused(file_svg_unsafe)."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as exc:
        raise _svg_refused(f"not well-formed or has a DTD ({exc})") from exc
    if _local(root.tag) != "svg":
        raise _svg_refused("the root element is not <svg>")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = _local(element.tag)
        if name in _FORBIDDEN_TAGS:
            raise _svg_refused(f"a <{name}> element", element=name)
        if name in _LINK_ANIMATION and element.get("attributeName", "").lower().endswith("href"):
            raise _svg_refused("an animation that rewrites a link")
        if name == "style":
            _check_css(element.text or "", "<style>")
        for attribute, value in element.attrib.items():
            local = _local(attribute)
            if local.startswith("on"):
                raise _svg_refused(f"an event handler ({local})", attribute=local)
            if local == "href" or attribute == XLINK:
                if not value.strip().startswith("#"):
                    raise _svg_refused("an external reference", href=value[:200])
            elif local == "style" or "url(" in value.lower():
                _check_css(value, f"the {local} attribute")
            if "javascript:" in value.lower().replace(" ", ""):
                raise _svg_refused("a javascript: URL", attribute=local)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- PDF ----------------------------------------------------------------------------------------

_PDF_DANGER_KEYS = {
    "/JS",
    "/JavaScript",
    "/EmbeddedFiles",
    "/EmbeddedFile",
    "/RichMedia",
    "/XFA",
    "/Launch",
}
_PDF_DANGER_ACTIONS = {
    "/JavaScript",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/GoToE",
    "/RichMediaExecute",
    "/Rendition",
    "/Sound",
    "/Movie",
}
_PDF_RAW = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])")
MAX_PDF_OBJECTS = 200_000


def _pdf_unsafe(what: str) -> UploadRefused:
    return UploadRefused(
        "file_pdf_unsafe", f"The PDF is refused: it has {what}.", details={"found": what}
    )


def check_pdf(path: Path) -> int:
    """Parse the PDF and walk every object reachable from its trailer; return the page count."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    raw = path.read_bytes()
    if found := _PDF_RAW.search(raw):
        raise _pdf_unsafe(found.group(0).decode())
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise UploadRefused("file_pdf_invalid", "Encrypted PDFs cannot be inspected.")
        pages = len(reader.pages)
        seen: set[tuple[int, int]] = set()
        stack = [reader.trailer]
        while stack:
            node = stack.pop()
            if isinstance(node, IndirectObject):
                key = (node.idnum, node.generation)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > MAX_PDF_OBJECTS:
                    raise UploadRefused("file_pdf_invalid", "The PDF has too many objects.")
                node = node.get_object()
            if isinstance(node, DictionaryObject):
                for name, value in node.items():
                    if name in _PDF_DANGER_KEYS:
                        raise _pdf_unsafe(name)
                    if name == "/S" and value in _PDF_DANGER_ACTIONS:
                        raise _pdf_unsafe(f"a {value} action")
                    stack.append(value)
            elif isinstance(node, ArrayObject):
                stack.extend(node)
    except UploadRefused:
        raise
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
        RecursionError,
    ) as exc:
        raise UploadRefused("file_pdf_invalid", f"The PDF cannot be parsed: {exc}") from exc
    return pages
