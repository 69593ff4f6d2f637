"""Page numbers for every list of the API: `page` and `page_size` checked, a bad one answered 400.

DRF's PageNumberPagination quietly serves its default for a page_size it cannot read (`abc`, `0`,
`-1`) and cuts one too large down to the maximum, so a client asking for 10000 rows believes it
has them all; a page it cannot read is a 404, as if the list were gone. Here both are refused,
naming the parameter and what it accepts. Empty means absent, as DRF has it.
"""

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

# ASCII digits only: int() would also read " 5", "+5", "5_0" and full-width "５".
_DIGITS = re.compile(r"[0-9]+")
_HUGE = 10**18  # what a longer number reads as: int() refuses more than 4300 digits


class CheckedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()  # "last" is not a page number; our schema never offered it

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param) or ""
        size = whole_number(raw) if raw else self.page_size
        if size is None or not 1 <= size <= self.max_page_size:
            message = _("must be a whole number from 1 to %(max)d") % {"max": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [message]})
        return size

    def get_page_number(self, request: Request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param) or ""
        number = whole_number(raw) if raw else 1
        if number is None or number < 1:
            raise ValidationError({self.page_query_param: [_("must be a whole number, 1 or more")]})
        return number  # past the last page: DRF's 404 "Invalid page.", that page does not exist

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        described = {
            self.page_query_param: (
                {"minimum": 1},
                "Page number, from 1. Not a whole number: 400; past the last page: 404.",
            ),
            self.page_size_query_param: (
                {"minimum": 1, "maximum": self.max_page_size},
                f"Results per page, 1 to {self.max_page_size} (default {self.page_size}). Anything else: 400.",
            ),
        }
        for parameter in parameters:
            bounds, parameter["description"] = described[parameter["name"]]
            parameter["schema"].update(bounds)
        return parameters


def whole_number(text: str) -> int | None:
    """The text's number if it is only ASCII digits, else None."""
    if not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) < len(str(_HUGE)) else _HUGE
