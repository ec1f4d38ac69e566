"""Binomial GLM of a pass/fail outcome on study hours (small pilot sample)."""
import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

df = pd.DataFrame({
    "hours": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0],
    "passed": [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
})
print(df.groupby("passed")["hours"].agg(["min", "max", "count"]))
res = smf.glm("passed ~ hours", data=df, family=sm.families.Binomial()).fit()
print(res.summary())
print("odds ratio per hour:", np.exp(res.params["hours"]))
