"""oxpickle as Dask distributed's pickler, on real clusters: a LocalCluster
with worker processes, and a scheduler and workers started with the `dask`
command line. Each test bounds its time and stops what it started."""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
np = pytest.importorskip("numpy")

import oxpickle  # noqa: E402
import oxpickle.dask  # noqa: E402

pytestmark = pytest.mark.timeout(240)
HERE = Path(__file__).parent
WAIT = 120


@pytest.fixture
def stock_functions():
    """distributed's own functions, put back after the test."""
    yield distributed.protocol.pickle.dumps, distributed.protocol.pickle.loads
    oxpickle.dask.uninstall_here()


def run_job(target: str, prefix: tuple[str, ...] = ()) -> dict:
    done = subprocess.run(
        [*prefix, sys.executable, str(HERE / "dask_job.py"), target],
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_job_ran_on_oxpickle(result: dict) -> None:
    assert result["mapped"] == list(range(1, 21))
    assert result["chained"] == 42
    assert result["total"] == float(sum(range(1_000_000)))
    assert result["returned"] == ["__main__", "Holder", 1_000_000]
    assert result["workers_installed"] == [True, True]
    assert result["scheduler_installed"] is True
    # Pickled once, by oxpickle: never again by cloudpickle.
    assert result["cloudpickle_dumps"] == 0


def test_a_local_cluster_with_the_preload_runs_main_code_on_oxpickle():
    assert_job_ran_on_oxpickle(run_job("local"))


def dask_command() -> list[str]:
    dask = Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.skip("the dask command line is not installed beside this Python")
    return [str(dask)]


Place = tuple[list[str], str]  # (a prefix such as `ip netns exec NS`, a host)


def run_cluster(scheduler_file: Path, scheduler: Place, workers: list[Place]):
    """Starts `dask scheduler` and `dask worker`s, each at its place and in
    its own process group, with `--preload oxpickle.dask`; yields the
    scheduler's address, then stops them and checks that they left no
    semaphore behind."""
    dask = dask_command()
    common = ["--preload", "oxpickle.dask", "--scheduler-file", str(scheduler_file)]
    flags = ["--no-dashboard", *common]
    semaphores_before = semaphores()
    prefix, host = scheduler
    started = [spawn([*prefix, *dask, "scheduler", "--host", host, "--port", "0", *flags])]
    try:
        deadline = time.monotonic() + WAIT
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "the scheduler did not start"
            assert started[0].poll() is None, "the scheduler exited"
            time.sleep(0.2)
        for prefix, host in workers:
            worker = [*dask, "worker", "--host", host, "--nthreads", "1", *flags]
            started.append(spawn([*prefix, *worker]))
        yield json.loads(scheduler_file.read_text())["address"]
    finally:
        stop(started)
    left = semaphores() - semaphores_before
    assert not left, f"the cluster left semaphores behind: {sorted(left)}"


def spawn(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture
def cli_cluster(tmp_path):
    """A scheduler and two workers on this machine's loopback."""
    here = ([], "127.0.0.1")
    yield from run_cluster(tmp_path / "scheduler.json", here, [here, here])


def semaphores() -> set[str]:
    return {path.name for path in Path("/dev/shm").glob("sem.mp-*")}


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM, which dask's processes answer by closing (their resource
    trackers then remove their semaphores), then SIGKILL for any left."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # the whole group is gone
            pass
        process.wait(WAIT)


def test_a_cluster_started_with_the_dask_command_line_runs_on_oxpickle(cli_cluster):
    assert_job_ran_on_oxpickle(run_job(cli_cluster))


class Namespaces:
    """Network namespaces on one machine, the stand-in for machines: each
    joined by a veth pair to a bridge in a hub namespace, with an address in
    a private /24 and no other route, so traffic reaches only these."""

    def __init__(self, names: list[str]) -> None:
        token = f"ox{os.getpid() % 100000}"
        self.subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
        self.hub = f"{token}hub"
        self.names = {name: f"{token}{name}" for name in names}
        self.made: list[str] = []

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)

    def create(self) -> None:
        self.ip("netns", "add", self.hub)
        self.made.append(self.hub)
        self.ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        self.ip("-n", self.hub, "link", "set", "br0", "up")
        for number, namespace in enumerate(self.names.values(), start=1):
            self.ip("netns", "add", namespace)
            self.made.append(namespace)
            # Made in the hub, so no interface ever exists in ours.
            self.ip("-n", self.hub, "link", "add", "port", "type", "veth", "peer", "eth0")
            self.ip("-n", self.hub, "link", "set", "eth0", "netns", namespace)
            self.ip("-n", self.hub, "link", "set", "port", "name", f"port{number}")
            self.ip("-n", self.hub, "link", "set", f"port{number}", "master", "br0", "up")
            self.ip("-n", namespace, "addr", "add", f"{self.address(number)}/24", "dev", "eth0")
            self.ip("-n", namespace, "link", "set", "eth0", "up")
            self.ip("-n", namespace, "link", "set", "lo", "up")

    def address(self, number: int) -> str:
        return f"{self.subnet}.{number}"

    def place(self, name: str) -> Place:
        number = list(self.names).index(name) + 1
        return ["ip", "netns", "exec", self.names[name]], self.address(number)

    def remove(self) -> None:
        for namespace in reversed(self.made):
            pids = subprocess.run(
                ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=30
            ).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.ip("netns", "del", namespace)


