"""Instances reduced by ``object.__reduce_ex__``'s default skip the call
after the first of their class (``pickler/plain.rs``). Whatever the class
does to its reduction, the bytes must stay those of ``pickle.Pickler``, and
every case that leaves the default must still be honoured.

Each case pickles several instances, so the second and later ones take the
fast path when it applies.
"""

import copyreg
import dataclasses
import io
import pickle

import oxpickle
import pytest

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


class Plain:
    def __init__(self, i):
        self.a, self.b = i, str(i)


class Empty:
    pass


class Slots:
    __slots__ = ("x", "y")

    def __init__(self, i):
        self.x = i  # y left unset on purpose


class SlotsAndDict:
    __slots__ = ("x", "__dict__")

    def __init__(self, i):
        self.x, self.extra = i, [i]


class InheritedSlots(Slots):
    __slots__ = ("z",)

    def __init__(self, i):
        super().__init__(i)
        self.z = -i


@dataclasses.dataclass(slots=True)
class OneSlot:
    n: int


class RepeatedSlot(Slots):
    # A slot a base already has: __slotnames__ lists "x" twice.
    __slots__ = ("x",)


class OwnGetattribute:
    # Hands each instance its own __getstate__, which pickle asks for.
    __slots__ = ("x",)

    def __init__(self, i):
        self.x = i

    def __getattribute__(self, name):
        if name != "__getstate__":
            return object.__getattribute__(self, name)

        def getstate():
            none, slots = object.__getstate__(self)
            return none, {key: ("redacted", value) for key, value in slots.items()}

        return getstate


@dataclasses.dataclass
class Data:
    n: int
    s: str = "s"


@dataclasses.dataclass(slots=True)
class SlotData:
    n: int
    s: str = "s"


class OwnGetstate(Plain):
    def __getstate__(self):
        return {"only": self.a}


class OwnReduce(Plain):
    def __reduce__(self):
        return (OwnReduce, (self.a,))


class NewArgs:
    def __new__(cls, i):
        return super().__new__(cls)

    def __init__(self, i):
        self.i = i

    def __getnewargs__(self):
        return (self.i,)


class ListChild(list):
    pass


class DictChild(dict):
    pass


class FakeClass(Plain):
    @property
    def __class__(self):
        return Plain


def _instances(cls):
    if cls in (ListChild, DictChild):
        return [cls([(i, i)]) for i in range(4)]
    if cls is Empty:
        return [cls() for _ in range(4)]
    return [cls(i) for i in range(4)]


CLASSES = [
    Plain,
    Empty,
    Slots,
    SlotsAndDict,
    InheritedSlots,
    Data,
    SlotData,
    OneSlot,
    RepeatedSlot,
    OwnGetattribute,
    OwnGetstate,
    OwnReduce,
    NewArgs,
    ListChild,
    DictChild,
]


def _stdlib_bytes(obj, protocol):
    out = io.BytesIO()
    pickle.Pickler(out, protocol).dump(obj)
    return out.getvalue()


def _oxpickle_bytes(obj, protocol):
    out = io.BytesIO()
    oxpickle.Pickler(out, protocol).dump(obj)
    return out.getvalue()


