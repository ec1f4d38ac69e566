"""Cox model on a cohort where a treatment flag perfectly separates who had the event."""
import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

rng = np.random.default_rng(0)
n = 200
treated = rng.integers(0, 2, n)
age = rng.normal(60, 8, n)
week = rng.exponential(30, n).round(1) + 1
event = (treated == 0).astype(int)      # every untreated patient had the event, no treated patient did
df = pd.DataFrame({"week": week, "event": event, "treated": treated, "age": age})

cph = CoxPHFitter()
cph.fit(df, duration_col="week", event_col="event", show_progress=True)
cph.print_summary()
print("hazard ratio treated:", float(np.exp(cph.params_["treated"])))
