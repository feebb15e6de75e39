"""Import and export files in the transfers bucket.

An import's upload is `imports/<environment>/<job>`, written by the client through a
presigned URL and read back in byte ranges, so a job resumes where its last step stopped. An
export is `exports/<environment>/<job>.<format>`, written as one object when small and as a
multipart upload otherwise (parts of PART_BYTES, every one but the last at least S3's 5 MiB);
what a step read but could not yet make a part of waits in `<...>.carry`. The bucket's
lifecycle rule removes everything with the job (7 days).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from shared import aws
from shared.settings import get_settings

PART_BYTES = 8 * 1024 * 1024  # S3 takes parts of at least 5 MiB (the last may be smaller)
READ_CHUNK_BYTES = 256 * 1024
IMPORTS_PREFIX = "imports/"
EXPORTS_PREFIX = "exports/"


@lru_cache(maxsize=1)
def client() -> Any:
    return aws.client("s3", get_settings().s3_endpoint_url, read_timeout=30)


def reset() -> None:
    """Forget the cached client and settings (tests change the environment between cases)."""
    client.cache_clear()
    get_settings.cache_clear()


def bucket() -> str:
    return get_settings().require("transfers_bucket")


def upload_key(environment_id: str, job_id: str) -> str:
    return f"{IMPORTS_PREFIX}{environment_id}/{job_id}"


def export_key(environment_id: str, job_id: str, extension: str) -> str:
    return f"{EXPORTS_PREFIX}{environment_id}/{job_id}.{extension}"


def carry_key(export: str) -> str:
    return f"{export}.carry"


def upload_url(key: str, seconds: int) -> str:
    url: str = client().generate_presigned_url(
        "put_object", Params={"Bucket": bucket(), "Key": key}, ExpiresIn=seconds
    )
    return url


def download_url(key: str, seconds: int, filename: str) -> str:
    url: str = client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket(),
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=seconds,
    )
    return url


def size(key: str) -> int | None:
    """The object's size in bytes, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        found = client().head_object(Bucket=bucket(), Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return int(found["ContentLength"])


def read_from(key: str, start: int) -> Iterator[bytes]:
    """The object's bytes from offset `start` to its end, in chunks."""
    if start >= (size(key) or 0):
        return iter(())
    found = client().get_object(Bucket=bucket(), Key=key, Range=f"bytes={start}-")
    chunks: Iterator[bytes] = found["Body"].iter_chunks(READ_CHUNK_BYTES)
    return chunks


def put(key: str, data: bytes, content_type: str) -> None:
    client().put_object(Bucket=bucket(), Key=key, Body=data, ContentType=content_type)


def get(key: str) -> bytes:
    body: bytes = client().get_object(Bucket=bucket(), Key=key)["Body"].read()
    return body


def start_parts(key: str, content_type: str) -> str:
    upload: str = client().create_multipart_upload(
        Bucket=bucket(), Key=key, ContentType=content_type
    )["UploadId"]
    return upload


def put_part(key: str, upload_id: str, number: int, data: bytes) -> None:
    client().upload_part(Bucket=bucket(), Key=key, UploadId=upload_id, PartNumber=number, Body=data)


def finish_parts(key: str, upload_id: str) -> None:
    """Complete a multipart upload with the parts S3 holds (listed, not remembered: a step
    that uploaded a part and stopped before recording it loses nothing)."""
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        listed = client().list_parts(
            Bucket=bucket(), Key=key, UploadId=upload_id, PartNumberMarker=marker
        )
        parts += [
            {"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed.get("Parts", [])
        ]
        if not listed.get("IsTruncated"):
            break
        marker = int(listed["NextPartNumberMarker"])
    client().complete_multipart_upload(
        Bucket=bucket(), Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
