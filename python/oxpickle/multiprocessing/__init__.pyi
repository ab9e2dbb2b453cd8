# The surface is the stdlib's multiprocessing: what a context offers comes
# from oxpickle's context of the current start method, the rest from the
# stdlib as it is (the module's __getattr__).
from multiprocessing import *  # noqa: F403
from multiprocessing.context import BaseContext

from ._context import Connection as Connection

CONTEXTS: dict[str, BaseContext]

def get_context(method: str | None = None) -> BaseContext: ...
def install() -> None: ...
def uninstall() -> None: ...
