"""Paginators that take a list's size from the summary tables when its query function knows it.

A query function may set `known_count` on the queryset it returns (e.g. every listed indicator: a
summary total); counting would read every row of a list that can be most of the corpus.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class KnownCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        known = getattr(self.object_list, "known_count", None)
        return known if known is not None else super().count
