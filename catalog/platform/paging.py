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


def paginate(request, queryset, per_page, param="page", count: int | None = None):
    """One page of a queryset (2 queries; 1 when `count`, the number of rows, is known from a summary
    table); a bad or out-of-range page number gives the nearest page."""
    paginator = KnownCountPaginator(queryset, per_page)
    if count is not None:
        paginator.count = count  # a cached property: no COUNT over a list that can be most of the corpus
    return paginator.get_page(request.GET.get(param))


def paginate_read(request, queryset, per_page, param="page"):
    """`paginate`, with the page's rows read even when there are none: always 2 queries.

    Django skips the rows query of an empty page; a page showing lists that may be empty (an
    indicator nobody excludes) then costs a different number of queries per subject.
    """
    page = paginate(request, queryset, per_page, param)
    offset = (page.number - 1) * per_page
    page.object_list = list(queryset[offset : offset + per_page])
    return page
