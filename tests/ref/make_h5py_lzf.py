"""Writes h5py_lzf.h5: a small current-layout APS file whose maps are
compressed by h5py's own LZF filter (as the beamline pipelines write them),
so that test_aps checks hcmc's in-process LZF filter against the reference
implementation. Run with Debian's python3-h5py:
    /usr/bin/python3 tests/ref/make_h5py_lzf.py
Map k (k = 1, 2, 3) holds k + 0.001 (i + j) on its upper triangle; labels
1, 2, 3 map to natural bins 5, 4, 3 of a 2 x 3 q-phi grid."""
import numpy as np
import h5py

n = 24
with h5py.File("h5py_lzf.h5", "w") as f:
    f["xpcs/qmap/dynamic_v_list_dim0"] = np.array([0.003, 0.006])
    f["xpcs/qmap/dynamic_v_list_dim1"] = np.array([10.0, 20.0, 30.0], dtype=np.float32)
    f["xpcs/qmap/dynamic_index_mapping"] = np.array([5, 4, 3, 2, 1, 0], dtype=np.int64)
    f["xpcs/twotime/processed_bins"] = np.array([1, 2, 3], dtype=np.int32)
    i, j = np.indices((n, n))
    for k in (1, 2, 3):
        m = np.where(j >= i, k + 0.001 * (i + j), 0.0).astype(np.float32)
        f.create_dataset("xpcs/twotime/correlation_map/c2_%05d" % k, data=m,
                         chunks=(8, 8), compression="lzf")
    f["entry/instrument/detector_1/frame_time"] = np.array([[0.05]])
