"""OLS with a formula; the formula names a column the data frame does not have."""
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

rng = np.random.default_rng(9)
n = 120
df = pd.DataFrame({
    "price": rng.normal(300, 50, n),
    "sqft": rng.normal(1500, 250, n),
    "bedrooms": rng.integers(1, 5, n),
})
print(df.head(3))
model = smf.ols("price ~ sqft + bedrooms + bathrooms", data=df)
res = model.fit()
print(res.summary())
