from mesh.bootstrap import run_service
from services.cart.main import build

run_service("cart", build)
