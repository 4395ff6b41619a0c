import pytest
from hypothesis import given, settings, strategies as st

from pandascreen.core import cbor

cbor2 = pytest.importorskip("cbor2")

values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 64), max_value=2 ** 64 - 1)
    | st.binary(max_size=300) | st.text(max_size=100),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_matches_cbor2_canonical(v):
    ours = cbor.dumps(v)
    assert ours == cbor2.dumps(v)
    assert cbor.loads(ours) == v


@pytest.mark.parametrize("data,msg", [
    (b"", "end"), (b"\x5a\xff\xff\xff\xff", "runs past"), (b"\xf9\x00\x00", "float"),
    (b"\xc1\x00", "tags"), (b"\x9f", "additional info"), (b"\x63\xff\xfe\xfd", "UTF-8"),
    (b"\x01\x02", "trailing"),
])
def test_errors_are_clear(data, msg):
    with pytest.raises(cbor.CBORError, match=msg):
        cbor.loads(data)


def test_depth_limit():
    data = b"\x81" * 100 + b"\x00"
    with pytest.raises(cbor.CBORError, match="deep"):
        cbor.loads(data)