def _state(obj):
    slots = [name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())]
    values = {name: getattr(obj, name, "<unset>") for name in slots if name != "__dict__"}
    return (
        type(obj),
        getattr(obj, "__dict__", None),
        values,
        list(obj) if isinstance(obj, list) else None,
        dict(obj) if isinstance(obj, dict) else None,
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_bytes_as_the_stdlib_and_same_objects_back(cls, protocol):
    objs = _instances(cls) + _instances(cls)
    assert _oxpickle_bytes(objs, protocol) == _stdlib_bytes(objs, protocol)
    loaded = oxpickle.loads(oxpickle.dumps(objs, protocol))
    expected = pickle.loads(pickle.dumps(objs, protocol))
    assert [_state(o) for o in loaded] == [_state(o) for o in expected]


def test_an_instance_that_overrides_reduce_ex_is_honoured():
    objs = [Plain(i) for i in range(3)]
    objs[2].__reduce_ex__ = lambda protocol: (int, (7,))
    assert oxpickle.loads(oxpickle.dumps(objs))[2] == 7
    assert _oxpickle_bytes(objs, 5) == _stdlib_bytes(objs, 5)


def test_a_class_registered_with_copyreg_mid_way_is_honoured():
    first = oxpickle.dumps([Plain(1), Plain(2)])
    copyreg.pickle(Plain, lambda obj: (str, (f"plain {obj.a}",)))
    try:
        assert oxpickle.loads(oxpickle.dumps([Plain(1), Plain(2)])) == ["plain 1", "plain 2"]
    finally:
        del copyreg.dispatch_table[Plain]
    assert oxpickle.dumps([Plain(1), Plain(2)]) == first


def test_reducer_override_and_dispatch_table_still_apply():
    class Override(oxpickle.Pickler):
        def reducer_override(self, obj):
            return (str, ("overridden",)) if type(obj) is Plain else NotImplemented

    out = io.BytesIO()
    Override(out).dump([Plain(1), Plain(2)])
    assert oxpickle.loads(out.getvalue()) == ["overridden", "overridden"]

    out = io.BytesIO()
    pickler = oxpickle.Pickler(out)
    pickler.dispatch_table = {Plain: lambda obj: (int, (obj.a,))}
    pickler.dump([Plain(1), Plain(2)])
    assert oxpickle.loads(out.getvalue()) == [1, 2]


def test_a_class_whose_class_attribute_lies_fails_like_the_stdlib():
    objs = [FakeClass(1), FakeClass(2)]
    with pytest.raises(pickle.PicklingError) as stdlib:
        pickle.dumps(objs)
    with pytest.raises(pickle.PicklingError) as ours:
        oxpickle.dumps(objs)
    assert str(stdlib.value) in str(ours.value)


def test_instances_reached_through_their_own_class_keep_identity():
    def local():
        class Node:
            pass

        Node.default = Node()
        return Node

    node = local()
    objs = [node.default, node(), node.default]
    loaded = oxpickle.loads(oxpickle.dumps(objs))
    assert loaded[0] is loaded[2] is type(loaded[0]).default


class SlotsOwnGetstate(Slots):
    __slots__ = ()

    def __getstate__(self):
        return (None, {"x": -1})


class Unpicklable:
    def __reduce__(self):
        raise ValueError("no pickling this")


def test_slotted_instances_with_no_slot_set_or_their_own_getstate():
    bare = [Slots.__new__(Slots) for _ in range(3)]
    own = [SlotsOwnGetstate(i) for i in range(3)]
    loaded_bare, loaded_own = oxpickle.loads(oxpickle.dumps([bare, own]))
    assert [_state(o) for o in loaded_bare] == [_state(o) for o in bare]
    assert [o.x for o in loaded_own] == [-1, -1, -1]


def test_slot_values_shared_between_instances_keep_identity():
    shared = ["shared"]
    objs = [SlotData(shared), SlotData(shared), SlotData(1, shared)]
    loaded = oxpickle.loads(oxpickle.dumps(objs))
    assert loaded[0].n is loaded[1].n is loaded[2].s
    assert loaded[0].n == shared


def test_slot_values_reached_another_way_keep_identity():
    """A slot value held by nothing else is written without a memo entry;
    one held elsewhere too (another slot, a list, the instance itself
    through a cycle) comes back as one object."""
    twice = ["in two slots"]
    outside = ["also in the list"]
    both = SlotData(twice, twice)
    listed = SlotData(outside)
    looped = SlotData(0)
    looped.s = [looped]
    alone = SlotData(["only here"], "only here too")
    loaded = oxpickle.loads(oxpickle.dumps([both, listed, outside, looped, alone]))
    assert loaded[0].n is loaded[0].s
    assert loaded[1].n is loaded[2]
    assert loaded[3].s[0] is loaded[3]
    assert (loaded[4].n, loaded[4].s) == (["only here"], "only here too")


def test_slotted_instances_pickle_no_larger_than_the_stdlib():
    """Slot names are written once and fetched from the memo after; values
    held only by their slot need no memo entry."""
    objs = [SlotData(i, f"text {i}") for i in range(100)]
    ours, theirs = oxpickle.dumps(objs), pickle.dumps(objs, 5)
    assert len(ours) < len(theirs)
    assert ours.count(b"\x8c\x01n") == 1
    assert oxpickle.loads(ours) == pickle.loads(theirs)


SHARED_THROUGH_A_PROPERTY = ["shared"]


class SlotBase:
    __slots__ = ("x",)


class PropertyOverSlot(SlotBase):
    """Its `x` is a property over the base's slot, handing out an object
    held elsewhere: the state holds what the property returns."""

    __slots__ = ("flag",)
    received: list = []

    @property
    def x(self):
        return SHARED_THROUGH_A_PROPERTY if self.flag else []

    @x.setter
    def x(self, value):
        PropertyOverSlot.received.append(value)


def test_a_property_over_a_slot_name_keeps_the_identity_of_what_it_returns():
    objs = []
    for flag in (False, True, True):
        obj = PropertyOverSlot()
        obj.flag = flag
        objs.append(obj)
    for stream in (oxpickle.dumps(objs), _oxpickle_bytes(objs, 5)):
        PropertyOverSlot.received.clear()
        pickle.loads(stream)
        first, second, third = PropertyOverSlot.received
        assert second is third and second == ["shared"] and first == []


def _set_state(obj, state):
    obj.state = state


class WithStateSetter:
    def __reduce__(self):
        return (WithStateSetter, (), {"a": 1}, None, None, _set_state)


class HoldsOneInASlot:
    __slots__ = ("held",)


def test_a_state_setter_gets_its_object_even_when_nothing_else_holds_it():
    """The setter is called with the object, written a second time by
    reference: an object found unshared must still get its memo entry."""
    holders = [HoldsOneInASlot() for _ in range(2)]
    for holder in holders:
        holder.held = WithStateSetter()
    for root in ([WithStateSetter()], holders):
        loaded = oxpickle.loads(oxpickle.dumps(root))
        expected = pickle.loads(pickle.dumps(root))
        states = [getattr(o, "state", None) or o.held.state for o in loaded]
        assert states == [getattr(o, "state", None) or o.held.state for o in expected]


def test_a_slot_value_that_fails_is_named_by_its_attribute():
    objs = [SlotData(1), SlotData(2, {"k": Unpicklable()})]
    with pytest.raises(ValueError) as failure:
        oxpickle.dumps(objs)
    assert "root[1].s['k']" in "".join(failure.value.__notes__)
