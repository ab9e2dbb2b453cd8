"""Bad input and lost work through live pools: each failure is an error in
the caller, the pool goes on working, and no shared-memory segment is left
behind (the `no_leaks` fixture checks /dev/shm after every test)."""

import os
import sys
from concurrent.futures.process import BrokenProcessPool

import pytest

np = pytest.importorskip("numpy")

import oxpickle.multiprocessing as oxmp  # noqa: E402
import process_helpers as helpers  # noqa: E402
from oxpickle import UnpicklingError, shared  # noqa: E402
from oxpickle._transport.envelopes import Sealed  # noqa: E402
from oxpickle.futures import ProcessPoolExecutor  # noqa: E402
from process_helpers import no_leaks  # noqa: E402, F401 (the fixture)

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="segments live in /dev/shm"),
    pytest.mark.timeout(180),
    pytest.mark.usefixtures("no_leaks"),
]
WAIT = 60


def sealed_with(stream: bytes, descriptors: list) -> Sealed:
    """A message as a peer could forge it: any stream, any descriptors."""
    sealed = Sealed.__new__(Sealed)
    sealed.stream, sealed.descriptors = stream, descriptors
    return sealed


@pytest.fixture
def canaries(tmp_path):
    """Files a forged name points at: a file outside /dev/shm (reached by
    `..`), and a segment of another family. Both must survive."""
    outside = tmp_path / "canary"
    outside.write_bytes(b"x" * 16)
    foreign = helpers.SHM / f"oxp_canary0_{os.getpid()}_0"
    foreign.write_bytes(b"x" * 16)
    yield os.path.relpath(outside, helpers.SHM), foreign.name
    assert outside.exists(), "a forged name removed a file outside /dev/shm"
    assert foreign.exists(), "a forged name removed another family's segment"
    foreign.unlink()


def forged_messages(canaries: tuple[str, str]) -> list[tuple[Sealed, str]]:
    """(message, what the error says) for each kind of bad input."""
    outside, foreign = canaries
    return [
        (sealed_with(b"\x80\x05garbage", []), "could not load"),
        (sealed_with(b"\x80\x05\x95", []), "could not load"),  # truncated
        (sealed_with(b"N.", [(foreign, 0, 8, False, False)]), "did not make"),
        (sealed_with(b"N.", [(outside, 0, 8, True, False)]), "did not make"),
        (sealed_with(b"N.", [(f"/{outside}", 0, 8, False, False)]), "did not make"),
        (sealed_with(b"N.", [(gone_segment_name() + "\0", 0, 8, False, False)]), "did not make"),
        (sealed_with(b"N.", [(gone_segment_name(), 0, 8, False, False)]), "is gone"),
        (sealed_with(b"N.", [("x", -1, 8, False, False)]), "descriptor"),
        (sealed_with(b"N.", "not a list"), "list of descriptors"),
    ]


def gone_segment_name() -> str:
    from oxpickle._transport import segments

    return f"{segments.process_prefix(os.getpid())}999999"


