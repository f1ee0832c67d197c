"""Generic array behaviour of every public function (aliases included): ufunc
identity, type resolution, scalars, shapes, broadcasting, out=, layouts, errors,
pickling, docstrings."""

from __future__ import annotations

import pickle
import pydoc

import numpy as np
import pytest
from support import DTYPES, RECORDS, all_public, fp_errstate, public_name, raw_ufunc, special_values

import fastact

PUBLIC = [pytest.param(*c, id=c[0]) for c in all_public()]
UINT = {"float32": np.uint32, "float64": np.uint64}


def n_leading(kind: str) -> int:
    return 2 if kind == "backward" else 1


def ufunc_of(fn) -> np.ufunc:
    return fn if isinstance(fn, np.ufunc) else fn.ufunc


def call(name, kind, arrays, params=None, act=None, **kw):
    """Call public function ``name`` on its leading arrays, params defaulted."""
    fn = getattr(fastact, name)
    params = () if params is None else params
    with fp_errstate(name):
        return fn(*arrays, *params, **kw)


def sample(dtype, shape, rng, *, grad_out: bool = False) -> np.ndarray:
    """Random values with the interesting ones planted (NaN, infinities, zeros, subnormals).

    ``grad_out=True`` leaves out subnormal and tiny values: a tiny grad_out times a
    derivative below 1 underflows, which test_special_values covers on its own.
    """
    # |x| mostly below 25: every derivative stays far above the smallest normal, so
    # grad_out * derivative does not underflow (that case is test_special_values')
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    flat = x.reshape(-1)
    sv = special_values(dtype)
    if grad_out:
        sv = sv[~((np.abs(sv) <= np.finfo(dtype).tiny) & (sv != 0))]
    k = min(flat.size // 4, sv.size)
    flat[rng.choice(flat.size, k, replace=False)] = sv[:k]
    return x


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.view(UINT[a.dtype.name]), b.view(UINT[b.dtype.name]))
    )


# --------------------------------------------------------------------------------
# What the public objects are
# --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_is_or_wraps_a_ufunc(name, act, kind):
    fn = getattr(fastact, name)
    uf = ufunc_of(fn)
    assert isinstance(uf, np.ufunc)
    assert (fn is uf) == (not act.params)  # parameter-free: the real ufunc itself
    assert uf is raw_ufunc(act, kind)
    assert uf.__name__ == public_name(act, kind)  # aliases point at the canonical ufunc
    assert fn is getattr(fastact, public_name(act, kind))
    assert uf.nin == n_leading(kind) + len(act.params)
    assert uf.nout == 1
    nin = uf.nin
    assert uf.types == ["f" * nin + "->f", "d" * nin + "->d"]


@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_pickle_round_trip_is_identity(name, act, kind):
    fn = getattr(fastact, name)
    assert pickle.loads(pickle.dumps(fn)) is fn
    uf = ufunc_of(fn)
    assert pickle.loads(pickle.dumps(uf)) is uf


@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_help_shows_formula_and_accuracy(name, act, kind):
    text = pydoc.render_doc(getattr(fastact, name), renderer=pydoc.plaintext)
    assert (act.formula if kind == "forward" else act.grad_formula) in text
    assert "ULP" in text
    for p in act.params:
        assert p.name in text


def test_scalar_module_and_ufuncs_module_cover_the_registry():
    for act in RECORDS:
        for kind in ("forward", "grad", "backward"):
            n = public_name(act, kind)
            assert n in fastact.__all__ and n in fastact.scalar.__all__ and n in fastact.ufuncs.__all__
        for alias in act.aliases:
            assert getattr(fastact, alias) is getattr(fastact, act.name)


# --------------------------------------------------------------------------------
# Type resolution
# --------------------------------------------------------------------------------
def numpy_resolution(uf: np.ufunc, kind: str, nparams: int, in_dtype) -> np.dtype:
    """The loop NumPy's own type resolution picks: arrays of ``in_dtype``, Python
    float parameters (weak scalars, NEP 50)."""
    args = (np.dtype(in_dtype),) * n_leading(kind) + (float,) * nparams + (None,)
    return uf.resolve_dtypes(args)[-1]


@pytest.mark.parametrize(
    ("in_dtype", "expected"),
    [
        ("float32", "float32"),
        ("float64", "float64"),
        ("int64", "float64"),
        ("int32", "float64"),
        ("uint64", "float64"),
        ("float16", "float32"),
    ],
)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_result_dtype(name, act, kind, in_dtype, expected):
    x = np.arange(-3, 4).astype(in_dtype)
    got = call(name, kind, (x,) * n_leading(kind))
    assert got.dtype == np.dtype(expected)
    assert got.dtype == numpy_resolution(ufunc_of(getattr(fastact, name)), kind, len(act.params), in_dtype)
    # same values as the explicit cast to the loop's dtype
    assert same_bits(got, call(name, kind, (x.astype(expected),) * n_leading(kind)))


