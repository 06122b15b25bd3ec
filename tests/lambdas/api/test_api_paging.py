"""Page tokens and limits of the read API."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from lambdas.api import paging
from lambdas.api.http import HttpError

json_states = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@hsettings(max_examples=200, deadline=None)
@given(state=json_states.filter(lambda s: s is not None))
def test_a_token_decodes_to_the_state_it_was_made_from(state):
    token = paging.encode(state)
    assert isinstance(token, str) and "=" not in token  # URL-safe, unpadded
    assert paging.decode(token) == state


def test_no_state_is_no_token():
    assert paging.encode(None) is None
    assert paging.decode(None) is None and paging.decode("") is None


@pytest.mark.parametrize("token", ["!!!", "%%%", "abc", "eyJ", "////", "\u00e9t\u00e9"])
def test_a_token_this_api_did_not_make_is_400_naming_next(token):
    with pytest.raises(HttpError) as caught:
        paging.decode(token)
    assert caught.value.status == 400 and caught.value.message.startswith("next:")


def test_the_default_page_holds_at_least_1000_items():
    assert paging.limit(None) >= 1000


@pytest.mark.parametrize("value", ["1", "2", "1000", str(paging.MAX_LIMIT)])
def test_limits_in_range_are_taken(value):
    assert paging.limit(value) == int(value)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", " 5", "1e3", "2.5", str(paging.MAX_LIMIT + 1), "9" * 40,
                                  "\u00b2"])
def test_limits_out_of_range_are_400_naming_limit(value):
    with pytest.raises(HttpError) as caught:
        paging.limit(value)
    assert caught.value.status == 400 and caught.value.message.startswith("limit:")
