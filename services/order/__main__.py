from mesh.bootstrap import run_service
from services.order.main import build

run_service("order", build)
