import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

# No list has this many pages, and no offset computed from a page below it overflows a 64-bit integer.
MAX_PAGE = 10 ** 9


class PortalPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def requested_page(self, request) -> int:
        """``?page=`` for a pagination that reads its page by offset itself: what DRF's own paging accepts
        (a positive integer, 1 when absent), else the same 404 "Invalid page." (``abc``, ``-1``, ``1e9``, or
        beyond ``MAX_PAGE``, which would be a database error rather than an empty page)."""
        value = (request.query_params.get(self.page_query_param) or "1").strip()
        if not re.fullmatch(r"[0-9]{1,10}", value) or not 1 <= int(value) <= MAX_PAGE:
            raise NotFound(self.invalid_page_message)
        return int(value)
