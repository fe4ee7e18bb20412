from mesh.bootstrap import run_service
from services.analytics.main import build

run_service("analytics", build)
