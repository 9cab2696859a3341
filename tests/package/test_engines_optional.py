"""The engines memshare works with are optional: ``import memshare`` loads
none of them, nor the libraries whose objects it shares."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ["dask", "distributed", "joblib", "pandas", "pyarrow", "ray"]


def test_importing_memshare_loads_no_optional_package() -> None:
    code = (
        "import sys, memshare\n"
        "import memshare.objects, memshare.queues, memshare.integrations\n"
        f"print(sorted(set({OPTIONAL!r}) & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
