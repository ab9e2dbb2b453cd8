"""Type stubs for the native module ``oxpickle._oxpickle``."""

import pickle
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Literal, Protocol, TypedDict

HIGHEST_PROTOCOL: int
DEFAULT_PROTOCOL: int

class _Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...

class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...
    def readline(self) -> bytes: ...

_BufferCallback = Callable[[pickle.PickleBuffer], Any] | None

class PickleError(pickle.PickleError): ...
class PicklingError(PickleError, pickle.PicklingError): ...
class UnpicklingError(PickleError, pickle.UnpicklingError): ...
class UnpicklableError(PicklingError, TypeError): ...
class DeepRecursionError(PicklingError, RecursionError): ...
class UnsafePickleError(UnpicklingError): ...

# allow=: a profile ("data", "numpy", "torch"), "module.qualname" or
# "module:qualname", or an iterable of them.
_Allow = str | Iterable[str] | None
# key=: one key, or several (the first signs; any verifies).
_Key = bytes | bytearray | Iterable[bytes | bytearray] | None

class Limits:
    max_depth: int
    max_memo_entries: int
    max_allocation: int
    allocation_ratio: int
    def __init__(
        self,
        *,
        max_depth: int | None = None,
        max_memo_entries: int | None = None,
        max_allocation: int | None = None,
        allocation_ratio: int | None = None,
    ) -> None: ...

class PicklerMemoProxy:
    def copy(self) -> dict[int, tuple[int, Any]]: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

class UnpicklerMemoProxy:
    def copy(self) -> dict[int, Any]: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

class Pickler:
    bin: int
    fast: int
    dispatch_table: ClassVar[Any]
    memo: PicklerMemoProxy | dict[int, tuple[int, Any]]
    def __init__(
        self,
        file: _Writable,
        protocol: int | None = None,
        fix_imports: bool = True,
        buffer_callback: _BufferCallback = None,
        *,
        deterministic: bool = False,
    ) -> None: ...
    def dump(self, obj: Any, /) -> None: ...
    def clear_memo(self) -> None: ...
    def persistent_id(self, obj: Any, /) -> Any: ...

class Unpickler:
    memo: UnpicklerMemoProxy | dict[int, Any]
    def __init__(
        self,
        file: _Readable,
        *,
        fix_imports: bool = True,
        encoding: str = "ASCII",
        errors: str = "strict",
        buffers: Iterable[Any] | None = None,
        allow: _Allow = None,
        limits: Limits | None = None,
    ) -> None: ...
    def load(self) -> Any: ...
    def find_class(self, module_name: str, global_name: str, /) -> Any: ...
    def persistent_load(self, pid: Any, /) -> Any: ...

def dumps(
    obj: Any,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: _BufferCallback = None,
    deterministic: bool = False,
    key: _Key = None,
) -> bytes: ...
def dump(
    obj: Any,
    file: _Writable,
    protocol: int | None = None,
    *,
    fix_imports: bool = True,
    buffer_callback: _BufferCallback = None,
    deterministic: bool = False,
    key: _Key = None,
) -> None: ...
def loads(
    data: bytes | bytearray | memoryview,
    /,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    allow: _Allow = None,
    key: _Key = None,
    limits: Limits | None = None,
    persistent_load: Callable[[Any], Any] | None = None,
) -> Any: ...
def load(
    file: _Readable,
    *,
    fix_imports: bool = True,
    encoding: str = "ASCII",
    errors: str = "strict",
    buffers: Iterable[Any] | None = None,
    allow: _Allow = None,
    key: _Key = None,
    limits: Limits | None = None,
    persistent_load: Callable[[Any], Any] | None = None,
) -> Any: ...
def dis(data: bytes, /) -> tuple[str, str | None]: ...

_Verdict = Literal["safe", "unknown", "dangerous"]

class ScannedImport(TypedDict):
    module: str
    name: str
    written: str | None
    verdict: _Verdict
    why: str | None

class ScanNote(TypedDict):
    kind: Literal[
        "dynamic-global",
        "extension-code",
        "computed-call",
        "modifies-global",
        "persistent-id",
        "frame-violation",
        "refused-arguments",
        "planted-method",
        "version-dependent",
    ]
    detail: str
    verdict: _Verdict

class ScannedStream(TypedDict):
    offset: int
    end: int | None
    error: str | None
    protocol: int | None
    verdict: _Verdict
    imports: list[ScannedImport]
    notes: list[ScanNote]

class ScanRest(TypedDict):
    offset: int
    error: str

class ScanReport(TypedDict):
    verdict: _Verdict
    unreadable: str | None
    streams: list[ScannedStream]
    rest: ScanRest | None

def scan(data: bytes, /, allow: Sequence[str] = (), *, start: int = 0) -> ScanReport: ...
def allowlist_profiles() -> list[tuple[str, str, list[tuple[str, str, str]]]]: ...
def show(
    data: bytes, /, *, json: bool = False, max_chars: int = 1000000
) -> tuple[list[tuple[int, str]], str | None]: ...

# (module, attribute) of every name the engine reads from the package's
# Python modules; tests/test_policy_names.py resolves each.
def _policy_names() -> list[tuple[str, str]]: ...
