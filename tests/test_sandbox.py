"""Untrusted pack templates stay contained: no way out of the sandbox, no runaway render, no Python from packs.

Each test builds a small real project; every template that misbehaves is one
error naming its pack, file and line, and the other outputs still build.
"""

from __future__ import annotations

import html
import importlib
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import MINIMAL_CONFIG, article, write_files
from contentpipe import BuildResult, Project
from contentpipe.errors import ProjectError

# what a leak out of the sandbox would print: a module, a class list, a function's globals
LEAKS = ("<module", "<class", "__builtins__", "__import__", "posix", "subprocess", "<function", "<built-in",
         "<bound method", "TemplateReference", "_TemplateReference__context", "environ")


def _pack(name: str, template: str, file: str = "p.html") -> dict[str, str]:
    return {f"channels/{name}/channel.toml": f'[outputs.page]\nper = "document"\ntemplate = "{file}"\n'
                                             'path = "{slug}.html"\n',
            f"channels/{name}/templates/{file}": template}


def _config(limits: str = "", build: str = "") -> str:
    return (MINIMAL_CONFIG + '\n[channels]\nenabled = ["web"]\n' + (f"\n[build]\n{build}\n" if build else "")
            + (f"\n[build.limits]\n{limits}\n" if limits else ""))


def _project(make_project: Callable[..., Path], packs: dict[str, str], limits: str = "",
             build: str = "", web: bool = True) -> Path:
    files: dict[str, str | bytes] = {"assets/a.md": article("Alpha", "x: '<b>bold</b>'\n"),
                                     "assets/b.md": article("Beta")}
    for name, template in packs.items():
        files.update(_pack(name, template))
    root: Path = make_project(files, _config(limits, build))
    enabled = ", ".join(f'"{n}"' for n in ["web" if web else "", *packs] if n)
    config = root / "contentpipe.toml"
    config.write_text(config.read_text().replace('enabled = ["web"]', f"enabled = [{enabled}]"))
    return root


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()}


def _build(root: Path) -> BuildResult:
    """A build, with nothing written outside the output folder (the cache is the session's, elsewhere)."""
    before = _files(root)
    result = Project.load(root).build()
    assert {f for f in _files(root) - before if not f.startswith("dist/")} == set()
    return result


def _errors(result: BuildResult, root: Path) -> dict[str, list[tuple[int | None, str]]]:
    """Errors by pack: (line, message) for each, every one in that pack's own p.html."""
    by_pack: dict[str, list[tuple[int | None, str]]] = {}
    for p in result.errors:
        rel = p.where.path.relative_to(root).as_posix()
        pack = rel.split("/")[1]
        assert rel == f"channels/{pack}/templates/p.html", str(p)
        assert f"'{pack}' pack" in p.message, str(p)
        by_pack.setdefault(pack, []).append((p.where.line, p.message))
    return by_pack


def _web_built(root: Path) -> None:
    assert (root / "dist/web/a/index.html").is_file() and (root / "dist/web/b/index.html").is_file()


def _no_leak(root: Path, pack: str) -> None:
    for page in (root / "dist" / pack).glob("*.html") if (root / "dist" / pack).is_dir() else ():
        text = page.read_text()
        assert not any(leak in text for leak in LEAKS), (pack, text[:300])


# ----- the sandbox: every pack, every format ----------------------------------------------


