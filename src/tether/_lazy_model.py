"""A frozen configuration class whose pydantic validator is built on its first instance.

``from tether import Agent`` used to define a pydantic model, which alone imports most of
pydantic (its model machinery, ``pydantic.types``, ``annotated_types``, json schema): about twice
``import pydantic``. :class:`LazyModel` keeps the class plain. Fields are declared as on a
pydantic model (annotations, defaults, :func:`field` for constraints, :func:`private` or
pydantic's ``PrivateAttr`` for private attributes, ``__checks__`` for field validators), and the
first instance builds a pydantic model of those fields (:func:`_validator_of`), which validates
the keyword arguments of every instance after it: the same errors (``pydantic.ValidationError``
titled with the class name), the same signature, frozen fields, ``model_fields``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = ["Check", "LazyModel", "field", "private", "validation_error"]

Check = tuple[tuple[str, ...], Literal["before", "after"], Callable[[Any], Any]]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()


class _Field:
    """A field's default and its pydantic constraints (``min_length``, ``ge``, ``gt``...)."""

    __slots__ = ("constraints", "default")

    def __init__(self, default: Any, constraints: dict[str, Any]) -> None:
        self.default = default
        self.constraints = constraints


def field(default: Any = _REQUIRED, **constraints: Any) -> Any:
    """A field with constraints, as ``pydantic.Field(default, **constraints)`` (built lazily)."""
    return _Field(default, constraints)


class _Private:
    """A private attribute's default: ``default`` (copied when mutable, as pydantic does;
    ``_REQUIRED``: none, the attribute is unset until assigned) or ``default_factory()``."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None) -> None:
        self.default = default
        self.default_factory = default_factory

    @classmethod
    def of(cls, attr: Any) -> _Private:
        """This or pydantic's ``PrivateAttr(...)`` as a _Private."""
        if isinstance(attr, _Private):
            return attr
        default = attr.default
        unset = type(default).__name__ == "PydanticUndefinedType"
        return cls(_REQUIRED if unset else default, attr.default_factory)

    def get_default(self) -> Any:
        if self.default_factory is not None:
            return self.default_factory()
        default = self.default
        if isinstance(default, _IMMUTABLE) or default is _REQUIRED:
            return default
        import copy

        return copy.deepcopy(default)


_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, type)


def private(default: Any = None, *, default_factory: Callable[[], Any] | None = None) -> Any:
    """A private attribute (``_name``), as ``pydantic.PrivateAttr``: per instance, settable."""
    return _Private(default, default_factory)


def validation_error() -> type[ValidationError]:
    """pydantic's ValidationError, for an ``except`` clause: evaluated only when one is raised,
    so a module that catches it does not import pydantic."""
    import pydantic_core

    found: type[ValidationError] = pydantic_core.ValidationError
    return found


class _ModelFields:
    """``cls.model_fields``: the pydantic FieldInfo of each field (builds the validator)."""

    def __get__(self, instance: object, owner: type[LazyModel]) -> dict[str, Any]:
        fields: dict[str, Any] = _validator_of(owner).model_fields
        return fields


class _Signature:
    """``inspect.signature(cls)``: the parameters of ``__init__`` before its ``**data``, then
    every other field as keyword-only, as pydantic shows a model with its own ``__init__``."""

    def __get__(self, instance: object, owner: type[LazyModel]) -> inspect.Signature:
        built = owner.__dict__.get("_signature")
        if built is not None:
            return built  # type: ignore[no-any-return]
        params = [
            p
            for p in list(inspect.signature(owner.__init__).parameters.values())[1:]
            if p.kind is not p.VAR_KEYWORD
        ]
        seen = {p.name for p in params}
        fields = inspect.signature(_validator_of(owner)).parameters.values()
        params.extend(p for p in fields if p.name not in seen)
        made = inspect.Signature(params, return_annotation=None)
        owner._signature = made
        return made


#: private() and pydantic's PrivateAttr
_PRIVATE_TYPES = ("_Private", "ModelPrivateAttr")


