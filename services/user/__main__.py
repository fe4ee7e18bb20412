from mesh.bootstrap import run_service
from services.user.main import build

run_service("user", build)
