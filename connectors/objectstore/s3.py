"""S3-compatible object storage (AWS S3, MinIO, SeaweedFS, moto) through Arrow's S3 client.

Credentials come from the standard AWS variables when the store is created and stay
inside the Arrow filesystem object: they are never logged, stored or put in messages.
With an :class:`~connectors.objectstore.cache.ObjectCache`, the query engine reads local
copies of the objects of tables scanned in place (see :meth:`S3ObjectStore.native_location`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from connectors.objectstore.cache import ObjectCache, ObjectVersion
from connectors.objectstore.selection import Selection, is_hidden, select
from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import ObjectNotFoundError, ObjectStoreAccessError, ObjectStoreError
from lakehouse.storage import NativeLocation, ObjectInfo, ObjectStore


@dataclass(frozen=True)
class S3Endpoint:
    """Where an S3 API lives. ``url`` None means AWS itself."""

    url: str | None
    region: str

    @classmethod
    def from_env(cls, endpoint: str | None = None, region: str | None = None) -> S3Endpoint:
        """Endpoint and region from the entry, else ``AWS_ENDPOINT_URL_S3``,
        ``AWS_ENDPOINT_URL``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""
        url = (
            endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        )
        reg = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return cls(url=url or None, region=reg or "us-east-1")


def credentials_from_env() -> dict[str, str]:
    """The AWS credentials of the server's environment (may be empty: anonymous)."""
    out = {}
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        out["access_key"] = os.environ["AWS_ACCESS_KEY_ID"]
    if os.environ.get("AWS_SECRET_ACCESS_KEY"):
        out["secret_key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    if os.environ.get("AWS_SESSION_TOKEN"):
        out["session_token"] = os.environ["AWS_SESSION_TOKEN"]
    return out


def make_s3_filesystem(endpoint: S3Endpoint) -> pafs.S3FileSystem:
    """An Arrow S3 filesystem for the endpoint, with the environment's credentials."""
    kwargs: dict[str, object] = {"region": endpoint.region, **credentials_from_env()}
    if not kwargs.get("access_key"):
        kwargs["anonymous"] = True
    if endpoint.url:
        parsed = urlparse(endpoint.url if "://" in endpoint.url else "https://" + endpoint.url)
        kwargs["endpoint_override"] = parsed.netloc + parsed.path.rstrip("/")
        kwargs["scheme"] = parsed.scheme or "https"
    kwargs["connect_timeout"] = 10
    kwargs["request_timeout"] = 60
    return pafs.S3FileSystem(**kwargs)


class S3ObjectStore(ObjectStore):
    """Objects in the buckets of one S3 endpoint.

    Args:
        endpoint: where the S3 API lives.
        cache: local copies for the query engine's readers (None: they read from S3).
    """

    def __init__(self, endpoint: S3Endpoint, cache: ObjectCache | None = None) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self._fs = make_s3_filesystem(endpoint)

    def filesystem(self) -> pafs.FileSystem:
        return self._fs

    def native_location(self, obj: ObjectInfo) -> NativeLocation | None:
        """Where the query engine reads ``obj``: a local copy when the store has a
        cache (made now if the object is new or changed), else the object in S3.

        Raises:
            ObjectNotFoundError: the object is gone.
            ObjectStoreAccessError: credentials were refused.
        """
        if self.cache is not None:
            local = self._local_copy(self.cache, obj)
            if local is not None:
                return NativeLocation("local", local, fixed=True)
        return self._s3_location(obj)

    def _local_copy(self, cache: ObjectCache, obj: ObjectInfo) -> str | None:
        # The version is asked for every time (one HEAD): a copy is only used while
        # the object in the store is still the one copied.
        version = obj.version if obj.version is not None else self._version(obj)
        if version is None:
            return None
        path = cache.local_copy(
            f"s3://{self.endpoint.url or 'aws'}|{self.endpoint.region}|{obj.path}",
            version,
            lambda: self._fs.open_input_file(obj.path),
            lambda: self._version(obj),
        )
        return None if path is None else str(path)

    def _version(self, obj: ObjectInfo) -> ObjectVersion | None:
        """The object's ETag (else modification time) and size, from a HEAD request."""
        return self._head(obj.path, obj.url)[0]

    def _head(self, path: str, url: str) -> tuple[ObjectVersion | None, int]:
        """(version, size) of one object, from one HEAD request."""
        try:
            with self._fs.open_input_file(path) as f:
                meta = f.metadata()
                size = f.size()
        except (OSError, pa.ArrowException) as exc:
            raise translate_error(exc, url) from None
        tag = meta.get("ETag") or meta.get("Last-Modified")
        if not tag:
            return None, size
        return ObjectVersion(tag.decode() if isinstance(tag, bytes) else str(tag), size), size

    def _s3_location(self, obj: ObjectInfo) -> NativeLocation:
        bucket = obj.path.split("/", 1)[0]
        creds = credentials_from_env()
        options = {"region": self.endpoint.region}
        if self.endpoint.url:
            options["endpoint"] = self.endpoint.url
            options["allow_http"] = "true" if self.endpoint.url.startswith("http://") else "false"
        if creds.get("access_key"):
            options["access_key_id"] = creds["access_key"]
            options["secret_access_key"] = creds.get("secret_key", "")
        if creds.get("session_token"):
            options["session_token"] = creds["session_token"]
        return NativeLocation("s3", obj.url, bucket, tuple(sorted(options.items())))

    def list_objects(self, entry: FileEntry) -> list[ObjectInfo]:
        sel = select(entry)
        if sel.is_single:
            if self.cache is not None:
                # The local copy needs the object's version anyway: one HEAD tells
                # both that it exists and what it is (a query in place asks each time).
                path, url = f"{sel.bucket}/{sel.name or ''}", f"s3://{sel.bucket}/{sel.name or ''}"
                try:
                    version, size = self._head(path, url)
                except ObjectStoreError:
                    pass  # a folder, no such object or bucket, refused: _stat says which
                else:
                    return [ObjectInfo(url, path, size, version)]
            info = self._stat(sel.bucket, sel.name or "")
            return [info] if info is not None else []
        out = []
        for key, size in self._walk(sel):
            if sel.matches(key) and not is_hidden(key):
                out.append(ObjectInfo(f"s3://{sel.bucket}/{key}", f"{sel.bucket}/{key}", size))
        return sorted(out, key=lambda o: o.url)

    def open(self, obj: ObjectInfo) -> pa.NativeFile:
        try:
            return self._fs.open_input_stream(obj.path, compression=None)
        except (OSError, pa.ArrowException) as exc:
            raise translate_error(exc, obj.url) from None

    # ------------------------------------------------------------ internals
    def _stat(self, bucket: str, key: str) -> ObjectInfo | None:
        url = f"s3://{bucket}/{key}"
        try:
            info = self._fs.get_file_info(f"{bucket}/{key}")
        except (OSError, pa.ArrowException) as exc:
            raise translate_error(exc, url) from None
        if info.type == pafs.FileType.File:
            return ObjectInfo(url, f"{bucket}/{key}", info.size or 0)
        if info.type == pafs.FileType.NotFound:
            self._check_bucket(bucket)
        return None

    def _walk(self, sel: Selection) -> list[tuple[str, int]]:
        base = f"{sel.bucket}/{sel.list_root}".rstrip("/")
        try:
            infos = self._fs.get_file_info(
                pafs.FileSelector(base, recursive=True, allow_not_found=True)
            )
        except (OSError, pa.ArrowException) as exc:
            raise translate_error(exc, f"s3://{base}/") from None
        if not infos:
            self._check_bucket(sel.bucket)
        strip = len(sel.bucket) + 1
        return [(i.path[strip:], i.size or 0) for i in infos if i.type == pafs.FileType.File]

    def _check_bucket(self, bucket: str) -> None:
        try:
            info = self._fs.get_file_info(bucket)
        except (OSError, pa.ArrowException) as exc:
            raise translate_error(exc, f"s3://{bucket}/") from None
        if info.type == pafs.FileType.NotFound:
            raise ObjectNotFoundError(f"Bucket '{bucket}' does not exist")


def translate_error(exc: BaseException, url: str) -> ObjectStoreError:
    """An Arrow/S3 error as one of ours. Only the URL is quoted, never request details."""
    text = str(exc)
    upper = text.upper()
    if "NO_SUCH_BUCKET" in upper or "NOSUCHBUCKET" in upper:
        bucket = url.split("://", 1)[-1].split("/", 1)[0]
        return ObjectNotFoundError(f"Bucket '{bucket}' does not exist")
    if isinstance(exc, FileNotFoundError) or "NO_SUCH_KEY" in upper or "NOT FOUND" in upper:
        return ObjectNotFoundError(f"Object {url} does not exist")
    for marker in (
        "ACCESS_DENIED",
        "ACCESSDENIED",
        "INVALIDACCESSKEYID",
        "SIGNATUREDOESNOTMATCH",
        "INVALID_ACCESS_KEY",
        "SIGNATURE_DOES_NOT_MATCH",
        "FORBIDDEN",
        "403",
    ):
        if marker in upper.replace(" ", ""):
            return ObjectStoreAccessError(
                f"Object storage refused access to {url}: check AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and the bucket's permissions"
            )
    if "CONNECT" in upper or "TIMEOUT" in upper or "NETWORK" in upper or "RESOLVE" in upper:
        return ObjectStoreError(
            f"Cannot reach object storage for {url}: check AWS_ENDPOINT_URL and the network"
        )
    return ObjectStoreError(f"Cannot read {url}: {_first_line(text)}")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    # Arrow appends request ids and details after ". Detail:"; keep the readable part.
    return line.split(" (Request ID")[0][:300]