def test_every_pack_renders_sandboxed_and_autoescaped_as_its_format_needs(make_project: Callable[..., Path]) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from contentpipe.config.project import Limits
    from contentpipe.errors import Problems
    from contentpipe.load.packs import load_channels
    from contentpipe.render.templates import Templates

    root = make_project({
        "assets/a.md": article("Alpha", "x: '<b>bold</b>'\n"),
        **_pack("texts", "{{ doc.params.x }}\n", "p.txt"),
        **_pack("json", '{"x": {{ doc.params.x | tojson }}, "raw": "{{ doc.params.x }}"}\n', "p.json"),
        **_pack("html", "<p>{{ doc.params.x }}</p>\n"),
    })
    result = _build(root)
    assert result.ok, [str(p) for p in result.errors]
    assert (root / "dist/texts/a.html").read_text() == "<b>bold</b>\n"  # text/plain: not escaped
    assert '"raw": "<b>bold</b>"' in (root / "dist/json/a.html").read_text()  # JSON: tojson escapes, nothing else
    assert (root / "dist/html/a.html").read_text() == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"
    channels = load_channels(root, Problems())
    assert {"web", "email", "mobile", "social", "texts", "json", "html"} <= set(channels)
    for trust in (True, False):
        for channel in channels.values():
            env = Templates(channel, limits=Limits(), trust_packs=trust).env
            assert isinstance(env, ImmutableSandboxedEnvironment), channel.name
            assert env.is_safe_attribute([], "append", [].append) is False  # immutable
            assert env.autoescape("page.html") and env.autoescape("feed.xml") and env.autoescape("x.svg")
            assert not env.autoescape("email.txt") and not env.autoescape("doc.json")


# ----- the published ways out of Jinja2's sandbox ---------------------------------------------------

ESCAPES = {
    # str.format reaching attributes (the sandbox's own formatter must do the lookups)
    "fmt": '{{ "{0.__class__}".format(doc) }}',
    "fmtmap": '{{ "{d.__class__.__mro__}".format_map({"d": doc}) }}',
    "fmtglobals": '{{ "{0.__init__.__globals__}".format(cycler) }}',
    # CVE-2024-56326: a stored reference to a string's format method, called later
    "stored": '{% set f = "{0.__class__.__mro__[1].__subclasses__}".format %}{{ f(doc) }}',
    # CVE-2025-27516: |attr("format") handing out the plain method
    "attrfmt": '{{ ("{0.__class__.__mro__[1].__subclasses__}"|attr("format"))(doc) }}',
    "attrmap": '{{ ["{0.__class__.__init__.__globals__}"]|map(attribute="format")|first|attr("__call__") }}',
    "mapfmt": '{% for f in ["{0.__class__}"]|map(attribute="format") %}{{ f(doc) }}{% endfor %}',
    # walks through dunders
    "mro": "{{ doc.__class__.__mro__[1].__subclasses__() }}",
    "strmro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "attrmro": '{{ doc|attr("__class__")|attr("__mro__") }}',
    "getitem": '{{ doc["__class__"]["__mro__"] }}',
    "self": "{{ self.__init__.__globals__ }}",
    "selfctx": "{{ self._TemplateReference__context }}",
    "cycler": "{{ cycler.__init__.__globals__.os }}",
    "cyclerattr": '{{ (cycler|attr("__init__")|attr("__globals__"))["os"] }}',
    "joiner": "{{ joiner.__init__.__globals__ }}",
    "namespace": "{{ namespace.__init__.__globals__ }}",
    "lipsum": '{{ lipsum.__globals__["os"] }}',
    "lipsumpopen": '{{ lipsum.__globals__.os.popen("id").read() }}',
    "range": "{{ range.__closure__ }}{{ range.func }}",
    "dictmro": "{{ dict.mro() }}",
    "method": "{{ cycler(1).next.__self__.__class__ }}",
    "config": "{{ config.items() }}",
}


def test_published_sandbox_escapes_render_nothing_dangerous(make_project: Callable[..., Path]) -> None:
    root = _project(make_project, ESCAPES)
    started = time.monotonic()
    result = _build(root)
    assert time.monotonic() - started < 30
    errors = _errors(result, root)
    for pack in ESCAPES:
        _no_leak(root, pack)
        assert len(errors.get(pack, [])) == 1, (pack, errors.get(pack))  # one error, not one per document
        line, message = errors[pack][0]
        assert line == 1 and message.startswith("template error: "), (pack, message)
        assert any(word in message for word in ("unsafe", "undefined", "no attribute")), (pack, message)
        assert not any(leak in message for leak in ("<module", "__builtins__", "posix")), (pack, message)
        assert not (root / "dist" / pack).exists(), pack
    _web_built(root)


