"""``--new`` (only what was never summarised with this prompt and model) and syndicated copies
summarised once (``duplicate_of``), through ``summarise run`` against a local site, and the
near-duplicate rule itself on built outlet copies of the BBC seed articles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import FeedEntry, bbc_stories, copy_of, publish, rss

from pipeline.cli import cli
from pipeline.web import Fingerprint
from pipeline.web._site import LocalSite

T0 = 1_740_000_000.0


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def run(*args: str, db: Path) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(cli, ["run", *args, "--db", str(db), "--quiet"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, records


# -- --new -------------------------------------------------------------------------------------


def test_a_scheduled_run_prints_only_the_new_stories(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()
    db = tmp_path / "s.db"
    day1 = [
        FeedEntry(s.title, publish(site, f"/s{n}", s, "Wire"), T0 - n)
        for n, s in enumerate(stories[:3])
    ]
    site.add("/feed", rss(day1), content_type="application/rss+xml", conditional=True)
    code, first = run(site.url("/feed"), "--new", db=db)
    assert code == 0 and [r["title"] for r in first] == [s.title for s in stories[:3]]

    # the same feed again: nothing new, nothing printed, exit 0, nothing fetched in full
    site.reset_counts()
    code, again = run(site.url("/feed"), "--new", db=db)
    assert (code, again) == (0, [])
    assert {h.status for h in site.hits if h.path != "/robots.txt"} <= {304}
    assert not any(h.path.startswith("/s") for h in site.hits)  # known addresses not fetched

    # the next day: two new entries above the old ones (one with tracking parameters on an
    # old address: not new)
    day2 = [
        FeedEntry(stories[3].title, publish(site, "/s3", stories[3], "Wire"), T0 + 2),
        FeedEntry(stories[4].title, publish(site, "/s4", stories[4], "Wire"), T0 + 1),
        FeedEntry(stories[0].title, site.url("/s0") + "?utm_source=rss&utm_medium=x", T0 + 0.5),
        *day1,
    ]
    site.add("/feed", rss(day2), content_type="application/rss+xml", conditional=True)
    code, third = run(site.url("/feed"), "--new", db=db)
    assert code == 0 and [r["title"] for r in third] == [stories[3].title, stories[4].title]


def test_without_new_every_input_has_its_record(site: LocalSite, tmp_path: Path) -> None:
    url = publish(site, "/a", bbc_stories()[0], "Wire")
    db = tmp_path / "s.db"
    run(url, db=db)
    code, again = run(url, db=db)
    assert code == 0 and len(again) == 1 and again[0]["cached"] is True


def test_new_recognises_content_at_another_address(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[1]
    db = tmp_path / "s.db"
    run(publish(site, "/first", story, "Wire"), db=db)
    code, records = run(publish(site, "/moved", story, "Wire"), "--new", db=db)
    assert (code, records) == (0, [])


def test_new_on_files_and_a_failure_is_always_reported(tmp_path: Path) -> None:
    story = bbc_stories()[2]
    (tmp_path / "a.txt").write_text(story.title + "\n\n" + story.text, encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"")
    db = tmp_path / "s.db"
    code, first = run(str(tmp_path / "a.txt"), str(tmp_path / "bad.txt"), "--new", db=db)
    assert code == 1 and [r["status"] for r in first] == ["ok", "failed"]
    code, second = run(str(tmp_path / "a.txt"), str(tmp_path / "bad.txt"), "--new", db=db)
    assert code == 1 and [r["status"] for r in second] == ["failed"]
    code, third = run(str(tmp_path / "a.txt"), "--new", db=db)
    assert (code, third) == (0, [])


def test_new_is_per_prompt_version(site: LocalSite, tmp_path: Path) -> None:
    url = publish(site, "/a", bbc_stories()[3], "Wire")
    db = tmp_path / "s.db"
    run(url, "--new", "--prompt", "summarise@v2", db=db)
    code, records = run(url, "--new", "--prompt", "summarise@v1", db=db)
    assert code == 0 and len(records) == 1 and records[0]["prompt_version"] == "v1"


# -- duplicates ----------------------------------------------------------------------------------


def test_syndicated_copies_are_summarised_once(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()
    wire = stories[0]
    urls = [
        publish(site, "/a", wire, "Wire"),
        publish(site, "/b", stories[1], "Other"),
        publish(site, "/c", copy_of(wire, outlet="Daily Example"), "Daily Example"),
        publish(site, "/d", copy_of(wire, outlet="Evening Example"), "Evening Example"),
    ]
    code, records = run(*urls, "--concurrency", "4", db=tmp_path / "s.db")
    assert code == 0
    first = records[0]
    assert first["duplicate_of"] is None and first["attempts"] >= 1
    assert records[1]["duplicate_of"] is None
    for copy in records[2:]:
        assert copy["duplicate_of"] == first["article_id"]
        assert copy["article_id"] != first["article_id"]
        assert copy["summary"] == first["summary"]
        assert (copy["attempts"], copy["usage"]["prompt_tokens"], copy["cost_usd"]) == (0, 0, 0)
        assert copy["site_name"] != first["site_name"]  # each copy keeps its own metadata


def test_the_first_copy_in_input_order_wins(site: LocalSite, tmp_path: Path) -> None:
    wire = bbc_stories()[4]
    long_copy = copy_of(wire, outlet="Slow Example")
    urls = [publish(site, "/x", long_copy, "Slow"), publish(site, "/y", wire, "Fast")]
    code, records = run(*urls, "--concurrency", "8", db=tmp_path / "s.db")
    assert code == 0
    assert records[0]["duplicate_of"] is None
    assert records[1]["duplicate_of"] == records[0]["article_id"]


def test_a_copy_in_a_later_run_reuses_the_stored_summary(site: LocalSite, tmp_path: Path) -> None:
    wire = bbc_stories()[5]
    db = tmp_path / "s.db"
    _, first = run(publish(site, "/a", wire, "Wire"), db=db)
    _, later = run(publish(site, "/b", copy_of(wire, outlet="Later Example"), "Later"), db=db)
    assert later[0]["duplicate_of"] == first[0]["article_id"]
    assert later[0]["summary"] == first[0]["summary"]
    # with --new, yesterday's story at another outlet is not new
    _, newer = run(
        publish(site, "/c", copy_of(wire, outlet="Third Example"), "Third"), "--new", db=db
    )
    assert newer == []


def test_no_dedupe_summarises_every_copy(site: LocalSite, tmp_path: Path) -> None:
    wire = bbc_stories()[6]
    urls = [publish(site, "/a", wire, "Wire"), publish(site, "/b", copy_of(wire, outlet="B"), "B")]
    db = tmp_path / "s.db"
    _, records = run(*urls, "--no-dedupe", db=db)
    assert [r["duplicate_of"] for r in records] == [None, None]
    assert all(r["attempts"] >= 1 for r in records)
    # and a later run with dedupe on finds the stored copy: served as itself, not a duplicate
    _, again = run(urls[1], db=db)
    assert again[0]["cached"] is True and again[0]["duplicate_of"] is None


def test_different_stories_on_one_topic_are_not_merged(tmp_path: Path) -> None:
    # two real BBC stories on the same event: the pension-strike talks before and after they
    # failed (benchmarks/data, politics/311 and politics/312): most of the text is shared,
    # the lead is not
    import gzip

    repo = Path(__file__).resolve().parent.parent
    rows = {}
    with gzip.open(repo / "benchmarks" / "data" / "bbc_news_summary.jsonl.gz", "rt") as fh:
        for line in fh:
            row = json.loads(line)
            if row["id"] in ("politics/311", "politics/312"):
                rows[row["id"]] = row
    before, after = (rows[k]["article"].split("\n", 1)[1] for k in ("politics/311", "politics/312"))
    a, b = Fingerprint.of(before), Fingerprint.of(after)
    assert a.similarity(b) >= 0.5  # as similar as copies are
    assert not a.same_story(b)  # the lead says what is new
    paths = []
    for name, text in (("before", before), ("after", after)):
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / f"{name}.txt"))
    _, records = run(*paths, "--dedupe", db=tmp_path / "s.db")
    assert [r["duplicate_of"] for r in records] == [None, None]


def test_files_are_deduplicated_unless_turned_off(tmp_path: Path) -> None:
    story = bbc_stories()[7]
    copy = copy_of(story, outlet="Example")
    paths = []
    for name, s in (("a", story), ("b", copy)):
        (tmp_path / f"{name}.txt").write_text(s.text, encoding="utf-8")
        paths.append(str(tmp_path / f"{name}.txt"))
    _, plain = run(*paths, db=tmp_path / "plain.db")  # on by default, files as pages
    assert plain[1]["duplicate_of"] == plain[0]["article_id"]
    _, off = run(*paths, "--no-dedupe", db=tmp_path / "off.db")
    assert [r["duplicate_of"] for r in off] == [None, None]


@pytest.mark.parametrize("n", range(10))
def test_outlet_copies_of_each_seed_are_the_same_story(n: int) -> None:
    story = bbc_stories()[n]
    original = Fingerprint.of(story.text)
    assert original.same_story(Fingerprint.of(copy_of(story, outlet="Example").text))
    others = [s for m, s in enumerate(bbc_stories()) if m != n]
    assert not any(original.same_story(Fingerprint.of(o.text)) for o in others)


def test_stories_from_one_template_with_other_figures_are_not_merged(tmp_path: Path) -> None:
    template = (
        "The council of Riverton approved a budget of {m} million dollars on Monday. Mayor "
        "Jane Doe said the plan would pay for {s} new schools by 2027. Opposition members "
        "criticised the spending, according to local reports. The vote passed by seven votes "
        "to two after a debate that lasted {h} hours."
    )
    a = template.format(m=10, s=3, h=2)
    b = template.format(m=14, s=6, h=5)
    assert Fingerprint.of(a).similarity(Fingerprint.of(b)) >= 0.5  # as close as copies
    assert not Fingerprint.of(a).same_story(Fingerprint.of(b))
    for name, text in (("a", a), ("b", b)):
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    a_txt, b_txt = str(tmp_path / "a.txt"), str(tmp_path / "b.txt")
    _, records = run(a_txt, b_txt, "--dedupe", db=tmp_path / "s.db")
    assert [r["duplicate_of"] for r in records] == [None, None]


def test_a_long_run_from_one_template_is_checked_in_bounded_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of stories from one template share most LSH bands but differ in their figures:
    each must not be checked against every earlier one (a run quadratic in its length), and a
    true copy far down the input must still find its first copy among them, from the store
    once that copy's record is settled (the engine reads ahead 256 articles)."""
    from pipeline.web import _dedupe

    template = (
        "The council of Riverton approved a budget of {m} million dollars on Monday. Mayor "
        "Jane Doe said the plan would pay for {s} new schools by 2027. Opposition members "
        "criticised the spending, according to local reports. The vote passed by seven votes "
        "to two after a debate that lasted {h} hours, the longest this year."
    )
    n = 330
    paths = []
    for i in range(n):
        path = tmp_path / f"t{i:03d}.txt"
        path.write_text(template.format(m=100 + i, s=i % 9 + 1, h=i % 7 + 2), encoding="utf-8")
        paths.append(str(path))
    story = bbc_stories()[2]
    (tmp_path / "story.txt").write_text(story.text, encoding="utf-8")
    (tmp_path / "zcopy.txt").write_text(copy_of(story, outlet="Example").text, encoding="utf-8")
    paths.insert(40, str(tmp_path / "story.txt"))
    paths.append(str(tmp_path / "zcopy.txt"))  # 291 articles after its first copy

    checks = 0
    same_story = _dedupe.Fingerprint.same_story

    def counted(self: Fingerprint, other: Fingerprint, **kw: float) -> bool:
        nonlocal checks
        checks += 1
        return same_story(self, other, **kw)

    monkeypatch.setattr(_dedupe.Fingerprint, "same_story", counted)
    code, records = run(*paths, "--dedupe", db=tmp_path / "s.db")
    assert code == 0 and len(records) == n + 2
    assert records[-1]["duplicate_of"] == records[40]["article_id"]
    assert records[-1]["summary"] == records[40]["summary"]
    assert [r["duplicate_of"] for r in records[:-1]] == [None] * (n + 1)
    # each article checks at most CHECK_CAP candidates of this run and CHECK_CAP stored ones;
    # checked against every earlier one it would be about n * n / 2 (69,866 checks here)
    assert checks <= len(records) * 2 * 16, checks


