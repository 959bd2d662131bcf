"""The console as served files: the shell, its Content-Security-Policy, and what its scripts may
do (no markup from strings, no eval, no other origin, only calls the API has). And the one thing
the console asks of the API beyond the SPEC: a capability is checked before a payload is
validated, so an incomplete payload probes a capability without doing anything."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from crux.api import all_calls
from crux.console import CSP, STATIC

SCRIPTS = sorted((STATIC / "js").rglob("*.js"))
SOURCES = [*SCRIPTS, STATIC / "index.html", STATIC / "console.css"]


def test_every_console_path_is_the_shell_with_a_strict_policy(client):
    for path in ("/console/", "/console/slices", "/console/rulesets/1/retail/order/main", "/console/instance?x=1"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.mimetype == "text/html"
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module" src="/console/static/js/main.js">' in resp.data
    policy = dict(part.split(" ", 1) for part in CSP.split("; "))
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "img-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert "unsafe" not in CSP
    assert client.get("/console").status_code == 308


def test_the_shell_preloads_the_shared_scripts_and_every_file_is_served(client):
    shell = client.get("/console/").get_data(as_text=True)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="(/console/static/[^"]+)">', shell))
    assert preloaded == {f"/console/static/js/{p.name}" for p in (STATIC / "js").glob("*.js")}
    every = {f"/console/static/{p.relative_to(STATIC).as_posix()}" for p in SCRIPTS}
    for path in sorted(every) + ["/console/static/console.css", "/console/static/crux.svg"]:
        with client.get(path) as resp:
            assert resp.status_code == 200, path
            assert resp.headers["Content-Security-Policy"] == CSP
            if path.endswith(".js"):
                assert resp.mimetype == "text/javascript", path
    with client.get("/console/static/nosuch.js") as resp:
        assert resp.status_code == 404


def test_the_shell_has_no_inline_script_or_style():
    html = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and "style=" not in html and " on" not in re.sub(r"<noscript>.*?</noscript>", "", html)


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_scripts_build_the_page_from_text_only(path: Path):
    """Values reach the page as text nodes and attributes: nothing parses strings as markup or
    code, and nothing is fetched from another origin."""
    text = re.sub(r"/\*.*?\*/|^\s*//.*$|<!--.*?-->", "", path.read_text(), flags=re.S | re.M)  # code, not comments
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   'setAttribute("style"', "setTimeout(\"", "javascript:"):
        assert banned not in text, (path.name, banned)
    urls = set(re.findall(r"https?://[^\s\"'`)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, (path.name, urls)


def _calls_named_in_scripts() -> set[str]:
    """Every call name the scripts spell out: literal names given to call/must/act, the probes,
    the simulator's two calls, and the names built from a kind's prefixes (rules.js KINDS)."""
    kinds = (STATIC / "js" / "rules.js").read_text()
    prefixes = {"prefix": re.findall(r'\bprefix: "([a-z]+)"', kinds),
                "schemaPrefix": re.findall(r'\bschemaPrefix: "([a-z]+)"', kinds)}
    names = {call for _, call, _ in _probes()}
    for path in SCRIPTS:
        text = path.read_text()
        names |= set(re.findall(r'\b(?:call|must)\(\s*"(\w+)"', text))
        names |= set(re.findall(r'\bact\([^,()]+,\s*"(\w+)"', text))
        for line in re.findall(r"callName = .*", text):
            names |= set(re.findall(r"\"([a-z]+)\"", line))
        for attr, suffix in re.findall(r"\$\{K\.(prefix|schemaPrefix)\}(\w+)", text):
            names |= {p + suffix for p in prefixes[attr]}
        for attr, expr in re.findall(r"\$\{K\.(prefix|schemaPrefix)\}\$\{([^}]*)\}", text):
            names |= {p + suffix for p in prefixes[attr] for suffix in re.findall(r'"(\w+)"', expr)}
    return names


def test_the_console_uses_only_calls_of_the_public_api():
    registered = {c.name for c in all_calls()}
    used = _calls_named_in_scripts()
    assert len(used) >= 35, sorted(used)
    assert used <= registered, sorted(used - registered)


def _probes() -> list[tuple[str, str, dict]]:
    """The capability probes of session.js: (capability, call, payload)."""
    text = (STATIC / "js" / "session.js").read_text()
    realm_level = re.findall(r'^\s+(\w+): \["([a-z]+)", \{\}\],?$', text, re.M)
    app_level = re.findall(r'\{schema: "([a-z]+)", ruleset: "([a-z]+)"\}', text)[0]
    return ([(cap, call, {}) for cap, call in realm_level]
            + [("schema", app_level[0], {"app": "a1"}), ("ruleset", app_level[1], {"app": "a1"})])


def test_capability_probes_are_refused_without_the_capability_and_change_nothing_with_it(realm, conn):
    """The console asks the API what a user may do: each probe is a call that needs the
    capability, with a payload the API refuses. Without the capability the answer is 403; with
    it, a validation error (400) and nothing written."""
    probes = _probes()
    assert {cap for cap, _, _ in probes} == {"root", "auth", "config", "report", "schema", "ruleset"}
    realm.app_new("a1")
    realm.grant("nobody", "config")
    realm.grant("ann", "report")
    changes = conn.execute("SELECT count(*) AS n FROM changelog WHERE realm = %s", (realm.name,)).fetchone()["n"]
    for cap, call, payload in probes:
        lacking = "ann" if cap != "report" else "nobody"
        assert realm.call(call, payload, user=lacking).status_code == 403, (cap, call)
        answer = realm.call(call, payload)  # admin holds root
        assert answer.status_code in (200, 400), (cap, call, answer.get_json())
    logged = conn.execute("SELECT count(*) AS n FROM changelog WHERE realm = %s", (realm.name,)).fetchone()["n"]
    assert logged == changes