@pytest.mark.parametrize("in_dtype", ["bool", "int8", "int16", "uint8", "uint16"])
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_small_ints_and_bool_follow_numpy_casting(name, act, kind, in_dtype):
    """NumPy's safe casting decides (float32 for a ufunc with only float32/float64
    loops): a float result, never float16, never an integer."""
    x = np.array([0, 1, 1, 0]).astype(in_dtype)
    got = call(name, kind, (x,) * n_leading(kind))
    assert got.dtype.kind == "f" and got.dtype != np.float16
    assert same_bits(got, call(name, kind, (x.astype(got.dtype),) * n_leading(kind)))


@pytest.mark.parametrize("in_dtype", ["float32", "float64", "int64", "float16", "bool", "int8"])
@pytest.mark.parametrize(("name", "act", "kind"), [p for p in PUBLIC if p.values[1].params])
def test_omitted_parameter_means_its_default(name, act, kind, in_dtype):
    """``leaky_relu(x)`` is ``leaky_relu(x, 0.01)``: same dtype, same bits."""
    rng = np.random.default_rng(6)
    if in_dtype in ("float32", "float64"):
        x = sample(in_dtype, (40,), rng, grad_out=True)
    else:
        x = np.arange(-20, 20).astype(in_dtype)
    arrays = (x,) * n_leading(kind)
    # equal values, but not the record's very objects (a wrapper must not tell them apart)
    fresh = [float(repr(p.default)) for p in act.params]
    assert all(f is not p.default for f, p in zip(fresh, act.params, strict=True))
    omitted = call(name, kind, arrays)
    explicit = call(name, kind, arrays, fresh)
    keyword = call(name, kind, arrays, **{p.name: f for p, f in zip(act.params, fresh, strict=True)})
    assert omitted.dtype == explicit.dtype == keyword.dtype, (omitted.dtype, explicit.dtype, keyword.dtype)
    assert same_bits(omitted, explicit) and same_bits(omitted, keyword)


@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
@pytest.mark.parametrize(
    "bad",
    [np.array([1 + 1j]), np.array([1.0], dtype=object), np.array(["1.0"]), "x", 1j],
    ids=["complex", "object", "str-array", "str", "complex-scalar"],
)
def test_unsupported_inputs_raise_type_error(name, act, kind, bad):
    fn = getattr(fastact, name)
    good = np.ones(1)
    with pytest.raises(TypeError):
        fn(*([bad] + [good] * (n_leading(kind) - 1)))
    if kind == "backward":
        with pytest.raises(TypeError):
            fn(good, bad)


# --------------------------------------------------------------------------------
# Scalars, 0-d, empty, broadcasting
# --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_scalars_in_scalars_out(name, act, kind):
    for value, dtype in [
        (0.75, np.float64),
        (-2, np.float64),
        (np.float32(0.75), np.float32),
        (np.float64(-1.5), np.float64),
        (np.array(0.75, np.float32), np.float32),
    ]:
        got = call(name, kind, (value,) * n_leading(kind))
        assert isinstance(got, np.generic) and type(got) is dtype, (value, type(got))
        arr = call(name, kind, (np.array([value], dtype),) * n_leading(kind))
        assert same_bits(np.array([got]), arr)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_empty_arrays(name, act, kind, dtype):
    for shape in [(0,), (0, 3), (2, 0, 4)]:
        got = call(name, kind, (np.empty(shape, dtype),) * n_leading(kind))
        assert got.shape == shape and got.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_broadcasts(act, dtype):
    rng = np.random.default_rng(1)
    name = public_name(act, "backward")
    g = sample(dtype, (3, 1), rng, grad_out=True)
    x = sample(dtype, (1, 4), rng)
    got = call(name, "backward", (g, x))
    assert got.shape == (3, 4)
    gb, xb = (np.ascontiguousarray(a) for a in np.broadcast_arrays(g, x))
    assert same_bits(got, call(name, "backward", (gb, xb)))
    for i in range(3):
        for j in range(4):
            assert same_bits(got[i, j], call(name, "backward", (g[i, 0], x[0, j])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), [p for p in PUBLIC if p.values[1].params])
