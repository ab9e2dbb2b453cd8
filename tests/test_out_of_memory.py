"""Pickling when memory runs out: MemoryError, never a crash, a silent
truncation or a walk that goes on running the caller's code.

Each case runs in a fresh interpreter whose address space is capped a few
MiB above what it already uses, so the pickle's buffer is what fails."""

import pytest
from child import run_child

CAPPED = """
import io, json, re, resource, sys
import oxpickle

def cap_address_space(extra_mib):
    status = open("/proc/self/status").read()
    used = int(re.search(r"VmSize:\\s+(\\d+)", status).group(1)) * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (used + extra_mib * 2**20, hard))

def outcome(call):
    try:
        call()
        return "returned"
    except MemoryError:
        return "MemoryError"
"""

pytestmark = pytest.mark.skipif(
    not __import__("sys").platform.startswith("linux"), reason="caps memory with RLIMIT_AS"
)


@pytest.mark.parametrize("protocol", [0, 3, 5])
def test_dumps_raises_memory_error_when_its_buffer_cannot_grow(protocol):
    result = run_child(
        CAPPED
        + f"""
data = [str(i) for i in range(3_000_000)]
cap_address_space(8)
print(json.dumps(outcome(lambda: oxpickle.dumps(data, protocol={protocol}))))
"""
    )
    assert result == "MemoryError"


@pytest.mark.parametrize("protocol", [0, 5])
def test_dump_to_a_file_raises_memory_error_rather_than_write_less(protocol):
    result = run_child(
        CAPPED
        + f"""
big = "x" * 30_000_000
out = io.BytesIO()
cap_address_space(40)
print(json.dumps(outcome(lambda: oxpickle.dump([[1, 2], big, [3]], out, protocol={protocol}))))
"""
    )
    assert result == "MemoryError"


def test_the_walk_stops_at_the_first_failure():
    """Once the buffer has failed, no more of the caller's reducers run."""
    result = run_child(
        CAPPED
        + """
calls = 0
class Counted:
    def __reduce__(self):
        global calls
        calls += 1
        return (divmod, (calls, 7))
data = [Counted() for _ in range(1_000_000)]
cap_address_space(4)
print(json.dumps([outcome(lambda: oxpickle.dumps(data, protocol=3)), calls < len(data)]))
"""
    )
    assert result == ["MemoryError", True]


def test_a_failure_deep_in_the_graph_is_a_bare_memory_error():
    """Out of memory, the error goes up without a path: recording one on the
    way out would need memory too, and a failed allocation would abort."""
    result = run_child(
        CAPPED
        + """
data = {"jobs": [{"rows": [str(i) for i in range(3_000_000)]}]}
cap_address_space(8)
try:
    oxpickle.dumps(data, protocol=5)
    print(json.dumps("returned"))
except MemoryError as exc:
    print(json.dumps([type(exc).__name__, getattr(exc, "__notes__", [])]))
"""
    )
    assert result == ["MemoryError", []]


@pytest.mark.parametrize("protocol", [0, 5])
def test_loads_raises_memory_error_when_the_objects_do_not_fit(protocol):
    result = run_child(
        CAPPED
        + f"""
data = oxpickle.dumps([str(i) for i in range(2_000_000)], protocol={protocol})
cap_address_space(8)
print(json.dumps(outcome(lambda: oxpickle.loads(data))))
"""
    )
    assert result == "MemoryError"
