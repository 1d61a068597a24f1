#!/usr/bin/env python3
"""An importance matrix (llama.cpp's GGUF form) summarized as JSON: per entry the token count and
the mean, the largest and a few of its values (sums / count), so that two imatrix files, ours and
llama-imatrix's, can be compared without committing either. A small GGUF reader of its own: the
header, the key/value section (skipped by type), the tensor table and F32 data.
  imatrix_summary.py FILE.gguf > summary.json"""
import json
import struct
import sys

SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read(path):
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(SCALAR[t])

    assert data[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    _version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        ne = [take("Q") for _ in range(nd)]
        typ, off = take("I"), take("Q")
        tensors.append((name, ne, typ, off))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    out = {}
    for name, ne, typ, off in tensors:
        assert typ == 0, f"{name}: not F32"
        n = 1
        for x in ne:
            n *= x
        out[name] = struct.unpack_from(f"<{n}f", data, base + off)
    return kv, out


def main():
    kv, t = read(sys.argv[1])
    entries = {}
    for name in sorted(k[: -len(".in_sum2")] for k in t if k.endswith(".in_sum2")):
        sums, counts = t[name + ".in_sum2"], t[name + ".counts"]
        means = [s / counts[0] for s in sums]
        entries[name] = {"count": counts[0], "n": len(sums), "mean": sum(means) / len(means), "max": max(means),
                         "first": [round(v, 6) for v in means[:4]]}
    print(json.dumps({"chunk_count": kv.get("imatrix.chunk_count"), "chunk_size": kv.get("imatrix.chunk_size"),
                      "entries": entries}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
