"""The any-word arm reads ai.chunk_terms, the postings of the chunks with each word's
impact: they follow every insert, change and deletion of a chunk, and the sum of the
impacts of the words is the rank ts_rank_cd gives the any-word query (so ranking the
chunks where each word weighs most does not change what the arm ranks by)."""

from __future__ import annotations

from aikit import MARKERS

from flagship.testing.harness import query, scalar

EXPECTED = """
    select t.lexeme as term, private.ai_term_impact(t.weights) as impact, c.id as chunk_id
    from ai.chunks as c, unnest(c.tsv) as t
"""


def postings_disagree(db) -> list:
    return db.execute(
        f"""
        (select term, impact, chunk_id from ai.chunk_terms except {EXPECTED})
        union all
        ({EXPECTED} except select term, impact, chunk_id from ai.chunk_terms)
        """
    ).fetchall()


def test_postings_follow_the_chunks(db, scene):
    assert scalar(db, "service_role", "select count(*) from ai.chunk_terms") > 0
    assert postings_disagree(db) == []
    db.execute(
        "update ai.chunks set content = content || ' wombatmarker' where source_id = %s",
        (scene.ids["open_body"],),
    )
    db.execute("update ai.chunks set embedding_model = embedding_model")  # text unchanged
    assert postings_disagree(db) == []
    db.execute("delete from ai.chunks where source_kind = 'doc'")
    assert postings_disagree(db) == []
    assert query(db, scene.admin, "select * from api.ai_search('wombatmarker')")


def test_impacts_add_up_to_the_any_word_rank(db, scene):
    words = " | ".join(["canary", "stack", MARKERS["open_body"], "buffer", "overflow"])
    rows = db.execute(
        """
        select c.id, ts_rank_cd(c.tsv, q) as rank,
               (select coalesce(sum(ct.impact), 0) from ai.chunk_terms as ct
                where ct.chunk_id = c.id
                  and ct.term = any(tsvector_to_array(to_tsvector('english', %s)))) as impacts
        from ai.chunks as c, to_tsquery('english', %s) as q
        where c.tsv @@ q
        """,
        (words.replace("|", " "), words),
    ).fetchall()
    assert rows
    for r in rows:
        assert abs(r["rank"] - r["impacts"]) < 1e-5, r
