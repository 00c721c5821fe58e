"""MQTT: publish a session's telemetry, take heart rate from a broker, watch runners.

The only package that imports aiomqtt. Three parts share one connection recipe
(``Broker``): ``MqttPublisher`` (a session sink), ``MqttSource`` (a live
heart-rate source) and ``watch_runners`` (the monitor's feed). The schema of
what is published lives in ``biofeedback.telemetry``.

Broker trouble never reaches the session: the publisher keeps a bounded
outbox, reconnects with backoff, and only counts what it could not deliver.
Credentials come from the environment or the config file, never from the
command line, and never appear in a log line or an error message.
"""

from biofeedback.mqtt.connection import Broker, BrokerUnavailable
from biofeedback.mqtt.outbox import Outbox, Outgoing
from biofeedback.mqtt.publisher import MqttPublisher, PublisherCounts
from biofeedback.mqtt.source import MqttSource
from biofeedback.mqtt.watch import watch_runners

__all__ = [
    "Broker",
    "BrokerUnavailable",
    "MqttPublisher",
    "MqttSource",
    "Outbox",
    "Outgoing",
    "PublisherCounts",
    "watch_runners",
]
