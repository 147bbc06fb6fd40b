"""The Examples sections of public docstrings run and give what they say."""
import doctest

import pytest

import standoff.api
import standoff.network


@pytest.mark.parametrize("module", [standoff.network, standoff.api])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
