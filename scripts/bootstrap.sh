#!/usr/bin/env bash
# Install whatever is missing for `make up` / `make test`: the virtual environment, the
# locked Python dependencies, and (for tests) the OS's pgTAP package. Idempotent and quiet
# when everything is present already.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed"
want_pgtap=0
[[ "${1:-}" == "--with-pgtap" ]] && want_pgtap=1

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: Python 3.11 or newer is required (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "bootstrap: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the lock file, the project metadata or the set of top-level packages
# changed (the editable install maps each package it saw; a new one needs a reinstall).
digest="$( (cat requirements.lock pyproject.toml sdk/python/pyproject.toml; ls -d -- */__init__.py 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$digest" ]]; then
    echo "bootstrap: installing locked Python dependencies"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
    # The Python SDK (sdk/python), importable by the tests; its dependencies are in the lock.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e sdk/python
    echo "$digest" > "$STAMP"
fi

# The real supabase-js client for the gateway's end-to-end tests: pinned in
# package-lock.json, installed with `npm ci` when Node is present (required by `make test`).
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    node_digest="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [[ ! -f node_modules/.installed || "$(cat node_modules/.installed)" != "$node_digest" ]]; then
        echo "bootstrap: installing the pinned JavaScript client (npm ci)"
        npm ci --silent --no-audit --no-fund --ignore-scripts
        echo "$node_digest" > node_modules/.installed
    fi
elif [[ $want_pgtap == 1 ]]; then
    echo "bootstrap: Node.js 20+ and npm are required by the tests (they drive the API with" \
        "supabase-js); install them, e.g. 'sudo apt-get install nodejs npm'" >&2
    exit 1
fi

if [[ $want_pgtap == 1 && -z "${PGTAP_SQL:-}" ]] \
    && ! ls /usr/share/postgresql/*/extension/pgtap.sql >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [[ $(id -u) != 0 ]]; then
            if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
                SUDO="sudo -n"
            else
                echo "bootstrap: pgTAP is missing; install it with" \
                    "'sudo apt-get install postgresql-15-pgtap' or set PGTAP_SQL" >&2
                exit 1
            fi
        fi
        echo "bootstrap: installing pgTAP (postgresql-15-pgtap)"
        export DEBIAN_FRONTEND=noninteractive
        if ! $SUDO apt-get install -y -qq postgresql-15-pgtap >/dev/null 2>&1; then
            $SUDO apt-get update -qq >/dev/null
            $SUDO apt-get install -y -qq postgresql-15-pgtap >/dev/null
        fi
    else
        echo "bootstrap: pgTAP is missing and this is not a Debian/Ubuntu machine;" \
            "install pgTAP and set PGTAP_SQL to its standalone pgtap.sql" >&2
        exit 1
    fi
fi

# The scale stages (`flagship test-stage pg15|pgbouncer`, tests/scale) and the alert rule
# tests: Debian's PostgreSQL 15 server, PgBouncer, Redis (each started by the tests on
# loopback, never as a service), promtool (the prometheus package), curl and jq for the
# bash blocks of the runnable docs (tests/docs), Chromium (the API playground's browser
# test, driven headless by the pinned puppeteer-core) and wrk (the edge bench's load
# generator: C, one thread, so the bench measures the server and not its client).
if [[ $want_pgtap == 1 ]] && command -v apt-get >/dev/null 2>&1 \
    && { [[ ! -x /usr/lib/postgresql/15/bin/postgres ]] || ! command -v pgbouncer >/dev/null \
        || ! command -v redis-server >/dev/null || ! command -v promtool >/dev/null \
        || ! command -v curl >/dev/null || ! command -v jq >/dev/null \
        || ! command -v chromium >/dev/null || ! command -v wrk >/dev/null; }; then
    SUDO=""
    if [[ $(id -u) != 0 ]]; then
        if ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
            echo "bootstrap: the scale stages need 'sudo apt-get install postgresql-15" \
                "pgbouncer redis-server prometheus curl jq chromium wrk'" >&2
            exit 1
        fi
        SUDO="sudo -n"
    fi
    echo "bootstrap: installing postgresql-15, pgbouncer, redis-server, prometheus, curl, jq," \
        "chromium and wrk"
    export DEBIAN_FRONTEND=noninteractive
    packages=(postgresql-15 pgbouncer redis-server prometheus curl jq chromium wrk)
    $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
        || { $SUDO apt-get update -qq >/dev/null
        $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }
fi