def test_parameters_as_arrays_broadcast(name, act, kind, dtype):
    """leaky_relu(x[:, None], slopes[None, :]): column j is leaky_relu(x, slopes[j])."""
    rng = np.random.default_rng(2)
    nlead = n_leading(kind)
    arrays = [sample(dtype, (6, 1), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    values = np.array([[p.default * f for f in (1, 0, 2, 20)] for p in act.params], dtype)
    params = [v[None, :] for v in values]
    got = call(name, kind, arrays, params)
    assert got.shape == (6, 4) and got.dtype == np.dtype(dtype)
    for j in range(4):
        column = call(name, kind, [a[:, 0] for a in arrays], [v[j] for v in values])
        assert same_bits(got[:, j], column)
    # keyword form of the parameters (the wrapper), equal to positional
    kw = {p.name: v[1] for p, v in zip(act.params, values, strict=True)}
    assert same_bits(call(name, kind, [a[:, 0] for a in arrays], **kw), got[:, 1])
    # the default is what leaving the parameter out means
    assert same_bits(
        call(name, kind, [a[:, 0] for a in arrays]),
        call(name, kind, [a[:, 0] for a in arrays], [dtype_p for dtype_p in values[:, 0]]),
    )


@pytest.mark.parametrize(("name", "act", "kind"), [p for p in PUBLIC if p.values[1].params])
def test_wrapper_rejects_wrong_arity(name, act, kind):
    fn = getattr(fastact, name)
    with pytest.raises(TypeError):
        fn()
    with pytest.raises(TypeError):
        fn(*([1.0] * (n_leading(kind) + len(act.params) + 1)))


# --------------------------------------------------------------------------------
# out=, layouts: every layout gives the bits of the contiguous computation
# --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_out_and_in_place(name, act, kind, dtype):
    rng = np.random.default_rng(3)
    nlead = n_leading(kind)
    arrays = [sample(dtype, (257,), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    expected = call(name, kind, arrays)
    out = np.empty_like(arrays[0])
    res = call(name, kind, arrays, out=out)
    assert res is out and same_bits(out, expected)
    res = call(name, kind, arrays, out=(out,))
    assert res is out and same_bits(out, expected)
    for i in range(nlead):  # in place over each input in turn
        work = [a.copy() for a in arrays]
        res = call(name, kind, work, out=work[i])
        assert res is work[i] and same_bits(work[i], expected)
    # non-contiguous out
    big = np.zeros(2 * 257, dtype)
    call(name, kind, arrays, out=big[::2])
    assert same_bits(big[::2], expected) and not big[1::2].any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_output_overlapping_an_input(name, act, kind, dtype):
    """An output in the same buffer as an input, a few elements behind or ahead of it,
    forwards or backwards, gives the results of separate arrays.  NumPy copies the
    input first where the output is ahead, but hands the loop the buffer itself
    where it is behind (computing the elements in order is right there): the loop
    must then not compute them out of order (it once did, the aligned main part
    before the head, and read inputs it had already overwritten)."""
    rng = np.random.default_rng(6)
    nlead = n_leading(kind)
    n, pad = 300, 20
    for i in range(nlead):  # the output overlaps input i
        for start in (0, 1, 5):  # the output's alignment
            for shift in (-17, -1, 1, 3, 16):  # the input's start relative to the output
                for step in (1, -1):
                    buf = sample(dtype, (n + 2 * pad + start,), rng, grad_out=i < nlead - 1)
                    arrays = [sample(dtype, (n,), rng, grad_out=j < nlead - 1) for j in range(nlead)]
                    lo = pad + start
                    out = buf[lo : lo + n][::step]
                    arrays[i] = buf[lo + shift : lo + shift + n][::step]
                    expected = call(name, kind, [a.copy() for a in arrays])
                    res = call(name, kind, arrays, out=out)
                    assert res is out and same_bits(out, expected), (i, start, shift, step)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_ufunc_keyword_dtype(name, act, kind, dtype):
    """dtype= selects the loop (and passes through the wrappers): the result is that
    of the inputs cast to it first."""
    rng = np.random.default_rng(3)
    nlead = n_leading(kind)
    arrays = [sample(dtype, (257,), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    if dtype == "float64":  # values that survive the cast to float32
        arrays = [np.where(np.abs(a) > 1e30, np.copysign(1e30, a), a) for a in arrays]
        arrays = [np.where((np.abs(a) < 1e-30) & (a != 0), 1e-30, a) for a in arrays]
    other = np.float64 if dtype == "float32" else np.float32
    got = call(name, kind, arrays, dtype=other)
    assert got.dtype == other
    assert same_bits(got, call(name, kind, [a.astype(other) for a in arrays]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_ufunc_keyword_where(name, act, kind, dtype):
    """where= with out= writes only the selected elements (a standard ufunc keyword)."""
    rng = np.random.default_rng(3)
    nlead = n_leading(kind)
    arrays = [sample(dtype, (257,), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    expected = call(name, kind, arrays)
    mask = np.arange(257) % 3 == 0
    filled = np.full(257, 7, dtype)
    call(name, kind, arrays, out=filled, where=mask)
    assert same_bits(filled[mask], expected[mask]) and (filled[~mask] == 7).all()


def _views(base: np.ndarray) -> dict[str, np.ndarray]:
    """Non-contiguous views of a (6, 20, 35) array."""
    flat = base.reshape(-1)
    return {
        "step3": flat[::3],
        # every other element (loaded as pairs and shuffled): from the first, and
        # the second column of two, whose last element ends the buffer
        "step2": flat[::2],
        "column-of-two": flat.reshape(-1, 2)[:, 1],
        "reversed": flat[::-1],
        "reversed-step2": flat[-2::-2],
        "transposed": base[0].T,
        "3d-slices": base[1:, 2:17, ::4],
        "3d-negative": base[::-2, ::3, ::-5],
        "fortran": np.asfortranarray(base),
        "broadcast-row": np.broadcast_to(base[0, 0], (20, 35)),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_layouts_match_contiguous_bitwise(name, act, kind, dtype):
    rng = np.random.default_rng(4)
    nlead = n_leading(kind)
    bases = [sample(dtype, (6, 20, 35), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    views = [_views(b) for b in bases]
    for key in views[0]:
        arrays = [v[key] for v in views]
        got = call(name, kind, arrays)
        expected = call(name, kind, [np.ascontiguousarray(a) for a in arrays])
        assert same_bits(got, expected), key
        # strided out as well
        out = np.empty(got.shape[::-1], dtype).T
        call(name, kind, arrays, out=out)
        assert same_bits(out, expected), key
    if act.params:
        # explicit scalar parameters (loaded once, arrays gathered) and a strided
        # parameter array (everything gathered), against elementwise contiguous calls
        arrays = [v["step3"] for v in views]
        contiguous = [np.ascontiguousarray(a) for a in arrays]
        scalars = tuple(np.dtype(dtype).type(0.5 * d + 0.25) for d in act.param_defaults)
        expected = call(name, kind, contiguous, scalars)
        assert same_bits(call(name, kind, arrays, scalars), expected)
        spread = [np.repeat(np.array([p], dtype), 2 * arrays[0].size)[::2] for p in scalars]
        assert same_bits(call(name, kind, arrays, spread), expected)
    if kind == "backward":  # mixed: strided grad_out with contiguous x and vice versa
        g, x = views[0]["step3"], views[1]["step3"]
        gc, xc = np.ascontiguousarray(g), np.ascontiguousarray(x)
        expected = call(name, kind, [gc, xc])
        assert same_bits(call(name, kind, [g, xc]), expected)
        assert same_bits(call(name, kind, [gc, x]), expected)


def _guarded(values: np.ndarray):
    """A copy of ``values`` (1-D) that ends exactly where a page the process may not
    touch begins (any read past it is a segmentation fault), and the mapping that
    holds it (the array keeps it alive)."""
    import ctypes
    import mmap

    page = mmap.PAGESIZE
    size = values.nbytes
    pages = -(-size // page)
    region = mmap.mmap(-1, (pages + 1) * page)
    start = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    assert libc.mprotect(start + pages * page, page, 0) == 0, ctypes.get_errno()  # 0: PROT_NONE
    guarded = np.frombuffer(region, values.dtype, values.size, pages * page - size)
    guarded[:] = values
    return guarded, region


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "gelu_backward", "elu", "relu_backward"])
def test_every_other_element_never_reads_past_the_view(name, dtype):
    """x[::2] goes through pairs of contiguous elements: the view of an array of odd
    length ends on the buffer's last element, and nothing beyond it is read (the
    next page is protected), at every length across the 16-value blocks and the
    4 KiB chunks."""
    kind = "backward" if name.endswith("_backward") else "forward"
    rng = np.random.default_rng(6)
    chunk = 4096 // np.dtype(dtype).itemsize
    for n in [*range(1, 40), chunk - 1, chunk, chunk + 1, chunk + 17, 2 * chunk + 33]:
        # (each view keeps its mapping alive; both go when the view does)
        arrays = [_guarded(sample(dtype, (2 * n - 1,), rng, grad_out=i < n_leading(kind) - 1))[0][::2]
                  for i in range(n_leading(kind))]
        expected = call(name, kind, [np.ascontiguousarray(a) for a in arrays])
        assert same_bits(call(name, kind, arrays), expected), n


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), PUBLIC)
def test_every_length_and_offset_matches_elementwise(name, act, kind, dtype):
    """Lengths 0..70 at odd offsets (vector bodies and remainders) equal scalar calls."""
    rng = np.random.default_rng(5)
    nlead = n_leading(kind)
    pool = [sample(dtype, (80,), rng, grad_out=i < nlead - 1) for i in range(nlead)]
    scalar = np.array([call(name, kind, [p[i] for p in pool]) for i in range(80)], dtype)
    for n in range(71):
        for off in (0, 1, 3):
            got = call(name, kind, [p[off : off + n] for p in pool])
            assert same_bits(got, scalar[off : off + n]), (n, off)
