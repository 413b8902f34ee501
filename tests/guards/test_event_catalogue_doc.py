"""docs/events.md's topic reference is generated from ops.event_types and must be current.

`flagship docs events` (on a migrated database) or `FLAGSHIP_UPDATE_EVENTS_DOC=1 pytest
tests/guards/test_event_catalogue_doc.py` rewrites the generated section.
"""

from __future__ import annotations

import os

from flagship import eventdocs


def test_the_committed_events_doc_is_current(db):
    page = eventdocs.DOC.read_text()
    expected = eventdocs.updated_page(page, eventdocs.render_catalogue(db))
    if os.environ.get("FLAGSHIP_UPDATE_EVENTS_DOC") == "1":
        eventdocs.DOC.write_text(expected)
        page = expected
    assert page == expected, "docs/events.md is stale: run `flagship docs events`"


def test_every_topic_has_its_section(db):
    page = eventdocs.DOC.read_text()
    topics = [r["topic"] for r in db.execute("select topic from ops.event_types")]
    assert topics
    assert [t for t in topics if f"\n### {t}\n" not in page] == []


def test_only_the_generated_section_is_rewritten():
    page = f"# Events\n\nintro\n\n{eventdocs.START}\nold\n{eventdocs.END}\n\nafter\n"
    assert eventdocs.updated_page(page, "NEW") == "# Events\n\nintro\n\nNEW\n\nafter\n"
