"""By-value classes and their instances: methods and super(), slots, properties, metaclasses,
ABCs, dataclasses, namedtuples and enums, rebuilt from the stream or found by class tracking."""

import abc
import collections
import dataclasses
import enum
import gc
import typing

import pytest
from byvalue_helpers import namespace

# ----- classes ------------------------------------------------------------------------


def test_class_defined_in_function_travels_and_is_tracked(roundtrip):
    class Local:
        def method(self):
            return "works"

    assert roundtrip(Local) is Local, "in the same process, class tracking finds the original"
    loaded = roundtrip.rebuilt(lambda: type("Rebuilt", (Local,), {}))
    assert loaded().method() == "works"


def test_class_defined_in_main_is_rebuilt(roundtrip):
    def make():
        scope = namespace(
            """
            class Foo:
                '''Defined in __main__.'''

                def method(self, x):
                    return x * 2
            """
        )
        return scope["Foo"]

    loaded = roundtrip.rebuilt(make)
    assert loaded.__module__ == "__main__"
    assert loaded.__qualname__ == "Foo"
    assert loaded.__doc__ == "Defined in __main__."
    assert loaded().method(21) == 42


def test_class_from_a_module_that_is_not_imported_is_rebuilt(roundtrip):
    def make():
        scope = namespace(
            """
            class Foo:
                def method(self):
                    return "by value"

            def use():
                return Foo().method()
            """,
            module="oxbv_module_that_does_not_exist",
        )
        return scope["Foo"], scope["use"]

    loaded_class, loaded_use = roundtrip.rebuilt(make)
    assert loaded_class().method() == "by value"
    assert loaded_use() == "by value"
    assert loaded_use.__globals__["Foo"] is loaded_class


def test_rebuilt_class_dict_holds_only_its_own_attributes(roundtrip):
    def make():
        class A(int):
            """A docstring"""

            def method(self):
                return "a"

        class B:
            """B docstring"""

            B_CONSTANT = 42

            def method(self):
                return "b"

        class C(A, B):
            C_CONSTANT = 43

            def method_c(self):
                return "c"

        return C

    loaded = roundtrip.rebuilt(make)
    own = set(vars(loaded))
    assert {"C_CONSTANT", "method_c", "__doc__"} <= own
    assert not {"method", "B_CONSTANT"} & own
    assert loaded.__doc__ is None
    assert loaded.C_CONSTANT == 43
    assert loaded.B_CONSTANT == 42
    assert loaded(5).method() == "a"
    assert loaded(5).method_c() == "c"
    assert [base.__name__ for base in loaded.__mro__] == ["C", "A", "int", "B", "object"]


def test_methods_using_super_after_rebuild(roundtrip):
    def make():
        class Base:
            def method(self):
                return 1

        class Derived(Base):
            """Derived Docstring"""

            def method(self):
                return super().method() + 1

        return Derived, Derived()

    loaded, instance = roundtrip.rebuilt(make)
    assert loaded().method() == 2
    assert instance.method() == 2
    assert type(instance) is loaded
    assert loaded.__doc__ == "Derived Docstring"
    # The __class__ cell super() reads must point at the rebuilt class.
    assert loaded.__dict__["method"].__closure__[0].cell_contents is loaded


def test_class_referring_to_itself_from_its_dict(roundtrip):
    def make():
        class C:
            def it_works(self):
                return "woohoo!"

        C.C_again = C
        C.instance_of_C = C()
        return C

    loaded = roundtrip.rebuilt(make)
    assert loaded.C_again is loaded
    assert type(loaded.instance_of_C) is loaded
    assert loaded().it_works() == "woohoo!"
    assert loaded.instance_of_C.it_works() == "woohoo!"


def test_instance_of_class_whose_methods_refer_to_the_class(roundtrip):
    def make():
        class C:
            def clone(self):
                return C()

            def kind(self):
                return type(self).__name__

        return C()

    loaded = roundtrip.rebuilt(make)
    assert isinstance(loaded.clone(), type(loaded))
    assert loaded.kind() == "C"


