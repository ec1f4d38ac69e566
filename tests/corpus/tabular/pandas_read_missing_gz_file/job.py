"""Load yesterday's compressed feature dump and fit a ridge regression."""
import datetime as dt
import pandas as pd
from sklearn.linear_model import Ridge

day = dt.date(2024, 3, 14)
path = f"features/daily_{day:%Y%m%d}.csv.gz"
print(f"reading features for {day}: {path}")
df = pd.read_csv(path, compression="gzip")
model = Ridge(alpha=1.0).fit(df.drop(columns="target"), df["target"])
print("coef:", model.coef_)