def test_a_template_file_name_cannot_inject_code(make_project: Callable[..., Path]) -> None:
    """CVE-2024-56201: a template's name was pasted into the code Jinja compiles (fixed in 3.1.5)."""
    import os

    name = '{__import__("os").environ.__setitem__("CONTENTPIPE_PWNED", "1")}.html'
    root = make_project({
        "assets/a.md": article("Alpha"),
        "channels/named/channel.toml": f'[outputs.page]\nper = "document"\ntemplate = {name!r}\n'
                                       'path = "{slug}.html"\n',
        f"channels/named/templates/{name}": '{% from "_m.html" import missing %}{{ missing() }}\n',
        "channels/named/templates/_m.html": "{% macro there() %}{% endmacro %}\n",
    })
    result = _build(root)
    assert "CONTENTPIPE_PWNED" not in os.environ
    assert [p.where.path.name for p in result.errors] == [name], [str(p) for p in result.errors]
    assert (root / "dist/web/a/index.html").is_file()


# ----- plugin filters: plain data in, whatever the template hands them -----------------------------

PLUGIN = '''
CALLS = []

def register(filters):
    def call_it(f, *args):  # a careless plugin: calls what it is given
        CALLS.append(f)
        return f(*args)

    def shout(value, end="!"):
        return str(value).upper() + end

    filters["call_it"] = call_it
    filters["shout"] = shout
'''


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (a dist-info on sys.path) with a filter plugin and two pack plugins."""
    site = tmp_path / "site"
    pack_toml = '[outputs.page]\nper = "document"\ntemplate = "p.html"\npath = "{slug}.html"\n'
    write_files(site, {
        "cp_test_filters.py": PLUGIN,
        "cp_test_pack/__init__.py": "import os\nos.environ['CP_TEST_PACK_IMPORTED'] = '1'\n",
        "cp_test_pack/channel.toml": pack_toml,
        "cp_test_pack/templates/p.html": "<p>installed {{ doc.title }}</p>\n",
        "cp_test_attr/__init__.py": "import os\nfrom pathlib import Path\nos.environ['CP_TEST_ATTR_IMPORTED'] = '1'\n"
                                    "PACK_DIR = Path(__file__).parent / 'pack'\n",
        "cp_test_attr/pack/channel.toml": pack_toml,
        "cp_test_attr/pack/templates/p.html": "<p>attr {{ doc.title }}</p>\n",
        "cp_test_plugins-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: cp-test-plugins\nVersion: 1.0\n",
        "cp_test_plugins-1.0.dist-info/entry_points.txt":
            "[contentpipe.filters]\ntest = cp_test_filters:register\n\n"
            "[contentpipe.packs]\ninstalled = cp_test_pack\nattrpack = cp_test_attr:PACK_DIR\n",
    })
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    for flag in ("CP_TEST_PACK_IMPORTED", "CP_TEST_ATTR_IMPORTED"):  # recorded, so the plugins' own are undone too
        monkeypatch.setenv(flag, "")
        monkeypatch.delenv(flag)
    yield site
    for module in ("cp_test_filters", "cp_test_pack", "cp_test_attr"):
        sys.modules.pop(module, None)


HANDED = {
    "fmt": '{{ "{0.__class__.__init__.__globals__}".format|call_it(doc) }}',
    "stored": '{% set f = "{0.__class__}".format %}{{ f|call_it(doc) }}',
    "attrfmt": '{{ "{0.__class__}"|attr("format")|call_it(doc) }}',
    "mapped": '{{ ["{0.__class__}"]|map(attribute="format")|map("call_it", doc)|list }}',
    "macro": "{% macro m() %}{% endmacro %}{{ m|call_it }}",
    "cycler": "{{ cycler|call_it(1) }}",
    "instance": "{{ cycler(1)|call_it }}",
    "joiner": '{{ joiner(",")|call_it }}',
    "ns": "{{ namespace(a=1)|call_it }}",
    "lipsum": "{{ lipsum|call_it }}",
    "self": "{{ self|call_it }}",
    "loop": "{% for i in [1] %}{{ loop|call_it }}{% endfor %}",
    "range": "{{ range|call_it(3) }}",
    "dict": "{{ dict|call_it }}",
    "kwarg": '{{ "x"|shout(end=cycler) }}',
    "nested": '{{ {"a": ["b", "x".upper]}|shout }}',
}


def test_plugin_filters_are_given_plain_data_only(make_project: Callable[..., Path], plugins: Path) -> None:
    fine = '{{ doc.title|shout }} {{ doc|shout("?")|length > 0 }} {{ [1, "a", none, 2.5, {"k": [true]}]|shout }} ' \
           '{{ ["a", "b"]|map("upper")|shout }} {{ range(3)|shout }}\n'
    root = _project(make_project, {**HANDED, "fine": fine})
    result = _build(root)
    errors = _errors(result, root)
    assert set(errors) == set(HANDED), errors
    for pack in HANDED:
        assert len(errors[pack]) == 1 and errors[pack][0][0] == 1, (pack, errors[pack])
        message = errors[pack][0][1]
        assert "may be given plain data only" in message, (pack, message)
        assert "'call_it'" in message or "'shout'" in message, (pack, message)
        _no_leak(root, pack)
    assert sys.modules["cp_test_filters"].CALLS == []  # the plugin never got hold of a callable
    text = html.unescape((root / "dist/fine/a.html").read_text())
    assert text == "ALPHA! True [1, 'A', NONE, 2.5, {'K': [TRUE]}]! ['A', 'B']! RANGE(0, 3)!\n", text
    _web_built(root)


def test_untrusted_packs_load_templates_and_rules_but_no_python(make_project: Callable[..., Path],
                                                                 plugins: Path) -> None:
    import os

    root = _project(make_project, {"shouts": "{{ doc.title|shout }}\n", "plain": "<p>{{ doc.title }}</p>\n"},
                    build="trust_packs = false")
    config = root / "contentpipe.toml"
    config.write_text(config.read_text().replace('"plain"]', '"plain", "installed"]'))
    result = _build(root)
    assert "cp_test_filters" not in sys.modules and "cp_test_pack" not in sys.modules
    assert "cp_test_attr" not in sys.modules and "CP_TEST_PACK_IMPORTED" not in os.environ
    assert "CP_TEST_ATTR_IMPORTED" not in os.environ
    assert [(p.where.path.relative_to(root).as_posix(), "shout" in p.message) for p in result.errors] == [
        ("channels/shouts/templates/p.html", True)], [str(p) for p in result.errors]
    assert (root / "dist/installed/a.html").read_text() == "<p>installed Alpha</p>\n"  # found, not imported
    assert not (root / "dist/attrpack").exists()  # its folder is a value only its code computes: left out
    assert (root / "dist/plain/a.html").is_file()
    _web_built(root)
    # trusted (the default), the same project has its filters and both packs
    config.write_text(config.read_text().replace("trust_packs = false", "trust_packs = true")
                      .replace('"installed"]', '"installed", "attrpack"]'))
    again = _build(root)
    assert again.ok, [str(p) for p in again.errors]
    assert (root / "dist/shouts/a.html").read_text() == "ALPHA!\n"
    assert (root / "dist/attrpack/a.html").read_text() == "<p>attr Alpha</p>\n"
    assert os.environ.get("CP_TEST_ATTR_IMPORTED") == "1"


# ----- denial of service --------------------------------------------------------------------------------

NESTED = "".join(f"{{% for i{n} in range(1000) %}}\n" for n in range(10)) + "x" + "{% endfor %}" * 10 + "\n"

BOMBS = {
    "range": "{% for i in range(10**9) %}{{ i }}{% endfor %}",
    "range5": "{{ range(10**5)|list|length }}",
    "nested": NESTED,
    "recursion": "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
    "caller": "{% macro c() %}{{ caller() }}{% endmacro %}{% macro d() %}{% call c() %}{{ d() }}{% endcall %}"
              "{% endmacro %}{{ d() }}",
    "times": '{{ "x" * 10**9 }}',
    "format": '{{ ("%s"|format("x")) * 10**9 }}',
    "width": '{{ "%999999999d"|format(1) }}',
    "spec": '{{ "{:>999999999}".format(1) }}',
    "percent": '{{ "%*d" % (999999999, 1) }}',
    "center": '{{ "x"|center(10**9) }}',
    "indent": '{{ "x"|indent(10**9) }}',
    "wordwrap": '{{ ("x " * 4000000)|wordwrap(1, wrapstring="y" * 1000) }}',
    "ljust": '{{ "x".ljust(10**9) }}',
    "power": "{{ 2 ** (10**10) }}",
    "bytes": '{{ (7).to_bytes(10**9, "big")|length }}',
    "join": '{{ range(10**4)|join("y" * 100000) }}',
    "joins": "{% for i in range(10000) %}{{ range(10**4)|join('-' * 100) }}{% endfor %}",
    "replace": '{{ ("x" * 1000000)|replace("", "y" * 100) }}',
    "doubling": '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}'
                "{{ ns.s|length }}",
    "macrodoubling": "{% macro d(s) %}{{ d(s ~ s) }}{% endmacro %}{{ d('x') }}",
    "refs": '{{ ([none] * 10000)|map("default", "x" * 5000000, true)|map("upper")|list|length }}',
    "printed": '{{ dict.fromkeys(range(10000), "x" * 100000) }}',
    "batch": "{{ [1]|batch(10**9, 0)|list }}",
    "lipsum": "{{ lipsum(10**6) }}",
    "big": '{% for i in range(10000) %}{{ "y" * 2000 }}{% endfor %}',
    "captured": '{% set x %}{% for i in range(9999) %}{{ "y" * 9999 }}{% endfor %}{% endset %}{{ x|length }}',
    "slow": "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
}
EXPECTED = {  # pack -> what its error says and the [build.limits] key it names
    "range": ("Range too big", "range_size"), "range5": ("Range too big", "range_size"),
    "nested": ("for loops nested 7 deep", "loop_depth"), "recursion": ("recursion", "macro_depth"),
    "caller": ("recursion", "macro_depth"), "batch": ("batch(", "range_size"),
    "big": ("the output passed", "output_size"), "joins": ("the output passed", "output_size"),
    "slow": ("took longer than 0.5 s", "render_seconds"), "refs": ("made more than", "total_size"),
}


def test_runaway_templates_stop_quickly_with_one_error_each(make_project: Callable[..., Path]) -> None:
    root = _project(make_project, BOMBS, limits="render_seconds = 0.5")
    started = time.monotonic()
    result = _build(root)
    assert time.monotonic() - started < 30  # each template stopped at once; the slow one costs 0.5 s once
    errors = _errors(result, root)
    assert set(errors) == set(BOMBS), set(BOMBS) ^ set(errors)
    for pack in BOMBS:
        assert len(errors[pack]) == 1, (pack, errors[pack])  # once per template, not once per document
        line, message = errors[pack][0]
        words, key = EXPECTED.get(pack, ("would be larger than", "string_size"))
        assert words in message and f"[build.limits] {key}" in message, (pack, message)
        assert line == (7 if pack == "nested" else 1), (pack, line, message)
        assert not (root / "dist" / pack).exists(), pack
    _web_built(root)
    # the interpreter is fine afterwards (no recursion limit lowered, no state left): everything rendered again
    again = Project.load(root).build(full=True)
    assert {str(p) for p in again.errors} == {str(p) for p in result.errors}


def test_a_render_in_a_thread_stops_at_its_wall_time(make_project: Callable[..., Path]) -> None:
    """Builds run in a watcher thread: the deadline is checked by the template's own loops, not by a signal."""
    root = _project(make_project, {"slow": BOMBS["slow"]}, limits="render_seconds = 0.3")
    results: list[BuildResult] = []
    thread = threading.Thread(target=lambda: results.append(Project.load(root).build()))
    started = time.monotonic()
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - started < 20
    assert [(p.where.line, "render_seconds" in p.message) for p in results[0].errors] == [(1, True)]
    _web_built(root)


