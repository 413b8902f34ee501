"""The local API gateway: one base URL for /rest/v1, /auth/v1, /storage/v1 and /functions/v1.

On hosted Supabase, Kong routes these paths to PostgREST, Supabase Auth, Storage and our
edge. Here one ASGI app (`gateway.app.create_app`) does the same on the embedded default,
so supabase-js and supabase-py work unchanged against http://127.0.0.1:54321.

Layout: `gateway.config` (config.toml + environment → GatewayConfig), `gateway.keys`
(project API keys, Kong's apikey check, JWT verification), `gateway.app` (composition),
`gateway.rest` (PostgREST), `gateway.auth` (Supabase Auth). A service app is built by a
factory taking the GatewayConfig and a `psycopg_pool.ConnectionPool` on the application
database (`postgres` role; opened and closed by the gateway's lifespan), e.g.
`gateway.auth.app:create_auth_app(config, pool)`, and is mounted under its prefix.
"""
