"""Label a ~150 MB upload through the Predict page (AppTest), as issue 5 asks the app to.

Run by hand: ``python benchmarks/upload_150mb.py``. Generates 2.8M customers (~155 MB CSV)
in a temporary folder, uploads it to the Predict page of an in-process app with a fresh
model store, and prints the labeling time, the rows labeled, whether a download is
offered, the process's peak resident memory, and a warm rerun's time.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from segmentation.data.synthetic import generate_customers
    from segmentation.data.write import write_csv

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SEGMENTATION_MODELS_DIR"] = str(Path(tmp) / "models")
        csv = Path(tmp) / "customers_150mb.csv"
        write_csv(generate_customers(2_800_000, seed=5), csv)
        data = csv.read_bytes()
        print(f"file: {len(data) / 2**20:,.0f} MB")
        at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=1800).run()
        at.switch_page("pages/3_Predict.py").run()
        uploader = next(u for u in at.file_uploader if u.key.startswith("predict.uploader"))
        start = time.perf_counter()
        uploader.set_value((csv.name, data, "text/csv"))
        at.run()
        print(
            f"labeled in {time.perf_counter() - start:.1f} s; exception: {bool(at.exception)}; "
            f"errors: {[e.value for e in at.error]}"
        )
        print("result:", [s.value for s in at.success])
        print("download offered:", bool(at.get("download_button")))
        print(f"peak resident memory: {peak_mb():,.0f} MB")
        start = time.perf_counter()
        at.run()
        print(f"warm rerun: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
