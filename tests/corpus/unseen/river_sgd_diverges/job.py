"""Online linear regression on unscaled house prices with a too-large learning rate."""
import random
import warnings
from river import linear_model, metrics, optim

warnings.simplefilter("default")
random.seed(1)

model = linear_model.LinearRegression(optimizer=optim.SGD(lr=0.5), intercept_lr=0.5)
rmse = metrics.RMSE()
for i in range(3000):
    sqft = random.uniform(500, 4000)
    rooms = random.randint(1, 6)
    x = {"sqft": sqft, "rooms": rooms}
    y = 150 * sqft + 10000 * rooms + random.gauss(0, 5000)
    y_pred = model.predict_one(x)
    rmse.update(y, y_pred)
    model.learn_one(x, y)
    if i % 300 == 0:
        print(f"step {i:5d}  {rmse}  weights={model.weights}")
print("training finished:", rmse)
