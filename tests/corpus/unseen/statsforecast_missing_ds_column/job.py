"""Forecast sales from an export whose date column is called `date` instead of `ds`."""
import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA

rng = np.random.default_rng(1)
df = pd.DataFrame({
    "unique_id": np.repeat(["sku_1", "sku_2"], 120),
    "date": np.tile(pd.date_range("2024-01-01", periods=120, freq="D"), 2),
    "y": rng.poisson(20, 240).astype(float),
})
print(df.head())
sf = StatsForecast(models=[AutoARIMA(season_length=7)], freq="D")
fc = sf.forecast(df=df, h=14)
print(fc)
