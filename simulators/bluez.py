"""BlueZ as bleak sees it: one adapter, devices and their GATT tables on D-Bus.

This is an impersonation of ``bluetoothd`` good enough for bleak's real Linux
backend (facts in DESIGN.md section 5): ``GetManagedObjects`` on ``/``,
``InterfacesAdded``/``InterfacesRemoved`` and ``PropertiesChanged`` signals
under ``/org/bluez``, discovery that reports devices through RSSI updates,
``Connect``/``Disconnect``, GATT objects that exist before ``ServicesResolved``
turns true and vanish on disconnect, and notifications as ``Value`` changes
after ``StartNotify``. What a device serves is up to its owner (the strap).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any

from dbus_fast import AuthError, Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus

from biofeedback.models.record import record
from simulators import SimulatorError

log = logging.getLogger(__name__)

BLUEZ = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_IFACE = "org.bluez.Adapter1"
MONITOR_MANAGER_IFACE = "org.bluez.AdvertisementMonitorManager1"
DEVICE_IFACE = "org.bluez.Device1"
SERVICE_IFACE = "org.bluez.GattService1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"
DESC_IFACE = "org.bluez.GattDescriptor1"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER_IFACE = "org.freedesktop.DBus.ObjectManager"
INTROSPECT_IFACE = "org.freedesktop.DBus.Introspectable"

ERR_FAILED = "org.bluez.Error.Failed"
ERR_NOT_READY = "org.bluez.Error.NotReady"
ERR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERR_NOT_PERMITTED = "org.bluez.Error.NotPermitted"
ERR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERR_DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"
ERR_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
ERR_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
ERR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"

# What bluetoothd answers when an LE connection cannot be made (BlueZ < 5.62
# wording; newer wordings make bleak wait for a "Connected" change instead).
CONNECT_FAILED_TEXT = "Software caused connection abort"

CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"
DEFAULT_MTU = 23

Props = dict[str, Variant]


def uuid16(short: int) -> str:
    """The full UUID of a 16-bit Bluetooth SIG number."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


class BluezError(Exception):
    """Becomes a D-Bus error reply: ``name`` and one line of ``text``."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name
        self.text = text


class BusUnavailableError(SimulatorError):
    """The bus cannot be reached, or org.bluez is taken there."""


class AttError(Exception):
    """An ATT error code a characteristic answers with (e.g. 0x80)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"ATT error 0x{code:02x}")
        self.code = code


Reply = tuple[str, list[Any]]


class DBusObject:
    """A node in the tree; subclasses answer their interfaces' methods."""

    async def call(self, interface: str, member: str, body: list[Any], sender: str) -> Reply:
        raise BluezError(ERR_UNKNOWN_METHOD, f"{interface}.{member} does not exist")

    def client_gone(self, sender: str) -> None:
        """``sender`` left the bus; drop whatever it held."""


# --------------------------------------------------------------------------
# The object tree and its signals


