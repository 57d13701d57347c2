"""Every public callable of ``secdilemma`` has a docstring with an example that runs.

The examples themselves run in ``tests/test_doctests.py`` (and, for ``secdilemma.data``,
``tests/data/test_data_doctests.py``); this file checks that each public function and class
has one: a numpy-style ``Examples`` section with at least one ``>>>`` line.
"""

from __future__ import annotations

import doctest
import inspect
import re

import pytest

import secdilemma

#: Public callables: every name of ``secdilemma.__all__`` except plain values (``__version__``).
CALLABLES = sorted(n for n in secdilemma.__all__ if callable(getattr(secdilemma, n)))

_EXAMPLES = re.compile(r"^Examples\n-{8,}\n(?P<body>.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", re.M | re.S)


def examples_section(obj: object) -> str | None:
    """The text of ``obj``'s numpy-style ``Examples`` section, or ``None`` without one.

    Examples
    --------
    >>> def f():
    ...     '''Do nothing.
    ...
    ...     Examples
    ...     --------
    ...     >>> f()
    ...     '''
    >>> examples_section(f).strip()
    '>>> f()'
    >>> examples_section(len) is None
    True
    """
    doc = inspect.cleandoc(obj.__doc__ or "")  # its own: a class's is not inherited here
    m = _EXAMPLES.search(doc)
    return m.group("body") if m else None


def test_the_public_callables_are_listed():
    assert len(CALLABLES) >= 40
    assert "Study" in CALLABLES
    assert "__version__" not in CALLABLES


@pytest.mark.parametrize("name", CALLABLES)
def test_public_callable_has_an_example(name: str) -> None:
    obj = getattr(secdilemma, name)
    body = examples_section(obj)
    where = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', name)}"
    assert body is not None, f"secdilemma.{name} ({where}) has no 'Examples' section"
    assert re.search(r"^\s*>>> \S", body, re.M), (
        f"secdilemma.{name} ({where}): its 'Examples' section has no '>>>' line"
    )


def test_examples_section_helper():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(examples_section, globs=dict(globals())):
        runner.run(test)
    assert runner.tries > 0
    assert runner.failures == 0
    # an Examples section in a base class does not count for a subclass without its own

    class Base:
        """Base.

        Examples
        --------
        >>> Base()
        """

    class Child(Base):
        pass

    assert examples_section(Base) is not None
    assert examples_section(Child) is None
    # the section ends at the next numpy heading
    assert examples_section(_with_notes) == "\n"


def _with_notes() -> None:
    """Do nothing.

    Examples
    --------

    Notes
    -----
    >>> not_an_example()
    """