def test_same_dynamic_class_several_times_in_one_stream_is_one_class(roundtrip):
    def make():
        class Repeated:
            pass

        return [Repeated, Repeated(), {"again": Repeated}, (Repeated(),)]

    cls, instance, mapping, (other,) = roundtrip.rebuilt(make)
    assert mapping["again"] is cls
    assert type(instance) is cls
    assert type(other) is cls


def test_instances_of_by_value_classes_keep_their_state(roundtrip):
    def make():
        class Record:
            def __init__(self, name, tags):
                self.name = name
                self.tags = tags

            def describe(self):
                return f"{self.name}:{','.join(self.tags)}"

        return Record("job", ["a", "b"])

    loaded = roundtrip.rebuilt(make)
    assert loaded.describe() == "job:a,b"
    assert vars(loaded) == {"name": "job", "tags": ["a", "b"]}


@pytest.mark.parametrize("slots", [["registered"], "registered"], ids=["list", "str"])
def test_class_with_slots(roundtrip, slots):
    class WithSlots:
        __slots__ = slots

        def __init__(self):
            self.registered = 42

    class SubclassWithDict(WithSlots):
        def __init__(self):
            super().__init__()
            self.unregistered = 1

    loaded = roundtrip(WithSlots())
    assert type(loaded).__slots__ == slots
    assert loaded.registered == 42
    with pytest.raises(AttributeError):
        loaded.not_a_slot = 1
    child = roundtrip(SubclassWithDict())
    assert (child.registered, child.unregistered) == (42, 1)


def test_rebuilt_class_with_slots(roundtrip):
    def make():
        class Point:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x, self.y = x, y

            def norm2(self):
                return self.x**2 + self.y**2

        return Point(3, 4)

    loaded = roundtrip.rebuilt(make)
    assert loaded.norm2() == 25
    assert type(loaded).__slots__ == ("x", "y")
    with pytest.raises(AttributeError):
        loaded.z = 1


def test_custom_metaclass_travels_by_value(roundtrip):
    def make():
        class Meta(type):
            created: typing.ClassVar[list[str]] = []

            def __new__(mcs, name, bases, namespace):
                cls = super().__new__(mcs, name, bases, namespace)
                cls.made_by_meta = True
                return cls

            def describe(cls):
                return f"class {cls.__name__}"

        class WithMeta(metaclass=Meta):
            value = 7

        return WithMeta

    loaded = roundtrip.rebuilt(make)
    assert type(loaded).__name__ == "Meta"
    assert loaded.describe() == "class WithMeta"
    assert loaded.made_by_meta is True
    assert loaded.value == 7


def test_init_subclass_hook_survives(roundtrip):
    def make():
        class Plugin:
            registry: typing.ClassVar[list[str]] = []

            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                cls.registry.append(cls.__name__)

        class First(Plugin):
            pass

        return Plugin

    loaded = roundtrip.rebuilt(make)
    assert loaded.registry == ["First"]

    class Second(loaded):
        pass

    assert loaded.registry == ["First", "Second"]


def test_set_name_descriptor_keeps_its_name(roundtrip):
    def make():
        class Named:
            def __set_name__(self, owner, name):
                self.name = name

            def __get__(self, obj, owner=None):
                return f"descriptor {self.name}"

        class Owner:
            field = Named()

        return Owner

    loaded = roundtrip.rebuilt(make)
    assert loaded().field == "descriptor field"
    assert loaded.__dict__["field"].name == "field"


def test_nested_classes(roundtrip):
    def make():
        class Outer:
            class Inner:
                def hello(self):
                    return "inner"

            def make_inner(self):
                return self.Inner()

        return Outer

    loaded = roundtrip.rebuilt(make)
    assert loaded.Inner.__qualname__.endswith("Outer.Inner")
    assert loaded().make_inner().hello() == "inner"
    assert type(loaded().make_inner()) is loaded.Inner


def test_classmethod_staticmethod_property_in_a_class(roundtrip):
    def make():
        class Tools:
            factor = 3

            @classmethod
            def create(cls):
                return cls()

            @staticmethod
            def add(a, b):
                return a + b

            @property
            def tripled(self):
                return self.factor * 3

        return Tools

    loaded = roundtrip.rebuilt(make)
    assert type(loaded.create()) is loaded
    assert loaded.add(1, 2) == 3
    assert loaded().tripled == 9
    assert isinstance(loaded.__dict__["create"], classmethod)
    assert isinstance(loaded.__dict__["add"], staticmethod)


