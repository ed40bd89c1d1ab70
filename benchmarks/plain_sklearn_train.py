"""The plain scikit-learn script that ``python -m segmentation train --k 5`` is compared with.

Run ``python benchmarks/plain_sklearn_train.py CUSTOMERS.csv [ID_COLUMN]``. It reads the
file with pyarrow (to pandas), drops the id column (default ``CustomerID``), imputes,
scales and one-hot encodes in one ``ColumnTransformer`` (median + ``StandardScaler`` for
the numeric columns, most frequent + ``OneHotEncoder`` for the rest) and fits
``KMeans(5, n_init=10, random_state=42)``: what someone would write by hand, with nothing
saved. Prints the inertia, so a broken fit cannot pass unnoticed.
"""

import sys

import pyarrow.csv as pa_csv
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main(path: str, id_column: str = "CustomerID") -> None:
    data = pa_csv.read_csv(path).to_pandas().drop(columns=id_column)
    numeric = list(data.select_dtypes("number").columns)
    categorical = [c for c in data.columns if c not in numeric]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ]
    )
    model = make_pipeline(preprocess, KMeans(5, n_init=10, random_state=42)).fit(data)
    print(f"inertia {model[-1].inertia_:.6g}")


if __name__ == "__main__":
    main(*sys.argv[1:])
