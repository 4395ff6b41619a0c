"""iroh's bindings take bytes in one copy (node/iroh_ffi_bytes.py): what crosses is unchanged, and
bindings of another shape are left alone."""
import types

from pandascreen.node import iroh_ffi_bytes


def test_a_node_hands_iroh_its_bytes_in_one_copy_and_unchanged():
    import pandascreen.node.iroh_transport  # noqa: F401  (the node installs it when it loads iroh)
    from iroh import iroh_ffi
    assert iroh_ffi._UniffiRustBufferBuilder.write is iroh_ffi_bytes._write
    for size in (0, 1, 7, 65536, 300_001):
        data = bytes((i * 7 + size) & 0xFF for i in range(size))
        assert iroh_ffi._UniffiFfiConverterBytes.lift(iroh_ffi._UniffiFfiConverterBytes.lower(data)) == data
        assert iroh_ffi._UniffiFfiConverterBytes.lift(iroh_ffi._UniffiFfiConverterBytes.lower(bytearray(data))) == data


def test_bindings_of_another_shape_are_left_as_they_are():
    assert iroh_ffi_bytes.install(types.SimpleNamespace()) is False

    class Builder:
        def write(self, value):
            pass
    Builder._reserve = None  # has the names, but a round trip does not give the bytes back

    class Converter:
        @staticmethod
        def lower(value):
            return value[:1]

        @staticmethod
        def lift(value):
            return value
    slow = Builder.write
    assert iroh_ffi_bytes.install(types.SimpleNamespace(_UniffiRustBufferBuilder=Builder,
                                                        _UniffiFfiConverterBytes=Converter)) is False
    assert Builder.write is slow