def test_read_only_and_read_write_properties(roundtrip):
    class MyObject:
        _read_only_value = 1
        _read_write_value = 1

        @property
        def read_only_value(self):
            "A read-only attribute"
            return self._read_only_value

        @property
        def read_write_value(self):
            return self._read_write_value

        @read_write_value.setter
        def read_write_value(self, value):
            self._read_write_value = value

    obj = MyObject()
    obj.read_write_value = 2
    loaded = roundtrip(obj)
    assert loaded.read_only_value == 1
    assert loaded.read_write_value == 2
    with pytest.raises(AttributeError):
        loaded.read_only_value = 2
    loaded.read_write_value = 3
    assert loaded.read_write_value == 3
    assert type(loaded).read_only_value.__doc__ == "A read-only attribute"


def _abc_pair(decorated: bool):
    if decorated:

        class AbstractClass(abc.ABC):
            @abc.abstractmethod
            def some_method(self):
                """A method"""

            @classmethod
            @abc.abstractmethod
            def some_classmethod(cls):
                """A classmethod"""

            @staticmethod
            @abc.abstractmethod
            def some_staticmethod():
                """A staticmethod"""

            @property
            @abc.abstractmethod
            def some_property(self):
                """A property"""

    else:

        class AbstractClass(abc.ABC):  # the deprecated abc.abstract* decorators
            @abc.abstractmethod
            def some_method(self):
                """A method"""

            @abc.abstractclassmethod
            def some_classmethod(cls):
                """A classmethod"""

            @abc.abstractstaticmethod
            def some_staticmethod():
                """A staticmethod"""

            @abc.abstractproperty
            def some_property(self):
                """A property"""

    class ConcreteClass(AbstractClass):
        def some_method(self):
            return "it works!"

        @classmethod
        def some_classmethod(cls):
            return ("it works!", cls.__name__)

        @staticmethod
        def some_staticmethod():
            return "it works!"

        @property
        def some_property(self):
            return "it works!"

    AbstractClass.register(tuple)
    return AbstractClass, ConcreteClass, ConcreteClass()


@pytest.mark.parametrize("decorated", [True, False], ids=["abstractmethod", "deprecated"])
def test_abstract_base_class_with_virtual_subclass(roundtrip, decorated):
    base, concrete, instance = roundtrip.rebuilt(lambda: _abc_pair(decorated))
    assert isinstance(base, abc.ABCMeta)
    assert issubclass(tuple, base), "registered virtual subclasses travel with the ABC"
    assert issubclass(concrete, base)
    assert isinstance(instance, base)
    with pytest.raises(TypeError):
        base()
    assert concrete().some_method() == "it works!"
    assert concrete.some_classmethod() == ("it works!", "ConcreteClass")
    assert concrete.some_staticmethod() == "it works!"
    assert instance.some_property == "it works!"
    assert instance.some_classmethod() == ("it works!", "ConcreteClass")

    class Complete(base):
        def some_method(self):
            return "subclass"

        @classmethod
        def some_classmethod(cls):
            return cls.__name__

        @staticmethod
        def some_staticmethod():
            return "static"

        @property
        def some_property(self):
            return "property"

    class Incomplete(base):
        def some_method(self):
            return "lacks the others"

    assert Complete().some_method() == "subclass"
    with pytest.raises(TypeError):
        Incomplete()


def test_abc_caches_do_not_travel(roundtrip):
    def make():
        MyClass = abc.ABCMeta("MyClass", (), {})

        class MyUnrelatedClass:
            pass

        class MyRelatedClass:
            pass

        MyClass.register(MyRelatedClass)
        assert not issubclass(MyUnrelatedClass, MyClass)
        assert issubclass(MyRelatedClass, MyClass)
        return MyClass, MyUnrelatedClass, MyRelatedClass

    cls, unrelated, related = make()
    data = roundtrip.dumps(cls)
    # The negative cache knows MyUnrelatedClass; only the registry travels.
    assert b"MyUnrelatedClass" not in data
    assert b"MyRelatedClass" in data
    del cls
    gc.collect()
    loaded = roundtrip.load(data)
    assert isinstance(loaded, abc.ABCMeta)
    assert issubclass(related, loaded)
    assert not issubclass(unrelated, loaded)


