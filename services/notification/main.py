"""The one place that assembles the notification service."""

from __future__ import annotations

from shop.notification.v1 import notification_pb2, notification_pb2_grpc
from shop.user.v1 import user_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clients import CallAs
from mesh.clock import utc_now
from mesh.events import (
    EventConsumer,
    EventPublisher,
    PostgresProcessedEvents,
    RetryPolicy,
    topic_for,
)
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec

from .adapters.directory import GrpcUserDirectory
from .adapters.events import EventHandler
from .adapters.mail import SmtpSender, SmtpServer
from .adapters.postgres import PostgresNotificationStore
from .adapters.sms import SandboxSmsProvider
from .adapters.templates import TemplateRenderer
from .service_layer.delivery import Deliverer
from .service_layer.notifications import Notifier
from .service_layer.ports import EmailSender, SmsProvider
from .servicer import NotificationServicer
from .settings import Settings

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name
TOPICS = [topic_for("user"), topic_for("order"), topic_for("payment")]


async def build(
    runtime: Runtime, *, mail: EmailSender | None = None, sms: SmsProvider | None = None
) -> ServiceSpec:
    """`mail`/`sms` replace the configured transports (tests observe or break them)."""
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes what was opened, in reverse order.
    pool = await open_pool(
        settings.database_url, package="services.notification", max_size=settings.db_pool_max_size
    )
    runtime.cleanup.push_async_callback(pool.close)

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

    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id="notification", security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security=settings.kafka_security,
        group_id=settings.consumer_group,
        topics=TOPICS,
        handler=EventHandler(notifier),
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
    )
