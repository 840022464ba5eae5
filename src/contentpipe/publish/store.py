"""Where a publish goes: a local folder or an S3-compatible bucket, behind one small protocol.

Both keep a state file under the target's prefix (``.contentpipe/state.json``:
per key the sha256 and header digest we uploaded, and the ETag or size the
target gave back), so a publish with nothing changed needs one LIST and one GET.
An object whose listing no longer matches the state (changed by someone else,
or uploaded by a publish that was killed before it wrote the state) is checked
through its own metadata (a HEAD) or, for a single-part upload, its ETag.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from contentpipe.publish.plan import RemoteObject
from contentpipe.write import atomic_write, prune_empty_parents

STATE_KEY = ".contentpipe/state.json"
META_SHA = "sha256"
META_HEADERS = "cp-headers"


class PublishError(Exception):
    """A target cannot be used (bad URL, no bucket, no credentials, no access)."""


class ObjectStore(Protocol):
    url: str

    def list(self) -> dict[str, RemoteObject]: ...

    def head(self, key: str) -> RemoteObject | None: ...

    def put(self, key: str, path: Path, headers: Mapping[str, str], metadata: Mapping[str, str]) -> str: ...

    def delete(self, keys: list[str]) -> list[str]: ...

    def read_state(self) -> dict[str, list[Any]]: ...

    def write_state(self, state: dict[str, list[Any]]) -> None: ...


def from_state(state: Mapping[str, list[Any]]) -> dict[str, RemoteObject]:
    """What the state file says the target holds (``--trust-state``: no listing, no HEADs)."""
    return {key: RemoteObject(entry[3], entry[2], entry[0], entry[1])
            for key, entry in state.items() if isinstance(entry, list) and len(entry) == 4}


def merge_state(listed: dict[str, RemoteObject], state: Mapping[str, list[Any]]) -> dict[str, RemoteObject]:
    """The listing, with sha256 and header digest filled in where the state still matches it."""
    out = {}
    for key, obj in listed.items():
        entry = state.get(key)
        if entry and len(entry) == 4 and entry[2] == obj.etag and entry[3] == obj.size:
            obj = RemoteObject(obj.size, obj.etag, entry[0], entry[1])
        out[key] = obj
    return out


class FileStore:
    """A local folder as a target (the default: works with no cloud at all)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise PublishError(f"key {key!r} would leave the target folder")
        return path

    def list(self) -> dict[str, RemoteObject]:
        out = {}
        if self.root.is_dir():
            for path in self.root.rglob("*"):
                rel = path.relative_to(self.root).as_posix()
                if path.is_file() and not rel.startswith(".contentpipe/") and not path.name.startswith(".tmp-"):
                    st = path.stat()
                    out[rel] = RemoteObject(st.st_size, f"{st.st_size}-{st.st_mtime_ns}")
        return out

    def head(self, key: str) -> RemoteObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            sha = hashlib.file_digest(fh, "sha256").hexdigest()
        return RemoteObject(path.stat().st_size, "", sha, None)  # a folder keeps no headers

    def put(self, key: str, path: Path, headers: Mapping[str, str], metadata: Mapping[str, str]) -> str:
        target = self._path(key)
        with path.open("rb") as src:
            atomic_write(target, lambda out: shutil.copyfileobj(src, out))
        st = target.stat()
        return f"{st.st_size}-{st.st_mtime_ns}"

    def delete(self, keys: list[str]) -> list[str]:
        done = []
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            done.append(key)
            prune_empty_parents(path, self.root)
        return done

    def read_state(self) -> dict[str, list[Any]]:
        try:
            data = json.loads((self.root / STATE_KEY).read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict[str, list[Any]]) -> None:
        data = json.dumps(state, sort_keys=True).encode()
        atomic_write(self.root / STATE_KEY, lambda fh: fh.write(data))