# ----- methods ------------------------------------------------------------------------


def test_function_class_instance_and_bound_method_defined_locally(roundtrip):
    local_constant = 42

    def some_function(x, y):
        sum(range(10))
        return (x + y) / local_constant

    hidden_constant = lambda: local_constant  # noqa: E731

    class SomeClass:
        """Refers to closure variables, a lambda and a local function."""

        def __init__(self, value):
            self.value = value

        def one(self):
            return local_constant / hidden_constant()

        def some_method(self, x):
            return self.one() + some_function(x, 1) + self.value

    assert roundtrip(some_function)(41, 1) == 1
    assert roundtrip(some_function)(81, 3) == 2
    assert roundtrip(SomeClass)(5).some_method(41) == 7
    assert roundtrip(SomeClass(1)).one() == 1
    assert roundtrip(SomeClass(5)).some_method(41) == 7
    assert roundtrip(SomeClass(1).one)() == 1
    bound = roundtrip(SomeClass(5).some_method)
    assert bound(41) == 7
    assert bound.__self__.value == 5


def test_bound_method_of_rebuilt_instance(roundtrip):
    def make():
        class Counter:
            def __init__(self):
                self.count = 0

            def increment(self):
                self.count += 1
                return self

        counter = Counter().increment()
        return counter.increment

    increment = roundtrip.rebuilt(make)
    assert increment().count == 2
    assert type(increment.__self__).__name__ == "Counter"


def test_bound_method_whose_function_has_another_name(roundtrip):
    class A:
        pass

    A.echo = lambda self, x: (type(self).__name__, x)
    loaded = roundtrip(A().echo)
    assert loaded(42) == ("A", 42)


def test_function_taken_from_a_class_is_a_plain_function(roundtrip):
    class F:
        def f(self, x):
            return x + 1

    loaded = roundtrip(F.f)
    assert loaded.__name__ == "f"
    assert loaded(None, 1) == 2


def test_classmethod_bound_to_a_by_value_class(roundtrip):
    class A:
        kind = "cm"

        @classmethod
        def describe(cls):
            return cls.kind

    loaded = roundtrip(A.describe)
    assert loaded() == "cm"
    assert loaded.__self__.__name__ == "A"


# ----- dataclasses and namedtuples ----------------------------------------------------


def test_dataclass_made_by_make_dataclass(roundtrip):
    DataClass = dataclasses.make_dataclass("DataClass", [("x", int)])
    assert roundtrip(DataClass(x=42)).x == 42
    loaded = roundtrip.rebuilt(lambda: dataclasses.make_dataclass("Other", [("y", int)]))
    assert dataclasses.is_dataclass(loaded)
    assert loaded(y=3).y == 3


def test_dataclass_fields_initvar_and_classvar(roundtrip):
    def make():
        @dataclasses.dataclass
        class Sample:
            x: int
            y: dataclasses.InitVar[int] = None
            z: typing.ClassVar[int] = 42

            def __post_init__(self, y):
                if y:
                    self.x += y

            def large_enough(self):
                return self.x > self.z

        return Sample, Sample(2, y=2)

    loaded, value = roundtrip.rebuilt(make)
    assert set(loaded.__dataclass_fields__) == {"x", "y", "z"}
    # fields() keeps only real fields: the field kinds must be the
    # receiver's own sentinels, compared by identity.
    assert [f.name for f in dataclasses.fields(loaded)] == ["x"]
    assert isinstance(value, loaded)
    assert value.x == 4
    assert dataclasses.asdict(value) == {"x": 4}
    assert not value.large_enough()
    assert loaded(1, y=1) == loaded(2)
    assert repr(loaded(3)) == f"{loaded.__qualname__}(x=3)"


