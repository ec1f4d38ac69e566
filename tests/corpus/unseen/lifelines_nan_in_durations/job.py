"""Weibull AFT on a churn export where a few customers have no end date (duration NaN)."""
import numpy as np
import pandas as pd
from lifelines import WeibullAFTFitter

rng = np.random.default_rng(5)
n = 300
df = pd.DataFrame({
    "plan": rng.integers(0, 3, n),
    "monthly_spend": rng.normal(40, 10, n),
    "tenure_days": rng.weibull(1.5, n) * 400,
    "churned": rng.integers(0, 2, n),
})
df.loc[[7, 91, 250], "tenure_days"] = np.nan
print(df.describe())

aft = WeibullAFTFitter()
aft.fit(df, duration_col="tenure_days", event_col="churned")
aft.print_summary()
