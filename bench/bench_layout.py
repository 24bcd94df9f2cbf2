#!/usr/bin/python3
"""bench_layout.py - why format 2 stores full attention as one flat dataset (docs/FORMAT.md,
"Storage choices"): one HDF5 dataset per prompt versus one flat dataset with per-prompt starts,
measured with h5py on scratch files.

For N prompts (default 1000 and 5000) with small [L, H, T, T] blocks (T drawn in [tmin, tmax]):
  per-prompt    one group holding N datasets p000000 ... (contiguous, allocated early, never
                filled, link creation order tracked as format 1 did), one block each
  group+scales  format 1's shape: a group per prompt with the block and 4 dimension scales
                (layer, head, query, key) attached to its axes
  flat          one dataset of sum(L*H*T^2) elements + int64 starts[N] + int32 n_tokens[N]
Both files use the format's settings (libver v18..latest, no object timestamps) and the same
number of raw-data writes (one per prompt, through h5py's low-level API, as src/io does).
Measured:
  (a) creation: creating the datasets, writing the blocks, closing (flush); file size, and the
      overhead = file size - attention bytes (HDF5 metadata, plus the starts columns for flat)
  (b) reading one prompt's block: open the file + read one random prompt + close (flat: read its
      start and count first), and, with the file open, one random prompt's block (flat: with the
      starts, counts and the dataset handle held, as analysis/load.py holds them)
(median over --repeat runs, page cache warm). Prints a table and the per-prompt / flat ratios.
Files go to a fresh folder under --dir (default: $TMPDIR or /tmp) and are removed at the end.

usage: bench_layout.py [--n 1000,5000] [--layers 4] [--heads 4] [--tmin 8] [--tmax 24]
                       [--dtype float16] [--reads 200] [--repeat 3] [--dir DIR] [--keep]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import h5py
import numpy as np

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--n", default="1000,5000", help="prompt counts, comma-separated")
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--tmin", type=int, default=8)
ap.add_argument("--tmax", type=int, default=24)
ap.add_argument("--dtype", default="float16", choices=["float16", "float32"])
ap.add_argument("--reads", type=int, default=200, help="random prompts read per measurement")
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
ap.add_argument("--keep", action="store_true", help="keep the scratch files")
a = ap.parse_args()
L, H = a.layers, a.heads
DT = np.dtype(a.dtype)
FTYPE = h5py.h5t.IEEE_F16LE if a.dtype == "float16" else h5py.h5t.IEEE_F32LE


def fapl():
    p = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    p.set_libver_bounds(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_LATEST)
    return p


def dcpl():
    p = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    p.set_layout(h5py.h5d.CONTIGUOUS)
    p.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    p.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    p.set_obj_track_times(False)
    return p


def gcpl(track_order):
    p = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    p.set_obj_track_times(False)
    if track_order:
        p.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    return p


def h5type(dt):
    return FTYPE if dt.kind == "f" else h5py.h5t.py_create(dt)


def new_dataset(loc, name, shape, dt, pl):
    return h5py.h5d.create(loc, name.encode(), h5type(dt), h5py.h5s.create_simple(shape), dcpl=pl)


def create_per_prompt(path, blocks):
    t0 = time.perf_counter()
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl())
    g = h5py.h5g.create(fid, b"attention", gcpl=gcpl(True))
    pl = dcpl()
    dsets = [new_dataset(g, f"p{i:06d}", b.shape, DT, pl) for i, b in enumerate(blocks)]
    t1 = time.perf_counter()
    for d, b in zip(dsets, blocks):
        d.write(h5py.h5s.ALL, h5py.h5s.ALL, b)
    t2 = time.perf_counter()
    del dsets, g
    fid.close()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def create_v1_like(path, blocks):
    """Format 1's shape: a group per prompt holding the block and its own layer / head / query /
    key dimension scales, attached to the block's axes (format 1 also had token datasets and
    attributes there; they are left out)."""
    t0 = time.perf_counter()
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl())
    root = h5py.h5g.create(fid, b"prompts", gcpl=gcpl(True))
    pl = dcpl()
    dsets = []
    for i, b in enumerate(blocks):
        g = h5py.h5g.create(root, f"p{i:06d}".encode(), gcpl=gcpl(True))
        d = new_dataset(g, "attention", b.shape, DT, pl)
        for ax, (name, n) in enumerate(zip(("layer", "head", "query", "key"), b.shape)):
            sc = new_dataset(g, name, (n,), np.dtype("<i4"), pl)
            sc.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(n, dtype=np.int32))
            h5py.h5ds.set_scale(sc, name.encode())
            h5py.h5ds.attach_scale(d, sc, ax)
        dsets.append(d)
    t1 = time.perf_counter()
    for d, b in zip(dsets, blocks):
        d.write(h5py.h5s.ALL, h5py.h5s.ALL, b)
    t2 = time.perf_counter()
    del dsets, root
    fid.close()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def create_flat(path, blocks):
    sizes = np.array([b.size for b in blocks], np.int64)
    starts = np.zeros(len(blocks), np.int64)
    starts[1:] = np.cumsum(sizes)[:-1]
    t0 = time.perf_counter()
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl())
    g = h5py.h5g.create(fid, b"attention", gcpl=gcpl(False))
    pl = dcpl()
    full = new_dataset(g, "full", (int(sizes.sum()),), DT, pl)
    sd = new_dataset(g, "attention_start", (len(blocks),), np.dtype("<i8"), pl)
    nd = new_dataset(g, "n_tokens", (len(blocks),), np.dtype("<i4"), pl)
    sd.write(h5py.h5s.ALL, h5py.h5s.ALL, starts)
    nd.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([b.shape[-1] for b in blocks], np.int32))
    t1 = time.perf_counter()
    fspace = full.get_space()
    for s, b in zip(starts, blocks):
        fspace.select_hyperslab((int(s),), (b.size,))
        full.write(h5py.h5s.create_simple((b.size,)), fspace, b.ravel())
    t2 = time.perf_counter()
    del full, sd, nd, g
    fid.close()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def read_per_prompt(f, k):
    return f[f"attention/p{k:06d}"][()]


def read_v1_like(f, k):
    return f[f"prompts/p{k:06d}/attention"][()]


def read_flat(f, k, starts=None, ntok=None, full=None):
    if starts is None:  # a reader that opened the file for this one prompt
        g = f["attention"]
        s, t = int(g["attention_start"][k]), int(g["n_tokens"][k])
        full = g["full"]
    else:  # a reader holding the index (starts, counts) and the dataset open, as load.py does
        s, t = int(starts[k]), int(ntok[k])
    return full[s:s + L * H * t * t].reshape(L, H, t, t)


def bench_reads(path, layout, n, rng, blocks):
    ks = rng.integers(0, n, a.reads)
    # open + read one prompt + close
    t0 = time.perf_counter()
    for k in ks:
        with h5py.File(path, "r") as f:
            x = READ[layout](f, k)
    t_open = (time.perf_counter() - t0) / len(ks)
    assert np.array_equal(x, blocks[ks[-1]])
    # file open: one prompt's block (flat: starts and counts read once, as a reader's index)
    with h5py.File(path, "r") as f:
        if layout != "flat":
            t0 = time.perf_counter()
            for k in ks:
                x = READ[layout](f, k)
        else:
            starts, ntok = f["attention/attention_start"][()], f["attention/n_tokens"][()]
            full = f["attention/full"]
            t0 = time.perf_counter()
            for k in ks:
                x = read_flat(f, k, starts, ntok, full)
        t_read = (time.perf_counter() - t0) / len(ks)
    assert np.array_equal(x, blocks[ks[-1]])
    return t_open, t_read


LAYOUTS = [("per-prompt", create_per_prompt), ("group+scales", create_v1_like), ("flat", create_flat)]
READ = {"per-prompt": read_per_prompt, "group+scales": read_v1_like, "flat": read_flat}


def main():
    work = tempfile.mkdtemp(prefix="attnsweep-bench-layout-", dir=a.dir)
    rows = []
    try:
        for n in [int(x) for x in a.n.split(",")]:
            rng = np.random.default_rng(n)
            T = rng.integers(a.tmin, a.tmax + 1, n)
            blocks = [rng.random((L, H, t, t)).astype(DT) for t in T]
            att_bytes = sum(b.nbytes for b in blocks)
            for layout, create in LAYOUTS:
                path = os.path.join(work, f"{layout}-{n}.h5")
                runs = [create(path, blocks) for _ in range(a.repeat)]
                c, w, cl = (statistics.median(r[i] for r in runs) for i in range(3))
                size = os.path.getsize(path)
                reads = [bench_reads(path, layout, n, rng, blocks) for _ in range(a.repeat)]
                t_open = statistics.median(r[0] for r in reads)
                t_read = statistics.median(r[1] for r in reads)
                n_obj = []
                with h5py.File(path, "r") as f:
                    f.visititems(lambda name, o: n_obj.append(name))
                rows.append(dict(n=n, layout=layout, create=c, write=w, close=cl, total=c + w + cl,
                                 size=size, overhead=size - att_bytes, objects=len(n_obj),
                                 open_read=t_open, read=t_read, att=att_bytes))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"files kept in {work}")
    print(f"bench_layout: h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version}, {a.dtype} blocks "
          f"[L={L}, H={H}, T, T], T in [{a.tmin}, {a.tmax}], median of {a.repeat} runs, "
          f"{a.reads} random prompts per read figure, scratch files in {a.dir}")
    hdr = (f"{'N':>6} {'layout':<12} {'objects':>7} {'create s':>9} {'write s':>8} {'close s':>8} "
           f"{'total s':>8} {'ms/prompt':>9} {'file MB':>8} {'overhead kB':>11} {'B/prompt':>8} "
           f"{'open+read ms':>12} {'read ms':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['n']:>6} {r['layout']:<12} {r['objects']:>7} {r['create']:>9.3f} {r['write']:>8.3f} "
              f"{r['close']:>8.3f} {r['total']:>8.3f} {1e3 * r['total'] / r['n']:>9.3f} "
              f"{r['size'] / 1e6:>8.2f} {r['overhead'] / 1e3:>11.1f} {r['overhead'] / r['n']:>8.0f} "
              f"{1e3 * r['open_read']:>12.3f} {1e3 * r['read']:>8.3f}")
    print()
    print("ratios to flat:")
    for n in sorted({r["n"] for r in rows}):
        q = next(r for r in rows if r["n"] == n and r["layout"] == "flat")
        for lay, _ in LAYOUTS[:-1]:
            p = next(r for r in rows if r["n"] == n and r["layout"] == lay)
            print(f"  N={n} {lay}: creating the datasets {p['create'] / q['create']:.0f}x, creation + writes "
                  f"{p['total'] / q['total']:.1f}x (+{1e3 * (p['total'] - q['total']) / n:.3f} ms/prompt), "
                  f"overhead {p['overhead'] / q['overhead']:.0f}x (+{(p['overhead'] - q['overhead']) / n:.0f} "
                  f"B/prompt), open+read {p['open_read'] / q['open_read']:.2f}x, read {p['read'] / q['read']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
