"""``run --batch`` and a live ``run`` end the same way for the same inputs: the same exit status
(0 every article ok, 1 some failed, 2 a configuration error or a stopped run), the same records'
statuses, the same one-line error. Each case runs both modes against the fake server, each with
its own store (each test's own SUMMARISE_HOME)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_support import MODEL, SEEDS, batch_server, invoke, records, run_args
from click.testing import Result
from web_support import FeedEntry, bbc_stories, publish, rss

from pipeline.web._site import LocalSite

MODES = ["live", "batch"]


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def summarise(mode: str, *paths: str, extra: tuple[str, ...] = ()) -> Result:
    """``summarise run --quiet PATHS``, live or with ``--batch``."""
    with batch_server() as srv:
        args = run_args(srv, "--quiet", *extra, paths=paths)
        return invoke(*(args if mode == "batch" else [a for a in args if a != "--batch"]))


def twice(mode: str, *paths: str, extra: tuple[str, ...] = ()) -> Result:
    """The second of two runs of PATHS (the second with ``extra``), on one store."""
    first = summarise(mode, *paths)
    assert first.exit_code == 0, first.stderr
    return summarise(mode, *paths, extra=extra)


def articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for path in sorted(SEEDS.glob("*_bbc_*.txt"))[:n]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_feed_is_not_an_error(mode: str, site: LocalSite) -> None:
    site.add("/feed", rss([]), content_type="application/rss+xml")
    result = summarise(mode, site.url("/feed"))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_feed_beside_an_empty_folder_is_not_an_error(
    mode: str, site: LocalSite, tmp_path: Path
) -> None:
    site.add("/feed", rss([]), content_type="application/rss+xml")
    (tmp_path / "empty").mkdir()
    result = summarise(mode, site.url("/feed"), str(tmp_path / "empty"))
    assert (result.exit_code, result.stdout) == (0, ""), result.stderr


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("new", [False, True])
def test_a_folder_without_articles_is_an_error_unless_new(
    mode: str, new: bool, tmp_path: Path
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.csv").write_text("a,b\n")
    result = summarise(mode, str(tmp_path / "notes"), extra=("--new",) if new else ())
    if new:  # nothing new is not an error
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    else:
        assert result.exit_code == 2
        assert result.stderr.startswith("summarise: error: no articles found in ")


@pytest.mark.parametrize("mode", MODES)
def test_a_feed_with_nothing_new(mode: str, site: LocalSite) -> None:
    story = bbc_stories()[0]
    url = publish(site, "/s", story, "Wire")
    site.add("/feed", rss([FeedEntry(story.title, url, 1_740_000_000.0)]))
    result = twice(mode, site.url("/feed"), extra=("--new",))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_file_among_good_ones_fails_alone(mode: str, tmp_path: Path) -> None:
    folder = articles(tmp_path / "in", 2)
    (folder / "zz.json").write_text("{not json")
    result = summarise(mode, str(folder))
    assert result.exit_code == 1, result.stderr
    assert [r["status"] for r in records(result.stdout)] == ["ok", "ok", "failed"]


@pytest.mark.parametrize("mode", MODES)
def test_every_input_from_the_store(mode: str, tmp_path: Path) -> None:
    folder = articles(tmp_path / "in", 2)
    result = twice(mode, str(folder))
    assert result.exit_code == 0, result.stderr
    assert [(r["status"], r["cached"]) for r in records(result.stdout)] == [("ok", True)] * 2


@pytest.mark.parametrize("mode", MODES)
def test_an_unreachable_endpoint_stops_the_run(mode: str, tmp_path: Path) -> None:
    # a run the endpoint stops: every input gets a failed record, one line says why, exit 2
    folder = articles(tmp_path / "in", 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        "run",
        str(folder),
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--model",
        MODEL,
        "--max-attempts",
        "1",
        "--quiet",
    ]
    result = invoke(*args, *(["--batch"] if mode == "batch" else []))
    assert result.exit_code == 2, result.stderr
    assert [r["status"] for r in records(result.stdout)] == ["failed", "failed"]
    assert result.stderr.startswith("run stopped: ")  # batch mode names the call: "/files: "
    assert f"cannot connect to http://127.0.0.1:{port}/v1" in result.stderr
