-- ai: what the index holds and how it stays current. Triggers on the sources queue
-- `ai.index_source` jobs (outbox, same transaction); the worker reads the source's public
-- text with private.ai_source_document, chunks and embeds it, and swaps the source's chunks
-- with private.ai_replace_chunks. Flags, answer keys, hints, write-ups and connection info
-- are never read here; hidden or deleted forum posts and missing sources index nothing.

-- The public text of a source -----------------------------------------------------------
create function private.ai_source_document(p_kind text, p_id text) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_doc jsonb;
begin
    if p_kind = 'lesson' then
        select jsonb_build_object(
            'title', c.title || ': ' || l.title, 'body', coalesce(lc.body_md, ''),
            'scope_id', l.course_id::text, 'preview', l.is_preview,
            'updated_at', greatest(l.updated_at, lc.updated_at))
        into v_doc
        from learning.lessons as l
        join learning.courses as c on c.id = l.course_id
        left join learning.lesson_contents as lc on lc.lesson_id = l.id
        where l.id = p_id::uuid;
    elsif p_kind = 'challenge' then
        -- The public parts only: title, category, tags and the description. Never flags,
        -- hints, write-ups or connection info.
        select jsonb_build_object(
            'title', ch.title,
            'body', concat_ws(E'\n\n', 'Category: ' || ch.category,
                nullif('Tags: ' || array_to_string(ch.tags, ', '), 'Tags: '),
                cc.description),
            'scope_id', ch.event_id::text, 'preview', false,
            'updated_at', greatest(ch.updated_at, cc.updated_at))
        into v_doc
        from ctf.challenges as ch
        join ctf.challenge_contents as cc on cc.challenge_id = ch.id
        where ch.id = p_id::uuid;
    elsif p_kind = 'forum_post' then
        select jsonb_build_object(
            'title', t.title, 'body', p.body, 'scope_id', t.category_id::text,
            'preview', false, 'updated_at', p.updated_at)
        into v_doc
        from community.posts as p
        join community.threads as t on t.id = p.thread_id
        where p.id = p_id::bigint
          and p.hidden_at is null and p.deleted_at is null
          and t.hidden_at is null and t.deleted_at is null;
    elsif p_kind = 'doc' then
        select jsonb_build_object('title', d.title, 'body', d.body_md, 'scope_id', null,
            'preview', false, 'updated_at', d.updated_at)
        into v_doc
        from ai.docs as d where d.slug = p_id;
    end if;
    return v_doc;
end;
$$;
comment on function private.ai_source_document(text, text) is
'What the index may hold of a source: {title, body, scope_id, preview, updated_at}, or null
(gone, hidden, deleted: its chunks are removed). Public parts only. Worker only.';
revoke execute on function private.ai_source_document(text, text) from public;
grant execute on function private.ai_source_document(text, text) to service_role;

create function private.ai_replace_chunks(
    p_kind text, p_id text, p_doc jsonb, p_chunks jsonb, p_model text
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int := 0;
begin
    delete from ai.chunks as c where c.source_kind = p_kind and c.source_id = p_id;
    if p_doc is null then
        return 0;
    end if;
    insert into ai.chunks (source_kind, source_id, scope_id, position, title, content,
        preview, embedding_model, source_updated_at)
    select p_kind, p_id, p_doc ->> 'scope_id', (x.ordinality - 1)::int, left(p_doc ->> 'title', 300),
        x.value ->> 'content', coalesce((p_doc ->> 'preview')::boolean, false),
        case when x.value ? 'embedding' then p_model end,
        (p_doc ->> 'updated_at')::timestamptz
    from jsonb_array_elements(p_chunks) with ordinality as x (value, ordinality);
    get diagnostics v_count = row_count;
    if private.ai_has_vectors() then
        execute $sql$
            update ai.chunks as c
            set embedding = (
                select array(select jsonb_array_elements_text(x.value -> 'embedding'))::real[]
            )::extensions.vector
            from jsonb_array_elements($3) with ordinality as x (value, ordinality)
            where c.source_kind = $1 and c.source_id = $2 and c.position = x.ordinality - 1
              and x.value ? 'embedding'
        $sql$ using p_kind, p_id, p_chunks;
    end if;
    return v_count;
end;
$$;
comment on function private.ai_replace_chunks(text, text, jsonb, jsonb, text) is
'Swap the chunks of one source for p_chunks ([{content, embedding?}], in order) with the
title/scope of p_doc; a null p_doc removes them. Vectors are kept only where pgvector
exists. Returns the number of chunks. Worker only.';
revoke execute on function private.ai_replace_chunks(text, text, jsonb, jsonb, text) from public;
grant execute on function private.ai_replace_chunks(text, text, jsonb, jsonb, text)
to service_role;

-- Keeping it current --------------------------------------------------------------------
create function private.ai_queue_index(p_kind text, p_id text) returns void
language sql
security definer
set search_path = ''
as $$
    select ops.enqueue('ai.index_source', jsonb_build_object('kind', p_kind, 'id', p_id))
$$;
comment on function private.ai_queue_index(text, text) is
'Queue re-indexing one source (the worker reads its current state, so repeats are harmless).';
revoke execute on function private.ai_queue_index(text, text) from public;

create function private.ai_index_trigger() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row jsonb := to_jsonb(coalesce(new, old));
    v_post record;
begin
    case tg_table_schema || '.' || tg_table_name
        when 'learning.lessons' then
            perform private.ai_queue_index('lesson', v_row ->> 'id');
        when 'learning.lesson_contents' then
            perform private.ai_queue_index('lesson', v_row ->> 'lesson_id');
        when 'ctf.challenges' then
            perform private.ai_queue_index('challenge', v_row ->> 'id');
        when 'ctf.challenge_contents' then
            perform private.ai_queue_index('challenge', v_row ->> 'challenge_id');
        when 'community.posts' then
            perform private.ai_queue_index('forum_post', v_row ->> 'id');
        when 'community.threads' then
            for v_post in
                select p.id from community.posts as p where p.thread_id = (v_row ->> 'id')::bigint
            loop
                perform private.ai_queue_index('forum_post', v_post.id::text);
            end loop;
        when 'ai.docs' then
            perform private.ai_queue_index('doc', v_row ->> 'slug');
    end case;
    return null;
end;
$$;
comment on function private.ai_index_trigger() is
'Trigger: a source changed (created, edited, hidden, deleted): queue ai.index_source.';
revoke execute on function private.ai_index_trigger() from public;

create trigger ai_index after insert or delete or update of title, is_preview
on learning.lessons for each row execute function private.ai_index_trigger();
create trigger ai_index after insert or delete or update of body_md
on learning.lesson_contents for each row execute function private.ai_index_trigger();
create trigger ai_index after delete or update of title, category, tags
on ctf.challenges for each row execute function private.ai_index_trigger();
create trigger ai_index after insert or delete or update of description
on ctf.challenge_contents for each row execute function private.ai_index_trigger();
create trigger ai_index after insert or delete or update of body, hidden_at, deleted_at
on community.posts for each row execute function private.ai_index_trigger();
create trigger ai_index after update of title, hidden_at, deleted_at
on community.threads for each row execute function private.ai_index_trigger();
create trigger ai_index after insert or delete or update
on ai.docs for each row execute function private.ai_index_trigger();
