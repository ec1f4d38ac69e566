"""Fit a logistic model on a whitespace-separated export (measurements.txt)."""
import pandas as pd
import statsmodels.api as sm

df = pd.read_table("exports/measurements.txt", sep=r"\s+")
X = sm.add_constant(df[["dose", "weight"]])
res = sm.Logit(df["response"], X).fit()
print(res.summary())