@pytest.mark.parametrize("method", helpers.METHODS)
def test_the_executor_reports_bad_input_and_goes_on(method, canaries):
    with ProcessPoolExecutor(2, mp_context=oxmp.get_context(method)) as executor:
        # The worker cannot load the call.
        with pytest.raises(UnpicklingError, match="could not load what it was sent"):
            executor.submit(len, helpers.LoadsOnlyWhereMade()).result(WAIT)
        # The parent cannot load the result.
        with pytest.raises(UnpicklingError, match="could not load what it was sent"):
            executor.submit(helpers.make_unloadable).result(WAIT)
        # Forged streams and descriptors, opened in the worker.
        for message, error in forged_messages(canaries):
            with pytest.raises(UnpicklingError, match=error):
                executor.submit(helpers.open_sealed, message).result(WAIT)
        # What cannot be pickled fails in the caller, where it was passed.
        with pytest.raises(TypeError, match="lock"):
            executor.submit(len, [__import__("threading").Lock()])
        assert executor.submit(lambda: 42).result(WAIT) == 42


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_the_pool_reports_bad_input_and_goes_on(method, canaries):
    with oxmp.get_context(method).Pool(2) as pool:
        with pytest.raises(UnpicklingError, match="could not load what it was sent"):
            pool.apply(len, (helpers.LoadsOnlyWhereMade(),))
        with pytest.raises(UnpicklingError, match="could not load what it was sent"):
            pool.apply(helpers.make_unloadable)
        for message, error in forged_messages(canaries):
            with pytest.raises(UnpicklingError, match=error):
                pool.apply_async(helpers.open_sealed, (message,)).get(WAIT)
        with pytest.raises(TypeError, match="lock"):
            pool.apply(len, ([__import__("threading").Lock()],))
        assert pool.map(lambda x: -x, range(3)) == [0, -1, -2]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_shared_array_whose_segment_was_removed_by_hand_is_copied(method):
    before = helpers.segments()
    kept = shared.copy(np.arange(helpers.BIG, dtype="f8"))
    (name,) = helpers.segments() - before
    with ProcessPoolExecutor(1, mp_context=oxmp.get_context(method)) as executor:
        assert executor.submit(lambda a: float(a[-1]), kept).result(WAIT) == helpers.BIG - 1
        os.unlink(helpers.SHM / name)
        assert executor.submit(lambda a: float(a[-1]), kept).result(WAIT) == helpers.BIG - 1


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_worker_killed_mid_task_leaves_no_segment(method):
    with ProcessPoolExecutor(1, mp_context=oxmp.get_context(method)) as executor:
        dying = executor.submit(helpers.die_holding_a_segment)
        # Queued behind it, with a segment the worker never opens.
        waiting = executor.submit(helpers.sleep_then_return, 0, np.ones(helpers.BIG))
        for future in (dying, waiting):
            with pytest.raises(BrokenProcessPool):
                future.result(WAIT)
    pool = oxmp.get_context(method).Pool(1)
    try:
        pool.apply_async(helpers.die_holding_a_segment)
        queued = pool.apply_async(helpers.sleep_then_return, (0, np.ones(helpers.BIG)))
        # The stdlib's pool loses the task of a killed worker; the next
        # worker runs the queued one.
        assert queued.get(WAIT).shape == (helpers.BIG,)
    finally:
        pool.terminate()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_pool_shut_down_without_waiting_leaves_no_segment(method):
    """shutdown(wait=False) returns at once; the executor's thread ends
    after its workers, and takes what a killed one left."""
    executor = ProcessPoolExecutor(1, mp_context=oxmp.get_context(method))
    dying = executor.submit(helpers.die_holding_a_segment)
    thread = executor._executor_manager_thread
    executor.shutdown(wait=False)
    with pytest.raises(BrokenProcessPool):
        dying.result(WAIT)
    thread.join(WAIT)
    assert not thread.is_alive()


@pytest.mark.skipif(sys.version_info < (3, 14), reason="kill_workers is new in 3.14")
@pytest.mark.parametrize("stop", ["terminate_workers", "kill_workers"])
def test_workers_stopped_by_the_caller_leave_no_segment(stop):
    executor = ProcessPoolExecutor(2)
    assert [executor.submit(helpers.keep_a_segment, i).result(WAIT) for i in range(2)] == [0, 1]
    thread = executor._executor_manager_thread
    getattr(executor, stop)()
    thread.join(WAIT)
    assert not thread.is_alive()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_the_parent_raising_leaves_no_segment(method):
    ctx = oxmp.get_context(method)
    with pytest.raises(RuntimeError, match="the parent gave up"):
        with ProcessPoolExecutor(1, mp_context=ctx) as executor:
            for _ in range(4):
                executor.submit(helpers.sleep_then_return, 0.5, np.ones(helpers.BIG))
            raise RuntimeError("the parent gave up")
    with pytest.raises(RuntimeError, match="the parent gave up"):
        with ctx.Pool(1) as pool:
            for _ in range(4):
                pool.apply_async(helpers.sleep_then_return, (0.5, np.ones(helpers.BIG)))
            raise RuntimeError("the parent gave up")


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_results_never_collected_leave_no_segment(method):
    ctx = oxmp.get_context(method)
    with ProcessPoolExecutor(2, mp_context=ctx) as executor:
        for _ in range(3):
            executor.submit(helpers.big_result)
    pool = ctx.Pool(2)
    for _ in range(3):
        pool.apply_async(helpers.big_result)
    pool.close()
    pool.join()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_replaced_workers_leave_no_segment(method):
    """Workers that exit after one task (and the replacements the pools
    start for them) each keep a segment until they exit."""
    ctx = oxmp.get_context(method)
    if method != "fork":  # the stdlib refuses max_tasks_per_child with fork
        with ProcessPoolExecutor(1, mp_context=ctx, max_tasks_per_child=1) as executor:
            calls = [executor.submit(helpers.keep_a_segment, i) for i in range(3)]
            assert [call.result(WAIT) for call in calls] == [0, 1, 2]
    pool = ctx.Pool(1, maxtasksperchild=1)
    assert [pool.apply(helpers.keep_a_segment, (i,)) for i in range(3)] == [0, 1, 2]
    pool.close()
    pool.join()


def failing_items():
    yield 1
    raise ValueError("from the caller's own iterable")


def test_an_error_of_the_callers_iterable_comes_back_as_itself():
    with oxmp.get_context("fork").Pool(1) as pool:
        with pytest.raises(ValueError, match="caller's own iterable"):
            list(pool.imap(abs, failing_items()))
