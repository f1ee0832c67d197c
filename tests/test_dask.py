"""Dask and xarray: fastact's ufuncs work on their arrays through NumPy's ufunc protocol.

``fastact.sigmoid(dask_array)`` returns a lazy Dask array whose chunks are computed
by fastact; on a ``dask.distributed`` cluster the workers receive the ufunc by name
(pickle) and compile or load it themselves.  Results must equal the NumPy path
bitwise, dtype preserved.
"""

from __future__ import annotations

import dask.array as da  # the dask extra, part of the test extra
import distributed
import numpy as np
import pytest
import support
import xarray as xr

import fastact


def _arrays(act, kind: str, dtype: str, n: int = 10_007):
    """NumPy arguments of a public function and the same as chunked Dask arrays."""
    rng = np.random.default_rng(7)
    x = np.concatenate([support.special_values(dtype), rng.standard_normal(n) * 10]).astype(dtype)
    args = (x,) if kind != "backward" else (rng.standard_normal(x.size).astype(dtype), x)
    return args, tuple(da.from_array(a, chunks=1000) for a in args)


def _cases():
    for act in support.RECORDS:
        for kind in support.KINDS:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, kind, dtype, id=f"{support.public_name(act, kind)}-{dtype}")


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_cases()))
def test_dask_threaded_scheduler(act, kind, dtype):
    fn = support.public_function(act, kind)
    args, lazy = _arrays(act, kind, dtype)
    explicit = tuple(2 * p for p in act.param_defaults)  # non-default parameters too
    for params in ((), explicit):
        got = fn(*lazy, *params)
        assert isinstance(got, da.Array)
        assert got.dtype == np.dtype(dtype)
        computed = got.compute(scheduler="threads")
        expected = fn(*args, *params)
        assert computed.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(computed.view(np.uint8), expected.view(np.uint8))


@pytest.fixture(scope="module")
def cluster_client():
    # processes=True: workers are separate interpreters that unpickle the task
    # graph, import fastact and load its kernels from Numba's cache
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_dask_distributed_cluster(cluster_client):
    cases = [(support.public_function(act, kind), *_arrays(act, kind, dtype))
             for act in support.RECORDS for kind in support.KINDS for dtype in ("float32", "float64")]
    # every graph submitted at once: one round trip to the scheduler, not 276
    results = cluster_client.gather(cluster_client.compute([fn(*lazy) for fn, _, lazy in cases]))
    for (fn, args, _), got in zip(cases, results, strict=True):
        assert got.dtype == args[-1].dtype, fn.__name__
        np.testing.assert_array_equal(got.view(np.uint8), fn(*args).view(np.uint8), err_msg=fn.__name__)
    # the workers really ran fastact (it is imported there)
    assert all(cluster_client.run(lambda: "fastact.ufuncs" in __import__("sys").modules).values())


def test_dask_pipeline_on_cluster(cluster_client):
    x = da.random.default_rng(3).standard_normal(2_000_000, chunks=250_000).astype(np.float32) * 20
    total = cluster_client.compute(fastact.sigmoid(x).sum()).result()
    expected = fastact.sigmoid(x.compute()).astype(np.float64).sum()
    assert total.dtype == np.float32
    assert abs(float(total) - expected) <= 1e-4 * expected


def test_xarray_dataarray():
    x = np.linspace(-20, 20, 41, dtype=np.float32)
    arr = xr.DataArray(x.reshape(41, 1), dims=("t", "c"), coords={"t": np.arange(41)}, attrs={"units": "V"})
    for act in support.RECORDS:
        for kind in support.KINDS:
            fn = support.public_function(act, kind)
            args = (arr,) if kind != "backward" else (arr, arr)
            got = fn(*args)
            assert isinstance(got, xr.DataArray)
            assert got.dims == ("t", "c") and got.dtype == np.float32
            np.testing.assert_array_equal(got["t"].values, np.arange(41))
            plain = fn(*((x.reshape(41, 1),) if kind != "backward" else (x.reshape(41, 1),) * 2))
            np.testing.assert_array_equal(got.values, plain)


def test_xarray_on_dask():
    x = xr.DataArray(da.linspace(-5, 5, 1001, chunks=100, dtype=np.float64), dims="x")
    got = fastact.tanh(x)
    assert isinstance(got.data, da.Array)  # still lazy
    np.testing.assert_array_equal(got.compute().values, fastact.tanh(x.compute().values))
