from mesh.bootstrap import run_service
from services.notification.main import build

run_service("notification", build)
