"""The profile table, read where people read it: `python -m oxpickle
allowlist`, and the copy at the end of SECURITY.md, which must be what the
command prints from the core's table today."""

import re
import subprocess
import sys
from pathlib import Path

import oxpickle
import pytest
from oxpickle._oxpickle import allowlist_profiles

SECURITY = Path(__file__).resolve().parents[1] / "SECURITY.md"
BLOCK = re.compile(r"<!-- profile table: begin -->\n(.*)<!-- profile table: end -->", re.S)


def command(*args):
    return subprocess.run(
        [sys.executable, "-m", "oxpickle", "allowlist", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_security_md_holds_the_table_the_core_has():
    block = BLOCK.search(SECURITY.read_text(encoding="utf-8"))
    assert block, "SECURITY.md lost its profile-table markers"
    printed = command("--markdown")
    assert printed.returncode == 0, printed.stderr
    assert block.group(1) == printed.stdout, (
        "SECURITY.md's profile table is stale: paste `python -m oxpickle allowlist --markdown`"
    )


def test_every_profile_lists_its_globals_with_a_rule():
    table = allowlist_profiles()
    assert table, "no profiles"
    for name, summary, entries in table:
        assert summary and entries, name
        for module, qualname, rule in entries:
            assert module and qualname and rule, (name, module, qualname)


@pytest.mark.parametrize("profile", [row[0] for row in allowlist_profiles()])
def test_the_command_prints_each_profile(profile):
    printed = command(profile)
    assert printed.returncode == 0, printed.stderr
    [_, _, entries] = next(row for row in allowlist_profiles() if row[0] == profile)
    for module, qualname, rule in entries:
        assert re.search(
            rf"{re.escape(module)}:{re.escape(qualname)}\s+{re.escape(rule)}", printed.stdout
        )


def test_an_unknown_profile_is_an_error_that_lists_the_real_ones():
    printed = command("nosuch")
    assert printed.returncode == 2
    names = ", ".join(row[0] for row in allowlist_profiles())
    assert f"profiles: {names}" in printed.stderr


@pytest.mark.parametrize("profile", [row[0] for row in allowlist_profiles()])
def test_every_checked_global_of_a_profile_is_checked_when_loading(profile):
    """A size rule in the table is a size check in the loader: bytearray
    asked for more than the limit is refused under each profile that lists it."""
    entries = next(row[2] for row in allowlist_profiles() if row[0] == profile)
    sized = [(m, q) for m, q, rule in entries if rule.startswith("int arguments are sizes")]
    for module, qualname in sized:
        stream = f"c{module}\n{qualname}\n(I2000\ntR.".encode()
        with pytest.raises(oxpickle.UnsafePickleError, match="asks for 2000"):
            oxpickle.loads(stream, allow=profile, limits=oxpickle.Limits(max_allocation=1000))
