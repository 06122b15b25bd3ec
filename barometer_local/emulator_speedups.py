"""Per-request overhead of moto's server, cut where it recomputes static answers on every request.

Measured on this machine (docs/benchmarks.md, "End to end"): a conditional PutItem cost the emulator
about 4.2 ms of CPU, a 25-item BatchWriteItem about 7 ms, so the hot path's one state save per key and
batch cost more than the 25 events it wrote beside it. Most of that was not DynamoDB work but three
answers moto recomputes on every request although they never change while the server runs:

- `backends.list_of_moto_modules()` lists moto's package folder (~200 `isdir` calls) to route each
  request, under the dispatcher's lock;
- `DomainDispatcherApplication.get_backend_for_host` then matches the host against every service's URL
  patterns (a pure function of the host);
- `BaseResponse.call_action` runs `inspect.getmembers` over the response class to find the action's
  method (a pure function of the class).

Each is memoised here with the same result moto computes (tests compare them). werkzeug's one log line
per request is dropped too (warnings and errors are kept): nobody reads 100 lines a second, and writing
them cost ~5% of a request; the line is no longer even formatted when nobody would print it.

Two more per-request costs, measured with py-spy at 1,000 events/s (docs/benchmarks.md, "The emulator's
wire"), go the same way:
- moto runs its Flask apps in debug mode, where Flask gives every request without a multipart body a
  class of its own for `request.files` (a friendlier KeyError for developers): a class built and left as
  cyclic garbage for the collector on every call. moto never indexes `request.files` by a missing key.
- every answer's body is searched with a regular expression for an XML `<RequestId>` to replace; a JSON
  body (every DynamoDB, Kinesis and Firehose answer, up to megabytes for GetRecords) has none, so the
  search is skipped where the text cannot match.
- every answer's request id is 52 characters drawn by 52 calls of `random.choice` (8% of a PutItem's
  CPU, session 7); one `choices` call of the same seeded generator draws the same kind of id.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

ITEM_SIZE_LIMIT = 405_000  # moto's own figure (dynamo_type.LimitedSizeDict): between AWS's 400 and 410 KB
REQUEST_ID_TAG = "<RequestId>"  # moto's _enrich_response pattern matches only after this text

_HOSTS_CACHED = 4096  # S3 virtual-host names are per bucket: bounded, never a leak


def install() -> None:
    from moto import backends
    from moto.core import responses, utils
    from moto.moto_server import werkzeug_app

    dispatcher = werkzeug_app.DomainDispatcherApplication
    if getattr(dispatcher.get_backend_for_host, "_barometer_cached", False):
        return

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    backend_for_host = dispatcher.get_backend_for_host
    hosts: dict[str | None, Any] = {}  # the URL patterns are module constants: the host decides alone

    def cached_backend_for_host(self: Any, host: str | None) -> Any:
        try:
            return hosts[host]
        except KeyError:
            backend = backend_for_host(self, host)
            if len(hosts) < _HOSTS_CACHED:
                hosts[host] = backend
            return backend

    cached_backend_for_host._barometer_cached = True  # type: ignore[attr-defined]
    dispatcher.get_backend_for_host = cached_backend_for_host  # type: ignore[method-assign]

    responses.method_names_from_class = functools.lru_cache(maxsize=None)(utils.method_names_from_class)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _install_per_request_fixes()


def _install_per_request_fixes() -> None:
    from flask import debughelpers
    from moto.core.responses import BaseResponse
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    debughelpers.attach_enctype_error_multidict = lambda request: None  # flask imports it per call: patched there

    enrich = BaseResponse._enrich_response

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if type(body) is str and REQUEST_ID_TAG not in body:
            headers, _ = enrich(headers, "")  # the request id header, as moto sets it; the body cannot match
            return headers, body
        return enrich(headers, body)

    BaseResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign]

    log_request = MotoRequestHandler.log_request
    werkzeug_log = logging.getLogger("werkzeug")

    def quiet_log_request(self: Any, code: int | str = "-", size: int | str = "-") -> None:
        if werkzeug_log.isEnabledFor(logging.INFO):
            log_request(self, code, size)

    MotoRequestHandler.log_request = quiet_log_request  # type: ignore[method-assign]
    _install_item_size_once()
    _install_request_ids()


def _install_request_ids() -> None:
    """moto's `gen_amzn_requestid_long`, drawing the 52 characters in one call of its seeded generator."""
    import string

    from moto.core import responses
    from moto.moto_api._internal import mock_random

    alphabet = string.ascii_letters + string.digits  # moto's get_random_string(length=52) pool

    def request_id(headers: dict[str, Any] | None = None) -> str:
        value = "".join(mock_random.choices(alphabet, k=52))
        if isinstance(headers, dict):
            headers["x-amzn-requestid"] = value
        return value

    responses.gen_amzn_requestid_long = request_id  # imported by name where each answer is enriched


def _install_item_size_once() -> None:
    """moto checks DynamoDB's 400 KB item limit as each attribute goes in, by re-summing every attribute
    already there (recursively through maps and lists): an item of n attributes costs n(n+1)/2 size
    walks, half of a BatchWriteItem's time. A new item is checked once, on its total: the same sum, the
    same ItemSizeTooLarge for the same items (an item's total only grows as attributes go in). Updates of
    a stored item keep moto's own check."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built, total = dynamo_type.LimitedSizeDict(), 0
        for key, value in attrs.items():
            typed = dynamo_type.DynamoType(value)
            total += bytesize(key) + typed.size()
            dict.__setitem__(built, key, typed)
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = built

    dynamo_type.Item.__init__ = item_init  # type: ignore[method-assign]
