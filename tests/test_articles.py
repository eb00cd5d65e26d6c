"""Tests for pipeline.articles: formats, bad inputs, normalisation, furniture, ids, streaming."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from pipeline import articles
from pipeline.articles import Article, BadInput, article_id, iter_articles, normalise_text
from pipeline.errors import ConfigError

DATA = Path(__file__).resolve().parent / "data" / "articles"
FORMATS = DATA / "formats"
BAD = DATA / "bad"
TREE = DATA / "tree"


def load(*paths: str | Path, stdin: bytes | None = None) -> list[Article | BadInput]:
    return list(iter_articles(list(paths), stdin=io.BytesIO(stdin) if stdin is not None else None))


def one(path: str | Path) -> Article:
    items = load(path)
    assert len(items) == 1, items
    assert isinstance(items[0], Article), items[0]
    return items[0]


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "text", "extra"),
    [
        (
            "bbc_style.txt",
            "Ministers back new rail plan",
            "The government has approved a £2bn rail plan, the transport secretary said on "
            'Monday.\n\n"It is a good day for passengers," said Jane Smith.',
            {},
        ),
        (
            "no_title.txt",
            None,
            "The council said on Tuesday that 40 homes would be built.\nWork starts in May.\n\n"
            "Residents welcomed the news.",
            {},
        ),
        (
            "explicit.dat",
            "Unknown extension article",
            "A file named explicitly is read as text whatever its extension.",
            {},
        ),
        (
            "article.md",
            "Storm closes 30 schools",
            "Heavy rain closed 30 schools in Cumbria on Friday, the county council said.\n\n"
            'What happens next\n\n"We will reopen as soon as it is safe," said head teacher '
            "Ann Lee.\n\nBuses are cancelled\nExams move to Monday",
            {},
        ),
        (
            "article.html",
            "Wind farm with 50 turbines approved",
            "A wind farm with 50 turbines has been approved off the coast of Northumberland, "
            "the planning minister said on Friday.\n\n"
            "The scheme will power 80,000 homes, according to the developer, and construction "
            "is due to start next spring.\n\n"
            '"This is a major step," said Tom Green, who chairs the local council\'s planning '
            "committee.\n\n"
            "Opponents said the turbines would spoil views from the coast path and harm seabirds.",
            {
                "date": "2024-05-31T08:00:00Z",
                "url": "https://news.example.com/wind-farm",
                "author": "Jane Reporter",
                "site_name": "Example News",
            },
        ),
        (
            "title_only.html",
            "Only a title tag",
            "Body text of the page.",
            {"url": "https://ex.com/og"},
        ),
        (
            "one.json",
            "Bank raises rates",
            "The bank raised rates to 5.25%, its governor said.",
            {"date": "2024-02-01", "url": "https://ex.com/rates", "external_id": "42"},
        ),
        (
            "latin1.txt",
            "Café prices rise",
            "A coffee now costs £3.20 at the café, its owner José said.",
            {},
        ),
        ("cp1252.txt", None, "“We are delighted” – the price is €5, said Renée.", {}),
        ("bom.txt", "Title after a BOM", "Body after a BOM.", {}),
        ("utf16.txt", "UTF-16 title", "Body in UTF-16 with a BOM.", {}),
    ],
)
def test_single_file_formats(
    name: str, title: str | None, text: str, extra: dict[str, str]
) -> None:
    article = one(FORMATS / name)
    assert article.title == title
    assert article.text == text
    assert article.id == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    for field in ("date", "url", "external_id", "author", "site_name"):
        assert getattr(article, field) == extra.get(field)


def test_source_is_the_path_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    assert one("formats/bbc_style.txt").source == "formats/bbc_style.txt"
    assert one(Path("formats/one.json")).source == "formats/one.json"
    assert [a.source for a in load("tree/")][0] == "tree/a.txt"


def test_html_drops_page_furniture() -> None:
    text = one(FORMATS / "article.html").text
    for gone in (
        "tracker",
        "color",
        "Example News",
        "World",
        "Getty",
        "Related",
        "Subscribe",
        "Share this",
        "Copyright",
        "JavaScript",
        "31 May",
    ):
        assert gone not in text


def test_markdown_drops_images_keeps_link_text() -> None:
    text = one(FORMATS / "article.md").text
    assert "flood.jpg" not in text and "A flooded road" not in text
    assert "in Cumbria on" in text and "example.com" not in text
    assert "**" not in text and "#" not in text and ">" not in text


def test_markdown_front_matter() -> None:
    raw = b"---\ntitle: From front matter\ndate: 2024-01-01\nurl: https://ex.com/x\n---\n\nBody.\n"
    (item,) = articles.load_article_text("x.md", raw, suffix=".md")
    assert isinstance(item, Article)
    assert (item.title, item.date, item.url, item.text) == (
        "From front matter",
        "2024-01-01",
        "https://ex.com/x",
        "Body.",
    )


def test_json_list_gives_one_item_each() -> None:
    items = load(FORMATS / "list.json")
    assert [type(i).__name__ for i in items] == ["Article", "Article", "BadInput"]
    assert [i.source.rsplit("/", 1)[-1] for i in items] == [
        "list.json#1",
        "list.json#2",
        "list.json#3",
    ]
    first, second, bad = items
    assert isinstance(first, Article) and isinstance(second, Article)
    assert (first.text, first.external_id) == ("First article in a list.", "a1")
    assert (second.text, second.date) == ("Second article in a list.", "2024-01-02")
    assert "text, article, body, content, document" in bad.message


def test_jsonl_lines_blank_lines_skipped_line_numbers_right() -> None:
    items = load(FORMATS / "lines.jsonl")
    got = [(i.source.rsplit(":", 1)[-1], type(i).__name__) for i in items]
    assert got == [
        ("1", "Article"),
        ("3", "Article"),
        ("4", "BadInput"),
        ("5", "BadInput"),
        ("6", "BadInput"),
        ("7", "Article"),
    ]
    by_line = {i.source.rsplit(":", 1)[-1]: i for i in items}
    assert isinstance(by_line["3"], Article) and by_line["3"].date == "2024-03-03"
    assert by_line["1"].source.endswith("formats/lines.jsonl:1")
    msg4 = by_line["4"].message
    assert "lines.jsonl:4: line is not valid JSON (" in msg4 and "fix the line or remove it" in msg4
    assert "none of the fields text, article, body, content, document" in by_line["5"].message
    assert "got a list" in by_line["6"].message


def test_jsonl_with_a_known_title_drops_the_repeated_first_line(tmp_path: Path) -> None:
    path = tmp_path / "bbc.jsonl"
    row = {"id": "business/001", "title": "Ad sales boost", "article": "Ad sales boost\n\nBody."}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (article,) = load(path)
    assert isinstance(article, Article)
    assert (article.title, article.text, article.external_id) == (
        "Ad sales boost",
        "Body.",
        "business/001",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Stdin title\n\nPlain text from stdin.\n", [("-", "Plain text from stdin.")]),
        (
            b'{"text": "First."}\n\n{"text": "Second."}\n',
            [("-:1", "First."), ("-:3", "Second.")],
        ),
        (b'\n{"text": "After a blank."}\n', [("-:2", "After a blank.")]),
        (b'[{"text": "A"}, {"text": "B"}]', [("-#1", "A"), ("-#2", "B")]),
        (b'{\n  "text": "Pretty printed."\n}\n', [("-", "Pretty printed.")]),
        (b"{not json at all} but text\n", [("-", "{not json at all} but text")]),
    ],
)
def test_stdin(data: bytes, expected: list[tuple[str, str]]) -> None:
    items = load("-", stdin=data)
    assert all(isinstance(i, Article) for i in items), items
    assert [(i.source, i.text) for i in items if isinstance(i, Article)] == expected


def test_stdin_jsonl_bad_line_and_empty_stdin() -> None:
    items = load("-", stdin=b'{"text": "ok"}\n{broken\n')
    assert [type(i).__name__ for i in items] == ["Article", "BadInput"]
    assert items[1].source == "-:2" and items[1].message.startswith("-:2: line is not valid JSON")
    (empty,) = load("-", stdin=b"  \n")
    assert isinstance(empty, BadInput) and empty.source == "-"


def test_stdin_defaults_to_sys_stdin_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStdin:
        buffer = io.BytesIO(b"From the real stdin.\n")

    monkeypatch.setattr("sys.stdin", FakeStdin)
    (item,) = list(iter_articles(["-"]))
    assert isinstance(item, Article) and item.text == "From the real stdin."


def test_folder_recursion_order_and_skips() -> None:
    items = load(TREE)
    names = [Path(i.source).relative_to(TREE).as_posix() for i in items]
    # sorted by path parts; hidden files and folders and unknown extensions are skipped
    assert names == ["a.txt", "b/c.md", "b/d/e.json", "b-f.txt", "z.HTML"]
    assert all(isinstance(i, Article) for i in items)


def test_paths_in_the_order_given() -> None:
    items = load(TREE / "z.HTML", FORMATS / "bbc_style.txt", TREE / "a.txt")
    assert [Path(i.source).name for i in items] == ["z.HTML", "bbc_style.txt", "a.txt"]


@pytest.mark.parametrize("missing", ["no/such/folder/", "missing.txt"])
def test_missing_path_raises_config_error_before_reading(missing: str) -> None:
    with pytest.raises(ConfigError) as err:
        iter_articles([FORMATS / "bbc_style.txt", missing])  # raises at the call, not lazily
    assert err.value.exit_code == 2
    assert missing in err.value.message and "\n" not in err.value.message
    assert "check the path" in err.value.message


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("empty.txt", "file is empty"),
        ("blank.txt", "file is empty"),
        ("binary.txt", "looks like a binary file"),
        ("undecodable.txt", "cannot decode"),
        ("number.json", "not an object or a list of objects"),
        ("broken.json", "not valid JSON"),
        ("no_text.json", "none of the fields text, article, body, content, document"),
        ("only_furniture.txt", "no article text"),
    ],
)
def test_bad_input_gives_one_bad_input(name: str, phrase: str) -> None:
    items = load(BAD / name)
    assert len(items) == 1
    (bad,) = items
    assert isinstance(bad, BadInput)
    assert bad.kind == "bad_input"
    assert bad.source == str(BAD / name)
    assert bad.message.startswith(f"{bad.source}: ") and phrase in bad.message
    assert ";" in bad.message  # names the fix after the problem
    assert len(bad.id) == 16 and int(bad.id, 16) >= 0


def test_bad_inputs_do_not_stop_the_run() -> None:
    items = load(BAD, FORMATS / "bbc_style.txt", BAD / "binary.txt")
    assert [type(i).__name__ for i in items] == ["BadInput"] * 8 + ["Article", "BadInput"]


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"", "file is empty"),
        (b"\n\n  \n", "file is empty"),
        (b"not json\n", "line is not valid JSON"),
        (b'"a string"\n', "got a string"),
        (b"null\n", "got null"),
        (b'{"text": ""}\n', "none of the fields"),
        (b'{"text": 5}\n', "none of the fields"),
        (b'{"text": "caf\xe9"}\n', "line is not valid UTF-8"),
        (b"\x00\x01\x02\x03" * 10, "looks like a binary file"),
    ],
)
def test_bad_jsonl(tmp_path: Path, data: bytes, phrase: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(data)
    (bad,) = load(path)
    assert isinstance(bad, BadInput) and phrase in bad.message


def test_bad_input_id_hashes_raw_bytes_or_source(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    raw = b"\x00binary\x00"
    path.write_bytes(raw)
    (bad,) = load(path)
    assert bad.id == hashlib.sha256(raw).hexdigest()[:16]
    (empty,) = load(BAD / "empty.txt")
    assert empty.id == hashlib.sha256(str(BAD / "empty.txt").encode()).hexdigest()[:16]


def test_unreadable_file_is_a_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("text", encoding="utf-8")

    def refuse(path: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pipeline.articles._iterate.open_regular", refuse)
    (bad,) = load(path)
    assert isinstance(bad, BadInput) and "cannot read the file (Permission denied)" in bad.message


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb\rc", "a\nb\nc"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("non\u00a0breaking\u202fnarrow\u2009thin\u3000wide", "non breaking narrow thin wide"),
        ("zero\u200bwidth\u200d joiner\ufeff\u2060", "zerowidth joiner"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bell\x07 and \x1b escape\x7f", "bell and escape"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("\n\n  leading and trailing  \n\n", "leading and trailing"),
        ("line\n   \nnext", "line\n\nnext"),
        ("Cafe\u0301", "Café"),  # NFC composes
        ("“curly” ‘quotes’ – dash … ﬁ ligature ½", "“curly” ‘quotes’ – dash … ﬁ ligature ½"),
        ("line\u2028separator", "line\nseparator"),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected
    assert normalise_text(expected) == expected  # idempotent


FURNITURE = [
    "Support us on Patreon",
    "Share this article",
    "Share this story on Facebook",
    "Share on WhatsApp",
    "Subscribe to our newsletter",
    "Sign up for our daily newsletter",
    "Follow us on Twitter",
    "Follow us on X",
    "Follow us on Facebook and Instagram",
    "Advertisement",
    "ADVERTISEMENT",
    "Image copyright Getty Images",
    "Image caption The minister arrives in Downing Street",
    "Media caption Watch: the moment the bridge fell",
    "Getty Images",
    "Photo: Reuters",
    "Photograph: Jane Doe/The Guardian",
    "Picture by John Smith",
    "Read more: Why the pound fell",
    "Read more",
    "Click here to subscribe",
    "We use cookies to improve your experience on our site.",
    "This website uses cookies",
    "Accept all cookies",
    "Skip to main content",
    "© 2025 Example Media Ltd",
]
KEPT = [
    "Shares in the company rose 5% on Monday.",
    "She said she would support the bill.",
    "Supporters gathered outside to share their stories.",
    "Readers were urged to share this article with friends.",
    "Follow the money, the detective said.",
    "The advertisement was banned by the regulator.",
    "Advertisements for the product will be banned from 2026.",
    "The photo was taken in 1945.",
    "Source: a senior official told the BBC the deal was close.",
    "The figures were revised. Source: Office for National Statistics",
    "Subscribers to the newsletter fell by 2,000, the company said.",
    "He told fans to read more books.",
    "Click here was the name of the campaign, she said.",
    "Getty Images, the agency, reported record profits.",
    "The image caption competition drew 400 entries.",
    "Cookies and biscuits sales rose 3%.",
    "We use cookies, the baker joked, to win customers.",
    "He asked fans to support us on Patreon, Smith said.",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_line_is_removed(line: str) -> None:
    text = f"First real sentence.\n{line}\nLast real sentence."
    assert normalise_text(text) == "First real sentence.\nLast real sentence."


@pytest.mark.parametrize("line", KEPT)
def test_ordinary_line_is_kept(line: str) -> None:
    text = f"First real sentence.\n{line}\nLast real sentence."
    assert normalise_text(text) == text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("date 2025-03-27 Support us on Patreon", "date 2025-03-27"),
        ("Local news Share this article", "Local news"),
        ("Weekly roundup Subscribe to our newsletter", "Weekly roundup"),
        ("Shares rose. Share this article", "Shares rose."),
    ],
)
def test_furniture_glued_to_the_end_of_a_short_line(line: str, expected: str) -> None:
    assert normalise_text(line) == expected


def test_glued_phrase_in_a_long_line_is_kept() -> None:
    line = "A long paragraph that goes on, " * 6 + "and ends with Share this article"
    assert len(line) > 160
    assert normalise_text(line) == line


# --- header: title and date --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title", "date", "body"),
    [
        ("Title here\n\nBody.", "Title here", None, "Body."),
        ("Rivals of the £400 Apple...\n\nBody.", "Rivals of the £400 Apple...", None, "Body."),
        ("Why did it fail?\n\nBody.", "Why did it fail?", None, "Body."),
        (
            "A full sentence with a stop.\n\nBody.",
            None,
            None,
            "A full sentence with a stop.\n\nBody.",
        ),
        ("He said:\n\nBody.", None, None, "He said:\n\nBody."),
        ("One\n\nBody.", None, None, "One\n\nBody."),
        ("Only a title-like line", None, None, "Only a title-like line"),
        ("First line\nsecond line.\n\nBody.", None, None, "First line\nsecond line.\n\nBody."),
        ("x " * 70 + "\n\nBody.", None, None, ("x " * 70).strip() + "\n\nBody."),
        ("Two sentences. Here now\n\nBody.", None, None, "Two sentences. Here now\n\nBody."),
        ("date 2025-03-27\nHead line\n\nBody.", "Head line", "2025-03-27", "Body."),
        ("Published: 27 March 2025\n\nHead line\n\nBody.", "Head line", "2025-03-27", "Body."),
        ("Posted on March 5, 2024\nHead line\n\nBody.", "Head line", "2024-03-05", "Body."),
        (
            "Updated: Tue 5 Mar 2024 10:32 GMT\nHead line\n\nBody.",
            "Head line",
            "2024-03-05",
            "Body.",
        ),
        ("27/03/2025\nHead line\n\nBody.", "Head line", "2025-03-27", "Body."),
        ("03/27/2025\nHead line\n\nBody.", "Head line", "2025-03-27", "Body."),
        ("03/04/2025\nHead line\n\nBody.", "Head line", "03/04/2025", "Body."),
        ("Advertisement\nHead line\n\nBody.", "Head line", None, "Body."),
        (
            "A teaser that is not in the body at all, really.\nHead line\n\nBody.",
            "Head line",
            None,
            "A teaser that is not in the body at all, really.\n\nBody.",
        ),
        ("Caption of a photo. Source: Jane Doe\nHead line\n\nBody.", "Head line", None, "Body."),
        ("Source: Reuters\nHead line\n\nBody.", "Head line", None, "Body."),
    ],
)
def test_plain_text_header(text: str, title: str | None, date: str | None, body: str) -> None:
    (item,) = articles.load_article_text("x.txt", text.encode("utf-8"))
    assert isinstance(item, Article)
    assert (item.title, item.date, item.text) == (title, date, body)


def test_date_line_in_the_body_is_kept() -> None:
    text = "Head line\n\nBody.\n\n27/03/2025\n\nPublished: 27 March 2025"
    (item,) = articles.load_article_text("x.txt", text.encode("utf-8"))
    assert isinstance(item, Article)
    assert item.date is None
    assert item.text == "Body.\n\n27/03/2025\n\nPublished: 27 March 2025"


def test_the_seed_article(seeds_dir: Path) -> None:
    path = seeds_dir / "000_8155cee7efb7811f.txt"
    article = one(path)
    assert article.source == str(path)
    assert article.date == "2025-03-27"
    assert (
        article.title
        == "North Korea sends at least 3,000 more troops to Russia in early 2025, Seoul says"
    )
    assert article.text.startswith("North Korea appears to have deployed at least 3,000 additional")
    assert article.text.endswith("according to CNN.")
    for gone in ("Patreon", "date 2025", "27/03/2025", "Source: Volodymyr Zelenskyy", "POW Ri"):
        assert gone not in article.text
    # the pull-quote above the headline repeats the body; the body's own sentence stays
    assert "Pyongyang also supplied Russia" not in article.text
    assert "a considerable amount of short-range ballistic missiles" in article.text
    # exactly the body below the headline, unchanged
    raw = path.read_text(encoding="utf-8")
    assert article.text == raw.split("\n\n", 1)[1].strip()
    assert article.text.count("\n\n") == 6
    assert article.id == article_id(article.text)


def test_every_seed_is_one_titled_article(seeds_dir: Path) -> None:
    files = sorted(p for p in seeds_dir.iterdir())
    items = load(seeds_dir)
    assert len(items) == len(files) >= 20
    assert [i.source for i in items] == [str(p) for p in files]
    assert all(isinstance(i, Article) and i.title for i in items), items
    assert len({i.id for i in items}) == len(items)
    for item in items:
        assert isinstance(item, Article)
        assert 1500 <= len(item.text) <= 6000
        if item.source.endswith(".json"):
            assert item.url and item.url.startswith("http") and item.external_id


# --- ids ---------------------------------------------------------------------------------------


def test_article_id_is_sha256_of_the_normalised_text() -> None:
    text = "Body of the article."
    assert article_id(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize(
    "variant",
    [
        "Big headline\n\nFirst paragraph here.\n\nSecond one.",
        "Big headline\r\n\r\nFirst paragraph here.\r\n\r\nSecond one.\r\n",
        "  Big   headline  \n\n\n\nFirst   paragraph\u00a0here.  \n \n\tSecond one.\n\n",
        "\ufeffBig headline\n\nFirst\u200b paragraph here.\n\nSecond one.",
    ],
)
def test_whitespace_differences_give_the_same_id(tmp_path: Path, variant: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(variant, encoding="utf-8", newline="")
    article = one(path)
    assert article.title == "Big headline"
    assert article.text == "First paragraph here.\n\nSecond one."
    assert article.id == article_id("First paragraph here.\n\nSecond one.")


def test_same_text_in_different_formats_gives_the_same_id(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Same body.", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"text": "Same body."}), encoding="utf-8")
    (tmp_path / "c.html").write_text("<p>Same   body.</p>", encoding="utf-8")
    (tmp_path / "d.md").write_text("Same **body**.", encoding="utf-8")
    items = load(tmp_path)
    assert len(items) == 4 and len({i.id for i in items}) == 1
    assert len({i.source for i in items}) == 4


def test_article_id_of_article_text_round_trips() -> None:
    for item in load(FORMATS):
        if isinstance(item, Article):
            assert article_id(item.text) == item.id
            assert normalise_text(item.text) == item.text


# --- streaming ---------------------------------------------------------------------------------


class GuardedLines(io.RawIOBase):
    """A byte stream that fails if anything reads past its first ``limit`` lines."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._lines = data.splitlines(keepends=True)
        self._limit = limit
        self.served = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> bytes:
        if self.served >= self._limit:
            raise AssertionError(f"read past line {self._limit}")
        self.served += 1
        return self._lines[self.served - 1] if self.served <= len(self._lines) else b""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("read() would take the whole stream")

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("readinto() would take the whole stream")


