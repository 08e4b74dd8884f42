"""Paginators that take a list's size and its page's rows the cheap way when its query function says how.

A query function may set, on the queryset it returns:
- `known_count`: the list's size, known without counting (a summary total, or the ids of its rules):
  counting would read every row of a list that can be most of the corpus;
- `narrowing(queryset, top)`: the same queryset cut so that its first `top` rows are unchanged (a search
  in relevance order scores only the rules its page can come from: catalog.search.top_k);
- `rows_by_id(ids)`: the rows of those ids, read after the page's ids: the page's ids are read from the
  narrow sort alone (no wide rule row is sorted), its rows by primary key (the API's rule list);
- `by_size(queryset, top, count)`: the same queryset, its order asked for as suits a list of `count` rows (an
  indicator search: catalog.browse.queries.indicators.sorted_by_size).
`carried` keeps them on a queryset derived from one that has them.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

HINTS = ("known_count", "narrowing", "rows_by_id", "by_size")


def carried(source, target):
    """`target` (a queryset made from `source`) with `source`'s paging hints."""
    for name in HINTS:
        if hasattr(source, name):
            setattr(target, name, getattr(source, name))
    return target


class KnownCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        known = getattr(self.object_list, "known_count", None)
        return known if known is not None else super().count

    def page(self, number):
        """Django's page, its rows read as the queryset's hints say."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        by_size = getattr(rows, "by_size", None)
        if by_size is not None:
            rows = by_size(rows, top, self.count)
        narrowing = getattr(rows, "narrowing", None)
        if narrowing is not None:
            rows = narrowing(rows, top)
        sliced = rows[bottom:top]
        rows_by_id = getattr(self.object_list, "rows_by_id", None)
        if rows_by_id is not None:
            ids = list(sliced.values_list("pk", flat=True))
            found = {row.pk: row for row in rows_by_id(ids)}
            sliced = [found[pk] for pk in ids if pk in found]
        return self._get_page(sliced, number, self)


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
