"""The one place that assembles the notification service."""

from __future__ import annotations

from datetime import UTC, datetime

from shop.notification.v1 import notification_pb2, notification_pb2_grpc
from shop.user.v1 import user_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clients import CallAs
from mesh.events import (
    EventConsumer,
    EventPublisher,
    PostgresProcessedEvents,
    RetryPolicy,
    topic_for,
)
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec
from services.notification.adapters.directory import GrpcUserDirectory
from services.notification.adapters.mail import EmailSender, SmtpSender, SmtpServer
from services.notification.adapters.postgres import PostgresNotificationStore
from services.notification.adapters.sms import SandboxSmsProvider, SmsProvider
from services.notification.adapters.templates import TemplateRenderer
from services.notification.delivery import Deliverer
from services.notification.notifier import Notifier
from services.notification.servicer import NotificationServicer
from services.notification.settings import Settings

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name
TOPICS = [topic_for("user"), topic_for("order"), topic_for("payment")]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def build(
    runtime: Runtime, *, mail: EmailSender | None = None, sms: SmsProvider | None = None
) -> ServiceSpec:
    """`mail`/`sms` replace the configured transports (tests observe or break them)."""
    settings = Settings.from_env(runtime.environ)
    pool = await open_pool(
        settings.database_url, package="services.notification", max_size=settings.db_pool_max_size
    )

    store = PostgresNotificationStore(pool)
    deliverer = Deliverer(
        store,
        mail
        or SmtpSender(
            SmtpServer.from_url(settings.smtp_url),
            settings.smtp_from,
            timeout_seconds=settings.smtp_timeout_seconds,
        ),
        sms or SandboxSmsProvider(settings.sms_sandbox_file),
        settings.delivery,
        utc_now,
        message_id_domain=settings.message_id_domain,
    )
    users = user_pb2_grpc.UserServiceStub(runtime.channels.channel("user", call_as=CallAs.SERVICE))
    notifier = Notifier(store, deliverer, TemplateRenderer(), GrpcUserDirectory(users))
    servicer = NotificationServicer(notifier)

    publisher = EventPublisher(settings.kafka_bootstrap_servers, client_id="notification")
    await publisher.start()
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        topics=TOPICS,
        handler=notifier.handle_event,
        # The delivery log dedupes each message itself; the processed mark skips a
        # redelivered event early and makes a concurrent duplicate wait for the first.
        processed=PostgresProcessedEvents(pool),
        dead_letters=publisher,
        # Delivery retries (with backoff, counted in the log) happen inside the handler;
        # these only cover the database or directory being briefly away.
        retry=RetryPolicy(attempts=3, first_delay=0.5),
        tracer=runtime.tracer_provider.get_tracer("notification"),
    )

    return ServiceSpec(
        name="notification",
        services=[SERVICE_NAME],
        register=[
            lambda server: notification_pb2_grpc.add_NotificationServiceServicer_to_server(
                servicer, server
            )
        ],
        probes={"postgres": pool_probe(pool)},
        background=[consumer.run],
        cleanup=[pool.close, publisher.stop],
    )
