"""The one place where exceptions become gRPC statuses."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from grpc import aio
from grpc_status import rpc_status

from mesh.errors import (
    DeadlineExceededError,
    DomainError,
    InternalError,
    UnavailableError,
    to_rpc_status,
)
from mesh.interceptors.base import CallInterceptor, Continuation

__all__ = ["ErrorInterceptor", "abort_with"]

logger = logging.getLogger(__name__)


async def abort_with(context: aio.ServicerContext[Any, Any], error: DomainError) -> None:
    status = rpc_status.to_status(to_rpc_status(error))
    await context.abort(status.code, status.details, status.trailing_metadata)


class ErrorInterceptor(CallInterceptor):
    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        try:
            return await call_next(request, context)
        except DomainError as error:
            if error.code is grpc.StatusCode.INTERNAL:
                logger.error("internal error in %s: %s", method, error.message)
            await abort_with(context, error)
        except aio.AbortError:
            raise
        except aio.AioRpcError as error:
            await abort_with(context, _downstream_error(method, error))
        except Exception:
            logger.exception("unhandled exception in %s", method)
            await abort_with(context, InternalError("internal error"))
        return None  # unreachable: abort raises


def _downstream_error(method: str, error: aio.AioRpcError) -> DomainError:
    # These mean the same for our caller (retry later / out of time); any other downstream
    # status is our own failure (a bug or a contract mismatch) and becomes INTERNAL.
    code = error.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return UnavailableError("a dependency is unavailable")
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceededError("a dependency did not answer in time")
    logger.error("downstream call failed in %s: %s %s", method, code.name, error.details())
    return InternalError("internal error")
