"""The docs run: every shell example of README.md and docs/*.md, pasted in order into one terminal
against a freshly started `crux demo`, works and prints what the doc shows.

Which docs, in which order: README.md first, then each docs/*.md in the order README.md first
links it (a page of docs/ the README never links fails the test: it would have no place).

What runs: every fenced block tagged `sh` (or `bash`, `shell`), in one bash session for all of them (variables and
functions carry over, as in a terminal), in a scratch folder where `.venv/bin/crux`,
`.venv/bin/python` and `examples/` are what they are in a checkout after the README's first
command (`crux` alone is not on the PATH there either).
The demo is a real `crux demo` process on a free port: `localhost:8085` in the commands is
rewritten to it (the test never binds 8085), and CRUX_URL points the example programs at it.
The webhooks' `127.0.0.1:8090` becomes a free port nothing listens on (this machine is shared).
A `sh` block whose first line starts with `# not run by the docs test` is skipped (for what
cannot run unattended; keep them rare).

What is compared (standard output; standard error is shown when something fails):
- A fenced block right after a `sh` block (nothing but blank lines between) shows the block's
  output: ```json a sequence of JSON values, any other tag lines of text (`...` in a line
  matches any text, a line `...` any number of lines, a timestamp any timestamp).
- Inside a `sh` block, comment lines starting `# {` or `# [` (continued on the next comment lines
  until the JSON is whole) show the output of the commands since the previous such comment.
- What a doc shows is the end of what the commands printed: the last JSON values, or the last
  lines of text (a doc may show only the last command's answer); what they printed before it
  counts as not shown.
- In shown JSON, `...` stands for what is left out: `"..."` or a bare `...` in place of a value:
  any value; `[...]` any list, `{...}` any object; `...` as an item of a list: any further items
  there; `...` as a member of an object: any further members (without it the keys are exactly
  those shown).
- Volatile values are compared by type only (null, number, string, ...): the values of the keys
  in VOLATILE_KEYS (ids and cursors), the row ids of an instance answer's `tasks`
  (`[{"<step>": <id>}]`), and timestamps (RFC 3339 strings) wherever they are.
- Nothing may fail unseen: a command that exits non-zero (bash's ERR trap records it) fails the
  test, and so does an error envelope (`"status": "error"`) in the output of commands whose
  output the doc does not show.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, new_database
from tests.http_server import _free_port

SHELL = frozenset({"sh", "bash", "shell"})
SKIP_MARK = "# not run by the docs test"
VOLATILE_KEYS = frozenset({"id", "wfid", "parent", "aborted", "next"})
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
SEGMENT_TIMEOUT = 90
ANY = "\0..."          # what `...` in shown JSON becomes while it is parsed


# ---- reading the docs ----------------------------------------------------------------------------

@dataclass
class Segment:
    """Commands run together and the output the doc shows after them (None: none shown)."""
    where: str                         # file:line of its first command
    commands: str
    expected: str | None = None
    kind: str = "json"                 # "json" or "text"


@dataclass
class Block:
    path: Path
    line: int                          # the opening fence's line number
    lang: str
    lines: list[str] = field(default_factory=list)


def doc_order() -> list[Path]:
    """README.md, then the docs/ pages in the order README.md first links them."""
    readme = ROOT / "README.md"
    order = [readme]
    for name in re.findall(r"\bdocs/([\w.-]+\.md)\b", readme.read_text()):
        page = ROOT / "docs" / name
        if page not in order:
            order.append(page)
    unlinked = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p not in order)
    assert not unlinked, f"link these from README.md so the docs test knows where they go: {unlinked}"
    return order


def fenced_blocks(path: Path) -> list[tuple[Block, int]]:
    """Every fenced block of a markdown file with the number of lines after the previous block's end
    that are not blank (0: the block follows the previous one directly)."""
    blocks, current, gap, indent = [], None, 0, 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if current is None:
            if line.lstrip().startswith("```"):
                indent = len(line) - len(line.lstrip())          # a block inside a list item
                current = Block(path, number, line.strip()[3:].strip().split(" ")[0])
                blocks.append((current, gap))
            elif line.strip():
                gap += 1
        elif line.strip() == "```":
            current, gap = None, 0
        else:
            current.lines.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
    return blocks


def segments_of(blocks: list[tuple[Block, int]]) -> list[Segment]:
    out: list[Segment] = []
    for i, (block, _) in enumerate(blocks):
        if block.lang not in SHELL or (block.lines and block.lines[0].startswith(SKIP_MARK)):
            continue
        segs = _split(block)
        follower = blocks[i + 1] if i + 1 < len(blocks) else None
        if follower and follower[1] == 0 and follower[0].lang not in SHELL:
            shown = follower[0]
            if segs[-1].expected is not None:
                segs.append(Segment(f"{_rel(block.path)}:{shown.line}", ""))
            segs[-1].expected = "\n".join(shown.lines)
            segs[-1].kind = "json" if shown.lang == "json" else "text"
        out.extend(seg for seg in segs if seg.commands.strip() or seg.expected is not None)
    return out


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _split(block: Block) -> list[Segment]:
    """Cut a sh block after each group of `# {...}` output comments."""
    segs, commands, start = [], [], block.line + 1
    lines, i = block.lines, 0
    while i < len(lines):
        text = _comment_text(lines[i])
        if text is not None and text[:1] in "{[" and any(c.strip() for c in commands):
            shown, i = [text], i + 1
            while i < len(lines) and (more := _comment_text(lines[i])) is not None:
                if _is_whole("\n".join(shown)) and more[:1] not in "{[":
                    break
                shown.append(more)
                i += 1
            segs.append(Segment(f"{_rel(block.path)}:{start}", "\n".join(commands), "\n".join(shown)))
            commands, start = [], block.line + 1 + i
        else:
            commands.append(lines[i])
            i += 1
    segs.append(Segment(f"{_rel(block.path)}:{start}", "\n".join(commands)))
    return segs


def _comment_text(line: str) -> str | None:
    stripped = line.strip()
    return stripped[1:].strip() if stripped.startswith("#") else None


def _is_whole(text: str) -> bool:
    try:
        json_values(text)
        return True
    except ValueError:
        return False


# ---- shown JSON and its comparison -----------------------------------------------------------------

def _with_ellipses(text: str) -> str:
    """Shown JSON -> JSON: each `...` outside strings becomes the ANY string (a value or list item)
    or an ANY member (in an object where a key would come)."""
    out, stack, in_string, escaped, i = [], [], False, False, 0
    last = ""                                  # the last character outside strings, not blank
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string, last = False, '"'
            i += 1
            continue
        if text.startswith("...", i):
            member = stack and stack[-1] == "{" and last != ":"
            out.append(json.dumps(ANY) + (": null" if member else ""))
            i, last = i + 3, '"'
            continue
        if c == '"':
            in_string = True
        elif c in "[{":
            stack.append(c)
        elif c in "]}" and stack:
            stack.pop()
        out.append(c)
        if not c.isspace():
            last = c
        i += 1
    return "".join(out)


def json_values(text: str, shown: bool = True) -> list:
    """The JSON values of a text, one after another (ValueError if it is anything else)."""
    if shown:
        text = _with_ellipses(text)
    decoder, values, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__.replace("int", "number").replace("float", "number")


def mismatch(shown, got, path: tuple = ()) -> str | None:
    """Where `got` differs from what the doc shows (None: it matches)."""
    here = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "(the whole value)"
    if shown in (ANY, "..."):
        return None
    task_id = len(path) >= 3 and path[-3] == "tasks" and isinstance(path[-2], int)
    volatile = task_id or (path and path[-1] in VOLATILE_KEYS)
    if volatile or (isinstance(shown, str) and isinstance(got, str) and TIMESTAMP.fullmatch(shown)
                    and TIMESTAMP.fullmatch(got)):
        return None if _kind(shown) == _kind(got) else f"{here}: the doc shows a {_kind(shown)}, got {json.dumps(got)}"
    if isinstance(shown, dict):
        if not isinstance(got, dict):
            return f"{here}: the doc shows an object, got {json.dumps(got)}"
        keys = [k for k in shown if k != ANY]
        missing = [k for k in keys if k not in got]
        extra = [] if ANY in shown else [k for k in got if k not in shown]
        if missing or extra:
            return f"{here}: keys missing {missing}, not shown {extra}"
        for k in keys:
            if problem := mismatch(shown[k], got[k], path + (k,)):
                return problem
        return None
    if isinstance(shown, list):
        if not isinstance(got, list):
            return f"{here}: the doc shows a list, got {json.dumps(got)}"
        if ANY in shown:
            cut = shown.index(ANY)
            head, tail = shown[:cut], [v for v in shown[cut + 1:] if v != ANY]
            if len(got) < len(head) + len(tail):
                return f"{here}: the doc shows at least {len(head) + len(tail)} items, got {len(got)}"
            pairs = list(enumerate(head)) + [(len(got) - len(tail) + n, v) for n, v in enumerate(tail)]
        else:
            if len(got) != len(shown):
                return f"{here}: the doc shows {len(shown)} items, got {len(got)}: {json.dumps(got)}"
            pairs = list(enumerate(shown))
        for n, value in pairs:
            if problem := mismatch(value, got[n], path + (n,)):
                return problem
        return None
    if isinstance(shown, bool) != isinstance(got, bool) or shown != got or _kind(shown) != _kind(got):
        return f"{here}: the doc shows {json.dumps(shown)}, got {json.dumps(got)}"
    return None


def _line_pattern(line: str) -> str:
    """A shown line of text as a pattern: `...` any text, a timestamp any timestamp."""
    def part(text: str) -> str:
        return TIMESTAMP.pattern.join(re.escape(p) for p in TIMESTAMP.split(text)[::3])
    return "[^\n]*".join(part(p) for p in line.rstrip().split("...")) + "\n"


def check_text(seg: Segment, out: str) -> str | None:
    """The output must end with the shown lines (a line `...` stands for any number of lines)."""
    shown = seg.expected.rstrip("\n").splitlines()
    got = "".join(line.rstrip() + "\n" for line in out.rstrip("\n").splitlines())
    pattern = "".join("(?:[^\n]*\n)*?" if line.strip() == "..." else _line_pattern(line) for line in shown)
    found = re.fullmatch(f"(?P<before>(?:[^\n]*\n)*?){pattern}", got)
    if found:
        return check(Segment(seg.where, seg.commands), found["before"])
    if "..." in (line.strip() for line in shown):
        return "the output does not end with the lines shown"
    have = got.splitlines()
    if len(have) < len(shown):
        return f"the doc shows {len(shown)} line(s), the output has {len(have)}"
    for n, (line, printed) in enumerate(zip(shown, have[-len(shown):], strict=True)):
        if not re.fullmatch(_line_pattern(line), printed + "\n"):
            return f"line {n + 1} of {len(shown)} shown: the doc shows {line!r}, got {printed!r}"
    return "the output does not end with the lines shown"


def check(seg: Segment, out: str) -> str | None:
    if seg.expected is not None and seg.kind == "text":
        return check_text(seg, out)
    try:
        got = json_values(out, shown=False)
    except ValueError:
        got = None
    if seg.expected is None:
        errors = [v for v in got or [] if isinstance(v, dict) and v.get("status") == "error"]
        return f"an error answer the doc does not show: {json.dumps(errors[0])}" if errors else None
    if got is None:
        return "the output is not a sequence of JSON values"
    shown = json_values(seg.expected)
    if len(got) < len(shown):
        return f"the doc shows {len(shown)} JSON value(s), the output has {len(got)}"
    earlier, last = got[:len(got) - len(shown)], got[len(got) - len(shown):]
    if problem := check(Segment(seg.where, seg.commands), json.dumps(earlier)[1:-1]):
        return problem
    for n, (s, g) in enumerate(zip(shown, last, strict=True)):
        if problem := mismatch(s, g):
            return f"value {n + 1} of those shown: {problem}"
    return None


# ---- a terminal --------------------------------------------------------------------------------------

class Shell:
    """One bash session; each segment is sourced from a file (its stdin is /dev/null). The session
    is a process group of its own, ended as a whole: nothing an example leaves running survives it."""

    def __init__(self, cwd: Path, env: dict, logs: Path):
        self.cwd, self.logs, self.n = cwd, logs, 0
        self.failed = logs / "failed-commands"
        self.stderr = open(logs / "stderr", "w+b")
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, start_new_session=True)
        self.buffer, self.lock = bytearray(), threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._send(f"set -E; trap 'echo \"exit $?: $BASH_COMMAND\" >> {self.failed}' ERR\n")

    def _read(self):
        while chunk := self.proc.stdout.read1(65536):
            with self.lock:
                self.buffer += chunk

    def _send(self, text: str):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, commands: str) -> tuple[str, str, str]:
        """-> (stdout, stderr, failed commands)"""
        self.n += 1
        script = self.logs / f"segment-{self.n}.sh"
        script.write_text(commands + "\n")
        self.failed.write_text("")
        err_from = self.stderr.seek(0, os.SEEK_END)
        marker = f"__docs_segment_{self.n}_done__"
        self._send(f"source {script} < /dev/null; printf '\\n%s\\n' {marker}\n")
        deadline = time.monotonic() + SEGMENT_TIMEOUT
        while True:
            with self.lock:
                at = self.buffer.find(f"\n{marker}\n".encode())
                if at >= 0:
                    out = bytes(self.buffer[:at]).decode()
                    del self.buffer[:at + len(marker) + 2]
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no end of the commands within {SEGMENT_TIMEOUT} s (or the shell ended):\n"
                                     f"{commands}")
            time.sleep(0.01)
        self.stderr.seek(err_from)
        return out, self.stderr.read().decode(errors="replace"), self.failed.read_text()

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.reader.join(10)
        self.proc.stdout.close()
        self.stderr.close()


# ---- the demo --------------------------------------------------------------------------------------

@pytest.fixture
def demo_database(server_url):
    """A fresh database for the demo on the tests' server (CRUX_TEST_DATABASE_URL's, or the
    embedded one), dropped afterwards."""
    with new_database(server_url, "crux_docs") as url:
        yield url


def _scratch_folder(tmp_path: Path) -> Path:
    """The folder the commands run in: `.venv/bin/crux` and `.venv/bin/python` run this Python
    (with crux importable), `examples` is the repository's."""
    work = tmp_path / "work"
    bin_dir = work / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, args in (("crux", f'"{sys.executable}" -m crux.cli'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec {args} "$@"\n')
        (bin_dir / name).chmod(0o755)
    (work / "examples").symlink_to(ROOT / "examples")
    return work


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def demo(demo_database, tmp_path):
    """`crux demo` in a process of its own -> (port, the environment of a terminal pointed at it)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRUX_")}
    env.update(CRUX_DATABASE_URL=demo_database, CRUX_DATA_DIR=str(tmp_path / "data"), CRUX_HOST="127.0.0.1")
    log = open(tmp_path / "demo.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "crux.cli", "demo", "--port", str(port), "--workers", "1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _ready(port):
            assert proc.poll() is None, "crux demo exited:\n" + (tmp_path / "demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "crux demo was not ready within 120 s"
            time.sleep(0.1)
        work = _scratch_folder(tmp_path)
        env = {**env, "CRUX_URL": f"http://localhost:{port}"}
        env.pop("CRUX_HOST")
        yield port, env, work
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _local(commands: str, port: int, hook_port: int) -> str:
    commands = commands.replace("localhost:8085", f"localhost:{port}").replace("127.0.0.1:8085", f"127.0.0.1:{port}")
    assert "8085" not in commands, f"a command still names port 8085 (write it localhost:8085):\n{commands}"
    return commands.replace("127.0.0.1:8090", f"127.0.0.1:{hook_port}")


def test_the_docs_examples_run_in_order(demo, tmp_path):
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"the docs' examples need {tool}"
    port, env, work = demo
    hook_port = _free_port()          # nothing listens there: the webhooks' deliveries go nowhere
    segments = [seg for page in doc_order() for seg in segments_of(fenced_blocks(page))]
    assert segments
    logs = tmp_path / "logs"
    logs.mkdir()
    shell = Shell(work, env, logs)
    failures, timings = [], []
    try:
        for seg in segments:
            started = time.monotonic()
            out, err, failed = shell.run(_local(seg.commands, port, hook_port))
            timings.append(f"{time.monotonic() - started:6.2f} s  {seg.where}")
            problem = (f"a command failed:\n{failed}" if failed.strip() else None) or check(seg, out)
            if problem:
                failures.append(f"{seg.where}: {problem[:1500]}\n--- commands:\n{seg.commands}\n--- output:\n"
                                f"{out[:3000]}\n--- stderr:\n{err[-2000:]}")
    finally:
        shell.close()
        (logs / "timings").write_text("\n".join(timings) + "\n")
    (logs / "failures").write_text("\n\n".join(failures))
    assert not failures, (f"{len(failures)} example(s) do not run as shown (all of them in {logs / 'failures'}); "
                          "the first:\n\n" + "\n\n".join(failures[:5]))


# ---- the conventions themselves (no server) ----------------------------------------------------------

def test_shown_json_leaves_out_with_ellipses():
    def matches(shown: str, got) -> bool:
        [value] = json_values(shown)
        return mismatch(value, got) is None
    assert matches('{"a": 1, ...}', {"a": 1, "b": 2})
    assert not matches('{"a": 1}', {"a": 1, "b": 2})
    assert not matches('{"a": 1, ...}', {"b": 2})
    assert matches('{"a": [...], "b": {...}, "c": "...", "d": ...}', {"a": [1], "b": {}, "c": 3, "d": None})
    assert matches('[1, ...]', [1, 2, 3]) and matches('[..., 3]', [1, 2, 3]) and not matches('[2, ...]', [1, 2])
    assert not matches('[1, 2]', [1, 2, 3])
    assert matches('{"s": "a...b"}', {"s": "a...b"}) and not matches('{"s": "a...b"}', {"s": "ab"})


def test_wrong_answers_fail_and_volatile_values_are_compared_by_type():
    def matches(shown, got) -> bool:
        return mismatch(shown, got) is None
    assert not matches({"properties": {"discount": "15"}}, {"properties": {"discount": "10"}})
    assert not matches({"done": True}, {"done": 1}) and not matches({"n": 1}, {"n": True})
    assert matches({"id": 1, "wfid": 2, "next": "abc"}, {"id": 7, "wfid": 9, "next": "xyz"})
    assert not matches({"parent": None}, {"parent": 2}) and not matches({"id": 1}, {"id": "1"})
    assert matches({"tasks": [{"collectdocs": 1}]}, {"tasks": [{"collectdocs": 5}]})
    assert not matches({"tasks": [{"collectdocs": 1}]}, {"tasks": [{"review": 1}]})
    assert matches({"at": "2026-11-21T10:00:00.123456Z"}, {"at": "2027-01-02T03:04:05Z"})
    assert not matches({"at": "2026-11-21T10:00:00Z"}, {"at": "yesterday"})


def test_output_checks():
    seg = Segment("x", "cmd", '{"a": 1}')
    assert check(seg, '{"status":"success"}\n{"a": 1}') is None          # shown: the last value printed
    assert check(seg, '{"status":"error"}{"a": 1}') is not None          # an error printed before it
    assert check(seg, '{"a": 2}') is not None and check(seg, "") is not None
    assert check(Segment("x", "cmd"), '{"status": "error", "messages": []}') is not None
    assert check(Segment("x", "cmd"), "ok\n") is None
    text = Segment("x", "cmd", "5 created; ... problem(s)", "text")
    assert check(text, "5 created; 0 problem(s)\n") is None and check(text, "before\n5 created; 1 problem(s)") is None
    assert check(text, "5 created; 0 problem(s)\nmore\n") is not None and check(text, "") is not None
    assert check(text, '{"status": "error"}\n5 created; 0 problem(s)') is not None
    log = Segment("x", "cmd", "start 2026-01-01T10:00:00Z\n...\nend", "text")
    assert check(log, "start 2027-02-03T04:05:06.789Z\nend\n") is None
    assert check(log, "before\nstart 2027-02-03T04:05:06Z\na\nb\nend\n") is None
    assert check(log, "start yesterday\nend\n") is not None and check(log, "start 2027-02-03T04:05:06Z\n") is not None


def test_blocks_become_segments(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("""Intro.

```sh
one
# a comment
# {"a": 1,
#  "b": 2}
two
three
```
```json
[3]
```

```sh
# not run by the docs test: it runs for ever
forever
```

```sh
four
```

Text between.

```json
{"not": "an output"}
```

- In a list:

  ```bash
  five
    six
  ```
  ```text
    seven
  ```
""")
    segs = segments_of(fenced_blocks(page))
    assert [(s.where, s.commands, s.expected) for s in segs] == [
        ("page.md:4", "one\n# a comment", '{"a": 1,\n"b": 2}'),
        ("page.md:8", "two\nthree", "[3]"),
        ("page.md:21", "four", None),
        ("page.md:33", "five\n  six", "  seven")]


def test_the_shell_keeps_state_records_failures_and_leaves_nothing_running(tmp_path):
    shell = Shell(tmp_path, dict(os.environ), tmp_path)
    try:
        assert shell.run("X=5; add() { echo $(($1 + X)); }") == ("", "", "")
        out, err, failed = shell.run("add 2\nls /nonexistent\necho done")
        assert out == "7\ndone\n" and "nonexistent" in err and failed.startswith("exit 2: ls /nonexistent")
        pid = int(shell.run("sleep 300 &\necho $!")[0])
    finally:
        shell.close()
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, "a process the examples started outlived the shell"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
