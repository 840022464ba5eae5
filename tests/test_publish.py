"""Publishing to real S3-compatible servers on 127.0.0.1 (moto and rclone), through boto3."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import s3servers
from conftest import copy_sample
from contentpipe import Project
from contentpipe.manifest import Manifest
from contentpipe.publish.run import PublishOptions, publish
from contentpipe.publish.store import FileStore, PublishError, S3Store, open_store


@pytest.fixture(scope="session", autouse=True)
def aws_env() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", s3servers.ACCESS_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", s3servers.SECRET_KEY)
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mp.delenv("AWS_PROFILE", raising=False)
    mp.setenv("AWS_CONFIG_FILE", "/dev/null")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def moto(aws_env: None) -> Iterator[s3servers.Server]:
    yield from s3servers.running(s3servers.start_moto())


@pytest.fixture(scope="session")
def rclone(aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3servers.Server]:
    root = tmp_path_factory.mktemp("rclone")
    yield from s3servers.running(s3servers.start_rclone(root, tuple(f"bucket{i}" for i in range(8))))


def client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))


class Bucket:
    """A fresh bucket on a server, with helpers to look inside."""

    counter = 0

    def __init__(self, server: s3servers.Server) -> None:
        self.server = server
        self.s3 = client(server.endpoint)
        if server.name == "moto":
            self.name = f"b-{uuid.uuid4().hex[:12]}"
            self.s3.create_bucket(Bucket=self.name)
        else:
            self.name = f"bucket{Bucket.counter % 8}"
            Bucket.counter += 1
            for key in self.objects(""):
                self.s3.delete_object(Bucket=self.name, Key=key)

    def url(self, prefix: str = "site") -> str:
        return f"s3://{self.name}/{prefix}?endpoint={self.server.endpoint}&path_style=true&region=us-east-1"

    def store(self, prefix: str = "site", endpoint: str | None = None, max_attempts: int = 6) -> S3Store:
        return S3Store(self.name, prefix, endpoint_url=endpoint or self.server.endpoint, region="us-east-1",
                       path_style=True, max_attempts=max_attempts)

    def objects(self, prefix: str = "site/") -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", ())}

    def head(self, key: str) -> dict[str, Any]:
        resp: dict[str, Any] = self.s3.head_object(Bucket=self.name, Key=key)
        return resp

    def body(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        return data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, built once for this module (tests that change it work on copies)."""
    root = copy_sample(tmp_path_factory.mktemp("pub") / "sample")
    assert Project.load(root).build().ok
    return root


def published_keys(root: Path) -> set[str]:
    manifest = Manifest.read(root / "dist/manifest.json")
    assert manifest is not None
    return {o.key for o in manifest.outputs}


@pytest.mark.parametrize("server_name", ["moto", "rclone"])
def test_first_publish_uploads_every_output_with_its_headers(site: Path, server_name: str,
                                                            request: pytest.FixtureRequest) -> None:
    bucket = Bucket(request.getfixturevalue(server_name))
    result = publish(site / "dist", bucket.store(), PublishOptions())
    assert result.ok and result.plan.unchanged == 0
    keys = published_keys(site)
    assert bucket.objects() == {f"site/{k}" for k in keys} | {"site/.contentpipe/state.json"}
    manifest = Manifest.read(site / "dist/manifest.json")
    assert manifest is not None
    for record in manifest.outputs:
        if record.kind in ("page", "rendition", "feed", "sitemap") or record.key.endswith(".xml"):
            head = bucket.head(f"site/{record.key}")
            assert head["ContentType"] == record.content_type
            assert head["CacheControl"] == record.cache_control
            assert {k.lower(): v for k, v in head["Metadata"].items()}["sha256"] == record.sha256
    page = "articles/route-guide/index.html"
    assert bucket.body(f"site/{page}") == (site / "dist/web" / page).read_bytes()


@pytest.mark.parametrize("server_name", ["moto", "rclone"])
def test_nothing_changed_uploads_nothing(site: Path, server_name: str, request: pytest.FixtureRequest) -> None:
    bucket = Bucket(request.getfixturevalue(server_name))
    publish(site / "dist", bucket.store(), PublishOptions())
    again = publish(site / "dist", bucket.store(), PublishOptions())
    assert again.uploaded == [] and again.deleted == [] and again.plan.unchanged == len(published_keys(site))


