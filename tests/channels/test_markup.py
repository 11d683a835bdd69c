"""WhatsApp markup (what render gives citizens) as HTML, for pages and for Telegram."""

import pytest

from runner.announcements.render import markdown_blocks
from runner.channels.markup import inline, page_html, telegram_html


@pytest.mark.parametrize(("text", "html"), [
    ("*chiusa* e _torbida_ ~ieri~", "<strong>chiusa</strong> e <em>torbida</em> <s>ieri</s>"),
    ("file_di_prova e 2*3*4", "file_di_prova e 2*3*4"),  # not glued to words
    ("<script>alert(1)</script> & co", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"),
    ("```*non grassetto*```", "<code>*non grassetto*</code>"),
    ("vedi (https://www.comune.it/a?x=1&y=2).",
     'vedi (<a href="https://www.comune.it/a?x=1&amp;y=2">https://www.comune.it/a?x=1&amp;y=2'
     "</a>)."),
    ('https://x.it/"onmouseover=', '<a href="https://x.it/">https://x.it/</a>"onmouseover='),
])
def test_inline(text, html):
    assert inline(text) == html


def test_blocks_from_render_become_paragraphs_lists_quotes_and_code():
    source = ("Primo **paragrafo**\nsu due righe.\n\n1. uno\n2. due\n   - sotto\n\n"
              "> citazione\n\n```\nif x < 1\n```\n\n---\n\n3. tre\n4. quattro")
    assert page_html(markdown_blocks(source)).split("\n") == [
        "<p>Primo <strong>paragrafo</strong> su due righe.</p>",
        "<ol><li>uno</li><li>due<ul><li>sotto</li></ul></li></ol>",
        "<blockquote><p>citazione</p></blockquote>",
        "<pre><code>if x &lt; 1</code></pre>",
        "<hr>",
        '<ol start="3"><li>tre</li><li>quattro</li></ol>',
    ]


def test_telegram_gets_only_its_tags():
    blocks = markdown_blocks("**Via Roma** chiusa.\n\n- a\n- b\n\n> nota")
    assert telegram_html("Titolo <1>", blocks) == (
        "<b>Titolo &lt;1&gt;</b>\n\n<b>Via Roma</b> chiusa.\n\n- a\n- b\n\n"
        "<blockquote>nota</blockquote>")
