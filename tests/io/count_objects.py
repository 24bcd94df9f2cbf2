#!/usr/bin/python3
"""count_objects.py FILE - print the number of HDF5 objects (groups + datasets, the root group
not counted) reachable in FILE, as h5py's visititems walks them (each object once, even when it
has several links). docs/FORMAT.md: a format-2 file holds a fixed set of objects whatever its
prompt count, so this number must not grow with the number of prompts.
  --verbose   also print the count of groups and of datasets on stderr
Exit 0, or 1 when FILE cannot be opened (2 = usage)."""
import sys

import h5py


def main():
    args = [x for x in sys.argv[1:] if x != "--verbose"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        f = h5py.File(args[0], "r")
    except OSError as e:
        print(f"count_objects: {args[0]}: {e}", file=sys.stderr)
        return 1
    groups, datasets = [], []
    with f:
        def visit(name, obj):
            (groups if isinstance(obj, h5py.Group) else datasets if isinstance(obj, h5py.Dataset)
             else []).append(name)
        f.visititems(visit)
    if "--verbose" in sys.argv[1:]:
        print(f"{args[0]}: {len(groups)} groups, {len(datasets)} datasets", file=sys.stderr)
    print(len(groups) + len(datasets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
