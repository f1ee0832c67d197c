"""``python -m fastact`` / ``fastact``: versions, the kernel list and a quick speed check."""

from __future__ import annotations

import argparse
import platform
import sys


def _info(quick_n: int) -> int:
    import numba
    import numpy as np

    import fastact as fa
    from fastact._timing import best_time
    from fastact.peers import peers

    print(f"fastact {fa.__version__}  (numba {numba.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()})")
    print("\nactivations (forward, _grad, _backward; float32 and float64 ufunc loops):")
    for act in fa.REGISTRY.values():
        params = ", ".join(f"{p.name}={p.default}" for p in act.params)
        bound = "/".join(f"{b:g}" for b in act.ulp_bound.values())
        alias = f"  aliases: {', '.join(act.aliases)}" if act.aliases else ""
        print(f"  {act.name + ('(x, ' + params + ')' if params else '(x)'):34} {act.formula:40} "
              f"<= {bound} ULP (f32/f64){alias}")
    print(f"\nquick speed check, n = {quick_n}, float32, single thread (time relative to fastact; >1 = slower):")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(quick_n) * 4).astype(np.float32)
    g = rng.standard_normal(quick_n).astype(np.float32)
    out = np.empty_like(x)
    for act in fa.REGISTRY.values():
        fn = fa.ufuncs.__dict__[act.name]
        t_fa = best_time(lambda: fn(x, *act.param_defaults, out=out), 0.1)
        rows = [f"memcpy {best_time(lambda: np.copyto(out, x), 0.1) / t_fa:.2f}"]
        for peer, make in peers(act.name).items():
            rows.append(f"{peer} {best_time(make(x, g, out, *act.param_defaults), 0.1) / t_fa:.2f}")
        print(f"  {act.name:12} " + "  ".join(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fastact", description="fast, accurate activation functions")
    sub = ap.add_subparsers(dest="command")
    info = sub.add_parser("info", help="versions, kernels and a quick speed check (the default)")
    info.add_argument("-n", type=int, default=1_000_000, help="array size of the speed check")
    a = ap.parse_args(argv)
    return _info(getattr(a, "n", 1_000_000))


if __name__ == "__main__":
    sys.exit(main())
