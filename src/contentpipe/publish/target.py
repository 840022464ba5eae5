"""Which target a publish goes to: a named [targets.NAME] table, a URL, or the default local folder."""

from __future__ import annotations

from pathlib import Path

from contentpipe.config.project import ProjectConfig
from contentpipe.publish.run import PublishOptions
from contentpipe.publish.store import FileStore, ObjectStore, PublishError, open_store

DEFAULT_FOLDER = "published"  # file://<project>/published/ when no target is given: works with no cloud


def resolve_target(config: ProjectConfig, name: str | None, url: str | None,
                   options: PublishOptions) -> tuple[ObjectStore, PublishOptions]:
    """The store to publish to, and the options with the target's cache rules and compression."""
    if name and url:
        raise PublishError("give either --target NAME or --to URL, not both")
    store, options = _resolve(config, name, url, options)
    if isinstance(store, FileStore):
        _check_folder(store.root, config)
    return store, options


def _check_folder(folder: Path, config: ProjectConfig) -> None:
    """A folder target is deleted into: refuse one that holds the project, its build or anything above."""
    real = folder.resolve()
    if real == Path(real.anchor) or real == Path.home().resolve():
        raise PublishError(f"{folder} cannot be a publish target: use a folder of its own")
    if config.root.resolve().is_relative_to(real):
        raise PublishError(f"{folder} cannot be a publish target: it holds the project {config.root}")
    for inside in (config.out_dir, config.root / "assets", config.root / "channels"):
        if real.is_relative_to(inside.resolve()):
            raise PublishError(f"{folder} cannot be a publish target: it is inside {inside}")


def _resolve(config: ProjectConfig, name: str | None, url: str | None,
             options: PublishOptions) -> tuple[ObjectStore, PublishOptions]:
    if name:
        target = config.targets.get(name)
        if target is None:
            known = ", ".join(sorted(config.targets)) or "none configured"
            raise PublishError(f"no target named {name!r} in contentpipe.toml (targets: {known})")
        store = open_store(target.url, endpoint_url=target.endpoint_url, region=target.region,
                           profile=target.profile, path_style=target.path_style, acl=target.acl,
                           concurrency=options.concurrency)
        return store, PublishOptions(**{**vars(options), "cache_rules": dict(target.cache),
                                        "compress": target.compress})
    if url:
        return open_store(url, concurrency=options.concurrency), options
    return open_store((config.root / DEFAULT_FOLDER).as_uri()), options
