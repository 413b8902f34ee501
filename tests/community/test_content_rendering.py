"""Rendered user content: the sanitiser against an XSS corpus, and the database → worker →
api path (post, message, contribution, lesson, course description)."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from flagship.database import connect
from flagship.testing.harness import (
    api_error,
    as_user,
    create_user,
    denied,
    refresh,
    with_database,
)
from sync.handlers import REGISTRY
from sync.markup import URL_SCHEMES, render_markdown, sanitize
from sync.render import TOPIC, render_content
from sync.settings import WorkerSettings
from sync.worker import Worker

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    "<body onload=alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<iframe src="https://evil.test"></iframe>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<p style="width: expression(alert(1))">x</p>',
    "<style>body{background:url('javascript:alert(1)')}</style>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<input autofocus onfocus="alert(1)">',
    '<details open ontoggle="alert(1)">',
    "<!--><img src=x onerror=alert(1)>-->",
    "<<script>script>alert(1)<</script>/script>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](  javascript:alert(1)  )",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html,<script>alert(1)</script>)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![img](x" onerror="alert(1))',
    '[a](https://ok.test "title" onclick="alert(1)")',
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<https://ok.test/path>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "```html\n<script>alert(1)</script>\n```",
    "    <img src=x onerror=alert(1)>",
    "**bold <img src=x onerror=alert(1)>**",
    "> quote <iframe src=x></iframe>",
]
FORBIDDEN_TAGS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "form",
    "meta",
    "base",
    "link",
    "input",
    "button",
    "noscript",
    "template",
    "frame",
    "frameset",
}


class Audit(HTMLParser):
    """Collects every script-capable construct of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "xlink:href", "background", "poster"):
                self.links.append(value or "")
                scheme = urlsplit((value or "").strip()).scheme.lower()
                if scheme and scheme not in URL_SCHEMES:
                    self.problems.append(f"{tag}[{name}={value!r}]")
        found = dict(attrs)
        if tag == "a" and "href" in found and found.get("rel") != "nofollow noopener":
            self.problems.append("a without rel=nofollow noopener")

    handle_startendtag = handle_starttag


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("text", XSS)
def test_rendered_output_has_no_script_capable_construct(text):
    html = render_markdown(text)
    assert audit(html).problems == [], html
    # The output is a fixed point of the sanitiser: nothing left for a second pass to strip.
    assert sanitize(html) == html


@pytest.mark.parametrize("text", XSS)
def test_the_sanitiser_alone_stops_raw_html(text):
    """Second layer: even raw HTML that reached nh3 unescaped comes out inert."""
    assert audit(sanitize(text)).problems == []


def test_markdown_still_renders():
    html = render_markdown(
        "# Title\n\n**bold** _em_ `code` ~~gone~~\n\n- a\n- b\n\n"
        "[site](https://ok.test/x?y=1) <https://auto.test> [mail](mailto:a@ok.test) "
        "[local](/forum/t/1)\n\n![logo](https://ok.test/logo.png)"
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<em>em</em>" in html and "<code>code</code>" in html and "<s>gone</s>" in html
    assert "<li>a</li>" in html
    found = audit(html)
    assert found.problems == []
    assert found.links == [
        "https://ok.test/x?y=1",
        "https://auto.test",
        "mailto:a@ok.test",
        "/forum/t/1",
        "https://ok.test/logo.png",
    ]
    # Raw HTML is text, not markup; a javascript: link keeps its text but loses its link.
    assert render_markdown("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    assert "href" not in render_markdown("[click](javascript:alert(1))")


def test_python_m_sync_delivers_render_jobs():
    import sync.__main__  # noqa: F401  (what `python -m sync` imports)

    assert REGISTRY["content.render"] is render_content


# -- end to end: database → worker → api --------------------------------------------------
@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    """The fresh database as the application role, which is what the worker runs as."""
    return with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)


def drain(app_url: str) -> int:
    """Run the worker with the render handler until the queue is empty; jobs processed."""
    total = 0
    settings = WorkerSettings.from_env({**os.environ, "DATABASE_URL": app_url})
    with Worker(app_url, handlers={TOPIC: render_content(settings)}) as worker:
        while n := worker.run_once():
            total += n
    return total


def render_jobs(db) -> list[dict]:
    return [
        r["payload"]
        for r in db.execute(
            "select payload from ops.outbox where topic = 'content.render' and status = 'pending'"
            " order by id"
        ).fetchall()
    ]


def test_a_post_is_rendered_by_the_worker_and_read_through_the_api(fresh_db, app_url):
    with connect(fresh_db) as db:
        author = create_user(db, username="render_author")
        admin = create_user(db, username="render_admin")
        db.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'admin')", (admin.id,)
        )
        admin = refresh(db, admin)
        with as_user(db, admin):
            category = db.execute(
                "select api.community_save_category('general', 'General', null, 'everyone',"
                " 'members') as id"
            ).fetchone()["id"]
        with as_user(db, author):
            thread = db.execute(
                "select api.community_create_thread(%s, 'XSS?', %s) as id",
                (category, "Hi **there** <img src=x onerror=alert(1)> [x](javascript:alert(1))"),
            ).fetchone()["id"]
        # One job per write of a markdown column, and nothing rendered yet.
        assert {"table": "community.posts", "column": "body"}.items() <= render_jobs(db)[-1].items()
        with as_user(db, "anon"):
            before = db.execute(
                "select id, body_html, updated_at from api.community_forum_posts"
                " where thread_id = %s",
                (thread,),
            ).fetchone()
        assert before["body_html"] is None
        db.commit()

    assert drain(app_url) >= 1

    with connect(fresh_db) as db:
        with as_user(db, "anon"):
            after = db.execute(
                "select body_html, updated_at from api.community_forum_posts where id = %s",
                (before["id"],),
            ).fetchone()
            page = db.execute(
                "select body_html from api.community_list_thread_posts(%s)", (thread,)
            ).fetchone()
        assert after["body_html"] == (
            "<p>Hi <strong>there</strong> &lt;img src=x onerror=alert(1)&gt; [x](javascript:alert"
            "(1))</p>\n"
        )
        assert page["body_html"] == after["body_html"]
        assert after["updated_at"] == before["updated_at"]  # rendering is not an edit
        assert audit(after["body_html"]).problems == []

        # An edit clears the rendering and queues a new job; a stale job stores nothing.
        stale = db.execute(
            "select private.content_render_source('community.posts', %s, 'body') as s",
            (str(before["id"]),),
        ).fetchone()["s"]
        with as_user(db, author):
            db.execute("select api.community_edit_post(%s, 'Now *edited*')", (before["id"],))
        assert (
            db.execute(
                "select body_html from community.posts where id = %s", (before["id"],)
            ).fetchone()["body_html"]
            is None
        )
        assert (
            db.execute(
                "select private.content_store_render('community.posts', %s, 'body', %s,"
                " '<p>old</p>') as ok",
                (str(before["id"]), stale["hash"]),
            ).fetchone()["ok"]
            is False
        )
        db.commit()
    drain(app_url)
    with connect(fresh_db) as db:
        assert (
            db.execute(
                "select body_html from community.posts where id = %s", (before["id"],)
            ).fetchone()["body_html"]
            == "<p>Now <em>edited</em></p>\n"
        )