def test_a_long_run_holds_only_the_first_copies_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A settled first copy leaves memory (later copies find it in the store's index), so a
    run's near-duplicate state is bounded by the engine's read-ahead (256 articles), not by
    its length; a copy arriving long after its first copy settled still finds it."""
    from pipeline.web import _dedupe

    n = 700
    paths = []
    for i in range(n):
        path = tmp_path / f"a{i:03d}.txt"
        path.write_text(
            f"Report {i}: the committee number {i} met on day {i % 28 + 1} and agreed plan "
            f"{i * 7} after talks lasting {i % 5 + 1} hours, officials in district {i} said.",
            encoding="utf-8",
        )
        paths.append(str(path))
    story = bbc_stories()[5]
    (tmp_path / "story.txt").write_text(story.text, encoding="utf-8")
    (tmp_path / "zcopy.txt").write_text(copy_of(story, outlet="Example").text, encoding="utf-8")
    paths.insert(3, str(tmp_path / "story.txt"))
    paths.append(str(tmp_path / "zcopy.txt"))

    held = 0
    register = _dedupe.Dedupe._register

    def counted(self: _dedupe.Dedupe, article: object) -> None:
        nonlocal held
        register(self, article)  # type: ignore[arg-type]
        held = max(held, len(self._firsts))

    monkeypatch.setattr(_dedupe.Dedupe, "_register", counted)
    code, records = run(*paths, "--dedupe", db=tmp_path / "s.db")
    assert code == 0 and len(records) == n + 2
    assert records[-1]["duplicate_of"] == records[3]["article_id"]
    assert [r["duplicate_of"] for r in records[:-1]] == [None] * (n + 1)
    assert 0 < held <= 256 + 64, held  # the read-ahead window and the requests in flight
