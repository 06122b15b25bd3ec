"""The emulator keeps a connection for the next request when it safely can (barometer_local/emulator_http.py)."""
from __future__ import annotations

import http.client
import json
import socket
import uuid

import pytest

DDB = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
       "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/dynamodb/aws4_request, "
                        "SignedHeaders=host, Signature=x"}


def connection(emulator) -> http.client.HTTPConnection:
    host, port = emulator.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def local_port(conn: http.client.HTTPConnection) -> int:
    return conn.sock.getsockname()[1]


def test_requests_with_a_length_share_one_connection(emulator):
    # Given one client connection
    conn = connection(emulator)
    ports, answers = [], []
    # When it sends several requests with bodies, one after the other
    for _ in range(3):
        conn.request("POST", "/", body=json.dumps({"Limit": 5}), headers=DDB)
        response = conn.getresponse()
        answers.append((response.status, "TableNames" in json.loads(response.read())))
        ports.append(local_port(conn))
        assert response.getheader("Connection") != "close"
    # Then every one is answered, on the same connection
    assert answers == [(200, True)] * 3
    assert len(set(ports)) == 1
    conn.close()


def test_a_body_the_application_leaves_unread_does_not_leak_into_the_next_request(emulator):
    # Given a GET that carries a body nobody reads
    conn = connection(emulator)
    conn.request("GET", "/moto-api/", body=b'{"junk": "' + b"x" * 5000 + b'"}',
                 headers={"Content-Type": "application/json"})
    first = conn.getresponse()
    first.read()
    port = local_port(conn)
    # When the next request follows on the same connection
    conn.request("POST", "/", body=json.dumps({}), headers=DDB)
    second = conn.getresponse()
    # Then it is read from its own first byte
    assert first.status == 200
    assert second.status == 200 and "TableNames" in json.loads(second.read())
    assert local_port(conn) == port
    conn.close()


@pytest.mark.parametrize("extra, version", [({"Connection": "close"}, "HTTP/1.1"), ({}, "HTTP/1.0")])
def test_a_client_that_asks_to_close_is_closed(emulator, extra, version):
    # Given a request that asks to close (or an HTTP/1.0 one)
    host, port = emulator.url.removeprefix("http://").split(":")
    body = b"{}"
    head = [f"POST / {version}", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in {**DDB, **extra}.items())]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        received = b""
        while chunk := sock.recv(65536):  # returns b"" only when the server closes
            received += chunk
    # Then it is answered and the server closes the connection
    assert received.startswith(b"HTTP/1.") and b" 200 " in received.split(b"\r\n")[0]


def test_a_chunked_request_is_answered_and_its_connection_closed(emulator):
    host, port = emulator.url.removeprefix("http://").split(":")
    head = ["POST / HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked",
            *(f"{k}: {v}" for k, v in DDB.items())]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"2\r\n{}\r\n0\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert b" 200 " in received.split(b"\r\n")[0]
    assert b"connection: close" in received.lower()


def test_sdk_clients_work_over_kept_connections(emulator):
    # Given boto3 clients (a pool of kept connections) doing S3 uploads (Expect: 100-continue) and DynamoDB calls
    s3, ddb = emulator.target().client("s3"), emulator.target().client("dynamodb")
    bucket = f"keepalive-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    bodies = {f"k{i}": bytes([i]) * (i * 1000 + 1) for i in range(20)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        ddb.list_tables(Limit=1)
    # Then every object reads back whole
    assert {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in bodies} == bodies
