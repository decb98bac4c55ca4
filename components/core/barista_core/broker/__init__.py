"""Broker transport: one async interface, an AMQP (RabbitMQ) and an in-process implementation."""

from barista_core.broker.base import (
    DEAD_LETTER_REASON_HEADER,
    Broker,
    BrokerUnavailable,
    Delivery,
    Message,
    QueueSpec,
)
from barista_core.broker.topic import topic_matches

__all__ = [
    "DEAD_LETTER_REASON_HEADER",
    "Broker",
    "BrokerUnavailable",
    "Delivery",
    "Message",
    "QueueSpec",
    "topic_matches",
]
