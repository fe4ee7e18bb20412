from mesh.bootstrap import run_service
from services.payment.main import build

run_service("payment", build)
