"""Gradient boosting regressor on a CSV where one numeric column has a placeholder string ("unknown")."""
import io
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

csv = io.StringIO(
    "sqft,rooms,year_built,price\n"
    "1400,3,1995,250000\n"
    "1800,4,2001,320000\n"
    "950,2,1978,180000\n"
    "2100,4,unknown,410000\n"
    "1600,3,1988,275000\n"
    "1250,2,2010,240000\n"
)
df = pd.read_csv(csv)
print(df.dtypes.to_string())
model = GradientBoostingRegressor(n_estimators=20)
model.fit(df[["sqft", "rooms", "year_built"]], df["price"])
print("fitted")