def test_iter_articles_is_lazy() -> None:
    stream = GuardedLines(b'{"text": "one"}\n{"text": "two"}\n' + b'{"text": "more"}\n' * 1000, 2)
    items = iter_articles(["-"], stdin=stream)  # type: ignore[arg-type]
    assert iter(items) is items and stream.served == 0
    first = next(items)
    assert isinstance(first, Article) and first.text == "one" and stream.served == 1
    second = next(items)
    assert isinstance(second, Article) and second.text == "two" and stream.served == 2
    with pytest.raises(AssertionError, match="read past line 2"):
        next(items)


def test_jsonl_file_is_read_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"text": "one"}\n' + b'{"text": "next"}\n' * 5000)
    lines_read = 0
    from pipeline.articles import _iterate

    real_open = _iterate.open_regular

    class Counting:
        def __init__(self, f: Any) -> None:
            self._f = f

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

        def read(self, size: int = -1) -> bytes:
            assert 0 < size <= 8192, "the whole file must not be read at once"
            data: bytes = self._f.read(size)
            return data

        def seek(self, pos: int) -> int:
            result: int = self._f.seek(pos)
            return result

        def readline(self, limit: int = -1) -> bytes:
            nonlocal lines_read
            lines_read += 1
            line: bytes = self._f.readline(limit)
            return line

    def counting_open(path: Any) -> Any:
        f, size = real_open(path)
        return Counting(f), size

    monkeypatch.setattr(_iterate, "open_regular", counting_open)
    items = iter_articles([path])
    first = next(items)
    assert isinstance(first, Article) and first.source == f"{path}:1"
    assert lines_read == 1


def test_a_big_jsonl_streams_in_bounded_memory(tmp_path: Path) -> None:
    lines = 20_000
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for n in range(lines):
            f.write(json.dumps({"id": n, "text": f"Article number {n} " + "x" * 40}) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        last = None
        for item in iter_articles([path]):
            count += 1
            last = item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == lines
    assert isinstance(last, Article) and last.source == f"{path}:{lines}"
    assert peak < size / 10, (peak, size)
