"""The api schema is v1: inside it, changes are additive only (docs/conventions.md, versioning).

The surface (function signatures and results, view columns, who may call or read them) is
snapshotted in api_surface.json. Removing or changing an entry fails; a breaking change
belongs in a new api_v2 schema. New entries fail until recorded:

    FLAGSHIP_UPDATE_API_SNAPSHOT=1 pytest tests/guards/test_api_surface.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("api_surface.json")
API_ROLES = ("anon", "authenticated", "service_role")


def api_surface(db) -> dict:
    surface: dict = {"functions": {}, "views": {}}
    for f in db.execute(
        """
        select p.oid::regprocedure::text as sig, pg_get_function_arguments(p.oid) as args,
               pg_get_function_result(p.oid) as result, p.provolatile as vol,
               array(select r from unnest(%s::text[]) r
                     where has_function_privilege(r, p.oid, 'execute')) as grants
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api'
        """,
        (list(API_ROLES),),
    ):
        surface["functions"][f["sig"]] = {
            "args": f["args"],
            "returns": f["result"],
            "volatility": {"i": "immutable", "s": "stable", "v": "volatile"}[f["vol"]],
            "grants": f["grants"],
        }
    for v in db.execute(
        """
        select c.relname as name, c.oid,
               array(select r from unnest(%s::text[]) r
                     where has_table_privilege(r, c.oid, 'select')) as grants
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'api' and c.relkind in ('v', 'm')
        """,
        (list(API_ROLES),),
    ).fetchall():
        cols = db.execute(
            "select attname as n, format_type(atttypid, atttypmod) as t from pg_attribute"
            " where attrelid = %s and attnum > 0 and not attisdropped order by attnum",
            (v["oid"],),
        ).fetchall()
        surface["views"][v["name"]] = {
            "columns": [[c["n"], c["t"]] for c in cols],
            "grants": v["grants"],
        }
    return surface


def compare(old: dict, new: dict) -> tuple[list[str], list[str]]:
    """(breaking, additions) between two surfaces."""
    breaking, additions = [], []
    for kind in ("functions", "views"):
        for name, was in old.get(kind, {}).items():
            now = new[kind].get(name)
            if now is None:
                breaking.append(f"removed {kind[:-1]} {name}")
                continue
            if kind == "views":
                n = len(was["columns"])
                if now["columns"][:n] != was["columns"]:
                    breaking.append(f"changed columns of view {name}")
                elif len(now["columns"]) > n:
                    additions.append(f"new columns in view {name}")
            elif {k: v for k, v in now.items() if k != "grants"} != {
                k: v for k, v in was.items() if k != "grants"
            }:
                breaking.append(f"changed function {name}")
            lost = set(was["grants"]) - set(now["grants"])
            if lost:
                breaking.append(f"{name} no longer granted to {sorted(lost)}")
            if set(now["grants"]) - set(was["grants"]):
                additions.append(
                    f"{name} newly granted to {sorted(set(now['grants']) - set(was['grants']))}"
                )
        for name in new[kind].keys() - old.get(kind, {}).keys():
            additions.append(f"new {kind[:-1]} {name}")
    return sorted(breaking), sorted(additions)


def test_api_surface_is_additive(db):
    current = api_surface(db)
    recorded = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    breaking, additions = compare(recorded, current)
    if breaking and not os.environ.get("FLAGSHIP_API_BREAKING"):
        raise AssertionError(
            "breaking changes to api v1 (ship them in api_v2 instead):\n  " + "\n  ".join(breaking)
        )
    if (additions or breaking) and os.environ.get("FLAGSHIP_UPDATE_API_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        return
    assert additions == [], (
        "unrecorded api additions (FLAGSHIP_UPDATE_API_SNAPSHOT=1 records them):\n  "
        + "\n  ".join(additions)
    )


def test_compare_catches_breaking_changes():
    old = {
        "functions": {
            "api.f(int)": {
                "args": "p int",
                "returns": "int",
                "volatility": "stable",
                "grants": ["anon"],
            }
        },
        "views": {"v": {"columns": [["a", "int"], ["b", "text"]], "grants": ["anon"]}},
    }
    new = json.loads(json.dumps(old))
    assert compare(old, new) == ([], [])
    new["views"]["v"]["columns"].append(["c", "int"])
    assert compare(old, new) == ([], ["new columns in view v"])
    new["views"]["v"]["columns"][1] = ["b", "int"]
    new["functions"]["api.f(int)"]["grants"] = []
    breaking, _ = compare(old, new)
    assert breaking == ["api.f(int) no longer granted to ['anon']", "changed columns of view v"]
    del new["functions"]["api.f(int)"]
    assert "removed function api.f(int)" in compare(old, new)[0]
