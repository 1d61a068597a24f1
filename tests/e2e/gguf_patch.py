#!/usr/bin/env python3
"""Writes a copy of a GGUF file with one thing made hostile, for the tests: a metadata value
replaced in place (same size) or a tensor's first float set to NaN.
  gguf_patch.py IN OUT --kv KEY TYPE VALUE     TYPE: f32 | i32 | u32
  gguf_patch.py IN OUT --nan TENSOR            (an F32 tensor)
  gguf_patch.py IN OUT --rename OLD NEW        a tensor's name, or general.architecture's value
                                               when OLD is that value (NEW of the same length)"""
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
TYPES = {"u32": (4, "<I"), "i32": (5, "<i"), "f32": (6, "<f")}


def main():
    src, dst, what = sys.argv[1], sys.argv[2], sys.argv[3]
    b = bytearray(open(src, "rb").read())
    assert b[:4] == b"GGUF", "not a GGUF file"
    n_tensors, n_kv = struct.unpack_from("<QQ", b, 8)
    p = 24

    def string(p):
        n = struct.unpack_from("<Q", b, p)[0]
        return b[p + 8:p + 8 + n].decode(), p + 8 + n

    def skip(p, t):
        if t == 8:
            return string(p)[1]
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, p)
            p += 12
            for _ in range(n):
                p = skip(p, et)
            return p
        return p + SIZES[t]

    alignment, found = 32, False
    for _ in range(n_kv):
        key, p = string(p)
        t = struct.unpack_from("<I", b, p)[0]
        if what == "--kv" and key == sys.argv[4]:
            assert SIZES.get(t) == 4, f"{key}: not a 4-byte value"
            code, fmt = TYPES[sys.argv[5]]
            value = float(sys.argv[6]) if fmt == "<f" else int(sys.argv[6])
            struct.pack_into("<I", b, p, code)
            struct.pack_into(fmt, b, p + 4, value)
            found = True
        if what == "--rename" and key == "general.architecture" and string(p + 4)[0] == sys.argv[4]:
            assert len(sys.argv[5]) == len(sys.argv[4])
            b[p + 12:p + 12 + len(sys.argv[5])] = sys.argv[5].encode()
            found = True
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", b, p + 4)[0]
        p = skip(p + 4, t)
    tensors = {}
    for _ in range(n_tensors):
        if what == "--rename" and string(p)[0] == sys.argv[4]:
            assert len(sys.argv[5]) == len(sys.argv[4])
            b[p + 8:p + 8 + len(sys.argv[5])] = sys.argv[5].encode()
            found = True
        name, p = string(p)
        nd = struct.unpack_from("<I", b, p)[0]
        p += 4 + 8 * nd
        t, off = struct.unpack_from("<IQ", b, p)
        p += 12
        tensors[name] = (t, off)
    data = (p + alignment - 1) // alignment * alignment
    if what == "--nan":
        t, off = tensors[sys.argv[4]]
        assert t == 0, "--nan needs an F32 tensor"
        struct.pack_into("<f", b, data + off, float("nan"))
        found = True
    assert found, "nothing to patch"
    open(dst, "wb").write(bytes(b))


main()
