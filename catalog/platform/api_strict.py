"""List endpoints refuse query parameters they do not know (a 400 that lists the valid ones).

A misspelled filter (`?levle=high`) would otherwise be ignored silently and return the whole
catalog as if it had been applied; a script cannot tell. The valid parameters are the view's
declaration (catalog.platform.parameters), derived here once per class from its FilterSet, its pagination
(`page`, `page_size`) and DRF's `format`: the page cache reads the same declaration.
"""

from rest_framework import generics
from rest_framework.exceptions import ValidationError

from catalog.platform.parameters import ATTRIBUTE, Declaration, declare

ALWAYS_VALID = ("format",)


def list_parameters(view_class) -> Declaration:
    """What a list view reads: its FilterSet's filters, its paginator's parameters and `format`."""
    names = set(ALWAYS_VALID)
    filterset_class = getattr(view_class, "filterset_class", None)
    if filterset_class is not None:
        names |= set(filterset_class.base_filters)
    pagination_class = getattr(view_class, "pagination_class", None)
    if pagination_class is not None:
        paginator = pagination_class()
        names |= {
            name
            for name in (
                getattr(paginator, "page_query_param", None),
                getattr(paginator, "page_size_query_param", None),
            )
            if name
        }
    # Anything else is answered with a 400 (never cached): the page cache keeps every parameter.
    return declare(sorted(names), refuses_others=True)


class StrictListAPIView(generics.ListAPIView):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if ATTRIBUTE not in cls.__dict__:  # a class may still declare its own
            setattr(cls, ATTRIBUTE, list_parameters(cls))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        valid = self.valid_parameters()
        unknown = sorted(set(request.query_params) - valid)
        if unknown:
            raise ValidationError(
                {"unknown parameters": unknown, "valid parameters": sorted(valid)}, code="unknown_parameter"
            )

    def valid_parameters(self) -> set[str]:
        return set(getattr(type(self), ATTRIBUTE).names)
