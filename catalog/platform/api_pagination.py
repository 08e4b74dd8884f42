from rest_framework.pagination import PageNumberPagination

from catalog.platform.paging import KnownCountPaginator


class Pagination(PageNumberPagination):
    """`?page=N`, 50 items by default; `?page_size=` up to 500 for scripts that walk the catalog."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = KnownCountPaginator
