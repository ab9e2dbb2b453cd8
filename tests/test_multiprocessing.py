"""oxpickle.multiprocessing and oxpickle.futures with real worker
processes: lambdas travel, big buffers go through shared memory, and no
segment is left behind."""

import os
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

import oxpickle.multiprocessing as oxmp  # noqa: E402
from oxpickle import shared  # noqa: E402
from oxpickle.futures import ProcessPoolExecutor  # noqa: E402

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in oxmp.get_all_start_methods()]
# Every wait below has a timeout, so a hung worker fails the test.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="segments live in /dev/shm")


def segments():
    return {p.name for p in Path("/dev/shm").glob("oxp_*")}


@pytest.fixture
def no_leaks():
    before = segments()
    yield
    assert segments() - before == set()


def put_lambda(queue):
    queue.put(lambda x: x + 1)


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("method", METHODS)
def test_a_lambda_crosses_a_queue_a_pipe_and_a_pool(method):
    ctx = oxmp.get_context(method)
    queue = ctx.Queue()
    process = ctx.Process(target=put_lambda, args=(queue,))
    process.start()
    assert queue.get(timeout=60)(1) == 2
    process.join(60)
    first, second = ctx.Pipe()
    first.send(lambda: 42)
    assert second.recv()() == 42
    with ctx.Pool(2) as pool:
        assert pool.map(lambda x: x * 2, range(5)) == [0, 2, 4, 6, 8]


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("method", METHODS)
def test_futures_send_arrays_through_shared_memory_both_ways(method):
    array = np.arange(1 << 18, dtype="f8")  # 2 MiB, over the threshold
    with ProcessPoolExecutor(2, mp_context=oxmp.get_context(method)) as executor:
        doubled = executor.submit(lambda x: x * 2, array).result(timeout=60)
        assert doubled.flags.writeable and (doubled == array * 2).all()
        kept = shared.copy(array)
        assert executor.submit(lambda x: float(x.sum()), kept).result(timeout=60) == array.sum()
        with pytest.raises(ZeroDivisionError) as raised:
            executor.submit(lambda: 1 / 0).result(timeout=60)
        assert "ZeroDivisionError" in str(raised.value.__cause__)
        del kept


def test_a_segment_of_another_family_is_refused():
    from oxpickle import UnpicklingError, _transport

    with pytest.raises(UnpicklingError, match="did not make"):
        _transport.loads(b"N.", [("oxp_0000_1_1", 0, 8, True, False, False)])
    with pytest.raises(UnpicklingError, match="descriptor"):
        _transport.loads(b"N.", [("../etc/passwd", -1, 8, True, False, False)])


def test_a_gone_segment_is_a_clear_error():
    from oxpickle import UnpicklingError, _segments, _transport

    name = f"{_segments.process_prefix(os.getpid())}999999"
    with pytest.raises(UnpicklingError, match="is gone"):
        _transport.loads(b"N.", [(name, 0, 8, True, False, False)])
