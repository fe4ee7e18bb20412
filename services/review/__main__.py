from mesh.bootstrap import run_service
from services.review.main import build

run_service("review", build)
