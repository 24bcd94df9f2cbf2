"""h5v2.py - the few format-2 reads the end-to-end tests need, straight from h5py.

Independent of analysis/load.py on purpose: the tests check the file against
docs/FORMAT.md, not against the reader users import.
"""
import numpy as np


def attrs(obj):
    """obj.attrs as a dict, strings decoded: attnsweep writes fixed-length string attributes
    (as netCDF does), which h5py returns as bytes."""
    return {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in obj.attrs.items()}


def rows(f):
    """{prompt id: row in /sweep}"""
    return {p: i for i, p in enumerate(f["sweep/prompt"].asstr()[()])}


def attention(f, pid):
    """[L, H, T, T] (store full) or [L, H, T] (store last_row) of one prompt, as stored."""
    i = rows(f)[pid] if isinstance(pid, str) else pid
    T = int(f["sweep/n_tokens"][i])
    L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
    store = attrs(f)["store"]
    if store == "full":
        a = int(f["sweep/attention_start"][i])
        return f["attention/full"][a:a + L * H * T * T].reshape(L, H, T, T)
    if store == "last_row":
        s = int(f["sweep/token_start"][i])
        return np.transpose(f["attention/last_row"][s:s + T], (1, 2, 0))
    return None


def token_ids(f, pid):
    i = rows(f)[pid] if isinstance(pid, str) else pid
    s, T = int(f["sweep/token_start"][i]), int(f["sweep/n_tokens"][i])
    return f["tokens/token_id"][s:s + T]


def metric(f, name, pid):
    """One prompt's row of a [prompt, ...] metrics column."""
    i = rows(f)[pid] if isinstance(pid, str) else pid
    return f["metrics/" + name][i]
