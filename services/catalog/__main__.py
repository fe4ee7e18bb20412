from mesh.bootstrap import run_service
from services.catalog.main import build

run_service("catalog", build)
