#!/bin/sh
# Write pgbouncer.ini from the environment and run PgBouncer in the foreground.
#   DB_HOST, DB_PORT (5432), DB_NAME (postgres), DB_USER (postgres), DB_PASSWORD,
#   POOL_SIZE (20), MAX_CLIENT_CONN (1000)
set -eu
: "${DB_HOST:?set DB_HOST}" "${DB_PASSWORD:?set DB_PASSWORD}"
dir=/etc/pgbouncer/run
printf '"%s" "%s"\n' "${DB_USER:-postgres}" "$DB_PASSWORD" > "$dir/userlist.txt"
printf '"authenticator" "%s"\n' "${AUTHENTICATOR_PASSWORD:-$DB_PASSWORD}" >> "$dir/userlist.txt"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
${DB_NAME:-postgres} = host=${DB_HOST} port=${DB_PORT:-5432} dbname=${DB_NAME:-postgres}
[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = ${POOL_SIZE:-20}
max_client_conn = ${MAX_CLIENT_CONN:-1000}
server_reset_query =
ignore_startup_parameters = extra_float_digits
server_tls_sslmode = require
INI
exec pgbouncer "$dir/pgbouncer.ini"
