"""Logit model of loan default with a tight iteration budget."""
import numpy as np
import pandas as pd
import statsmodels.api as sm

rng = np.random.default_rng(12)
n = 2000
df = pd.DataFrame({
    "income": rng.normal(55, 15, n),
    "debt_ratio": rng.uniform(0, 1, n),
    "late_payments": rng.poisson(0.7, n),
})
lin = -4 + 0.02 * df["income"] + 3.5 * df["debt_ratio"] + 0.9 * df["late_payments"]
df["default"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-lin))).astype(int)

X = sm.add_constant(df[["income", "debt_ratio", "late_payments"]])
res = sm.Logit(df["default"], X).fit(method="bfgs", maxiter=5)
print(res.summary())
print("pseudo R2: %.3f" % res.prsquared)