@pytest.fixture
def namespaced_cluster(tmp_path):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip`")
    namespaces = Namespaces(["sched", "w1", "w2", "client"])
    try:
        namespaces.create()
        workers = [namespaces.place("w1"), namespaces.place("w2")]
        for address in run_cluster(tmp_path / "scheduler.json", namespaces.place("sched"), workers):
            yield address, namespaces
    finally:
        namespaces.remove()
    left = [name for name in namespaces.made if name in netns_list()]
    assert not left, f"namespaces left behind: {left}"


def netns_list() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_a_cluster_across_network_namespaces_runs_on_oxpickle(namespaced_cluster):
    """Scheduler, workers and client each in a namespace of their own, over
    TCP between their own addresses."""
    address, namespaces = namespaced_cluster
    assert address.startswith(f"tcp://{namespaces.address(1)}:")
    client_prefix, _ = namespaces.place("client")
    assert_job_ran_on_oxpickle(run_job(address, tuple(client_prefix)))


@pytest.fixture
def stock_cluster(stock_functions):
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


def test_install_switches_a_running_cluster_and_the_workers_that_join(stock_cluster):
    cluster, client = stock_cluster
    assert list(client.run(oxpickle.dask.installed_here).values()) == [False]
    oxpickle.dask.install(client)
    assert distributed.protocol.pickle.dumps is oxpickle.dask.dumps
    cluster.scale(2)
    client.wait_for_workers(2, timeout=WAIT)
    assert list(client.run(oxpickle.dask.installed_here).values()) == [True, True]
    offset = 5
    assert client.gather(client.map(lambda x: x + offset, range(4))) == [5, 6, 7, 8]


def test_a_worker_without_the_plugin_still_runs_what_oxpickle_sent(stock_cluster):
    """A mixed cluster: the client pickles with oxpickle, the worker loads
    with the stock functions (pickle's format), and answers with them."""
    _, client = stock_cluster
    oxpickle.dask.install_here()
    factor = 7
    assert client.submit(lambda x: factor * x, 6).result(WAIT) == 42
    assert list(client.run(oxpickle.dask.installed_here).values()) == [False]


def test_uninstall_puts_every_binding_back(stock_functions):
    import distributed.client
    import distributed.scheduler

    stock_dumps, stock_loads = stock_functions
    oxpickle.dask.install_here()
    oxpickle.dask.install_here()  # twice is once
    assert distributed.client.dumps is oxpickle.dask.dumps
    assert distributed.scheduler.loads is oxpickle.dask.loads
    oxpickle.dask.uninstall_here()
    assert distributed.protocol.pickle.dumps is stock_dumps
    assert distributed.client.dumps is stock_dumps
    assert distributed.scheduler.loads is stock_loads


class Holder:
    def __init__(self, array):
        self.array = array


def test_an_array_held_by_a_user_object_goes_out_of_band():
    """PEP 574's example: the buffer leaves the stream, wherever it sits."""
    array = np.arange(1_000_000, dtype=np.float64)
    buffers = []
    stream = oxpickle.dask.dumps(Holder(array), buffer_callback=buffers.append)
    assert len(stream) < 1000
    assert [memoryview(buffer).nbytes for buffer in buffers] == [array.nbytes]
    loaded = oxpickle.dask.loads(stream, buffers=buffers)
    assert np.array_equal(loaded.array, array)
    # Without a callback (or below protocol 5) the array stays in band.
    assert len(oxpickle.dask.dumps(Holder(array), protocol=4)) > array.nbytes


class OnlyDaskCanWrite:
    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        raise TypeError("refuses pickle")


@distributed.protocol.dask_serialize.register(OnlyDaskCanWrite)
def _serialize(obj):
    return {"value": obj.value}, []


@distributed.protocol.dask_deserialize.register(OnlyDaskCanWrite)
def _deserialize(header, frames):
    return OnlyDaskCanWrite(header["value"])


def test_an_object_only_a_dask_serializer_writes_goes_through_it():
    loaded = oxpickle.dask.loads(oxpickle.dask.dumps([OnlyDaskCanWrite(3)]))
    assert isinstance(loaded[0], OnlyDaskCanWrite) and loaded[0].value == 3


def test_bytes_that_cannot_be_loaded_are_a_clear_error():
    stream = oxpickle.dask.dumps({"a": 1})
    for bad in (stream[:-3], b"\x80\x05garbage", b""):
        with pytest.raises((oxpickle.UnpicklingError, EOFError, ValueError)):
            oxpickle.dask.loads(bad)
    assert pickle.loads(stream) == {"a": 1}
