"""Set-up shared by the benchmark scripts; import it before numpy.

One BLAS/OpenMP thread per process (figures are per core), the plugin importable as ``glasar``
(build/pluginpath/glasar links to the checkout, as in the tests), and ``pin_one_core`` to keep
the process on one CPU.
"""
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PATH = REPO / "build" / "pluginpath"
if not (PLUGIN_PATH / "glasar").exists():
    PLUGIN_PATH.mkdir(parents=True, exist_ok=True)
    (PLUGIN_PATH / "glasar").symlink_to(REPO, target_is_directory=True)
if str(PLUGIN_PATH) not in sys.path:
    sys.path.insert(0, str(PLUGIN_PATH))


def pin_one_core():
    """Keep this process on one CPU (like ``taskset -c 0``); returns the CPU list, or '?'."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return sorted(os.sched_getaffinity(0))
    return "?"
