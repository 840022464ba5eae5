"""Run a publish: read the last build's manifest, ask the target what it holds (its listing and
state, requested at once while the local side is worked out), plan, then upload phase by phase
and delete last. A dry run stops after the plan.

Only the manifest of a build without errors is published. More deletions than
``max_deletes`` refuse the whole publish before anything is touched. A phase
with a failed upload stops the publish before the next phase (so no page goes
up without its images) and before any deletion; what did arrive is recorded in
the target's state, so running the publish again sends only the rest.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contentpipe import urls
from contentpipe.manifest import Manifest
from contentpipe.publish.plan import LocalObject, PublishPlan, RemoteObject, make_plan, needs_head
from contentpipe.publish.store import META_HEADERS, META_SHA, ObjectStore, PublishError, from_state, merge_state

log = logging.getLogger(__name__)

COMPRESSIBLE = ("text/", "application/json", "application/xml", "application/atom+xml", "application/ld+json",
                "image/svg+xml", "application/manifest+json")
RETRIES = 2  # attempts per object on top of botocore's own retries, for errors that still get through
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool = False
    delete: bool = True
    max_deletes: int = 256
    concurrency: int = 8
    cache_rules: Mapping[str, str] = field(default_factory=dict)  # glob on the key -> Cache-Control
    compress: str = ""  # "" or "gzip": pre-compressed text with Content-Encoding
    trust_state: bool = False  # read the target's state file (a remote manifest) instead of listing it


@dataclass
class PublishResult:
    target: str
    plan: PublishPlan
    dry_run: bool = False
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "target": self.target, "dry_run": self.dry_run,
            "uploaded": len(self.uploaded) if not self.dry_run else 0,
            "deleted": len(self.deleted), "unchanged": self.plan.unchanged,
            "planned": {"uploads": len(self.plan.uploads), "deletes": len(self.plan.deletes)},
            "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "failures": [{"key": k, "error": e} for k, e in self.failures],
            "plan": self.plan.to_json() if self.dry_run else None,
        }


def read_build(out_dir: Path) -> Manifest:
    manifest = Manifest.read(out_dir / urls.MANIFEST_NAME)
    if manifest is None:
        raise PublishError(f"no build in {out_dir}: run 'contentpipe build' first")
    if manifest.errors:
        raise PublishError(f"the last build in {out_dir} had {manifest.errors} error(s); "
                           "fix them and build again before publishing")
    return manifest


def local_objects(manifest: Manifest, out_dir: Path, options: PublishOptions, scratch: Path) -> list[LocalObject]:
    """What each output will be on the target: its file, hash and headers (gzipped text if asked)."""
    objects = []
    for record in manifest.outputs:
        path, sha256, size = out_dir / record.path, record.sha256, record.size
        headers = {"Content-Type": record.content_type,
                   "Cache-Control": _cache_control(record.key, record.cache_control, options.cache_rules)}
        if options.compress == "gzip" and record.content_type.startswith(COMPRESSIBLE):
            data = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)  # mtime=0: same bytes every time
            path = scratch / record.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sha256, size = hashlib.sha256(data).hexdigest(), len(data)
            headers["Content-Encoding"] = "gzip"
        objects.append(LocalObject(key=record.key, path=str(path), sha256=sha256, size=size, headers=headers,
                                   kind=record.kind))
    return objects


def _cache_control(key: str, default: str, rules: Mapping[str, str]) -> str:
    for pattern, value in rules.items():  # first match wins, in the order of the target's table
        if fnmatch.fnmatchcase(key, pattern):
            return value
    return default


def publish(out_dir: Path, store: ObjectStore, options: PublishOptions,
            progress: Progress | None = None) -> PublishResult:
    started = time.perf_counter()
    manifest = read_build(out_dir)  # a refused build never reaches the target
    with tempfile.TemporaryDirectory(prefix="contentpipe-publish-") as scratch:
        with ThreadPoolExecutor(max_workers=2) as asking:
            # the target's listing and state are asked for first; the local side is worked out while they come
            state = asking.submit(store.read_state)
            listing = None if options.trust_state else asking.submit(store.list)
            local = local_objects(manifest, out_dir, options, Path(scratch))
            if listing is None and (trusted := _ask(store, state.result)):
                remote, vouched = from_state(trusted), True
            else:
                listed = listing or asking.submit(store.list)  # no state to trust yet: list after all
                remote, vouched = _remote_view(store, local, lambda: merge_state(listed.result(), state.result()),
                                               options.concurrency)
        plan = make_plan(local, remote, delete=options.delete)
        if len(plan.deletes) > options.max_deletes:
            raise PublishError(f"the publish would delete {len(plan.deletes)} objects under {store.url}, "
                               f"more than --max-deletes {options.max_deletes}; nothing was changed")
        result = PublishResult(store.url, plan, dry_run=options.dry_run)
        by_key = {o.key: o for o in local}
        if options.dry_run:
            result.bytes = sum(by_key[u.key].size for u in plan.uploads)
        else:
            _apply(store, plan, by_key, remote, options, result, progress, state_is_current=vouched)
    result.seconds = time.perf_counter() - started
    return result


def _remote_view(store: ObjectStore, local: list[LocalObject], listed: Callable[[], dict[str, RemoteObject]],
                 concurrency: int) -> tuple[dict[str, RemoteObject], bool]:
    """What the target holds: its listing merged with the state file (``listed``), plus a HEAD for each
    object they cannot vouch for; True when the state file vouched for every object (no HEAD was needed)."""
    remote: dict[str, RemoteObject] = _ask(store, listed)
    unsure = [o.key for o in local if o.key in remote and needs_head(o, remote[o.key])]

    def head(key: str) -> RemoteObject | None:
        try:
            return store.head(key)
        except Exception as err:  # cannot tell: it will be uploaded again, which is always safe
            log.warning("%s: cannot read its metadata (%s); it will be uploaded", key, err)
            return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for key, found in zip(unsure, pool.map(head, unsure), strict=True):
            if found is not None:
                remote[key] = found
    return remote, not unsure


def _apply(store: ObjectStore, plan: PublishPlan, by_key: dict[str, LocalObject], remote: dict[str, RemoteObject],
           options: PublishOptions, result: PublishResult, progress: Progress | None,
           state_is_current: bool = False) -> None:
    """Upload phase by phase, delete last, and record what the target now holds in its state."""
    state = {k: [r.sha256, r.header_digest, r.etag, r.size] for k, r in remote.items()
             if r.sha256 and r.header_digest}
    try:
        _upload(store, plan, by_key, options, result, state, progress)
        if not result.failures and plan.deletes:
            try:
                result.deleted = store.delete(plan.deletes)
            except Exception as err:  # reported; the uploads stand
                result.failures.append(("(deletes)", f"{type(err).__name__}: {err}"))
            result.failures += [(k, "not deleted") for k in plan.deletes if k not in set(result.deleted)]
    finally:
        try:
            # a no-op whose state file already vouched for everything leaves it as it is
            if plan.uploads or plan.deletes or not state_is_current or set(state) != set(by_key):
                store.write_state({k: v for k, v in state.items() if k in by_key})
        except Exception as err:  # the next publish then checks objects one by one: slower, still right
            result.failures.append(("(state)", f"{type(err).__name__}: {err}"))


def _ask(store: ObjectStore, call: Callable[[], Any]) -> Any:
    """Run a whole-target request; turn what botocore raises into a PublishError naming the target."""
    try:
        return call()
    except Exception as err:
        if "botocore" not in sys.modules:  # a folder target: nothing to translate, and no botocore to import
            raise
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(err, NoCredentialsError):
            raise PublishError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                               "a profile (AWS_PROFILE or the target's profile), or use an instance role") from err
        if isinstance(err, ClientError):
            code = err.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                raise PublishError(f"{store.url}: the bucket does not exist") from err
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                raise PublishError(f"{store.url}: access denied ({code}); check the credentials and policy") from err
            raise PublishError(f"{store.url}: {code or err}") from err
        if isinstance(err, BotoCoreError):
            raise PublishError(f"cannot reach {store.url}: {err}") from err
        raise


def _upload(store: ObjectStore, plan: PublishPlan, by_key: dict[str, LocalObject], options: PublishOptions,
            result: PublishResult, state: dict[str, list[Any]], progress: Progress | None) -> None:
    total, done = len(plan.uploads), 0

    def send(key: str) -> tuple[str, str | None, str]:
        obj = by_key[key]
        meta = {META_SHA: obj.sha256, META_HEADERS: obj.header_digest}
        for attempt in range(RETRIES):
            try:
                return key, store.put(key, Path(obj.path), obj.headers, meta), ""
            except Exception as err:  # reported per object; the publish goes on with the others
                if attempt == RETRIES - 1:
                    return key, None, f"{type(err).__name__}: {err}"
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for phase in plan.by_phase():
            for key, etag, error in pool.map(send, [u.key for u in phase]):
                done += 1
                if etag is None:
                    result.failures.append((key, error))
                    log.error("upload failed: %s: %s", key, error)
                else:
                    obj = by_key[key]
                    result.uploaded.append(key)
                    result.bytes += obj.size
                    state[key] = [obj.sha256, obj.header_digest, etag, obj.size]
                if progress:
                    progress("upload", done, total)
            if result.failures:
                log.error("stopping before the next phase: %d upload(s) failed", len(result.failures))
                return
