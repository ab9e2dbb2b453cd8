"""oxpickle.multiprocessing and oxpickle.futures with real worker
processes: lambdas travel, big buffers go through shared memory, and no
segment is left behind."""

import concurrent.futures
import multiprocessing
import os
import pickle
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

import oxpickle.multiprocessing as oxmp  # noqa: E402
from oxpickle import shared  # noqa: E402
from oxpickle._transport import references  # noqa: E402
from oxpickle.futures import ProcessPoolExecutor  # noqa: E402
from process_helpers import METHODS, no_leaks  # noqa: E402, F401 (the fixture)

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="segments live in /dev/shm"),
    pytest.mark.timeout(180),
]
WAIT = 60


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


def fill(array, value):
    array[:] = value
    return array


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_shared_arrays_travel_by_reference_private_unless_shared(method):
    with ProcessPoolExecutor(1, mp_context=oxmp.get_context(method)) as executor:
        private = shared.copy(np.zeros(1 << 18))
        written = executor.submit(fill, private, 1.0).result(WAIT)
        # The worker's writes stay its own; what it sends back is a copy.
        assert (private == 0).all() and (written == 1).all()
        assert references.locate(pickle.PickleBuffer(written)) is None
        common = shared.copy(np.zeros(1 << 18), share=True)
        back = executor.submit(fill, common, 2.0).result(WAIT)
        # Shared both ways: the same memory, no copy on the way back.
        assert (common == 2).all() and (back == 2).all()
        back[0] = 3.0
        assert common[0] == 3.0
        # Dropped as soon as it is sent: the message's own name keeps it.
        future = executor.submit(lambda a: float(a.sum()), shared.copy(np.ones(1 << 18)))
        assert future.result(WAIT) == 1 << 18
        del private, written, common, back


def worker_threshold():
    from oxpickle._transport import messages

    return messages._threshold


def test_workers_inherit_the_threshold():
    previous = shared.set_threshold(12345)
    try:
        for method in ("spawn", "fork"):
            with ProcessPoolExecutor(1, mp_context=oxmp.get_context(method)) as executor:
                assert executor.submit(worker_threshold).result(WAIT) == 12345
    finally:
        shared.set_threshold(previous)
    with pytest.raises(ValueError, match="number of bytes"):
        shared.set_threshold(-1)


@pytest.fixture
def installed():
    oxmp.install()
    try:
        yield
    finally:
        oxmp.uninstall()


@pytest.mark.usefixtures("no_leaks", "installed")
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_install_switches_the_stdlibs_own_pools(method):
    ctx = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        assert executor.submit(lambda x: x + 1, 1).result(WAIT) == 2
        array = np.arange(1 << 18, dtype="f8")
        assert (executor.submit(lambda a: a * 2, array).result(WAIT) == array * 2).all()
    with ctx.Pool(2) as pool:
        assert pool.map(lambda x: x * 3, range(4)) == [0, 3, 6, 9]
    queue = ctx.Queue()
    queue.put(lambda: "through the stdlib's queue")
    assert queue.get(timeout=WAIT)() == "through the stdlib's queue"


@pytest.mark.usefixtures("no_leaks")
def test_uninstall_puts_the_stdlib_back():
    oxmp.install()
    oxmp.uninstall()
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as executor:
        with pytest.raises((pickle.PicklingError, AttributeError)):
            executor.submit(lambda: 1).result(WAIT)
    from multiprocessing import connection, queues, reduction

    assert queues._ForkingPickler is connection._ForkingPickler is reduction.ForkingPickler
    assert reduction.ForkingPickler.__module__ == "multiprocessing.reduction"


FRESH_PROCESS = """
import multiprocessing, concurrent.futures, numpy as np
import oxpickle.multiprocessing as oxmp
from oxpickle.futures import ProcessPoolExecutor

def double(a):
    return a * 2

if __name__ == "__main__":
    array = np.arange(1 << 18, dtype="f8")
    # A forkserver started by the stdlib, before this family had a token.
    server_first = multiprocessing.get_context("forkserver").Process(target=print, args=("",))
    server_first.start()
    server_first.join()
    with ProcessPoolExecutor(1, mp_context=oxmp.get_context("forkserver")) as executor:
        assert (executor.submit(double, array).result(60) == array * 2).all()
    oxmp.install()
    for method in ("spawn", "fork", "forkserver"):
        ctx = multiprocessing.get_context(method)
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as executor:
            assert (executor.submit(double, array).result(60) == array * 2).all()
    print("ok")
"""


@pytest.mark.usefixtures("no_leaks")
def test_big_buffers_in_a_fresh_process_after_install_and_a_stdlib_forkserver(tmp_path):
    """The family token reaches every child: after install() in a process
    that never used shared memory, and through a forkserver the stdlib
    started before the token existed."""
    script = tmp_path / "fresh.py"
    script.write_text(FRESH_PROCESS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OXPICKLE_SHM")}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_uninstall_stays_when_a_message_from_an_installed_child_arrives():
    from oxpickle.multiprocessing import _install

    oxmp.install()
    message = pickle.dumps(_install._InstallingEnvelope(lambda: 1))
    oxmp.uninstall()
    assert pickle.loads(message)() == 1
    from multiprocessing import reduction

    assert reduction.ForkingPickler is _install._STDLIB


def set_item(proxy, key, value):
    proxy[key] = value


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_manager_proxies_and_registered_reducers_pass_as_the_stdlib_passes_them(method):
    ctx = oxmp.get_context(method)
    with ctx.Manager() as manager, ctx.Pool(1) as pool:
        table = manager.dict()
        pool.apply(set_item, (table, "from", "worker"))
        pool.apply(lambda proxy: proxy.update(by="lambda"), (table,))
        assert dict(table) == {"from": "worker", "by": "lambda"}
        # A pipe end crosses by ForkingPickler's registered reducer.
        ours, theirs = ctx.Pipe()
        pool.apply(lambda conn: conn.send(os.getpid()), (theirs,))
        assert ours.poll(WAIT) and ours.recv() != os.getpid()


def test_a_segment_of_another_family_is_refused():
    from oxpickle import UnpicklingError
    from oxpickle._transport import messages

    with pytest.raises(UnpicklingError, match="did not make"):
        messages.loads(b"N.", [("oxp_0000_1_1", 0, 8, False, False)])
    with pytest.raises(UnpicklingError, match="descriptor"):
        messages.loads(b"N.", [("x", -1, 8, False, False)])


def test_a_gone_segment_is_a_clear_error():
    from oxpickle import UnpicklingError
    from oxpickle._transport import messages, segments

    name = f"{segments.process_prefix(os.getpid())}999999"
    with pytest.raises(UnpicklingError, match="is gone"):
        messages.loads(b"N.", [(name, 0, 8, False, False)])


@pytest.mark.usefixtures("no_leaks")
def test_a_sweep_spares_a_live_process_that_reused_the_pid():
    """The segments named after a pid that a live process holds are that
    process's: a sweep for an exited one with the same pid leaves them."""
    from oxpickle._transport import segments

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = segments.SHM_DIR / f"{segments.process_prefix(child.pid)}0"
        kept.write_bytes(b"x" * 8)
        segments.sweep(child.pid)
        assert kept.exists()
    finally:
        child.kill()
        child.wait(WAIT)
    segments.sweep(child.pid)
    assert not kept.exists()
