"""How to reach a broker: the one connection recipe every MQTT part shares."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from biofeedback.broker import BrokerUrl, MqttConfigError, MqttSettings
from biofeedback.models.record import record
from biofeedback.mqtt.outbox import Outgoing
from biofeedback.sensors import SourceError

log = logging.getLogger(__name__)


class BrokerUnavailable(SourceError):
    """The heart-rate broker could not be reached or refused us."""


@record(frozen=True)
class Broker:
    """How to reach one broker: URL, settings and the TLS context, checked once."""

    url: BrokerUrl
    settings: MqttSettings
    tls: ssl.SSLContext | None

    @classmethod
    def prepare(cls, url: BrokerUrl, settings: MqttSettings) -> Broker:
        """Raise ``MqttConfigError`` now for unreadable certificates, not mid-session."""
        tls = None
        if url.tls or settings.ca_file:
            try:
                tls = ssl.create_default_context(cafile=settings.ca_file)
                if settings.cert_file:
                    tls.load_cert_chain(settings.cert_file, settings.key_file)
            except (OSError, ssl.SSLError) as exc:
                files = [settings.ca_file, settings.cert_file, settings.key_file]
                named = ", ".join(f for f in files if f) or "the system's certificates"
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise MqttConfigError(
                    f"cannot use the MQTT TLS files ({named}): {reason}"
                ) from None
        return cls(url, settings, tls)

    def client(
        self,
        *,
        will: aiomqtt.Will | None = None,
        queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None,
        mqtt5: bool = False,
    ) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self.url.host,
            self.url.port,
            username=self.url.username or self.settings.username,
            password=self.settings.password,
            will=will,
            keepalive=15,
            timeout=5.0,
            tls_context=self.tls,
            queue_type=queue_type,
            # MQTT 5 where it is needed: message expiry on the retained state, and
            # hearing the broker refuse a publish (the record).
            protocol=aiomqtt.ProtocolVersion.V5 if mqtt5 else None,
            # Small telemetry messages must leave at once, not wait for Nagle.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # A batch of QoS 1 publishes in flight is normal here, not worth a warning.
        client.pending_calls_threshold = 64
        return client


def explain(exc: BaseException) -> str:
    """One line about a broker failure; never the credentials."""
    text = str(exc).strip() or type(exc).__name__
    if "authori" in text.lower() or "username or password" in text.lower():
        return f"the broker refused our credentials ({text})"
    return text


def dumps(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def expiring(message: Outgoing) -> Properties | None:
    """The MQTT 5 properties that make the broker drop ``message`` when it expires."""
    if message.expiry_s is None:
        return None
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho: untyped
    properties.MessageExpiryInterval = message.expiry_s
    return properties
