from mesh.bootstrap import run_service
from services.search.main import build

run_service("search", build)
