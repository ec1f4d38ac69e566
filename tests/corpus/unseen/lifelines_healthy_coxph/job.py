"""Cox proportional hazards on lifelines' bundled Rossi recidivism data, with a CV check."""
import warnings

from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.utils import k_fold_cross_validation

warnings.simplefilter("default")

df = load_rossi()
print(df.head())
n_before = len(df)
df = df.dropna()
print(f"dropped {n_before - len(df)} rows with NaN; {df['arrest'].sum()} events")

kmf = KaplanMeierFitter().fit(df["week"], df["arrest"], label="all")
print("median survival:", kmf.median_survival_time_)

cph = CoxPHFitter(penalizer=0.01)
cph.fit(df, duration_col="week", event_col="arrest", show_progress=True)
cph.print_summary(decimals=3)
scores = k_fold_cross_validation(CoxPHFitter(penalizer=0.01), df, "week", event_col="arrest", k=3,
                                 scoring_method="concordance_index", seed=0)
print("cv concordance:", [round(s, 3) for s in scores])