@pytest.mark.parametrize("server_name", ["moto", "rclone"])
def test_rebuild_in_a_fresh_checkout_uploads_nothing(site: Path, tmp_path: Path, server_name: str,
                                                     request: pytest.FixtureRequest) -> None:
    bucket = Bucket(request.getfixturevalue(server_name))
    publish(site / "dist", bucket.store(), PublishOptions())
    fresh = copy_sample(tmp_path / "checkout")  # new files, new timestamps, new output folder
    assert Project.load(fresh).build().ok
    result = publish(fresh / "dist", bucket.store(), PublishOptions())
    assert result.uploaded == [] and result.plan.unchanged == len(published_keys(site))


@pytest.mark.parametrize("server_name", ["moto", "rclone"])
def test_one_changed_article_uploads_only_what_changed(site: Path, tmp_path: Path, server_name: str,
                                                       request: pytest.FixtureRequest) -> None:
    bucket = Bucket(request.getfixturevalue(server_name))
    work = copy_sample(tmp_path / "work")
    Project.load(work).build()
    publish(work / "dist", bucket.store(), PublishOptions())
    before = {o.key: o.sha256 for o in Manifest.read(work / "dist/manifest.json").outputs}  # type: ignore[union-attr]
    article = work / "assets/articles/open-data-rides.md"
    article.write_text(article.read_text().replace("\n---\n", "\n---\n\nA correction.\n", 1))
    Project.load(work).build()
    outputs = Manifest.read(work / "dist/manifest.json").outputs  # type: ignore[union-attr]
    after, feeds = {o.key: o.sha256 for o in outputs}, {o.key for o in outputs if o.kind == "feed"}
    changed = {k for k in after if before.get(k) != after[k]}
    assert "articles/open-data-rides/index.html" in changed
    assert all("open-data-rides" in k or k in feeds for k in changed), changed  # its outputs on each channel, feeds
    result = publish(work / "dist", bucket.store(), PublishOptions())
    assert set(result.uploaded) == changed
    assert {u.reason for u in result.plan.uploads} == {"changed"}


