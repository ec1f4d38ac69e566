"""Build user x item interaction features by a cross join in polars (job runs under a 400 MB memory cgroup)."""
import numpy as np
import polars as pl

rng = np.random.default_rng(0)
users = pl.DataFrame({"user_id": np.arange(20_000), "age": rng.integers(18, 80, 20_000)})
items = pl.DataFrame({"item_id": np.arange(5_000), "price": rng.gamma(2.0, 10.0, 5_000)})
print("users", users.shape, "items", items.shape)
pairs = users.join(items, how="cross").with_columns((pl.col("price") / pl.col("age")).alias("price_per_year"))
print("pairs", pairs.shape)
print(pairs.select(pl.col("price_per_year").mean()))