def test_a_project_can_raise_a_limit_and_the_same_template_builds(make_project: Callable[..., Path]) -> None:
    packs = {
        "range": "{% for i in range(500) %}{% endfor %}ok\n",
        "loops": "{% for a in range(2) %}{% for b in range(2) %}{% for c in range(2) %}.{% endfor %}{% endfor %}"
                 "{% endfor %}\n",
        "macro": "{% macro down(n) %}{% if n < 10 %}{{ down(n + 1) }}{% else %}{{ n }}{% endif %}{% endmacro %}"
                 "{{ down(0) }}\n",
        "output": '{{ "y" * 900 }}{{ "z" * 900 }}\n',
        "string": '{% set s = "y" * 1500 %}{{ s|length }}\n',
        "slow": '{% for i in "x" * 900 %}{% for j in "y" * 900 %}{% endfor %}{% endfor %}ok\n',  # 810,000 steps
    }
    low = ("render_seconds = 0.01\noutput_size = 1000\nstring_size = 1000\nrange_size = 100\nloop_depth = 2\n"
           "macro_depth = 5")
    root = _project(make_project, packs, limits=low, web=False)  # the web pack's pages are over these limits
    result = _build(root)
    keys = {pack: [re.search(r"\[build\.limits\] (\w+)", m).group(1) for _, m in found]  # type: ignore[union-attr]
            for pack, found in _errors(result, root).items()}
    assert keys == {"range": ["range_size"], "loops": ["loop_depth"], "macro": ["macro_depth"],
                    "output": ["output_size"], "string": ["string_size"], "slow": ["render_seconds"]}, keys
    config = root / "contentpipe.toml"
    config.write_text(config.read_text().replace(low, "render_seconds = 20\nrange_size = 1000\nloop_depth = 3\n"
                                                      "macro_depth = 20\noutput_size = 5000\nstring_size = 5000"))
    again = _build(root)  # the limits are part of every output's fingerprint: the failed outputs render again
    assert again.ok, [str(p) for p in again.errors]
    assert (root / "dist/macro/a.html").read_text() == "10\n"
    assert (root / "dist/string/a.html").read_text() == "1500\n"
    assert (root / "dist/slow/b.html").read_text() == "ok\n"


def test_bad_limits_are_config_errors_with_file_line_and_key(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("Alpha")}, MINIMAL_CONFIG + (
        '\n[build]\ntrust_packs = "no"\n\n[build.limits]\nrender_seconds = -1\nrange_size = "big"\n'
        "loop_depth = 0\nheap = 5\n"))
    with pytest.raises(ProjectError) as caught:
        Project.load(root)
    found = {(p.where.key, p.where.line) for p in caught.value.problems}
    lines = (root / "contentpipe.toml").read_text().splitlines()
    expected = {key: lines.index(text) + 1 for key, text in (
        ("build.trust_packs", 'trust_packs = "no"'), ("build.limits.render_seconds", "render_seconds = -1"),
        ("build.limits.range_size", 'range_size = "big"'), ("build.limits.loop_depth", "loop_depth = 0"),
        ("build.limits.heap", "heap = 5"))}
    assert found == set(expected.items()), found
    assert all(p.where.path == root / "contentpipe.toml" for p in caught.value.problems)
