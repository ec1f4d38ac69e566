"""Forecast daily demand of 4 stores with statsforecast (AutoETS + seasonal naive), cross-validated."""
import warnings

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, SeasonalNaive

warnings.simplefilter("default")
rng = np.random.default_rng(0)
frames = []
for sid in range(4):
    ds = pd.date_range("2024-01-01", periods=200, freq="D")
    y = 50 + 10 * sid + 8 * np.sin(2 * np.pi * np.arange(200) / 7) + rng.normal(0, 2, 200)
    frames.append(pd.DataFrame({"unique_id": f"store_{sid}", "ds": ds, "y": y}))
df = pd.concat(frames, ignore_index=True)
df.loc[df.sample(6, random_state=0).index, "y"] = np.nan
n_nan = int(df["y"].isna().sum())
df["y"] = df.groupby("unique_id")["y"].transform(lambda s: s.interpolate())
print(f"filled {n_nan} NaN values by interpolation; {len(df)} rows")

sf = StatsForecast(models=[AutoETS(season_length=7), SeasonalNaive(season_length=7)], freq="D", n_jobs=1)
cv = sf.cross_validation(df=df, h=14, n_windows=2)
for m in ("AutoETS", "SeasonalNaive"):
    err = cv[m] - cv["y"]
    print(f"{m:14s} mean_absolute_error={err.abs().mean():.3f} root_mean_squared_error={np.sqrt((err ** 2).mean()):.3f}")
fc = sf.forecast(df=df, h=7)
print(fc.head(8))
