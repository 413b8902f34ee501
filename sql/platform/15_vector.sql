-- Supabase platform contract: pgvector in `extensions`, where the server ships it.
-- probe: select coalesce((select installed_version is not null from pg_available_extensions where name = 'vector'), true) -- noqa: LT05
--
-- On Supabase the project owner enables `vector` (a migration's `create extension` works
-- there); the embedded server ships it but only a superuser may create it, so the platform
-- does. A server without pgvector skips this file and the AI index is full-text only.
create extension if not exists vector with schema extensions;
