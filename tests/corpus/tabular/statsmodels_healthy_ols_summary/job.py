"""Healthy OLS fit; the summary carries statsmodels' standard Notes (condition number etc.)."""
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

rng = np.random.default_rng(17)
n = 300
df = pd.DataFrame({
    "sqft": rng.normal(1500, 300, n),
    "age": rng.integers(0, 80, n).astype(float),
    "rooms": rng.integers(1, 6, n),
})
df["price"] = 150 * df["sqft"] - 800 * df["age"] + 12000 * df["rooms"] + rng.normal(0, 25000, n)
df.loc[[5, 77, 140, 201], "age"] = np.nan
res = smf.ols("price ~ sqft + age + C(rooms)", data=df, missing="drop").fit()
print(f"nobs={int(res.nobs)} (4 rows with NaN age dropped)")
print(res.summary())
resid = res.resid
print(f"residual std error: {np.sqrt(res.scale):.1f}; mean_squared_error: {np.mean(resid**2):.1f}")
print(res.wald_test_terms(scalar=True))
