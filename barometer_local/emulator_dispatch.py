"""The hot JSON-protocol operations dispatched to moto without Flask's request machinery.

moto serves every service as a Flask app behind its domain dispatcher. For a JSON-protocol call Flask adds
an application and a request context, signals, URL matching, the response's finalisation and flask_cors's
after-request hook around one moto callback, `convert_to_flask_response`: ~7% of the emulator's CPU at
saturation (py-spy, docs/benchmarks.md). For the operations the pipeline makes per event this module calls
the same callback the Flask view calls, with the same request class, and answers with the same response
class and the one header flask_cors adds to a request without an Origin (`Access-Control-Allow-Origin: *`).
Anything else (another operation, another method or path, a request with an Origin, a route with
arguments) goes through moto's dispatcher unchanged; tests compare both paths' answers
(tests/local/test_emulator_dispatch.py).
"""
from __future__ import annotations

from typing import Any

DIRECT_TARGETS = frozenset({
    "DynamoDB_20120810.PutItem", "DynamoDB_20120810.BatchWriteItem", "DynamoDB_20120810.GetItem",
    "DynamoDB_20120810.BatchGetItem", "DynamoDB_20120810.Query",
    "Kinesis_20131202.PutRecords", "Kinesis_20131202.GetRecords", "Firehose_20150804.PutRecordBatch",
})
CORS_ORIGIN = "Access-Control-Allow-Origin"


def direct(dispatcher: Any) -> Any:
    """A WSGI application: `dispatcher` (moto's DomainDispatcherApplication), with DIRECT_TARGETS answered
    without Flask."""
    from botocore.exceptions import ClientError
    from moto.core.request import normalize_request
    from moto.core.utils import convert_to_flask_response
    from moto.moto_api import recorder

    views: dict[int, Any] = {}  # id(Flask app) -> the convert_to_flask_response of its POST / (or None)

    def view_of(app: Any, environ: dict[str, Any]) -> Any:
        key = id(app)
        if key not in views:
            endpoint, arguments = app.url_map.bind_to_environ(environ).match()
            view = app.view_functions.get(endpoint)
            views[key] = view if isinstance(view, convert_to_flask_response) and not arguments else None
        return views[key]

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        if (environ.get("HTTP_X_AMZ_TARGET") not in DIRECT_TARGETS or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("PATH_INFO") != "/" or "HTTP_ORIGIN" in environ):
            return dispatcher(environ, start_response)
        app = dispatcher.get_application(environ)
        view = view_of(app, environ)
        if view is None:
            return dispatcher(environ, start_response)
        # convert_to_flask_response.__call__, with the request built here instead of Flask's context
        request = normalize_request(app.request_class(environ))
        recorder._record_request(request)
        try:
            result = view.callback(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = app.response_class(response=content, status=status, headers=headers)
        if CORS_ORIGIN not in response.headers:
            response.headers[CORS_ORIGIN] = "*"
        return response(environ, start_response)

    return application