class ObjectServer:
    """Owns the tree under ``/org/bluez``, answers the standard interfaces,
    routes method calls and sends the signals bluetoothd sends."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.objects: dict[str, dict[str, Props]] = {}
        self._nodes: dict[str, DBusObject] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        bus.add_message_handler(self._on_message)

    async def start(self) -> None:
        """Own ``org.bluez`` and hear about clients leaving the bus."""
        reply = await self.bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
            )
        )
        if reply.message_type is MessageType.ERROR:
            raise BusUnavailableError(f"the bus refused to tell us who leaves: {reply.body}")
        owned = await self.bus.request_name(BLUEZ, NameFlag.DO_NOT_QUEUE)
        if owned is not RequestNameReply.PRIMARY_OWNER:
            raise BusUnavailableError(
                f"{BLUEZ} is already taken on this bus (a real bluetoothd, or another"
                " virtual strap); use --private-bus"
            )

    def add(self, path: str, interfaces: dict[str, Props], node: DBusObject) -> None:
        self.objects[path] = interfaces
        self._nodes[path] = node
        self._signal("/", OBJECT_MANAGER_IFACE, "InterfacesAdded", "oa{sa{sv}}", [path, interfaces])

    def add_interface(self, path: str, interface: str, props: Props) -> None:
        self.objects[path][interface] = props
        self._signal(
            "/", OBJECT_MANAGER_IFACE, "InterfacesAdded", "oa{sa{sv}}", [path, {interface: props}]
        )

    def remove(self, path: str) -> None:
        interfaces = self.objects.pop(path, None)
        self._nodes.pop(path, None)
        if interfaces is not None:
            self._signal(
                "/", OBJECT_MANAGER_IFACE, "InterfacesRemoved", "oas", [path, list(interfaces)]
            )

    def set(self, path: str, interface: str, *, always: bool = False, **changed: Variant) -> None:
        """Change properties and tell everyone, as bluetoothd does.

        Unchanged values are not announced, except with ``always`` (a
        notification repeating the last value is still a notification).
        """
        props = self.objects[path][interface]
        really = {k: v for k, v in changed.items() if always or k not in props or props[k] != v}
        if not really:
            return
        props.update(really)
        self._signal(path, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", [interface, really, []])

    def invalidate(self, path: str, interface: str, *names: str) -> None:
        props = self.objects[path][interface]
        gone = [n for n in names if props.pop(n, None) is not None]
        if gone:
            self._signal(path, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", [interface, {}, gone])

    def get(self, path: str, interface: str, name: str) -> Any:
        return self.objects[path][interface][name].value

    def _signal(self, path: str, interface: str, member: str, sig: str, body: list[Any]) -> None:
        self.bus.send(Message.new_signal(path, interface, member, sig, body))

    # -- incoming messages

    def _on_message(self, msg: Message) -> Message | bool | None:
        if msg.message_type is MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.sender == "org.freedesktop.DBus":
                name, _old, new = msg.body
                if not new:
                    for node in list(self._nodes.values()):
                        node.client_gone(name)
            return None
        if msg.message_type is not MessageType.METHOD_CALL:
            return None
        path, interface, member = msg.path or "", msg.interface or "", msg.member or ""
        if interface == OBJECT_MANAGER_IFACE and member == "GetManagedObjects" and path == "/":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [self.objects])
        if interface == INTROSPECT_IFACE and member == "Introspect":
            return Message.new_method_return(msg, "s", [self._introspect(path)])
        if path not in self.objects:
            return Message.new_error(
                msg,
                ERR_UNKNOWN_OBJECT,
                f'Method "{member}" with signature "{msg.signature}" on interface'
                f' "{interface}" doesn\'t exist',
            )
        if interface == PROPS_IFACE:
            return self._properties(msg, path, member)
        if interface not in self.objects[path]:
            return Message.new_error(msg, ERR_UNKNOWN_METHOD, f"no interface {interface} here")
        task = asyncio.get_running_loop().create_task(self._dispatch(msg, self._nodes[path]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _dispatch(self, msg: Message, node: DBusObject) -> None:
        try:
            sig, body = await node.call(
                msg.interface or "", msg.member or "", list(msg.body), msg.sender or ""
            )
            reply = Message.new_method_return(msg, sig, body)
        except BluezError as exc:
            reply = Message.new_error(msg, exc.name, exc.text)
        except Exception as exc:  # the peer must get an answer, not a hang
            log.exception("%s.%s failed", msg.interface, msg.member)
            reply = Message.new_error(msg, ERR_FAILED, f"internal error: {type(exc).__name__}")
        if self.bus.connected:
            self.bus.send(reply)

    def _properties(self, msg: Message, path: str, member: str) -> Message:
        body = list(msg.body)
        interfaces = self.objects[path]
        interface = body[0] if body else ""
        if interface not in interfaces:
            return Message.new_error(msg, ERR_INVALID_ARGS, f"No such interface '{interface}'")
        props = interfaces[interface]
        if member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [props])
        if member == "Get" and len(body) == 2:
            if body[1] not in props:
                return Message.new_error(msg, ERR_INVALID_ARGS, f"No such property '{body[1]}'")
            return Message.new_method_return(msg, "v", [props[body[1]]])
        if member == "Set" and len(body) == 3:
            name, value = body[1], body[2]
            if name not in props or props[name].signature != value.signature:
                return Message.new_error(msg, ERR_INVALID_ARGS, f"Cannot set '{name}'")
            self.set(path, interface, **{name: value})
            return Message.new_method_return(msg)
        return Message.new_error(msg, ERR_UNKNOWN_METHOD, f"Properties.{member} not understood")

    def _introspect(self, path: str) -> str:
        prefix = path.rstrip("/") + "/"
        children = sorted(
            {p[len(prefix) :].split("/")[0] for p in self.objects if p.startswith(prefix)}
        )
        parts = ['<node name="' + path + '">']
        parts += [f'<interface name="{i}"/>' for i in self.objects.get(path, {})]
        parts += [f'<node name="{c}"/>' for c in children]
        return "".join(parts) + "</node>"

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# --------------------------------------------------------------------------
# The adapter


class Adapter(DBusObject):
    """``/org/bluez/hci0``: discovery sessions per client, reported as RSSI updates."""

    def __init__(
        self,
        server: ObjectServer,
        *,
        address: str = "00:1A:7D:DA:71:13",
        powered: bool = True,
        report_interval_s: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.server = server
        self.path = ADAPTER_PATH
        self.report_interval_s = report_interval_s
        self.devices: list[Device] = []
        self._sessions: dict[str, frozenset[str] | None] = {}
        self._filters: dict[str, frozenset[str] | None] = {}
        self._discovery: asyncio.Task[None] | None = None
        self._rng = random.Random(seed)
        server.add(
            self.path,
            {
                ADAPTER_IFACE: {
                    "Address": Variant("s", address),
                    "AddressType": Variant("s", "public"),
                    "Name": Variant("s", "virtual-hci0"),
                    "Alias": Variant("s", "virtual-hci0"),
                    "Class": Variant("u", 0),
                    "Powered": Variant("b", powered),
                    "PowerState": Variant("s", "on" if powered else "off"),
                    "Discoverable": Variant("b", False),
                    "DiscoverableTimeout": Variant("u", 180),
                    "Pairable": Variant("b", True),
                    "PairableTimeout": Variant("u", 0),
                    "Discovering": Variant("b", False),
                    "UUIDs": Variant("as", []),
                    "Modalias": Variant("s", "usb:v1D6Bp0246d0540"),
                    "Roles": Variant("as", ["central", "peripheral"]),
                },
                MONITOR_MANAGER_IFACE: {
                    "SupportedMonitorTypes": Variant("as", ["or_patterns"]),
                    "SupportedFeatures": Variant("as", []),
                },
            },
            self,
        )

    @property
    def powered(self) -> bool:
        return bool(self.server.get(self.path, ADAPTER_IFACE, "Powered"))

    @property
    def discovering(self) -> bool:
        return bool(self._sessions)

    async def call(self, interface: str, member: str, body: list[Any], sender: str) -> Reply:
        if interface == MONITOR_MANAGER_IFACE and member in (
            "RegisterMonitor",
            "UnregisterMonitor",
        ):
            # Accepted, never fed: passive scanning is not simulated.
            return "", []
        if interface != ADAPTER_IFACE:
            return await super().call(interface, member, body, sender)
        if member == "SetDiscoveryFilter":
            uuids = body[0].get("UUIDs")
            self._filters[sender] = (
                frozenset(u.lower() for u in uuids.value) if uuids and uuids.value else None
            )
            return "", []
        if member == "GetDiscoveryFilters":
            return "as", [["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData"]]
        if member == "StartDiscovery":
            if not self.powered:
                raise BluezError(ERR_NOT_READY, "Resource Not Ready")
            self._sessions[sender] = self._filters.get(sender)
            self._update_discovery()
            return "", []
        if member == "StopDiscovery":
            if sender not in self._sessions:
                raise BluezError(ERR_FAILED, "No discovery started")
            del self._sessions[sender]
            self._update_discovery()
            return "", []
        if member == "RemoveDevice":
            device = next((d for d in self.devices if d.path == body[0]), None)
            if device is None or not device.known:
                raise BluezError(ERR_DOES_NOT_EXIST, "Does Not Exist")
            await device.forget()
            return "", []
        return await super().call(interface, member, body, sender)

    def client_gone(self, sender: str) -> None:
        self._filters.pop(sender, None)
        if self._sessions.pop(sender, 0) != 0:
            self._update_discovery()

    def _update_discovery(self) -> None:
        self.server.set(self.path, ADAPTER_IFACE, Discovering=Variant("b", self.discovering))
        if self.discovering and self._discovery is None:
            self._discovery = asyncio.get_running_loop().create_task(self._discover())
        elif not self.discovering and self._discovery is not None:
            self._discovery.cancel()
            self._discovery = None
            for device in self.devices:
                if device.known:
                    # bluetoothd forgets RSSI when discovery stops.
                    self.server.invalidate(device.path, DEVICE_IFACE, "RSSI")

    def _wanted(self, device: Device) -> bool:
        filters = list(self._sessions.values())
        if any(f is None for f in filters):
            return True
        wanted = frozenset().union(*(f for f in filters if f is not None))
        return bool(wanted & device.advertised_uuids)

    async def _discover(self) -> None:
        while True:
            for device in self.devices:
                if device.advertising and self._wanted(device):
                    device.advertisement_seen(device.rssi_dbm + self._rng.randint(-4, 4))
            await asyncio.sleep(self.report_interval_s)


# --------------------------------------------------------------------------
# Devices and their GATT tables


@record
class CharSpec:
    """One characteristic a device serves; ``read``/``write`` give its behaviour."""

    uuid: str
    flags: tuple[str, ...]
    read: Callable[[], bytes] | None = None
    write: Callable[[bytes], None] | None = None


@record
class ServiceSpec:
    """A GATT service of the virtual strap: its UUID and characteristics."""

    uuid: str
    chars: list[CharSpec] = field(default_factory=list)


class _GattNode(DBusObject):
    def __init__(self, device: Device, char: CharSpec | None, path: str) -> None:
        self.device = device
        self.char = char
        self.path = path

    async def call(self, interface: str, member: str, body: list[Any], sender: str) -> Reply:
        return await self.device.gatt_call(self, interface, member, body, sender)

    def client_gone(self, sender: str) -> None:
        self.device.notify_client_gone(self.path, sender)


class Device(DBusObject):
    """A peripheral: advertises while in range, connects, serves GATT.

    ``known`` becomes true once discovery first reports it (then its object
    exists on the bus). A connection attempt while out of range waits for the
    device to come back, up to ``connect_timeout_s``, then fails as BlueZ does.
    """

    def __init__(
        self,
        server: ObjectServer,
        adapter: Adapter,
        *,
        address: str,
        name: str,
        services: Sequence[ServiceSpec],
        advertised: Sequence[str],
        appearance: int = 0,
        rssi_dbm: int = -60,
        connect_timeout_s: float = 4.0,
        link_delay_s: float = 0.02,
    ) -> None:
        self.server = server
        self.adapter = adapter
        self.address = address.upper()
        self.name = name
        self.path = f"{adapter.path}/dev_{self.address.replace(':', '_')}"
        self.services = list(services)
        self.advertised_uuids = frozenset(u.lower() for u in advertised)
        self.appearance = appearance
        self.rssi_dbm = rssi_dbm
        self.connect_timeout_s = connect_timeout_s
        self.link_delay_s = link_delay_s
        self.known = False
        self.connected = False
        self.connections = 0
        self.services_resolved = False
        self._in_range = asyncio.Event()
        self._in_range.set()
        self._abort_connect = asyncio.Event()
        self._connecting = False
        self._gatt_paths: list[str] = []
        self._char_paths: dict[str, str] = {}
        self._notify_sessions: dict[str, set[str]] = {}
        self._back_in_range: asyncio.TimerHandle | None = None
        self.on_connected: list[Callable[[], None]] = []
        self.on_disconnected: list[Callable[[str], None]] = []
        self.on_notify_started: list[Callable[[str], None]] = []
        adapter.devices.append(self)

    @property
    def in_range(self) -> bool:
        return self._in_range.is_set()

    @property
    def advertising(self) -> bool:
        return self.in_range

    # -- discovery

    def advertisement_seen(self, rssi_dbm: int) -> None:
        if not self.known:
            self.known = True
            self.server.add(self.path, {DEVICE_IFACE: self._device_props(rssi_dbm)}, self)
        else:
            self.server.set(self.path, DEVICE_IFACE, RSSI=Variant("n", rssi_dbm))

    def _device_props(self, rssi_dbm: int) -> Props:
        return {
            "Address": Variant("s", self.address),
            "AddressType": Variant("s", "random"),
            "Name": Variant("s", self.name),
            "Alias": Variant("s", self.name),
            "Appearance": Variant("q", self.appearance),
            "Paired": Variant("b", False),
            "Bonded": Variant("b", False),
            "Trusted": Variant("b", False),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "Connected": Variant("b", False),
            "ServicesResolved": Variant("b", False),
            "UUIDs": Variant("as", sorted(self.advertised_uuids)),
            "Adapter": Variant("o", self.adapter.path),
            "ServiceData": Variant("a{sv}", {}),
            "ManufacturerData": Variant("a{qv}", {}),
            "RSSI": Variant("n", rssi_dbm),
        }

    async def forget(self) -> None:
        """RemoveDevice: disconnect, then drop the object until seen again."""
        if self.connected:
            self._disconnect("removed")
        self.known = False
        self.server.remove(self.path)

    # -- the link

    def drop(self, out_of_range_s: float = 0.0) -> None:
        """Lose the link (out of range, flat battery...) for ``out_of_range_s``."""
        if out_of_range_s > 0:
            self.leave()
            self._back_in_range = asyncio.get_running_loop().call_later(
                out_of_range_s, self.come_back
            )
        elif self.connected:
            self._disconnect("link lost")

    def leave(self) -> None:
        """Out of range until ``come_back``: the link drops, advertising stops."""
        self._cancel_return()
        self._in_range.clear()
        self._abort_connect.set()
        if self.connected:
            self._disconnect("link lost")

    def come_back(self) -> None:
        self._cancel_return()
        self._in_range.set()

    def _cancel_return(self) -> None:
        if self._back_in_range is not None:
            self._back_in_range.cancel()
            self._back_in_range = None

    async def call(self, interface: str, member: str, body: list[Any], sender: str) -> Reply:
        if interface != DEVICE_IFACE:
            return await super().call(interface, member, body, sender)
        if member == "Connect":
            await self._connect()
            return "", []
        if member == "Disconnect":
            if self._connecting:
                self._abort_connect.set()
                return "", []
            if not self.connected:
                raise BluezError(ERR_NOT_CONNECTED, "Not Connected")
            self._disconnect("local")
            return "", []
        if member == "Pair":
            self.server.set(
                self.path, DEVICE_IFACE, Paired=Variant("b", True), Bonded=Variant("b", True)
            )
            return "", []
        if member == "CancelPairing":
            return "", []
        return await super().call(interface, member, body, sender)

    async def _connect(self) -> None:
        if self.connected:
            return
        if self._connecting:
            raise BluezError(ERR_IN_PROGRESS, "In Progress")
        if not self.adapter.powered:
            raise BluezError(ERR_NOT_READY, "Resource Not Ready")
        self._connecting = True
        self._abort_connect.clear()
        try:
            if not await self._wait_in_range():
                raise BluezError(ERR_FAILED, CONNECT_FAILED_TEXT)
            await asyncio.sleep(self.link_delay_s)
            if not self.in_range or self._abort_connect.is_set():
                raise BluezError(ERR_FAILED, CONNECT_FAILED_TEXT)
        finally:
            self._connecting = False
        self.connected = True
        self.connections += 1
        self.server.set(self.path, DEVICE_IFACE, Connected=Variant("b", True))
        # Services resolve a moment after the connection, as with a GATT cache.
        asyncio.get_running_loop().call_later(self.link_delay_s, self._resolve_services)
        for callback in self.on_connected:
            callback()

    async def _wait_in_range(self) -> bool:
        in_range = asyncio.ensure_future(self._in_range.wait())
        aborted = asyncio.ensure_future(self._abort_connect.wait())
        try:
            await asyncio.wait(
                {in_range, aborted},
                timeout=self.connect_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            in_range.cancel()
            aborted.cancel()
        return self.in_range and not self._abort_connect.is_set()

    def _resolve_services(self) -> None:
        if not self.connected or self.services_resolved:
            return
        handle = 0x0010
        for service in self.services:
            service_path = f"{self.path}/service{handle:04x}"
            self.server.add(
                service_path,
                {
                    SERVICE_IFACE: {
                        "UUID": Variant("s", service.uuid),
                        "Device": Variant("o", self.path),
                        "Primary": Variant("b", True),
                        "Includes": Variant("ao", []),
                        "Handle": Variant("q", handle),
                    }
                },
                _GattNode(self, None, service_path),
            )
            self._gatt_paths.append(service_path)
            handle += 1
            for char in service.chars:
                char_path = f"{service_path}/char{handle:04x}"
                props: Props = {
                    "UUID": Variant("s", char.uuid),
                    "Service": Variant("o", service_path),
                    "Value": Variant("ay", b""),
                    "Flags": Variant("as", list(char.flags)),
                    "MTU": Variant("q", DEFAULT_MTU),
                    "Handle": Variant("q", handle + 1),
                }
                if "notify" in char.flags or "indicate" in char.flags:
                    props["Notifying"] = Variant("b", False)
                self.server.add(char_path, {CHAR_IFACE: props}, _GattNode(self, char, char_path))
                self._gatt_paths.append(char_path)
                self._char_paths[char.uuid] = char_path
                handle += 2
                if "Notifying" in props:
                    desc_path = f"{char_path}/desc{handle:04x}"
                    self.server.add(
                        desc_path,
                        {
                            DESC_IFACE: {
                                "UUID": Variant("s", CCCD_UUID),
                                "Characteristic": Variant("o", char_path),
                                "Value": Variant("ay", b""),
                                "Flags": Variant("as", ["read", "write"]),
                                "Handle": Variant("q", handle),
                            }
                        },
                        _GattNode(self, None, desc_path),
                    )
                    self._gatt_paths.append(desc_path)
                    handle += 1
            handle = (handle + 0x10) & ~0x0F
        self.services_resolved = True
        self.server.set(self.path, DEVICE_IFACE, ServicesResolved=Variant("b", True))

    def _disconnect(self, why: str) -> None:
        self.services_resolved = False
        self.server.set(self.path, DEVICE_IFACE, ServicesResolved=Variant("b", False))
        for path in reversed(self._gatt_paths):
            self.server.remove(path)
        self._gatt_paths.clear()
        self._char_paths.clear()
        self._notify_sessions.clear()
        self.connected = False
        self.server.set(self.path, DEVICE_IFACE, Connected=Variant("b", False))
        for callback in self.on_disconnected:
            callback(why)

    # -- GATT

    def notifying(self, uuid: str) -> bool:
        path = self._char_paths.get(uuid)
        return path is not None and bool(self._notify_sessions.get(path))

    def notify(self, uuid: str, value: bytes) -> bool:
        """Send a notification if someone listens; True if it went out."""
        if not self.connected or not self.notifying(uuid):
            return False
        self.server.set(self._char_paths[uuid], CHAR_IFACE, always=True, Value=Variant("ay", value))
        return True

    async def gatt_call(
        self, node: _GattNode, interface: str, member: str, body: list[Any], sender: str
    ) -> Reply:
        if not self.connected:
            raise BluezError(ERR_FAILED, "Not connected")
        char = node.char
        if interface == DESC_IFACE and member == "ReadValue":
            parent = node.path.rsplit("/", 1)[0]
            on = bool(self._notify_sessions.get(parent))
            return "ay", [b"\x01\x00" if on else b"\x00\x00"]
        if char is None or interface != CHAR_IFACE:
            raise BluezError(ERR_NOT_SUPPORTED, "Operation is not supported")
        if member == "ReadValue":
            if char.read is None:
                raise BluezError(ERR_NOT_PERMITTED, "Read not permitted")
            value = char.read()
            self.server.objects[node.path][CHAR_IFACE]["Value"] = Variant("ay", value)
            return "ay", [value]
        if member == "WriteValue":
            if char.write is None:
                raise BluezError(ERR_NOT_PERMITTED, "Write not permitted")
            try:
                char.write(bytes(body[0]))
            except AttError as exc:
                raise BluezError(
                    ERR_FAILED, f"Operation failed with ATT error: 0x{exc.code:02x}"
                ) from None
            return "", []
        if member == "StartNotify":
            if "Notifying" not in self.server.objects[node.path][CHAR_IFACE]:
                raise BluezError(ERR_NOT_SUPPORTED, "Operation is not supported")
            sessions = self._notify_sessions.setdefault(node.path, set())
            sessions.add(sender)
            self.server.set(node.path, CHAR_IFACE, Notifying=Variant("b", True))
            for callback in self.on_notify_started:
                callback(char.uuid)
            return "", []
        if member == "StopNotify":
            sessions = self._notify_sessions.get(node.path, set())
            if sender not in sessions:
                raise BluezError(ERR_FAILED, "No notify session started")
            sessions.discard(sender)
            if not sessions:
                self.server.set(node.path, CHAR_IFACE, Notifying=Variant("b", False))
            return "", []
        raise BluezError(ERR_NOT_SUPPORTED, "Operation is not supported")

    def notify_client_gone(self, path: str, sender: str) -> None:
        sessions = self._notify_sessions.get(path)
        if sessions and sender in sessions:
            sessions.discard(sender)
            if not sessions and path in self.server.objects:
                self.server.set(path, CHAR_IFACE, Notifying=Variant("b", False))


async def open_server(bus_address: str | None = None) -> tuple[MessageBus, ObjectServer]:
    """Connect to the system bus (or ``bus_address``) and own ``org.bluez``."""
    from dbus_fast import BusType

    bus = (
        MessageBus(bus_address=bus_address) if bus_address else MessageBus(bus_type=BusType.SYSTEM)
    )
    try:
        await bus.connect()
    except (OSError, AuthError) as exc:
        bus.disconnect()
        raise BusUnavailableError(
            f"cannot reach the system bus ({exc.strerror if isinstance(exc, OSError) else exc});"
            " use --private-bus, or point DBUS_SYSTEM_BUS_ADDRESS at a bus"
        ) from None
    server = ObjectServer(bus)
    try:
        await server.start()
    except BaseException:
        with contextlib.suppress(Exception):
            bus.disconnect()
        raise
    return bus, server
