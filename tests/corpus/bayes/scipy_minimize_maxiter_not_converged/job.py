"""Maximum-likelihood fit of a 10-d Rosenbrock-shaped objective (banana posterior) with Nelder-Mead."""
import numpy as np
from scipy.optimize import minimize, rosen

x0 = np.full(10, -1.2)
res = minimize(rosen, x0, method="Nelder-Mead", options={"maxiter": 2000})
print(res)
print("best parameters:", np.round(res.x, 3))
