"""Every error code raised in SQL is documented in ops.error_codes (the API catalogue)."""

import re

from flagship import config

RAISED = re.compile(r"raise_error\(\s*'([a-z][a-z0-9_]*)'|hint\s*=\s*'([a-z][a-z0-9_]*)'")


def raised_codes() -> set[str]:
    codes = set()
    for path in config.MIGRATIONS_DIR.glob("*.sql"):
        for match in RAISED.finditer(path.read_text()):
            codes.add(match.group(1) or match.group(2))
    return codes


def test_raised_codes_are_documented(db):
    documented = {r["code"] for r in db.execute("select code from ops.error_codes")}
    assert raised_codes(), "the scan found no codes at all: the pattern is broken"
    assert sorted(raised_codes() - documented) == []


def test_catalogue_statuses_match_sqlstates(db):
    rows = db.execute("select code, sqlstate, http_status from ops.error_codes").fetchall()
    for r in rows:
        if r["sqlstate"].startswith("PT"):
            assert int(r["sqlstate"][2:]) == r["http_status"], r
        elif r["sqlstate"] == "22023" or r["sqlstate"].startswith("23"):
            assert r["http_status"] in (400, 409), r
        elif r["sqlstate"] == "42501":
            assert r["http_status"] in (401, 403), r


EDGE_RAISE = re.compile(r'ApiError\(\s*(\d{3}),\s*"([a-z][a-z0-9_]*)"')


def test_edge_statuses_match_the_catalogue(db):
    """A code the catalogue knows answers with the catalogue's status on every surface."""
    catalogue = {
        r["code"]: r["http_status"]
        for r in db.execute("select code, http_status from ops.error_codes")
    }
    raised = [
        (path.name, int(m.group(1)), m.group(2))
        for package in ("edge", "gateway")
        for path in (config.ROOT / package).rglob("*.py")
        for m in EDGE_RAISE.finditer(path.read_text())
    ]
    assert raised, "the scan found no ApiError at all: the pattern is broken"
    wrong = [(f, s, c, catalogue[c]) for f, s, c in raised if c in catalogue and catalogue[c] != s]
    assert wrong == []
