"""The recorder in isolation: it must never change or break the call it records."""

from __future__ import annotations

from werkzeug.test import Client
from werkzeug.wrappers import Response

from labstack.aws import shapes
from labstack.aws.recorder import Recorder

SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/ec2/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
}


def _app(environ, start_response):
    return Response(b"<ok/>", status=200, content_type="text/xml")(environ, start_response)


def _recorder() -> Recorder:
    recorder = Recorder(_app, account_id="123456789012", root_keys={}, interval=3600)
    recorder._threads[0].start()  # the worker only; nothing is delivered
    return recorder


def test_a_failing_recorder_never_breaks_the_call(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(shapes, "describe", broken)
    recorder = _recorder()
    response = Client(recorder).post(
        "/", data="Action=DescribeRegions&Version=2016-11-15", headers=SIGNED,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200 and response.data == b"<ok/>"
    recorder.flush()
    assert recorder.stats["failed"] == 1
    assert recorder.stats["recorded"] == 0


def test_unsigned_requests_are_not_api_calls():
    recorder = _recorder()
    response = Client(recorder).get("/some/page")
    assert response.status_code == 200
    recorder.flush()
    assert recorder.stats == {}


def test_internal_calls_are_not_recorded_while_the_account_is_built():
    recorder = _recorder()
    internal = {**SIGNED, "X-Lab-Internal": "1"}
    form = "application/x-www-form-urlencoded"
    call = {"data": "Action=DescribeRegions&Version=2016-11-15", "content_type": form}
    Client(recorder).post("/", headers=internal, **call)
    recorder.flush()
    assert recorder.stats["recorded"] == 0
    # Once the account is built the header means nothing: a client cannot hide from CloudTrail.
    recorder.ready.set()
    Client(recorder).post("/", headers=internal, **call)
    recorder.flush()
    assert recorder.stats["recorded"] == 1


def test_health_waits_for_the_account():
    recorder = _recorder()
    assert Client(recorder).get("/_lab/health").status_code == 503
    recorder.ready.set()
    assert Client(recorder).get("/_lab/health").json == {"status": "ok", "account": "123456789012"}
    assert Client(recorder).get("/_lab/nothing").status_code == 404


def test_signing_scope_from_header_and_presigned_url():
    assert shapes.signing_scope({"authorization": SIGNED["Authorization"]}, "") == (
        "AKIAIOSFODNN7EXAMPLE", "us-east-1", "ec2",
    )  # fmt: skip
    query = "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261127%2Feu-west-1%2Fs3%2Faws4_request"
    assert shapes.signing_scope({}, query) == ("AKIAIOSFODNN7EXAMPLE", "eu-west-1", "s3")
    assert shapes.signing_scope({}, "") == (None, "us-east-1", None)
