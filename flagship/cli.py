"""The `flagship` command line: the database, tokens, the local stack and the linters."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from flagship import config

# Shared with flagship.stack, in their own module so that the CLI and the stack do not
# import each other.
from flagship.bootstrap import CliError, _target, bootstrap_database

__all__ = ["CliError", "bootstrap_database", "main"]


# -- db ------------------------------------------------------------------------------------
def cmd_db_start(args: argparse.Namespace) -> None:
    target = _target()
    if target.cluster is None:
        raise CliError("DATABASE_URL is set: that server is managed elsewhere")
    target.cluster.start(tcp=args.tcp)
    from flagship import migrate

    migrate.apply_platform(target.admin_url)
    print(f"postgres running: {target.url}")
    if args.tcp:
        print(f"tcp: postgresql://postgres@127.0.0.1:{target.cluster.port}/postgres")


def cmd_db_stop(args: argparse.Namespace) -> None:
    target = _target()
    if target.cluster is None:
        raise CliError("DATABASE_URL is set: that server is managed elsewhere")
    print("stopped" if target.cluster.stop() else "not running")


def cmd_db_status(args: argparse.Namespace) -> None:
    from flagship import migrate

    target = _target()
    if target.cluster is not None and not target.cluster.running():
        print("embedded postgres: stopped")
        raise SystemExit(3)
    pending = migrate.pending(target.url)
    where = "embedded postgres" if target.embedded else "DATABASE_URL"
    print(f"{where}: running at {target.url}")
    print(f"migrations: {len(migrate.migrations()) - len(pending)} applied, {len(pending)} pending")
    for m in pending:
        print(f"  pending {m.version}_{m.name}")


def cmd_db_reset(args: argparse.Namespace) -> None:
    from flagship.database import connect

    target = _target()
    if target.cluster is None:
        raise CliError("reset only manages the embedded database (use `supabase db reset`)")
    target.cluster.start()
    admin = target.cluster.url(user="supabase_admin", dbname="template1")
    with connect(admin, autocommit=True) as conn:
        conn.execute("drop database if exists postgres with (force)")
        conn.execute("create database postgres template template0")
    bootstrap_database(seed=not args.no_seed)


def cmd_db_migrate(args: argparse.Namespace) -> None:
    bootstrap_database(seed=False)


def cmd_db_seed(args: argparse.Namespace) -> None:
    from flagship import migrate

    target = _target()
    if not migrate.seed(target.url):
        raise CliError("no supabase/seed.sql")
    print("seeded")


def cmd_db_psql(args: argparse.Namespace) -> None:
    from flagship.embedded import binary

    target = _target()
    url = target.admin_url if args.admin else target.url
    extra = args.psql_args[1:] if args.psql_args[:1] == ["--"] else args.psql_args
    env = os.environ.copy()
    if args.as_user:
        if args.admin:
            raise CliError("--as and --admin exclude each other")
        url, env["PGOPTIONS"] = caller_session(target, args.as_user)
        print(f"psql as {args.as_user} (role and request.jwt.claims of its token)", file=sys.stderr)
    os.execve(binary("psql"), ["psql", url, *extra], env)


def caller_session(target, who: str) -> tuple[str, str]:
    """(url, PGOPTIONS) of a psql session acting as `who`, the way the API switches role.

    The session logs in as `authenticator` and sets, for the whole session, what
    `as_caller` sets per request: the role, `request.jwt.claims` (from the token
    `flagship token` would mint, hook included) and the API search path.
    """
    from flagship import tokens
    from flagship.database import API_SEARCH_PATH, direct_url

    if who in ("anon", "service_role"):
        claims = {"role": who}
    else:
        try:
            claims, _ = tokens.mint_for_user(target.admin_url, who)
        except tokens.TokenError as exc:
            raise CliError(str(exc)) from exc
    # A session's settings (PGOPTIONS) need the server itself, never a transaction pooler.
    url = os.environ.get("AUTHENTICATOR_URL") or _with_user(direct_url(target.url), "authenticator")

    def option(key: str, value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace(" ", "\\ ")
        return f"-c {key}={escaped}"

    options = " ".join(
        [
            option("search_path", API_SEARCH_PATH.replace(" ", "")),
            option("role", claims["role"]),
            option("request.jwt.claims", json.dumps(claims, separators=(",", ":"))),
            option("request.method", "POST"),
            option("request.path", "/psql"),
        ]
    )
    return url, options


def _with_user(url: str, user: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.split("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


def cmd_db_url(args: argparse.Namespace) -> None:
    target = _target()
    print(target.admin_url if args.admin else target.url)


# -- token ---------------------------------------------------------------------------------
def cmd_token(args: argparse.Namespace) -> None:
    from flagship import tokens

    if args.ttl <= 0 or args.ttl > 10 * 365 * 86400:
        raise CliError("--ttl must be between 1 second and 10 years")
    if args.role in ("anon", "service_role"):
        if args.user:
            raise CliError(f"--role {args.role} names no user; drop the user argument")
        # The project's API keys (the gateway checks `apikey` against exactly these).
        token = tokens.mint_key(args.role)
        claims = None
    else:
        if not args.user:
            raise CliError("name a user (email, username or id), or use --role anon|service_role")
        try:
            claims, token = tokens.mint_for_user(_target().admin_url, args.user, args.ttl)
        except tokens.TokenError as exc:
            raise CliError(str(exc)) from exc
    if args.claims and claims is not None:
        print(json.dumps(claims, indent=2), file=sys.stderr)
    print(token)


# -- mail --------------------------------------------------------------------------------
def cmd_mail_list(args: argparse.Namespace) -> None:
    from flagship.database import connect

    with connect(_target().url, autocommit=True) as conn:
        rows = conn.execute(
            "select id, created_at, to_address, template, subject from ops.mailbox"
            " where %(to)s::text is null or lower(to_address) = lower(%(to)s)"
            " order by id desc limit %(limit)s",
            {"to": args.to, "limit": args.limit},
        ).fetchall()
    if not rows:
        print("the mailbox is empty")
        return
    for r in rows:
        when = r["created_at"].strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{r['id']:>6}  {when}  {r['to_address']:<32}  {r['template'] or '-':<24}"
            f"  {r['subject']}"
        )


def cmd_mail_show(args: argparse.Namespace) -> None:
    from flagship.database import connect

    with connect(_target().url, autocommit=True) as conn:
        row = conn.execute("select * from ops.mailbox where id = %s", (args.id,)).fetchone()
    if row is None:
        raise CliError(f"no message {args.id} in the mailbox")
    print(f"From: {row['from_address']}\nTo: {row['to_address']}\nSubject: {row['subject']}")
    for name, value in (row["headers"] or {}).items():
        print(f"{name}: {value}")
    print("Tags: " + ", ".join(f"{t['name']}={t['value']}" for t in row["tags"] or []))
    for a in row.get("attachments") or []:
        print(f"Attachment: {a['filename']} ({a['content_type']}, {a['size']} bytes)")
    print(f"Date: {row['created_at'].isoformat()}\n")
    print(row["html"] if args.html else row["text_body"])


# -- up / lint -----------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> None:
    from flagship.stack import run_stack

    run_stack(tcp=args.tcp, edge=not args.no_edge, worker=not args.no_sync)


def cmd_lint(args: argparse.Namespace) -> None:
    from flagship.lint import run_linters

    if not run_linters(fix=args.fix):
        raise CliError("lint failed")


def cmd_audit(args: argparse.Namespace) -> None:
    from flagship.audit import run_audit

    if not run_audit(dependencies_too=not args.no_pip_audit, strict=args.strict):
        raise CliError("audit failed")


def cmd_docs_events(args: argparse.Namespace) -> None:
    from flagship import eventdocs, migrate
    from flagship.database import connect

    target = _target()
    if migrate.pending(target.url):
        raise CliError("migrations are pending: run `flagship db migrate` first")
    with connect(target.url, autocommit=True) as conn:
        changed = eventdocs.write(conn)
    print(f"{eventdocs.DOC.relative_to(config.ROOT)}: {'updated' if changed else 'current'}")


def cmd_reference_types(args: argparse.Namespace) -> None:
    from flagship import migrate
    from flagship.reference import typescript

    target = _target()
    if migrate.pending(target.url):
        raise CliError("migrations are pending: run `flagship db migrate` first")
    try:
        expected = typescript.render(target.admin_url)
    except typescript.TypesError as exc:
        raise CliError(str(exc)) from exc
    changed = typescript.stale(expected) if args.check else typescript.write(expected)
    for path in expected:
        state = ("stale" if args.check else "updated") if path in changed else "current"
        print(f"{path.relative_to(config.ROOT)}: {state}")
    if args.check and changed:
        raise CliError("generated types are stale: run `flagship reference types`")


def cmd_reference_postman(args: argparse.Namespace) -> None:
    from flagship.reference import postman

    try:
        expected = postman.render()
    except postman.PostmanError as exc:
        raise CliError(str(exc)) from exc
    changed = postman.stale(expected) if args.check else postman.write(expected)
    for path in expected:
        state = ("stale" if args.check else "updated") if path in changed else "current"
        print(f"{path.relative_to(config.ROOT)}: {state}")
    if args.check and changed:
        raise CliError("the Postman files are stale: run `flagship reference postman`")


def _reference_text() -> str:
    from flagship import migrate
    from flagship.database import connect
    from flagship.reference import document, surfaces

    target = _target()
    if migrate.pending(target.url):
        raise CliError("migrations are pending: run `flagship db migrate` first")
    with connect(target.url) as conn:
        return document.render(document.build(conn, surfaces.edge_spec(target.url)))


def cmd_reference_build(args: argparse.Namespace) -> None:
    from flagship.reference import document

    changed = document.write(_reference_text())
    print(f"{document.DOC.relative_to(config.ROOT)}: {'updated' if changed else 'current'}")


def cmd_reference_check(args: argparse.Namespace) -> None:
    from flagship.reference import document

    current = document.DOC.read_text() if document.DOC.exists() else ""
    if current != _reference_text():
        raise CliError(
            f"{document.DOC.relative_to(config.ROOT)} is stale: run `flagship reference build`"
        )
    print(f"{document.DOC.relative_to(config.ROOT)}: current")


def cmd_reference_sdk(args: argparse.Namespace) -> None:
    from flagship.reference import python_sdk

    try:
        changed = python_sdk.write(check=args.check)
    except python_sdk.SdkError as exc:
        raise CliError(str(exc)) from exc
    where = python_sdk.PACKAGE
    if where.is_relative_to(config.ROOT):
        where = where.relative_to(config.ROOT)
    state = (
        ("stale: " if args.check else "updated: ") + ", ".join(changed) if changed else "current"
    )
    print(f"{where}: {state}")
    if args.check and changed:
        raise SystemExit(1)


def cmd_bench(args: argparse.Namespace) -> None:
    from flagship import bench
    from flagship.bench.runner import Bench

    if args.domain not in bench.domains():
        raise CliError(
            f"no benchmark named {args.domain!r} (have: {', '.join(bench.domains()) or 'none'})"
        )
    if not 0 < args.scale <= 10:
        raise CliError("--scale must be in (0, 10]")
    module = bench.load(args.domain)
    if args.reuse and not getattr(module, "REUSABLE", False):
        raise CliError(
            f"the {args.domain} benchmark cannot --reuse a database (it would "
            "generate its data again)"
        )
    runner = Bench(args.domain, keep=args.keep, reuse=args.reuse)
    try:
        module.run(runner, args.scale)
    except LookupError as exc:
        raise CliError(str(exc)) from exc
    finally:
        runner.drop()
    print(runner.report())


def cmd_test_stage(args: argparse.Namespace) -> None:
    from flagship.testing.stages import StageError, run_stage

    extra = [a for a in args.pytest_args if a != "--"]
    try:
        status = run_stage(args.stage, extra)
    except StageError as exc:
        raise CliError(str(exc)) from exc
    if status != 0:
        raise SystemExit(status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flagship",
        description="Flagship backend: database, tokens, local stack and checks.",
        epilog="DATABASE_URL selects another Postgres; without it the embedded server is used.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="manage the database").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    p = db.add_parser("start", help="start the embedded postgres (reuses its data)")
    p.add_argument(
        "--tcp", action="store_true", help=f"also listen on 127.0.0.1:{config.DEFAULT_DB_PORT}"
    )
    p.set_defaults(func=cmd_db_start)
    db.add_parser("stop", help="stop the embedded postgres").set_defaults(func=cmd_db_stop)
    db.add_parser("status", help="server and migration status").set_defaults(func=cmd_db_status)
    p = db.add_parser("reset", help="drop the embedded database and rebuild it")
    p.add_argument("--no-seed", action="store_true", help="skip supabase/seed.sql")
    p.set_defaults(func=cmd_db_reset)
    db.add_parser("migrate", help="apply platform contract and pending migrations").set_defaults(
        func=cmd_db_migrate
    )
    db.add_parser("seed", help="run supabase/seed.sql").set_defaults(func=cmd_db_seed)
    p = db.add_parser("psql", help="open psql on the database")
    p.add_argument("--admin", action="store_true", help="as the platform superuser")
    p.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="act as an API caller: a user (email, username, id), anon or service_role",
    )
    p.add_argument("psql_args", nargs=argparse.REMAINDER, help="passed to psql")
    p.set_defaults(func=cmd_db_psql)
    p = db.add_parser("url", help="print the connection URL")
    p.add_argument("--admin", action="store_true", help="the platform superuser's URL")
    p.set_defaults(func=cmd_db_url)

    p = sub.add_parser("token", help="mint a JWT as Supabase Auth would (local secret)")
    p.add_argument("user", nargs="?", help="email, username or user id")
    p.add_argument(
        "--role", choices=["authenticated", "anon", "service_role"], default="authenticated"
    )
    p.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    p.add_argument("--claims", action="store_true", help="also print the claims on stderr")
    p.set_defaults(func=cmd_token)

    mail = sub.add_parser("mail", help="the local mailbox (email without RESEND_API_KEY)")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    p = mail_sub.add_parser("list", help="newest messages first")
    p.add_argument("--to", help="only messages to this address")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_mail_list)
    p = mail_sub.add_parser("show", help="one message (text part; --html for HTML)")
    p.add_argument("id", type=int)
    p.add_argument("--html", action="store_true")
    p.set_defaults(func=cmd_mail_show)

    p = sub.add_parser("up", help="run database, edge service and sync worker (Ctrl-C stops)")
    p.add_argument("--tcp", action="store_true", help="database also on a loopback TCP port")
    p.add_argument("--no-edge", action="store_true", help="do not start the edge service")
    p.add_argument("--no-sync", action="store_true", help="do not start the sync worker")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("bench", help="benchmark a domain over generated data (p50/p95)")
    p.add_argument("domain", help="which benchmark (e.g. learning, ctf, community, edge)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full data size (default 1)"
    )
    p.add_argument("--keep", action="store_true", help="keep the generated database")
    p.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="measure a database kept by an earlier run of the same benchmark (no generation)",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "test-stage", help="a CI stage: the suite on PostgreSQL 15, or journeys via PgBouncer"
    )
    p.add_argument("stage", choices=["pg15", "pgbouncer"])
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    p.set_defaults(func=cmd_test_stage)
    docs = sub.add_parser("docs", help="generated documentation").add_subparsers(
        dest="docs_command", required=True, metavar="PAGE"
    )
    p = docs.add_parser("events", help="docs/events.md's topic reference from ops.event_types")
    p.set_defaults(func=cmd_docs_events)

    ref = sub.add_parser(
        "reference",
        help="generated: the OpenAPI 3.1 document, TypeScript types, Postman, Python SDK",
    ).add_subparsers(dest="reference_command", required=True, metavar="ACTION")
    p = ref.add_parser("build", help="regenerate docs/reference/openapi.json from the database")
    p.set_defaults(func=cmd_reference_build)
    p = ref.add_parser("check", help="fail when the committed OpenAPI document is stale")
    p.set_defaults(func=cmd_reference_check)
    p = ref.add_parser(
        "types", help="types/database.ts and types/results.ts from the migrated api schema"
    )
    p.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    p.set_defaults(func=cmd_reference_types)
    p = ref.add_parser(
        "postman", help="the Postman collection and environments from the OpenAPI document"
    )
    p.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    p.set_defaults(func=cmd_reference_postman)
    p = ref.add_parser("sdk", help="the Python SDK's models and methods from openapi.json")
    p.add_argument("--check", action="store_true", help="exit 1 when the committed code is stale")
    p.set_defaults(func=cmd_reference_sdk)

    p = sub.add_parser("lint", help="sqlfluff and ruff")
    p.add_argument("--fix", action="store_true", help="apply automatic fixes")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("audit", help="supply chain: secret scan, bandit, pip-audit")
    p.add_argument(
        "--no-pip-audit", action="store_true", help="skip the dependency audit (needs PyPI)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail when the vulnerability data cannot be reached (default: say NOT AUDITED)",
    )
    p.set_defaults(func=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, never a traceback, for expected failures
        import psycopg

        from flagship.embedded import EmbeddedError
        from flagship.migrate import MigrationError

        known = (CliError, EmbeddedError, MigrationError, psycopg.OperationalError)
        if isinstance(exc, known):
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"flagship: {message}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
