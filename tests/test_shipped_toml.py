"""The package's own TOML, parsed once and kept in the user cache folder
(``inputs.parse_shipped_toml``): whatever the cache holds, the answer is tomllib's."""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from biofeedback import inputs
from biofeedback.inputs import InputFileError, parse_shipped_toml, parse_toml
from biofeedback.routines.protocols import BUILTIN_FOLDER, load_protocol, load_protocol_file
from simulators.scenario import BUILTIN_FOLDER as SCENARIO_FOLDER
from simulators.scenario import load_scenario

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the cache is kept on Linux only")

# What JSON could get wrong: ints beside floats, a float's last digit, -0.0, inf and
# nan, integers past 64 bits, escapes and non-ASCII text, empty and nested tables,
# arrays of tables and of arrays, keys that need quoting, key order.
AWKWARD = r'''
z = 1
a = 1.0
tenth = 0.1
big = 1e300
tiny = 5e-324
negzero = -0.0
inf = inf
ninf = -inf
nan = nan
huge = 123456789012345678901234567890
hex = 0xff
text = "tab\there \"quoted\" \\ back \u00e9 \U0001F600 é"
literal = 'C:\path'
multi = """
two
lines"""
empty = {}
"key with spaces" = true
"" = false
nested = { inner = { deeper = [1, 2.5, "three", [4, [5]]] } }

[[steps]]
region = "feet"
s = 5

[[steps]]
region = "calves"
s = 7.5
'''


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types throughout (1 is not 1.0 here), nan equal to nan,
    -0.0 not equal to 0.0, keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return bool(a == b)


def _shipped() -> list[tuple[str, str]]:
    files = [(f"protocol-{p.stem}", p) for p in sorted(BUILTIN_FOLDER.glob("*.toml"))]
    files += [(f"scenario-{p.stem}", p) for p in sorted(SCENARIO_FOLDER.glob("*.toml"))]
    return [(name, path.read_text(encoding="utf-8")) for name, path in files]


def _entry(name: str) -> Path:
    entry = inputs.shipped_entry(name)
    assert entry is not None
    return entry


def test_a_kept_parse_is_tomllibs_for_every_shipped_file_and_awkward_text() -> None:
    for name, text in [*_shipped(), ("awkward", AWKWARD)]:
        plain = parse_toml(text)
        first = parse_shipped_toml(text, name)  # parsed, and kept
        assert _entry(name).is_file(), name
        second = parse_shipped_toml(text, name)  # read back from the cache
        assert _same(first, plain), name
        assert _same(second, plain), name
        assert second is not first  # a fresh value each time: nothing shared to mutate


def test_the_kept_parse_is_what_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache is really read (not a parse each time): an entry for this very text is
    # taken as it is; one for any other text (the file was edited or updated) is not,
    # and is replaced.
    text = 'name = "x"\n'
    entry = _entry("probe")
    entry.parent.mkdir(parents=True)
    entry.write_text(json.dumps({"text": text, "data": {"name": "from the cache"}}))
    assert parse_shipped_toml(text, "probe") == {"name": "from the cache"}
    assert parse_shipped_toml('name = "y"\n', "probe") == {"name": "y"}
    assert json.loads(entry.read_text()) == {"text": 'name = "y"\n', "data": {"name": "y"}}


@pytest.mark.parametrize(
    "kept",
    [
        "not json",
        "",
        "[]",
        '{"text": "name = \\"x\\"\\n"}',
        '{"data": {"name": "wrong"}}',
        '{"text": "name = \\"x\\"\\n", "data": ["name", "wrong"]}',
        '{"text": 1, "data": {}}',
        '"\\ud800"',
        "[" * 100_000,  # nested past the JSON decoder's stack: a RecursionError
    ],
)
def test_a_damaged_entry_is_parsed_past_and_mended(kept: str) -> None:
    text = 'name = "x"\n'
    entry = _entry("damaged")
    entry.parent.mkdir(parents=True)
    entry.write_text(kept)
    assert parse_shipped_toml(text, "damaged") == {"name": "x"}
    assert json.loads(entry.read_text())["data"] == {"name": "x"}


def test_a_cache_that_cannot_be_kept_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A date has no JSON: that file is parsed each time, and nothing is kept.
    dated = "when = 2026-03-02T22:30:00\n"
    assert parse_shipped_toml(dated, "dated") == parse_toml(dated)
    assert not _entry("dated").exists()
    # A cache folder that is a file, or a relative one: parsed, nothing written.
    blocked = Path(os.environ["XDG_CACHE_HOME"])
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("in the way")
    assert parse_shipped_toml("a = 1\n", "blocked") == {"a": 1}
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert inputs.shipped_entry("x") is None
    assert parse_shipped_toml("a = 2\n", "relative") == {"a": 2}
    assert not Path("relative").exists()
    # Bad TOML is the same error, cached or not.
    with pytest.raises(InputFileError) as plain:
        parse_toml("a = \n")
    with pytest.raises(InputFileError) as shipped:
        parse_shipped_toml("a = \n", "bad")
    assert str(shipped.value) == str(plain.value)


def test_kept_privately_and_used_by_the_routines_and_scenarios() -> None:
    full = load_protocol("full")
    calm = load_scenario("calm")
    entry = _entry("protocol-full")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.parent.parent.stat().st_mode) == 0o700
    assert _entry("scenario-calm").is_file()
    # Read back from the cache: the same routine and person as from the file alone.
    assert load_protocol("full") == full == load_protocol_file(BUILTIN_FOLDER / "full.toml")
    assert load_scenario("calm") == calm == load_scenario(SCENARIO_FOLDER / "calm.toml")
    # A person's own file is never kept.
    names = sorted(p.name for p in entry.parent.iterdir())
    assert names == ["protocol-full.json", "scenario-calm.json"]


@pytest.mark.parametrize(
    "data",
    [
        b"a = 1\n",
        b"\xef\xbb\xbfa = 1\n",
        b"\xef\xbb\xbf\xef\xbb\xbfa = 1\n",  # one mark is left out, as utf-8-sig does
        b"\xef\xbba = 1\n",
        b"",
        b"\xef\xbb\xbf",
        "é = '\u00e9\U0001f600'\n".encode(),
        b"\xff\xfe bad",
        b"\xef\xbb\xbf\xc3",
    ],
)
def test_a_text_file_reads_as_utf_8_sig_decodes_it(tmp_path: Path, data: bytes) -> None:
    # read_text leaves out a byte-order mark itself (the codec's module is not loaded).
    path = tmp_path / "f.toml"
    path.write_bytes(data)
    try:
        expected = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        with pytest.raises(InputFileError, match="not UTF-8"):
            inputs.read_text(path)
    else:
        assert inputs.read_text(path) == expected


def test_a_fifo_or_a_folder_in_the_cache_is_passed_by() -> None:
    # Read as an input is: a FIFO where an entry should be would never end a read.
    text = 'name = "x"\n'
    for name, make in (("fifo", os.mkfifo), ("folder", os.mkdir)):
        entry = _entry(name)
        entry.parent.mkdir(parents=True, exist_ok=True)
        make(entry)
        assert parse_shipped_toml(text, name) == {"name": "x"}
