"""Turn one HTTP exchange with the AWS endpoint into CloudTrail's fields.

The operation is found and the request parsed with moto's own botocore-model router and parsers;
the response is parsed with botocore's. Values are then written the way CloudTrail writes them
(CloudTrail User Guide, "CloudTrail record contents"):

- keys are the API's member names in lower camel case (``userName``, ``groupId``);
- EC2 uses its query names (``ipPermissions``, ``groups``) and wraps lists as ``{"items": [...]}``,
  with absent lists inside list items written as ``{}``;
- S3 requests name the bucket ``bucketName``, keep ``Host``, the sub-resource (``acl``,
  ``policy``, ``publicAccessBlock``) as an empty string, XML bodies under their element names and
  the bucket policy as ``bucketPolicy`` (a parsed document);
- read-only calls have ``responseElements: null``; secrets are left out of responses and
  hidden in requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import xmltodict
from botocore import parsers as botocore_parsers
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request, determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")

#: Signing names that differ from the botocore service name.
SIGNING_TO_SERVICE = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}

#: CloudTrail's event names where they differ from the API operation (CloudTrail User Guide,
#: "Amazon S3 information in CloudTrail": bucket-level public access block calls).
EVENT_NAME_ALIASES = {
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "DeleteBucketPublicAccessBlock",
    ("s3", "ListObjectsV2"): "ListObjects",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketLifecycleConfiguration"): "PutBucketLifecycle",
    ("s3", "GetBucketLifecycleConfiguration"): "GetBucketLifecycle",
}

#: Data events (object- and message-level calls); every other call is a management event.
DATA_EVENTS = {
    "s3": {
        "GetObject", "PutObject", "DeleteObject", "DeleteObjects", "HeadObject", "CopyObject",
        "ListObjects", "ListObjectsV2", "ListObjectVersions", "GetObjectAcl", "PutObjectAcl",
        "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging", "CreateMultipartUpload",
        "UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload",
        "ListParts", "RestoreObject", "GetObjectAttributes", "SelectObjectContent",
    },
    "sqs": {
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
        "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
    },
    "sns": {"Publish", "PublishBatch"},
    "lambda": {"Invoke", "InvokeAsync", "InvokeWithResponseStream"},
    "dynamodb": {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
    },
}  # fmt: skip

#: Services whose events CloudTrail records in us-east-1 as global service events.
GLOBAL_SERVICES = {"iam", "sts", "cloudfront", "route53", "organizations"}

_READ_ONLY_PREFIXES = ("Get", "Describe", "List", "Head", "Lookup", "Search", "BatchGet", "Select")


@dataclass
class Call:
    """What CloudTrail needs to know about one API call."""

    service: str
    event_source: str
    event_name: str
    region: str
    access_key_id: str | None
    read_only: bool
    management: bool
    request_parameters: dict | None
    response_elements: dict | None
    error_code: str | None
    error_message: str | None
    request_id: str | None
    resources: list[dict] | None = None
    additional: dict | None = None


def signing_scope(headers: dict[str, str], query: str) -> tuple[str | None, str, str | None]:
    """(access key id, region, signing service) from SigV4 ``Authorization`` or a presigned URL."""
    auth = headers.get("authorization", "")
    match = _SCOPE.search(auth)
    if not match and "X-Amz-Credential=" in query:
        from urllib.parse import parse_qs

        cred = parse_qs(query).get("X-Amz-Credential", [""])[0]
        match = _SCOPE.search("Credential=" + cred)
    if match:
        return match.group(1), match.group(3), match.group(4)
    return None, "us-east-1", None


@lru_cache(maxsize=64)
def _service_model(service: str):
    return get_service_model(service)


@lru_cache(maxsize=2048)
def _request_parser(service: str, operation: str, protocol: str):
    model = _service_model(service).operation_model(operation)
    return PROTOCOL_PARSERS[protocol](model)


@lru_cache(maxsize=16)
def _response_parser(protocol: str):
    return botocore_parsers.create_parser(protocol)


def describe(
    environ: dict, body: bytes, status: int, response_headers: dict[str, str], response_body: bytes
) -> Call | None:
    """Describe one exchange; None when it is not an AWS API call (no SigV4 scope)."""
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    access_key, region, signing = signing_scope(headers, environ.get("QUERY_STRING", ""))
    if signing is None:
        return None
    service = SIGNING_TO_SERVICE.get(signing, signing)
    model = _service_model(service)
    request = _request(environ, body)
    operation, uri_params = get_service_router(service).match(request)
    protocol = determine_request_protocol(model, request.content_type)
    params = _request_parser(service, operation.name, protocol).parse(
        {
            "method": request.method,
            "values": request.values,
            "headers": request.headers,
            "body": body,
            "url_path": request.path,
            "url_params": uri_params,
        }
    )
    response = _parse_response(model, operation, status, response_headers, response_body)
    error = response.get("Error") if status >= 300 else None
    name = EVENT_NAME_ALIASES.get((service, operation.name), operation.name)
    read_only = name.startswith(_READ_ONLY_PREFIXES)
    style = _style(model)
    if service == "s3":
        request_parameters = _s3_request(params, headers, request, body, operation)
        resources = _s3_resources(params)
    else:
        request_parameters = _shape(params, operation.input_shape, style, hide=True) or None
        if service == "ec2":
            request_parameters = _ec2_request_quirks(name, request_parameters)
        resources = None
    response_elements = None
    if not read_only and not error and service != "s3" and operation.output_shape is not None:
        response_elements = _shape(response, operation.output_shape, style, hide=False) or None
    request_id = (
        response_headers.get("x-amzn-requestid")
        or response_headers.get("x-amz-request-id")
        or response.get("ResponseMetadata", {}).get("RequestId")
    )
    if style == "ec2" and response_elements is not None:
        response_elements = _ec2_response_quirks(response_elements, request_id)
    return Call(
        service=service,
        event_source=f"{model.endpoint_prefix}.amazonaws.com",
        event_name=name,
        region="us-east-1" if service in GLOBAL_SERVICES and service != "sts" else region,
        access_key_id=access_key,
        read_only=read_only,
        management=operation.name not in DATA_EVENTS.get(service, ()),
        request_parameters=request_parameters,
        response_elements=response_elements,
        error_code=error.get("Code") if error else None,
        error_message=error.get("Message") if error else None,
        request_id=request_id,
        resources=resources,
        additional=_s3_additional(headers) if service == "s3" else None,
    )


def _request(environ: dict, body: bytes) -> Request:
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    env.pop("wsgi.input_terminated", None)
    return Request(env)


def _parse_response(model, operation, status, headers, body) -> dict:
    protocol = model.protocol if model.protocol != "smithy-rpc-v2-cbor" else "json"
    if (
        status < 300
        and body
        and headers.get("content-type", "").startswith("application/x-amz-json")
    ):
        protocol = "json" if protocol not in ("json", "rest-json") else protocol
    shape = operation.output_shape if status < 300 else None
    try:
        return _response_parser(protocol).parse(
            {"status_code": status, "headers": headers, "body": body}, shape
        )
    except Exception:  # an unparseable body still makes a record, just without elements
        return {}


def _style(model) -> str:
    return "ec2" if model.protocol == "ec2" else "camel"


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def _shape(value: Any, shape, style: str, hide: bool) -> Any:
    """Write a parsed botocore value in CloudTrail's form for ``shape``."""
    if shape is None or value is None:
        return value
    if getattr(shape, "serialization", {}).get("sensitive") or shape.metadata.get("sensitive"):
        return HIDDEN if hide else None
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            if name not in value:
                continue
            if name == "ResponseMetadata":
                continue
            written = _shape(value[name], member, style, hide)
            if written is None and not hide:
                continue
            key = member.serialization.get("name") if style == "ec2" else None
            out[_lower_camel(key or name)] = written
        return out
    if kind == "list":
        items = [_shape(v, shape.member, style, hide) for v in value]
        return {"items": items} if style == "ec2" else items
    if kind == "map":
        return {k: _shape(v, shape.value, style, hide) for k, v in value.items()}
    if kind == "timestamp":
        return _timestamp(value, style)
    if kind == "blob":
        return None
    return value