def test_frozen_dataclass_with_keyword_only_fields(roundtrip):
    def make():
        @dataclasses.dataclass(frozen=True)
        class Frozen:
            a: int
            _: dataclasses.KW_ONLY
            b: int = 2
            tags: tuple = dataclasses.field(default_factory=tuple)

        return Frozen, Frozen(1, b=3)

    loaded, value = roundtrip.rebuilt(make)
    assert value == loaded(1, b=3)
    assert hash(value) == hash(loaded(1, b=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 5
    assert loaded(7).tags == ()
    with pytest.raises(TypeError):
        loaded(1, 2)  # b is keyword-only
    assert dataclasses.replace(value, a=9).a == 9


def test_namedtuple_class_and_instances(roundtrip):
    MyTuple = collections.namedtuple("MyTuple", ["a", "b", "c"])
    t1, loaded, t2 = roundtrip([MyTuple(1, 2, 3), MyTuple, MyTuple(3, 2, 1)])
    assert loaded is MyTuple
    assert isinstance(t1, MyTuple)
    assert t1 == (1, 2, 3)
    assert t2.a == 3

    def make():
        Pair = collections.namedtuple("Pair", ["left", "right"])
        return [Pair(1, 2), Pair]

    pair, pair_class = roundtrip.rebuilt(make)
    assert type(pair) is pair_class
    assert pair.right == 2
    assert pair_class._fields == ("left", "right")


# ----- enums --------------------------------------------------------------------------


def test_enum_members_keep_identity_and_methods(roundtrip):
    class StringEnum(str, enum.Enum):  # noqa: UP042 (the str mixin is the point)
        """Members are also strings."""

    class Color(StringEnum):
        """3-element color space"""

        RED = "1"
        GREEN = "2"
        BLUE = "3"

        def is_green(self):
            return self is Color.GREEN

    green1, green2, loaded = roundtrip([Color.GREEN, Color.GREEN, Color])
    assert green1 is green2
    assert green1 is loaded.GREEN
    assert green1 is not loaded.BLUE
    assert isinstance(green1, str)
    assert green1.is_green()
    # Class tracking: in the process that defined it, the enum is the original.
    assert loaded is Color
    assert roundtrip(Color.GREEN) is Color.GREEN


def test_rebuilt_enum_members_keep_identity_and_methods(roundtrip):
    def make():
        class Color(str, enum.Enum):  # noqa: UP042
            """3-element color space"""

            RED = "1"
            GREEN = "2"
            BLUE = "3"

            def is_green(self):
                return self is Color.GREEN

            @property
            def shout(self):
                return self.name.upper() + "!"

        return [Color.GREEN, Color.GREEN, Color]

    green1, green2, loaded = roundtrip.rebuilt(make)
    assert green1 is green2 is loaded.GREEN
    assert green1.is_green()
    assert not loaded.RED.is_green()
    assert loaded("3") is loaded.BLUE
    assert [m.name for m in loaded] == ["RED", "GREEN", "BLUE"]
    assert loaded.__doc__ == "3-element color space"
    assert green1 == "2"
    assert green1.shout == "GREEN!"


def test_intenum_made_with_the_functional_api(roundtrip):
    dynamic = enum.IntEnum("Color", {"RED": 1, "GREEN": 2, "BLUE": 3})
    green1, green2, loaded = roundtrip([dynamic.GREEN, dynamic.GREEN, dynamic])
    assert green1 is green2 is loaded.GREEN
    assert loaded is dynamic

    def make():
        made = enum.IntEnum("Level", {"LOW": 1, "HIGH": 10})
        return [made.HIGH, made]

    high, level = roundtrip.rebuilt(make)
    assert high is level.HIGH
    assert high == 10
    assert high + 1 == 11
    assert level(1) is level.LOW


def test_flag_and_intflag(roundtrip):
    def make():
        class Perm(enum.Flag):
            R = enum.auto()
            W = enum.auto()
            X = enum.auto()

        class Mode(enum.IntFlag):
            READ = 4
            WRITE = 2

        return [Perm, Perm.R | Perm.W, Mode, Mode.READ | Mode.WRITE]

    perm, read_write, mode, mode_rw = roundtrip.rebuilt(make)
    assert read_write == perm.R | perm.W
    assert perm.R in read_write
    assert perm.X not in read_write
    assert type(read_write) is perm
    assert type(mode_rw) is mode
    assert mode_rw == 6
    assert mode.READ in mode_rw
