"""Nightly retrain: the upstream extract wrote an empty file."""
import os
import tempfile
import pandas as pd
from xgboost import XGBRegressor

workdir = tempfile.TemporaryDirectory()
path = os.path.join(workdir.name, "sales_extract.csv")
open(path, "w").close()   # upstream job produced 0 bytes
print("extract size:", os.path.getsize(path), "bytes")
df = pd.read_csv(path)
model = XGBRegressor(n_estimators=50).fit(df.drop(columns="units"), df["units"])
