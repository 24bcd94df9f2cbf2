#!/usr/bin/python3
"""small_gguf.py SRC DST N - a fuzz seed (tests/fuzz/run_fuzz.sh): the vocabulary-only GGUF SRC with
its token, score and token-type arrays cut to their first N entries, every other key kept.
A small valid GGUF lets a size-limited fuzz run (ATTNSWEEP_FUZZ_MAX_LEN) reach the whole
GGUF vocabulary path; the full file stays a seed too."""
import struct, sys
src, dst, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = open(src, "rb").read()
o = 0
def rd(fmt):
    global o
    v = struct.unpack_from("<" + fmt, b, o); o += struct.calcsize("<" + fmt); return v[0]
def rstr():
    global o
    n = rd("Q"); s = b[o:o + n]; o += n; return s
SC = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def rval(t):
    if t == 8: return rstr()
    if t == 9:
        et, n = rd("I"), rd("Q")
        return (et, [rval(et) for _ in range(n)])
    return rd(SC[t])
assert b[:4] == b"GGUF"; o = 4
ver, nt, nkv = rd("I"), rd("Q"), rd("Q")
assert nt == 0, "a vocabulary-only GGUF"
kv = [(rstr(), t := rd("I"), rval(t)) for _ in range(nkv)]
out = bytearray(b"GGUF" + struct.pack("<IQQ", ver, 0, nkv))
def wstr(s): out.extend(struct.pack("<Q", len(s)) + s)
def wval(t, v):
    if t == 8: wstr(v)
    elif t == 9:
        et, a = v; out.extend(struct.pack("<IQ", et, len(a)))
        for x in a: wval(et, x)
    else: out.extend(struct.pack("<" + SC[t], v))
for k, t, v in kv:
    if t == 9 and k in (b"tokenizer.ggml.tokens", b"tokenizer.ggml.scores", b"tokenizer.ggml.token_type"):
        v = (v[0], v[1][:N])
    wstr(k); out.extend(struct.pack("<I", t)); wval(t, v)
out.extend(b"\0" * (-len(out) % 32))
open(dst, "wb").write(out)
