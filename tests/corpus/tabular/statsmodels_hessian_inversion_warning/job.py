"""Logit churn model; the feature builder adds total spend next to its monthly parts."""
import numpy as np
import pandas as pd
import statsmodels.api as sm

rng = np.random.default_rng(0)
n = 400
df = pd.DataFrame({
    "spend_jan": rng.gamma(2, 20, n),
    "spend_feb": rng.gamma(2, 20, n),
    "tenure": rng.integers(1, 60, n),
})
df["spend_total"] = df["spend_jan"] + df["spend_feb"]
lin = 1.0 - 0.01 * df["spend_total"] - 0.03 * df["tenure"]
df["churn"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-lin))).astype(int)

X = sm.add_constant(df[["spend_jan", "spend_feb", "spend_total", "tenure"]])
res = sm.Logit(df["churn"], X).fit(method="bfgs", maxiter=200)
print(res.summary())
