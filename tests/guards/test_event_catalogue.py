"""No topic is dropped: every queued topic has a catalogue row, a valid schema, an example that
validates, and one `@handler` in the module the row names — and every handler has a row."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from flagship import config
from flagship.json_schema import FORMATS
from sync import topics
from sync.catalogue import payload_errors
from sync.handlers import REGISTRY

ENQUEUED = re.compile(r"ops\.enqueue\(\s*'([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)'")
# Topics whose handler ships in another part of the work; each entry turns into a failure as
# soon as the handler exists (strict xfail), so the list cannot go stale.
HANDLER_ELSEWHERE: dict[str, str] = {}


def enqueued_topics() -> set[str]:
    found = set()
    for root in (config.MIGRATIONS_DIR, config.PLATFORM_DIR):
        for path in root.rglob("*.sql"):
            found |= set(ENQUEUED.findall(path.read_text()))
    for package in ("sync", "edge", "mail", "gateway", "flagship"):
        for path in (config.ROOT / package).rglob("*.py"):
            found |= set(ENQUEUED.findall(path.read_text()))
    return found


TOPICS = sorted(enqueued_topics())
assert topics.MODULES  # importing sync.topics registers every handler


def catalogue(db) -> dict[str, dict]:
    rows = db.execute("select * from ops.event_types").fetchall()
    return {r["topic"]: r for r in rows}


def test_the_scan_finds_topics():
    assert {"email.send", "ctf.solve", "certificate.issued"} <= set(TOPICS)


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param(t, marks=pytest.mark.xfail(strict=True, reason=HANDLER_ELSEWHERE[t]))
        if t in HANDLER_ELSEWHERE
        else t
        for t in TOPICS
    ],
)
def test_every_queued_topic_is_catalogued_and_handled(db, topic):
    rows = catalogue(db)
    assert topic in rows, f"{topic} is queued but has no ops.event_types row"
    assert topic in REGISTRY, f"{topic} has no @handler (sync/topics.py imports the modules)"


def test_every_catalogue_row_is_complete_and_its_example_validates(db):
    problems = []
    for topic, row in catalogue(db).items():
        schema = row["payload_schema"]
        Draft202012Validator.check_schema(schema)
        if schema.get("type") != "object" or not schema.get("properties"):
            problems.append(f"{topic}: the schema must describe an object and its properties")
        if not row["example"]:
            problems.append(f"{topic}: empty example")
        errors = payload_errors(Draft202012Validator(schema, format_checker=FORMATS),
                                row["example"])  # fmt: skip
        problems += [f"{topic}: example: {e}" for e in errors]
    assert problems == []


def test_every_catalogue_row_names_the_module_of_its_handler(db):
    wrong = {
        topic: (row["handler"], REGISTRY[topic].__module__)
        for topic, row in catalogue(db).items()
        if topic in REGISTRY and REGISTRY[topic].__module__ != row["handler"]
    }
    missing = sorted(t for t in catalogue(db) if t not in REGISTRY and t not in HANDLER_ELSEWHERE)
    assert wrong == {}
    assert missing == [], "catalogued topics without a @handler"


def test_every_handler_has_a_catalogue_row(db):
    assert sorted(set(REGISTRY) - set(catalogue(db))) == []


def test_an_invalid_example_is_caught():
    """The check above can fail: a payload missing a required field does not validate."""
    validator = Draft202012Validator(
        {"type": "object", "required": ["user_id"], "properties": {"user_id": {"format": "uuid"}}},
        format_checker=FORMATS,
    )
    assert payload_errors(validator, {}) == ["(payload): 'user_id' is a required property"]
    assert payload_errors(validator, {"user_id": "nope"}) == ["user_id: 'nope' is not a 'uuid'"]
