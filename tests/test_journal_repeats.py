"""The journal keeps every answer to a request, and a resumed run takes them in order.

Found by the chaos test (``tests/test_chaos.py``): a model that gives the same invalid answer
twice makes the two re-asks the same request (the re-ask quotes the latest answer and its
errors), so one request body has two answers. The journal handed a resumed run only one answer
per request body, so the second re-ask was sent and paid for again, although its answer was
in the journal.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from test_answers import VALID, Server, article, body, run, summariser

from pipeline.engine import run_live
from pipeline.store import Store
from pipeline.store._journal import request_sha256


def test_two_answers_to_the_same_request_are_both_taken_from_the_journal(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    a = article()
    invalid = {"oops": 1}  # the same wrong answer twice: the two re-asks are one request
    answers = iter([invalid, invalid, VALID])
    server = Server(lambda req: body(next(answers)))
    s = summariser(server)
    release = threading.Event()

    def stuck_scorer(source: str, summary: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)  # the process dies while the valid answer is being checked
        return {"faithfulness": 1.0, "unsupported": []}

    s.scorer = stuck_scorer
    store = Store(db)

    async def first() -> None:
        run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
        agen = run_live([a], s, store, run_id=run_id)
        task = asyncio.ensure_future(agen.__anext__())
        while len(server.requests) < 3:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the third answer is read and journalled
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        release.set()
        await agen.aclose()
        await s.client.close()

    asyncio.run(first())
    first_run = server.requests
    assert request_sha256(first_run[1]) == request_sha256(first_run[2])  # one request, twice
    assert store.count("results") == 0
    rows = store._db.execute("SELECT request_sha256, body FROM answers ORDER BY id").fetchall()
    assert [h for h, _ in rows] == [request_sha256(r) for r in first_run]
    assert json.loads(json.loads(rows[2][1])["choices"][0]["message"]["content"]) == VALID
    store.close()

    store = Store(db)
    server2 = Server(lambda req: body(VALID))
    (record,) = run(summariser(server2), [a], store)
    assert server2.requests == []  # before: the second re-ask was sent (and paid) again
    assert (record.status, record.attempts) == ("ok", 3)
    assert store.journal_hashes() == set()
    store.close()
