"""Regression of house prices on size; the CSV export left missing sizes as NaN."""
import io

import numpy as np
import pandas as pd
import pymc as pm

csv = io.StringIO(
    "size_sqm,price_k\n"
    "52,210\n71,265\n,240\n95,330\n64,250\n120,410\n88,300\n,275\n47,190\n105,360\n"
)
df = pd.read_csv(csv)
print(df.describe())

with pm.Model() as model:
    alpha = pm.Normal("alpha", 0, 100)
    beta = pm.Normal("beta", 0, 10)
    sigma = pm.HalfNormal("sigma", 50)
    mu = alpha + beta * df["size_sqm"].values
    pm.Normal("price", mu, sigma, observed=df["price_k"].values)
    idata = pm.sample(draws=500, tune=500, chains=2, cores=2, random_seed=0)

print(idata.posterior["beta"].mean())
