"""The emulator's memoised routing answers exactly what moto computes, and the emulator server uses it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HOSTS = ["dynamodb.us-east-1.amazonaws.com", "kinesis.eu-west-1.amazonaws.com", "s3.amazonaws.com",
         "my-bucket.s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "firehose.us-east-1.amazonaws.com",
         "moto_api", "dynamodb", "127.0.0.1:5000", None]


def _routing_answers(install: bool) -> str:
    # A fresh interpreter each time: the speedups patch moto's modules for the whole process.
    code = textwrap.dedent(f"""
        import json
        from barometer_local import emulator_speedups
        if {install}:
            emulator_speedups.install()
            emulator_speedups.install()  # twice: idempotent
        from moto import backends
        from moto.core import responses
        from moto.dynamodb.responses import DynamoHandler
        from moto.kinesis.responses import KinesisResponse
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        app = DomainDispatcherApplication(create_backend_app)
        answers = {{
            "modules": list(backends.list_of_moto_modules()),
            "hosts": [app.get_backend_for_host(h) for h in {HOSTS!r} * 2],
            "methods": [responses.method_names_from_class(c) for c in (DynamoHandler, KinesisResponse) * 2],
        }}
        print(json.dumps(answers, sort_keys=True))
    """)
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_memoised_routing_gives_moto_s_own_answers():
    # Given moto as shipped and moto with the speedups installed
    stock, fast = _routing_answers(install=False), _routing_answers(install=True)
    # Then every host routes to the same backend, and actions resolve to the same methods
    assert '"dynamodb"' in stock and '"kinesis"' in stock
    assert fast == stock


def test_emulator_server_installs_every_fix_once():
    # Given the emulator server's startup (twice: each fix is installed once), when it prepares moto
    code = textwrap.dedent("""
        import json
        from barometer_local import emulator_server
        emulator_server.install()
        emulator_server.install()
        from moto.core.responses import BaseResponse
        from moto.dynamodb.responses import DynamoHandler as D2
        from moto.firehose.responses import FirehoseResponse as F
        from moto.kinesis.responses import KinesisResponse as K
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication as D
        from werkzeug import serving
        print(json.dumps({
            "routing memoised": getattr(D.get_backend_for_host, "_barometer_cached", False),
            "requests read by the planned walk": getattr(BaseResponse.parse_parameters, "_barometer_planned", False),
            "streaming answers planned": [getattr(m, "_barometer_wire", False)
                                          for m in (K.get_records, K.put_records, F.put_record_batch, D2.put_item)],
            "werkzeug's drain replaced": type(serving.selectors).__name__ == "SimpleNamespace",
        }))
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    # Then each of them is in place
    assert json.loads(out) == {"routing memoised": True, "requests read by the planned walk": True,
                               "streaming answers planned": [True, True, True, True], "werkzeug's drain replaced": True}


def _per_request_answers(install: bool) -> dict:
    code = textwrap.dedent(f"""
        import json, logging
        from types import SimpleNamespace
        from barometer_local import emulator_speedups
        if {install}:
            emulator_speedups.install()
        from flask import Flask, request
        from moto.core.responses import BaseResponse
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        bodies = ['{{"Records": []}}', "<R><RequestId>old</RequestId></R>", "", b"<RequestId>x</RequestId>"]
        enriched = []
        for body in bodies:
            headers, out = BaseResponse._enrich_response({{"status": 200}}, body)
            rid = headers["x-amzn-requestid"]
            enriched.append({{"status": headers["status"], "id_length": len(rid), "body":
                              out.replace(rid, "ID") if isinstance(out, str) else repr(out)}})

        app = Flask("t")
        app.debug = True  # as moto runs its backends
        @app.post("/")
        def files_class():
            return type(request.files).__qualname__
        with app.test_client() as client:
            classes = [client.post("/", data=b"{{}}", content_type="application/x-amz-json-1.0").get_data(as_text=True)
                       for _ in range(2)]

        from moto.core import responses
        from moto.moto_api._internal import mock_random
        ids = []
        for _ in range(2):
            mock_random.seed(7)
            ids.append(responses.gen_amzn_requestid_long())
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        formatted = []
        broken = SimpleNamespace()  # no path, no requestline: formatting a line would raise
        try:
            MotoRequestHandler.log_request(broken, 200, 10)
            formatted.append(False)
        except AttributeError:
            formatted.append(True)
        print(json.dumps({{"enriched": enriched, "classes": classes, "formatted_at_warning": formatted, "ids": ids}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_per_request_fixes_answer_as_moto_does():
    # Given moto as shipped and with the per-request fixes
    stock, fast = _per_request_answers(install=False), _per_request_answers(install=True)
    # Then every body and request id comes out the same (a JSON body untouched, an XML RequestId replaced)
    assert fast["enriched"] == stock["enriched"]
    assert fast["enriched"][1]["body"] == "<R><RequestId>ID</RequestId></R>"
    assert fast["enriched"][0] == {"status": "200", "id_length": 52, "body": '{"Records": []}'}
    # And request ids are 52 letters and digits as moto's, drawn from its generator (a seed repeats them)
    for ids in (stock["ids"], fast["ids"]):
        assert len(ids[0]) == 52 and ids[0].isalnum() and ids[0].isascii() and ids[0] == ids[1]
    # And Flask's debug mode no longer builds a class per request for request.files
    assert stock["classes"][0] == "attach_enctype_error_multidict.<locals>.newcls"
    assert fast["classes"] == ["ImmutableMultiDict", "ImmutableMultiDict"]
    # And a request line is not even formatted when the werkzeug logger would drop it
    assert stock["formatted_at_warning"] == [True] and fast["formatted_at_warning"] == [False]


def _item_limits(install: bool) -> list:
    code = textwrap.dedent(f"""
        import json
        from barometer_local import emulator_speedups
        if {install}:
            emulator_speedups.install()
        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        def attempt(attrs):
            try:
                item = Item(DynamoType({{"S": "k"}}), None, attrs)
            except ItemSizeTooLarge as exc:
                return ["refused", type(exc).__name__, str(exc)]
            return ["stored", [[k, repr(v)] for k, v in item.attrs.items()], type(item.attrs).__name__]

        nested = {{"M": {{"a": {{"L": [{{"N": "1.5"}}, {{"SS": ["x", "y"]}}, {{"NULL": True}}]}}, "b": {{"BOOL": True}}}}}}
        cases = [{{"pk": {{"S": "k"}}, "n": {{"N": "10"}}, "m": nested}}]
        for total in (404_999, 405_000, 405_001, 500_000):  # around the limit: pk (2) + k (1) + big (3) + value
            cases.append({{"pk": {{"S": "k"}}, "big": {{"S": "x" * (total - 6)}}}})
        cases.append({{"a": {{"S": "x" * 300_000}}, "b": {{"S": "y" * 200_000}}, "c": {{"N": "1"}}}})
        print(json.dumps([attempt(c) for c in cases]))
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_new_items_are_sized_once_with_moto_s_verdicts():
    # Given items below, at and above moto's item limit, and a nested one
    stock, fast = _item_limits(install=False), _item_limits(install=True)
    # Then the same items are stored with the same attributes in the same order, the same refused
    assert fast == stock
    assert [verdict for verdict, *_ in stock] == ["stored", "stored", "stored", "refused", "refused", "refused"]