class LazyModel:
    """Frozen fields validated by a pydantic model built on the first instance (see above)."""

    __slots__ = ("__dict__", "__pydantic_private__", "__weakref__")

    #: pydantic configuration of the validator (``extra``, ``arbitrary_types_allowed``...).
    __config__: ClassVar[dict[str, Any]] = {}
    #: Field validators: (field names, mode, function of the value).
    __checks__: ClassVar[tuple[Check, ...]] = ()
    #: Names an annotation uses that the class's module imports only for type checkers, as
    #: {name: module}: imported when the validator is built.
    __lazy_names__: ClassVar[dict[str, str]] = {}
    __fields__: ClassVar[dict[str, _Field]] = {}
    #: pydantic's validator decorators of subclasses (they run in the validator, on its model).
    __pydantic_validators__: ClassVar[dict[str, Any]] = {}
    __private_attributes__: ClassVar[dict[str, Any]] = {}
    #: Whether the validator is built (pydantic's name for it).
    __pydantic_complete__: ClassVar[bool] = False
    _validator: ClassVar[type[BaseModel] | None] = None
    #: The validator's validate_python, and the private attributes' defaults: None for those
    #: in _private_fixed, made per instance for those in _private_made.
    _validate: ClassVar[Callable[[dict[str, Any]], Any] | None] = None
    _private_fixed: ClassVar[dict[str, Any]] = {}
    _private_made: ClassVar[tuple[tuple[str, Any], ...]] = ()
    _signature: ClassVar[inspect.Signature | None] = None
    __pydantic_private__: dict[str, Any]

    model_fields: ClassVar[dict[str, Any]] = _ModelFields()  # type: ignore[assignment]
    __signature__: ClassVar[inspect.Signature] = _Signature()  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.__fields__)
        privates = dict(cls.__private_attributes__)
        own = cls.__dict__
        validators = dict(cls.__pydantic_validators__)
        for name, value in list(own.items()):  # with an annotation or not, as pydantic
            kind = type(value).__name__
            if kind == "PydanticDescriptorProxy":  # @field_validator, @model_validator
                validators[name] = value
            elif name[:1] == "_" and name[:2] != "__" and kind in _PRIVATE_TYPES:
                privates[name] = _Private.of(value)
                delattr(cls, name)
        for name, annotation in inspect.get_annotations(cls).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")) or name[:2] == "__":
                continue
            if name.startswith("_"):
                continue  # a private attribute (above) or a plain class attribute
            value = own.get(name, _REQUIRED)
            fields[name] = value if isinstance(value, _Field) else _Field(value, {})
            if name in own:
                delattr(cls, name)
        cls.__fields__ = fields
        cls.__pydantic_validators__ = validators
        cls.__private_attributes__ = privates
        cls._private_fixed = {
            name: attr.default
            for name, attr in privates.items()
            if isinstance(attr, _Private) and attr.default_factory is None and attr.default is None
        }
        cls._private_made = tuple(
            (name, attr) for name, attr in privates.items() if name not in cls._private_fixed
        )
        cls._validate = None
        cls.__pydantic_complete__ = False
        cls._validator = None
        cls._signature = None

    def __init__(self, **data: Any) -> None:
        cls = type(self)
        validate = cls._validate
        if validate is None:
            validate = cls._validate = _validator_of(cls).__pydantic_validator__.validate_python
        object.__setattr__(self, "__dict__", validate(data).__dict__)
        private = cls._private_fixed.copy()
        for name, attr in cls._private_made:
            value = attr.get_default()
            if value is not _REQUIRED:
                private[name] = value
        object.__setattr__(self, "__pydantic_private__", private)
        self.model_post_init(None)

    def model_post_init(self, context: Any, /) -> None:
        """Runs once the fields are validated (as pydantic's hook of that name)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self).__private_attributes__:
            self.__pydantic_private__[name] = value
        elif name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            import pydantic_core

            raise pydantic_core.ValidationError.from_exception_data(
                type(self).__name__, [{"type": "frozen_instance", "loc": (name,), "input": value}]
            )

    def __delattr__(self, name: str) -> None:
        if name in type(self).__private_attributes__:
            self.__pydantic_private__.pop(name, None)
        elif name.startswith("_"):
            object.__delattr__(self, name)
        else:
            self.__setattr__(name, None)  # a field: refused as any change of it is

    def __getattr__(self, name: str) -> Any:
        # only for names not found normally: the private attributes, and pydantic's methods
        # (model_dump...) of the same fields in the validator's model
        cls = type(self)
        if name in cls.__private_attributes__:
            try:
                return object.__getattribute__(self, "__pydantic_private__")[name]
            except (AttributeError, KeyError):
                pass
        elif name.startswith("model_"):
            fields = self.__dict__
            copy = _validator_of(cls).model_construct(_fields_set=set(fields), **fields)
            return getattr(copy, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LazyModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_private__ == other.__pydantic_private__
        )

    def __hash__(self) -> int:
        return hash(tuple(self.__dict__.values()))

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """An instance from a mapping of its fields (an instance is returned as it is), as
        pydantic's ``Model.model_validate``; anything else is pydantic's ValidationError."""
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, Mapping):
            return cls(**obj)
        _validator_of(cls).model_validate(obj)  # raises: not a mapping of fields
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """As a field of a pydantic model: an instance of the class, as it is."""
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)


def _validator_of(cls: type[LazyModel]) -> type[BaseModel]:
    """The pydantic model that validates ``cls``'s fields, built on first use."""
    built = cls.__dict__.get("_validator")
    if built is not None:
        return built  # type: ignore[no-any-return]
    import typing
    from importlib import import_module

    from pydantic import ConfigDict, Field, create_model, field_validator

    lazy = {name: getattr(import_module(m), name) for name, m in cls.__lazy_names__.items()}
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):  # each class's annotations in its own module
        annotations = inspect.get_annotations(klass)
        own = {name: annotations[name] for name in cls.__fields__ if name in annotations}
        if own:
            holder = type(klass.__name__, (), {"__annotations__": own})
            namespace = vars(sys.modules[klass.__module__])
            hints.update(typing.get_type_hints(holder, globalns=namespace, localns=lazy))
    definitions: dict[str, Any] = {
        name: (
            hints[name],
            Field(... if spec.default is _REQUIRED else spec.default, **spec.constraints),
        )
        for name, spec in cls.__fields__.items()
    }
    checks = {
        f"check_{i}": field_validator(*names, mode=mode)(check)
        for i, (names, mode, check) in enumerate(cls.__checks__)
    }
    made: type[BaseModel] = create_model(
        cls.__name__,
        __config__=ConfigDict(**cls.__config__),  # type: ignore[typeddict-item]
        __validators__={**checks, **cls.__pydantic_validators__},
        __module__=cls.__module__,
        **definitions,
    )
    made.__qualname__ = cls.__qualname__
    cls._validator = made
    cls.__pydantic_complete__ = True
    return made
