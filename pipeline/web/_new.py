"""``--new``: only articles never summarised before with this prompt and model.

An article is *known* when a run before this one has an ``ok`` result for it with the same
prompt, schema, model and parameters (its cache key; a duplicate record counts, stored under
``dup:`` + key), recognised:

- by content: the article's own id (the hash of its normalised text);
- by address: any article ever seen at the article's canonical URL (``utm_*`` and other
  tracking parameters removed) was summarised; so an updated page at a known address is not
  new, and a known address is not even fetched (:meth:`WebSource.skip_known`);
- by story: with near-duplicate detection on, an earlier copy of the same story was
  summarised (:meth:`Dedupe.stored_twin`): yesterday's wire story at another outlet is not new.

Known articles are left out before the engine sees them: no record, no model call. Bad inputs
are always kept (a failure is news to whoever runs the job). Within one run nothing is left
out: a second input with the same text still gets its record (from the store), and a later
copy of a story gets its ``duplicate_of`` record.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator

from pipeline.articles import Article, BadInput
from pipeline.store import Store
from pipeline.web._dedupe import Dedupe
from pipeline.web._state import WebState
from pipeline.web._urls import canonical_url, is_url

Item = Article | BadInput


class NewOnly:
    """The ``--new`` test for one run (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        key: Callable[[str], str],
        run_id: int,
        dedupe: Dedupe | None = None,
    ) -> None:
        self._state = WebState(store)
        self._key = key
        self._run_id = run_id
        self._dedupe = dedupe
        self.left_out = 0

    def _summarised(self, article_id: str) -> bool:
        key = self._key(article_id)
        return self._state.summarised_before(key, self._run_id) or self._state.summarised_before(
            "dup:" + key, self._run_id
        )

    def known_url(self, url: str) -> bool:
        """Whether an article seen at ``url`` (canonical) was summarised in an earlier run."""
        return any(self._summarised(aid) for aid in self._state.articles_at(url))

    def is_new(self, item: Item) -> bool:
        if isinstance(item, BadInput):
            return True
        address = canonical_url(item.url) if item.url and is_url(item.url) else None
        known = (
            self._summarised(item.id)
            or (address is not None and self.known_url(address))
            or (self._dedupe is not None and self._dedupe.stored_twin(item) is not None)
        )
        if address is not None:
            self._state.note_urls([address], item.id)
        if known:
            self.left_out += 1
        return not known

    def filter(
        self, items: Iterable[Item] | AsyncIterable[Item]
    ) -> Iterable[Item] | AsyncIterable[Item]:
        """``items`` without the known articles (async in, async out)."""
        if isinstance(items, AsyncIterable):
            return self._afilter(items)
        return self._filter(items)

    def _filter(self, items: Iterable[Item]) -> Iterator[Item]:
        return (item for item in items if self.is_new(item))

    async def _afilter(self, items: AsyncIterable[Item]) -> AsyncIterator[Item]:
        async for item in items:
            if self.is_new(item):
                yield item