def _timestamp(value: Any, style: str) -> Any:
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if style == "ec2":
        return int(value.timestamp() * 1000)
    return value.strftime("%b %-d, %Y, %-I:%M:%S %p")


def _ec2_request_quirks(name: str, params: dict | None) -> dict | None:
    """EC2 writes the single-rule form of (Authorize|Revoke)SecurityGroup* as ``ipPermissions``,
    and absent lists inside a permission as ``{}`` (CloudTrail record examples for EC2)."""
    if not params or "SecurityGroup" not in name:
        return params
    flat = {k: params.pop(k) for k in ("ipProtocol", "fromPort", "toPort", "cidrIp") if k in params}
    if flat:
        permission = {k: v for k, v in flat.items() if k != "cidrIp"}
        if "cidrIp" in flat:
            permission["ipRanges"] = {"items": [{"cidrIp": flat["cidrIp"]}]}
        params["ipPermissions"] = {"items": [permission]}
    for permission in params.get("ipPermissions", {}).get("items", []):
        for key in ("groups", "ipRanges", "ipv6Ranges", "prefixListIds"):
            permission.setdefault(key, {})
    return params


def _ec2_response_quirks(elements: dict, request_id: str | None) -> dict:
    """EC2 responses start with ``requestId`` and write ``return`` as ``_return``."""
    out = {"requestId": request_id} if request_id else {}
    out.update({("_return" if k == "return" else k): v for k, v in elements.items()})
    return out


def _s3_request(params: dict, headers: dict, request: Request, body: bytes, operation) -> dict:
    out: dict[str, Any] = {}
    if "Bucket" in params:
        out["bucketName"] = params["Bucket"]
    out["Host"] = headers.get("host", "")
    if "Key" in params:
        out["key"] = params["Key"]
    for sub in request.args:
        if sub not in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Algorithm"):
            out[sub] = request.args.get(sub, "")
    for header in ("x-amz-acl", "x-amz-grant-read", "x-amz-grant-full-control"):
        if header in headers:
            out[header] = [headers[header]]
    payload = operation.input_shape.serialization.get("payload") if operation.input_shape else None
    if payload == "Policy" and body:
        try:
            out["bucketPolicy"] = json.loads(body)
        except ValueError:
            out["bucketPolicy"] = body.decode("utf-8", "replace")
    elif payload and body and operation.input_shape.members[payload].type_name == "structure":
        with contextlib.suppress(Exception):
            out.update(_xml_dict(body))
    return out


def _xml_dict(body: bytes) -> dict:
    """XML body -> dict under its element names, attributes without the ``@`` (as CloudTrail)."""
    return xmltodict.parse(body, postprocessor=lambda _, k, v: (k.lstrip("@"), _scalar(v)))


def _scalar(value: Any) -> Any:
    if value in ("true", "false"):
        return value == "true"
    return value


def _s3_resources(params: dict) -> list[dict] | None:
    if "Bucket" not in params:
        return None
    resources = []
    if "Key" in params:
        resources.append(
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"}
        )
    resources.append({"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{params['Bucket']}"})
    return resources


def _s3_additional(headers: dict) -> dict:
    return {
        "SignatureVersion": "SigV4",
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": "lab",
        "bytesTransferredIn": int(headers.get("content-length", 0) or 0),
    }
