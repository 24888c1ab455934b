"""Opens an hcmc posterior.nc group by group with xarray (as ArviZ users
do) and checks the layout: python3 check_posterior.py FILE [FILE2]. With a
second file, also checks that both hold byte-identical draws."""
import sys

import numpy as np
import xarray as xr

path = sys.argv[1]
post = xr.open_dataset(path, group="posterior")
stats = xr.open_dataset(path, group="sample_stats")
shards = xr.open_dataset(path, group="shards")
root = xr.open_dataset(path)
assert set(post.dims) == {"chain", "draw"}, post.dims
assert {"D0", "alpha", "D_offset", "sigma"} <= set(post.data_vars), list(post.data_vars)
assert set(stats.dims) == {"shard", "chain", "draw"}, stats.dims
for name in ["lp", "energy", "tree_depth", "step_size", "n_steps", "acceptance_rate",
             "diverging"]:
    assert name in stats.data_vars, name
assert stats["diverging"].dtype == bool, stats["diverging"].dtype
assert set(shards.dims) == {"shard", "chain", "draw"}
for key in ["hcmc_version", "config", "seed", "data_file", "data_checksum_fnv1a64",
            "created_at"]:
    assert key in root.attrs, key
assert np.all(np.isfinite(post["D0"].values))
if len(sys.argv) > 2:
    other = xr.open_dataset(sys.argv[2], group="posterior")
    for v in post.data_vars:
        assert np.array_equal(post[v].values, other[v].values), v
    other = xr.open_dataset(sys.argv[2], group="shards")
    for v in shards.data_vars:
        assert np.array_equal(shards[v].values, other[v].values, equal_nan=True), v
print("posterior.nc: ok")
