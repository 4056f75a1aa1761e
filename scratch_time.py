import time, torch, numpy as np, sys
from nandc import zoo
from nandc.datasets import load_mnist5k
from nandc.nn.anneal import AnnealConfig, anneal_fit
torch.set_num_threads(1)
ds = load_mnist5k(image=True)
chan = tuple(int(c) for c in sys.argv[1].split(","))
dense = tuple(int(c) for c in sys.argv[2].split(",")) if sys.argv[2] else ()
m = zoo.conv_logic_mnist(channels=chan, dense=dense, residual=float(sys.argv[3]))
ep = int(sys.argv[4]); lr=float(sys.argv[5])
r = anneal_fit(m, ds.x_train, ds.y_train, AnnealConfig(epochs=ep, lr=lr, batch_size=100, hard_epochs=int(sys.argv[6])), progress=False)
print(r)
m.eval()
with torch.no_grad():
    acc = (m(torch.from_numpy(ds.x_test)).argmax(1).numpy() == ds.y_test).mean()
import nandc.nn as qnn
h = qnn.harden(m)
with torch.no_grad():
    acc2 = (h(torch.from_numpy(ds.x_test)).argmax(1).numpy() == ds.y_test).mean()
print("eval acc", acc, "hard acc", acc2)
