"""The API's answer to a body too large for Django to read: a JSON 413 like the parsers' own, not an HTML 400.

DRF reads a JSON body through `request.body`, which raises RequestDataTooBig above
DATA_UPLOAD_MAX_MEMORY_SIZE before any parser's own limit is consulted.
"""

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leads.api import PayloadTooLarge


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    return drf_exception_handler(exc, context)
