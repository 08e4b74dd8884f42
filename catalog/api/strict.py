"""List endpoints refuse query parameters they do not know (a 400 that lists the valid ones).

A misspelled filter (`?levle=high`) would otherwise be ignored silently and return the whole
catalog as if it had been applied; a script cannot tell. The valid parameters are the view's
FilterSet's, the pagination's (`page`, `page_size`) and DRF's `format`.
"""

from rest_framework import generics
from rest_framework.exceptions import ValidationError

ALWAYS_VALID = ("format",)


class StrictListAPIView(generics.ListAPIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        valid = self.valid_parameters()
        unknown = sorted(set(request.query_params) - set(valid))
        if unknown:
            raise ValidationError(
                {"unknown parameters": unknown, "valid parameters": sorted(valid)}, code="unknown_parameter"
            )

    def valid_parameters(self) -> set[str]:
        valid = set(ALWAYS_VALID)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            valid |= set(filterset_class.base_filters)
        paginator = self.paginator
        if paginator is not None:
            valid |= {
                name
                for name in (
                    getattr(paginator, "page_query_param", None),
                    getattr(paginator, "page_size_query_param", None),
                )
                if name
            }
        return valid
