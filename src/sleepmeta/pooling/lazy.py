"""A cached property for the engine's batch results (:class:`.engine.BatchFit`)."""

from __future__ import annotations


class cached_property:  # noqa: N801 (functools.cached_property without its per-instance lock)
    """A property computed on first access and kept in the instance's ``__dict__``.

    (``functools.cached_property`` takes a lock on every first access in
    Python 3.11, which costs more than the arithmetic for a batch of one.)

    Examples
    --------
    >>> class A:
    ...     @cached_property
    ...     def x(self):
    ...         return [1]
    >>> a = A(); a.x is a.x
    True
    """

    def __init__(self, func):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value
