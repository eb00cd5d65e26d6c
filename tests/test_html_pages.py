"""HTML pages through the ``.html`` loader: the encoding sniffed, the main text extracted with
trafilatura (comments, layout tables, headline and "About the author" left out), the page's
metadata read, the fallback reader for fragments, and the bad pages' records.

The pages are real (``tests/data/web/pages``, origins in the README there); the quoted passages
come from each page's ground truth in the html-news set."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.articles import Article, BadInput, iter_articles
from pipeline.articles._html_meta import decode_html
from pipeline.cli import cli

PAGES = Path(__file__).resolve().parent / "data" / "web" / "pages"


def page_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name.removesuffix(".gz")
    path.write_bytes(gzip.decompress((PAGES / name).read_bytes()))
    return path


def load_one(path: Path) -> Article | BadInput:
    items = list(iter_articles([path]))
    assert len(items) == 1
    return items[0]


def article(path: Path) -> Article:
    item = load_one(path)
    assert isinstance(item, Article), item
    return item


# -- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "passages"),
    [
        (  # declares gb2312, uses GBK characters: read as GB18030
            "sohu-gb2312.html.gz",
            ["宝洁集团公关总监裴逸群显得颇为惊讶", "资生堂七大国际顶尖化妆品品牌纷纷入驻中国"],
        ),
        (  # declares nothing at all
            "qianlong-undeclared-gb.html.gz",
            ["骏威客车是生产大客车的生产企业", "现代既然跟广汽签了全面合资协议"],
        ),
    ],
)
def test_gb_pages_are_decoded(tmp_path: Path, name: str, passages: list[str]) -> None:
    text = article(page_file(tmp_path, name)).text
    for passage in passages:
        assert passage in text
    assert "\ufffd" not in text


def test_a_declared_charset_that_the_bytes_contradict_loses(tmp_path: Path) -> None:
    raw = gzip.decompress((PAGES / "sohu-gb2312.html.gz").read_bytes())
    assert b"charset=gb2312" in raw
    lying = raw.replace(b"charset=gb2312", b"charset=utf-8")  # GB bytes declared UTF-8
    (tmp_path / "lying.html").write_bytes(lying)
    assert "宝洁集团公关总监裴逸群显得颇为惊讶" in article(tmp_path / "lying.html").text


@pytest.mark.parametrize(
    ("declared", "body", "expected"),
    [
        ("iso-8859-1", "Caf\u00e9 \u201cprices\u201d rise".encode("cp1252"), "Café “prices” rise"),
        ("iso-8859-2", "Gda\u0144sk \u201ewybory\u201d".encode("cp1250"), "Gdańsk „wybory”"),
        ("windows-1251", "\u041c\u043e\u0441\u043a\u0432\u0430".encode("cp1251"), "Москва"),
        ("iso-8859-1", "Café in UTF-8".encode(), "Café in UTF-8"),  # valid UTF-8 wins
    ],
)
def test_declared_single_byte_charsets(declared: str, body: bytes, expected: str) -> None:
    raw = b'<html><head><meta charset="' + declared.encode() + b'"></head><p>' + body + b"</p>"
    assert expected in decode_html(raw)


def test_the_transport_charset_is_tried_first() -> None:
    raw = "<p>Ελλάδα</p>".encode("iso-8859-7")
    assert "Ελλάδα" in decode_html(raw, "iso-8859-7")


# -- main text -----------------------------------------------------------------------------------


def test_reader_comments_are_not_the_article(tmp_path: Path) -> None:
    a = article(page_file(tmp_path, "slashdot-comments.html.gz"))
    assert a.text.startswith("Elite computer science degrees are no longer a guaranteed on-ramp")
    assert a.text.endswith("add more skills needed to compete with AI.")
    assert "(Score:" not in a.text
    assert "Re: " not in a.text


def test_layout_tables_with_site_notices_are_left_out(tmp_path: Path) -> None:
    text = article(page_file(tmp_path, "yahoo-cn-layout-tables.html.gz")).text
    assert "在离婚的理由中，女方抱怨性生活“不活跃”的比例有所增加" in text
    assert "雅虎中国著作权声明" not in text
    assert "西门子无绳电话" not in text


def test_headline_and_about_the_author_are_not_text(tmp_path: Path) -> None:
    a = article(page_file(tmp_path, "bdcnetwork-about-author.html.gz"))
    assert a.title == "AI won’t steal your job—but it may save your CD set"
    assert a.text.startswith("This blog post was authored by Jake Donaldson")
    assert a.text.endswith("powered by people and the tools we choose to wield.")
    assert "About the Author" not in a.text
    assert "ego-free, full-service architecture" not in a.text


def test_page_metadata(tmp_path: Path) -> None:
    a = article(page_file(tmp_path, "slashdot-comments.html.gz"))
    assert a.url == (
        "https://developers.slashdot.org/story/25/12/19/236259/"
        "stanford-computer-science-grads-find-their-degrees-no-longer-guarantee-jobs"
    )
    assert a.date is not None and a.date.startswith("2025-12-19")
    assert (a.author, a.site_name) == ("BeauHD", "Slashdot")


def test_date_as_the_page_writes_it(tmp_path: Path) -> None:
    page = (
        '<html><head><script type="application/ld+json">{"@context": "https://schema.org", '
        '"@type": "NewsArticle", "datePublished": "2025-03-27T09:30:00+09:00", '
        '"author": [{"@type": "Person", "name": "Kim Min-ji"}, {"name": "Lee Joon"}], '
        '"publisher": {"@type": "Organization", "name": "Korea Daily"}}</script>'
        '<meta property="article:published_time" content="2025-03-28">'
        "</head><body><article><h1>Troops sent</h1>"
        + "<p>North Korea sent more troops to Russia, Seoul said on Thursday.</p>" * 8
        + "</article></body></html>"
    )
    path = tmp_path / "a.html"
    path.write_text(page, encoding="utf-8")
    a = article(path)
    assert a.date == "2025-03-27T09:30:00+09:00"
    assert a.author == "Kim Min-ji; Lee Joon"
    assert a.site_name == "Korea Daily"
    assert a.title == "Troops sent"


def test_a_fragment_trafilatura_rejects_is_read_by_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "f.html"
    path.write_text("<p>One short paragraph.</p><p>And a second.</p>", encoding="utf-8")
    assert article(path).text == "One short paragraph.\n\nAnd a second."


# -- bad pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        (
            b"<html><body><nav><a href='/'>Home</a> <a href='/uk'>UK</a></nav>"
            b"<script>render()</script></body></html>",
            "no article text",
        ),
        (b"   \n  ", "empty"),
    ],
)
def test_bad_pages_become_bad_input(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.html"
    path.write_bytes(content)
    item = load_one(path)
    assert isinstance(item, BadInput)
    assert reason in item.message and str(path) in item.message


# -- the record ----------------------------------------------------------------------------------


def test_records_carry_the_page_metadata(tmp_path: Path) -> None:
    path = page_file(tmp_path, "bdcnetwork-about-author.html.gz")
    result = CliRunner().invoke(cli, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["status"] == "ok"
    assert record["url"] == (
        "https://www.bdcnetwork.com/home/blog/55339695/ai-wont-steal-your-jobbut-it-may-save-"
        "your-cd-set"
    )
    assert record["published"] == "2025-12-19"
    assert record["author"] == "Method Architecture"
    assert record["site_name"] == "Building Design + Construction"
    assert record["duplicate_of"] is None
    again = CliRunner().invoke(cli, ["run", str(path), "--quiet"])
    cached = json.loads(again.stdout.splitlines()[0])
    assert cached["cached"] is True
    assert {k: cached[k] for k in ("url", "published", "author", "site_name")} == {
        k: record[k] for k in ("url", "published", "author", "site_name")
    }


def test_json_and_markdown_inputs_carry_their_metadata(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps(
            {
                "title": "Rates held",
                "text": "The central bank held rates at 5.25% on Thursday, its governor said.",
                "url": "https://news.example.com/rates",
                "published": "2025-03-27T09:30:00+09:00",
                "authors": ["Kim Min-ji", "Lee Joon"],
                "site_name": "Korea Daily",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "b.md").write_text(
        "---\ntitle: Storm closes schools\ndate: 2025-01-10\nauthor: Ann Lee\n"
        "site: Cumbria News\nurl: https://cumbria.example/storm\n---\n\n"
        "Heavy rain closed 30 schools in Cumbria on Friday, the county council said.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["run", str(tmp_path / "a.jsonl"), str(tmp_path / "b.md"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    a, b = (json.loads(line) for line in result.stdout.splitlines())
    assert (a["url"], a["published"], a["author"], a["site_name"]) == (
        "https://news.example.com/rates",
        "2025-03-27T09:30:00+09:00",
        "Kim Min-ji; Lee Joon",
        "Korea Daily",
    )
    assert (b["url"], b["published"], b["author"], b["site_name"]) == (
        "https://cumbria.example/storm",
        "2025-01-10",
        "Ann Lee",
        "Cumbria News",
    )