def test_a_new_cache_rule_resends_only_the_affected_objects(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    publish(site / "dist", bucket.store(), PublishOptions())
    rules = {"*.html": "public, max-age=60"}
    result = publish(site / "dist", bucket.store(), PublishOptions(cache_rules=rules))
    html = {k for k in published_keys(site) if k.endswith(".html")}
    assert set(result.uploaded) == html
    assert {u.reason for u in result.plan.uploads} == {"headers"}
    assert bucket.head("site/index.html")["CacheControl"] == "public, max-age=60"


def test_order_renditions_then_assets_then_pages_then_feeds_then_deletes(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    bucket.s3.put_object(Bucket=bucket.name, Key="site/old/stale.html", Body=b"old")
    calls: list[tuple[str, str]] = []

    class Recording(S3Store):
        def put(self, key: str, *args: Any) -> str:
            calls.append(("put", key))
            return super().put(key, *args)

        def delete(self, keys: list[str]) -> list[str]:
            calls.extend(("delete", k) for k in keys)
            return super().delete(keys)

    store = Recording(bucket.name, "site", endpoint_url=moto.endpoint, region="us-east-1", path_style=True)
    publish(site / "dist", store, PublishOptions(concurrency=4))
    feeds = {o.key for o in Manifest.read(site / "dist/manifest.json").outputs if o.kind == "feed"}  # type: ignore[union-attr]

    def rank(call: tuple[str, str]) -> int:
        op, key = call
        if op == "delete":
            return 4
        if key.startswith("media/"):
            return 0
        if key.endswith(".html"):
            return 2
        if key.endswith(".xml") or key in feeds:  # sitemaps, and feeds in any format (feed.json)
            return 3
        return 1

    ranks = [rank(c) for c in calls]
    assert ranks == sorted(ranks), "every rendition before any page, pages before feeds, deletes last"
    assert ("delete", "old/stale.html") in calls and 0 in ranks and 2 in ranks and 3 in ranks


def test_deletes_stay_under_the_prefix_and_are_capped(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    for key in ("other/keep.txt", "sitemap-of-others.xml", "site/stale-1.html", "site/stale-2.html"):
        bucket.s3.put_object(Bucket=bucket.name, Key=key, Body=b"x")
    with pytest.raises(PublishError, match=r"would delete 2 objects .* more than --max-deletes 1"):
        publish(site / "dist", bucket.store(), PublishOptions(max_deletes=1))
    assert bucket.objects("") == {"other/keep.txt", "sitemap-of-others.xml", "site/stale-1.html", "site/stale-2.html"}
    result = publish(site / "dist", bucket.store(), PublishOptions())
    assert sorted(result.deleted) == ["stale-1.html", "stale-2.html"]
    assert {"other/keep.txt", "sitemap-of-others.xml"} <= bucket.objects("")
    no_delete = publish(site / "dist", bucket.store(), PublishOptions(delete=False))
    assert no_delete.deleted == []


def test_dry_run_plans_and_touches_nothing(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    bucket.s3.put_object(Bucket=bucket.name, Key="site/stale.html", Body=b"x")
    result = publish(site / "dist", bucket.store(), PublishOptions(dry_run=True))
    assert bucket.objects() == {"site/stale.html"}
    plan = result.summary()["plan"]
    assert len(plan["uploads"]) == len(published_keys(site)) and plan["deletes"] == ["stale.html"]
    assert {u["reason"] for u in plan["uploads"]} == {"new"}
    assert plan["uploads"][0]["phase"] == "renditions"


def test_refuses_a_missing_build_and_a_build_with_errors(tmp_path: Path, make_project: Callable[..., Path]) -> None:
    store = FileStore(tmp_path / "target")
    with pytest.raises(PublishError, match=r"no build in .*: run 'contentpipe build' first"):
        publish(tmp_path / "nothing", store, PublishOptions())
    from conftest import article

    root = make_project({"assets/a.md": article("A", body="[x](gone.md)\n")})
    Project.load(root).build()
    with pytest.raises(PublishError, match="had 1 error"):
        publish(root / "dist", store, PublishOptions())
    assert not (tmp_path / "target").exists()


def test_throttling_errors_and_cut_connections_are_retried(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    proxy = s3servers.FaultProxy(moto.endpoint, fail_rate=0.3, seed=11)
    try:
        result = publish(site / "dist", bucket.store(endpoint=proxy.endpoint), PublishOptions(concurrency=4))
    finally:
        proxy.close()
    assert result.ok, result.failures
    assert proxy.counts["slowdown"] > 5 and proxy.counts["cut"] > 5
    assert bucket.objects() == {f"site/{k}" for k in published_keys(site)} | {"site/.contentpipe/state.json"}
    clean = publish(site / "dist", bucket.store(), PublishOptions())
    assert clean.uploaded == []


def test_a_failure_that_remains_is_reported_and_stops_before_pages(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    broken = next(k for k in sorted(published_keys(site)) if k.endswith(".webp"))
    proxy = s3servers.FaultProxy(moto.endpoint, fail_rate=0.0, always_fail=broken.rsplit("/", 1)[1])
    try:
        store = bucket.store(endpoint=proxy.endpoint, max_attempts=2)  # give up quickly on the broken key
        result = publish(site / "dist", store, PublishOptions())
    finally:
        proxy.close()
    assert not result.ok and [k for k, _ in result.failures] == [broken]
    assert "SlowDown" in result.failures[0][1]
    uploaded = bucket.objects()
    assert not any(k.endswith(".html") for k in uploaded), "no page goes up while an image is missing"
    assert any(k.startswith("site/media/") for k in uploaded)
    rerun = publish(site / "dist", bucket.store(), PublishOptions())  # the rest, and nothing twice
    assert broken in rerun.uploaded and not set(rerun.uploaded) & {k.removeprefix("site/") for k in uploaded}


@pytest.mark.parametrize("server_name", ["moto", "rclone"])
def test_the_listing_round_trips_odd_keys_across_pages(server_name: str, request: pytest.FixtureRequest) -> None:
    bucket = Bucket(request.getfixturevalue(server_name))
    odd = ["a b/c+d.html", "100%/x&y<z>.txt", "ünï/çødé 🚲.html", "quote'dq\"/k=v?.css", "x/.contentpipe/kept.txt"]
    plain = [f"page-{i:04d}.html" for i in range(1005)]  # more than one page of 1,000 keys
    for key in odd + plain + [".contentpipe/state.json"]:
        bucket.s3.put_object(Bucket=bucket.name, Key=f"site/{key}", Body=b"x")
    bucket.s3.put_object(Bucket=bucket.name, Key="sites/outside.html", Body=b"x")
    listed = bucket.store().list()
    assert set(listed) == set(odd + plain)  # our own state file is not an object of the site
    assert listed["a b/c+d.html"].size == 1 and listed["a b/c+d.html"].etag == "9dd4e461268c8034f5c8564e155c67a6"


def test_a_missing_profile_is_a_clear_error(moto: s3servers.Server) -> None:
    with pytest.raises(PublishError, match="AWS profile 'nope'"):
        S3Store("bucket", "site", endpoint_url=moto.endpoint, region="us-east-1", profile="nope")


def test_a_folder_publish_does_not_load_botocore(site: Path, tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from contentpipe.publish.run import PublishOptions, publish; "
            "from contentpipe.publish.store import open_store; "
            f"assert publish(Path({str(site / 'dist')!r}), open_store({(tmp_path / 'out').as_uri()!r}), "
            "PublishOptions()).ok; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unreachable_target_is_a_clear_error(site: Path) -> None:
    store = S3Store("nobucket", "site", endpoint_url=f"http://127.0.0.1:{s3servers.free_port()}",
                    region="us-east-1", path_style=True)
    with pytest.raises(PublishError, match=r"cannot reach s3://nobucket/site/"):
        publish(site / "dist", store, PublishOptions())


def test_a_missing_bucket_is_a_clear_error(site: Path, moto: s3servers.Server) -> None:
    store = S3Store("no-such-bucket", "site", endpoint_url=moto.endpoint, region="us-east-1", path_style=True)
    with pytest.raises(PublishError, match="the bucket does not exist"):
        publish(site / "dist", store, PublishOptions())


def test_default_target_is_a_local_folder(site: Path, tmp_path: Path) -> None:
    target = tmp_path / "published"
    store = open_store(target.as_uri())
    result = publish(site / "dist", store, PublishOptions())
    assert result.ok
    assert (target / "articles/route-guide/index.html").read_bytes() == (
        site / "dist/web/articles/route-guide/index.html").read_bytes()
    assert publish(site / "dist", store, PublishOptions()).uploaded == []


def test_gzip_precompression(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    publish(site / "dist", bucket.store(), PublishOptions(compress="gzip"))
    head = bucket.head("site/index.html")
    assert head["ContentEncoding"] == "gzip"
    assert gzip.decompress(bucket.body("site/index.html")) == (site / "dist/web/index.html").read_bytes()
    media = next(k for k in published_keys(site) if k.endswith(".webp"))
    assert "ContentEncoding" not in bucket.head(f"site/{media}")
    assert publish(site / "dist", bucket.store(), PublishOptions(compress="gzip")).uploaded == []


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contentpipe", "publish", *args], capture_output=True, text=True,
                          env=env)


def test_cli_json_summary_exit_codes_and_no_secrets(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    done = cli(str(site), "--to", bucket.url(), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["uploaded"] == len(published_keys(site)) and summary["unchanged"] == 0
    assert set(summary) >= {"uploaded", "deleted", "unchanged", "bytes", "seconds", "failures"}
    again = cli(str(site), "--to", bucket.url(), "--json")
    second = json.loads(again.stdout)
    assert second["uploaded"] == 0 and second["unchanged"] == len(published_keys(site))
    dry = cli(str(site), "--to", bucket.url(), "--dry-run")
    assert dry.returncode == 0 and "0 to upload" in dry.stderr
    unknown = cli(str(site), "--target", "nope")
    assert unknown.returncode == 2 and "no target named 'nope'" in unknown.stderr
    unreachable = cli(str(site), "--to", f"s3://x/y?endpoint=http://127.0.0.1:{s3servers.free_port()}&path_style=true")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    for run in (done, again, dry, unknown, unreachable):
        assert s3servers.SECRET_KEY not in run.stdout + run.stderr


def test_a_publish_killed_half_way_resumes_without_sending_twice(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    proxy = s3servers.FaultProxy(moto.endpoint, fail_rate=0.0, delay=0.05)
    url = bucket.url().replace(moto.endpoint, proxy.endpoint)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "contentpipe", "publish", str(site), "--to", url,
                                 "--concurrency", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(bucket.objects()) < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)  # no clean-up, no state file written
        proc.wait()
    finally:
        proxy.close()
    arrived: set[str] = set()
    while True:  # requests already inside the proxy still land after the kill: wait until it is quiet
        time.sleep(0.5)
        now = {k.removeprefix("site/") for k in bucket.objects()}
        if now == arrived:
            break
        arrived = now
    assert 30 <= len(arrived) < len(published_keys(site)) and ".contentpipe/state.json" not in arrived
    result = publish(site / "dist", bucket.store(), PublishOptions())
    assert result.ok
    assert set(result.uploaded) == published_keys(site) - arrived  # what arrived is not sent again
    assert publish(site / "dist", bucket.store(), PublishOptions()).uploaded == []


def test_multipart_objects_are_compared_by_their_stored_hash(tmp_path: Path, moto: s3servers.Server,
                                                             make_project: Callable[..., Path]) -> None:
    from conftest import article

    big = os.urandom(6 * 1024 * 1024)
    root = make_project({"assets/a.md": article("A"), "channels/web/static/video/clip.bin": big})
    assert Project.load(root).build().ok
    bucket = Bucket(moto)
    store = S3Store(bucket.name, "site", endpoint_url=moto.endpoint, region="us-east-1", path_style=True,
                    multipart_threshold=5 * 1024 * 1024)
    publish(root / "dist", store, PublishOptions())
    head = bucket.head("site/video/clip.bin")
    assert "-" in head["ETag"]  # a multipart ETag is not the MD5 of the bytes
    assert bucket.body("site/video/clip.bin") == big
    bucket.s3.delete_object(Bucket=bucket.name, Key="site/.contentpipe/state.json")  # force HEADs
    assert publish(root / "dist", store, PublishOptions()).uploaded == []
    shutil.rmtree(root / "dist")


@pytest.mark.parametrize("where", ["/", "{root}", "{root}/..", "{root}/dist", "{root}/dist/web", "{root}/assets/x"])
def test_a_folder_target_never_holds_the_project_or_sits_inside_it(site: Path, where: str) -> None:
    folder = Path(where.format(root=site))
    done = cli(str(site), "--to", folder.resolve().as_uri())
    assert done.returncode == 2 and "cannot be a publish target" in done.stderr
    assert (site / "assets/articles/route-guide.md").is_file() and (site / "dist/manifest.json").is_file()


def test_trust_state_reads_the_remote_manifest_instead_of_listing(site: Path, moto: s3servers.Server) -> None:
    bucket = Bucket(moto)
    calls: list[str] = []

    class Counting(S3Store):
        def list(self) -> Any:
            calls.append("list")
            return super().list()

        def head(self, key: str) -> Any:
            calls.append("head")
            return super().head(key)

    def store() -> Counting:
        return Counting(bucket.name, "site", endpoint_url=moto.endpoint, region="us-east-1", path_style=True)

    # no state yet: --trust-state lists after all, and the first publish sends everything
    first = publish(site / "dist", store(), PublishOptions(trust_state=True))
    assert calls == ["list"] and len(first.uploaded) == len(published_keys(site)) and not first.failures
    calls.clear()
    noop = publish(site / "dist", store(), PublishOptions(trust_state=True))
    assert calls == [] and noop.uploaded == [] and noop.deleted == []  # one GET of the state, nothing else
    # a change behind the tool's back is not seen with --trust-state, and is repaired by a listing publish
    bucket.s3.delete_object(Bucket=bucket.name, Key="site/articles/route-guide/index.html")
    assert publish(site / "dist", store(), PublishOptions(trust_state=True)).uploaded == []
    repaired = publish(site / "dist", store(), PublishOptions())
    assert repaired.uploaded == ["articles/route-guide/index.html"]