class S3Store:
    """An S3-compatible bucket through botocore; credentials only from its standard chain (boto3's)."""

    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None, path_style: bool = False, acl: str = "private",
                 concurrency: int = 8, multipart_threshold: int = 16 * 1024 * 1024, max_attempts: int = 6) -> None:
        # botocore alone: boto3 adds nothing we use here but 25 ms of start-up (it imports s3transfer)
        import botocore.session
        from botocore.config import Config
        from botocore.parsers import ResponseParserFactory

        self.bucket, self.acl = bucket, acl
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.multipart_threshold = multipart_threshold
        config = Config(
            region_name=region,
            # 503 SlowDown, 500s and dropped connections: retried with jittered exponential backoff
            retries={"mode": "standard", "max_attempts": max_attempts},
            max_pool_connections=max(10, concurrency * 2),
            s3={"addressing_style": "path" if path_style else "auto"},
            connect_timeout=10, read_timeout=60,
            # S3-compatible servers (older MinIO, R2, Ceph) reject the newest default checksum headers
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        try:
            session = botocore.session.Session(profile=profile)
            # botocore spends most of a listing's parsing turning every LastModified into a datetime we
            # never read (about 90 ms per 1,000 keys, against 16 ms for the rest): keep the server's strings.
            factory = ResponseParserFactory()
            factory.set_parser_defaults(timestamp_parser=str)
            session.register_component("response_parser_factory", factory)
            self.client = session.create_client("s3", endpoint_url=endpoint_url, config=config)
        except Exception as err:  # botocore.exceptions.ProfileNotFound and friends
            raise PublishError(f"AWS profile {profile!r}: {err}" if profile else f"{self.url}: {err}") from err

    def _key(self, key: str) -> str:
        return self.prefix + key

    def list(self) -> dict[str, RemoteObject]:
        out = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                if key and not key.startswith(".contentpipe/"):
                    out[key] = RemoteObject(int(item["Size"]), etag(item.get("ETag")))
        return out

    def head(self, key: str) -> RemoteObject | None:
        from botocore.exceptions import ClientError

        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        meta = {k.lower(): v for k, v in resp.get("Metadata", {}).items()}  # rclone capitalises keys
        return RemoteObject(int(resp["ContentLength"]), etag(resp.get("ETag")), meta.get(META_SHA),
                            meta.get(META_HEADERS))

    def put(self, key: str, path: Path, headers: Mapping[str, str], metadata: Mapping[str, str]) -> str:
        extra: dict[str, Any] = {"Metadata": dict(metadata)}
        for header, arg in (("Content-Type", "ContentType"), ("Cache-Control", "CacheControl"),
                            ("Content-Encoding", "ContentEncoding")):
            if header in headers:
                extra[arg] = headers[header]
        if self.acl != "private":
            extra["ACL"] = self.acl
        size = path.stat().st_size
        if size >= self.multipart_threshold:
            from boto3.s3.transfer import S3Transfer, TransferConfig  # what boto3's client.upload_file runs

            config = TransferConfig(multipart_threshold=self.multipart_threshold, use_threads=False)
            with S3Transfer(self.client, config) as transfer:
                transfer.upload_file(str(path), self.bucket, self._key(key), extra_args=extra)
            return etag(self.client.head_object(Bucket=self.bucket, Key=self._key(key)).get("ETag"))
        resp = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=path.read_bytes(), **extra)
        return etag(resp.get("ETag"))

    def delete(self, keys: list[str]) -> list[str]:
        done: list[str] = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            resp = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": self._key(k)} for k in chunk], "Quiet": True})
            failed = {e["Key"] for e in resp.get("Errors", ())}
            done += [k for k in chunk if self._key(k) not in failed]
        return done

    def read_state(self) -> dict[str, list[Any]]:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(STATE_KEY))["Body"].read()
            data = json.loads(body)
            return data if isinstance(data, dict) else {}
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return {}
            raise
        except ValueError:
            return {}

    def write_state(self, state: dict[str, list[Any]]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(STATE_KEY),
                               Body=json.dumps(state, sort_keys=True).encode(),
                               ContentType="application/json", CacheControl="no-store")


def open_store(url: str, *, endpoint_url: str | None = None, region: str | None = None, profile: str | None = None,
               path_style: bool = False, acl: str = "private", concurrency: int = 8) -> ObjectStore:
    """A store for ``s3://bucket/prefix`` or ``file:///folder`` (query options on s3 URLs:
    endpoint=, region=, path_style=true, profile=)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise PublishError(f"{url}: a file URL names a local folder, like file:///srv/site")
        return FileStore(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
        return S3Store(parts.netloc, unquote(parts.path), endpoint_url=query.get("endpoint", endpoint_url),
                       region=query.get("region", region), profile=query.get("profile", profile),
                       path_style=query.get("path_style", str(path_style)).lower() == "true", acl=acl,
                       concurrency=concurrency)
    raise PublishError(f"{url}: not a target URL (use s3://bucket/prefix or file:///folder)")


def etag(value: object) -> str:
    """ETags without quotes: servers differ (rclone quotes them on PUT, not in listings)."""
    return str(value or "").strip('"')