def test_messages_contributions_lessons_and_courses_are_rendered(fresh_db, app_url):
    with connect(fresh_db) as db:
        one = create_user(db, username="render_one")
        two = create_user(db, username="render_two")
        with as_user(db, one):
            message = db.execute(
                "select api.community_start_conversation(array[%s]::uuid[], '*psst*') as id",
                (two.id,),
            ).fetchone()["id"]
            contribution = db.execute(
                "select api.community_save_contribution('article', 'ROP', '## Gadgets') as id"
            ).fetchone()["id"]
        course = db.execute(
            "insert into learning.courses (slug, title, description, status, published_at)"
            " values ('render-course', 'Rendering', 'Learn **XSS** <script>x</script>',"
            " 'published', now()) returning id"
        ).fetchone()["id"]
        module = db.execute(
            "insert into learning.modules (course_id, position, title) values (%s, 0, 'M')"
            " returning id",
            (course,),
        ).fetchone()["id"]
        lesson = db.execute(
            "insert into learning.lessons (course_id, module_id, position, title, kind,"
            " is_preview) values (%s, %s, 0, 'L', 'article', true) returning id",
            (course, module),
        ).fetchone()["id"]
        db.execute(
            "insert into learning.lesson_contents (lesson_id, body_md) values (%s, %s)",
            (lesson, "Step `one` [evil](vbscript:x)"),
        )
        db.commit()
    drain(app_url)
    with connect(fresh_db) as db:
        with as_user(db, two):
            assert (
                db.execute(
                    "select body_html from api.community_conversation_messages where id = %s",
                    (message,),
                ).fetchone()["body_html"]
                == "<p><em>psst</em></p>\n"
            )
        with as_user(db, one):
            assert (
                db.execute(
                    "select body_html from api.community_contributions where id = %s",
                    (contribution,),
                ).fetchone()["body_html"]
                == "<h2>Gadgets</h2>\n"
            )
        with as_user(db, "anon"):
            lesson_json = db.execute(
                "select api.learning_get_lesson(%s) as j", (lesson,)
            ).fetchone()["j"]
            outline = db.execute(
                "select api.learning_get_course_outline(%s) as j", (course,)
            ).fetchone()["j"]
            listed = db.execute(
                "select description_html from api.learning_courses where id = %s", (course,)
            ).fetchone()
        assert lesson_json["body_html"] == "<p>Step <code>one</code> [evil](vbscript:x)</p>\n"
        assert outline["description_html"] == (
            "<p>Learn <strong>XSS</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"
        )
        assert listed["description_html"] == outline["description_html"]
        lessons = [
            item for m in outline["modules"] for item in m["lessons"] if item["id"] == str(lesson)
        ]
        assert lessons and lessons[0]["body_html"] == lesson_json["body_html"]


def test_render_functions_are_for_the_service_only(db, cast):
    for who in ("anon", cast.member, cast.admin):
        for sql in (
            "select private.content_render_source('community.posts', '1', 'body')",
            "select private.content_store_render('community.posts', '1', 'body', 'h', 'x')",
        ):
            with denied(db), as_user(db, who):
                db.execute(sql)
    # Only listed columns: the service cannot aim the store at another column or table.
    for table, column in (("accounts.profiles", "username"), ("community.posts", "body_html")):
        with api_error(db, "invalid_argument"), as_user(db, "service_role"):
            db.execute(
                "select private.content_store_render(%s, '1', %s, 'h', 'x')", (table, column)
            )
