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
