"""A Wechaty puppet-service client on grpclib and the wechaty-grpc stubs.

It connects as the official Wechaty clients (wechaty-puppet-service 1.x) do:
- **TLS** by default. The gateway's certificate is checked against the Wechaty root CA (the
  one every puppet service serves by default) or the CA given
  (``WECHATY_PUPPET_SERVICE_TLS_CA_CERT``), for the server name given
  (``WECHATY_PUPPET_SERVICE_TLS_SERVER_NAME``) or else the token's prefix before its last
  ``_`` (``insecure_<uuid>`` -> ``insecure``, the name on the default certificate).
- **Plain HTTP/2** for a self-hosted gateway started with TLS disabled
  (``WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT=true``).
- The token goes in the ``authorization: Wechaty <token>`` metadata of every call and, for
  gateways older than that, as the HTTP/2 ``:authority``. It is never logged.
- The event stream is opened first (the gateway answers with a heartbeat, proving TLS and token),
  then the remote puppet is started; a running puppet is never stopped, so a reconnect does not
  log the account out.

Every call has a timeout. ``GatewayFailure.of`` turns what went wrong into one line naming the
cause and the fix.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.transports.wechaty_ca import WECHATY_ROOT_CA

# hpack (under grpclib's HTTP/2) logs every header it codes at DEBUG, the authorization header
# with the token among them: it stays quiet whatever level the root logger is set to.
logging.getLogger("hpack").setLevel(logging.INFO)

ENV_TLS_OFF = "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT"
ENV_CA = "WECHATY_PUPPET_SERVICE_TLS_CA_CERT"
ENV_SERVER_NAME = "WECHATY_PUPPET_SERVICE_TLS_SERVER_NAME"


class GatewayConfigError(ValueError):
    """Settings that can never connect (said at start-up, not in a retry loop)."""


def server_name_of(token: str) -> str | None:
    """The TLS server name a token implies: its prefix before the last ``_``, lower-cased."""
    cut = token.rfind("_")
    return token[:cut].lower() if cut > 0 else None


@dataclass(frozen=True)
class GatewayOptions:
    endpoint: str
    token: str = field(repr=False)
    tls: bool = True
    ca_cert: str | None = field(default=None, repr=False)  # PEM text; None: the Wechaty root CA
    server_name: str | None = None
    call_timeout: float = 10.0  # reads, start, ping
    send_timeout: float = 30.0  # a text message
    file_timeout: float = 120.0  # an image or file upload

    def __post_init__(self) -> None:
        if not self.endpoint:
            raise GatewayConfigError(
                "a gateway endpoint (host:port) is required: set WECHATY_PUPPET_SERVICE_ENDPOINT"
            )
        if not self.token:
            raise GatewayConfigError("a gateway token is required: set WECHATY_PUPPET_SERVICE_TOKEN")
        host_port(self.endpoint)
        if self.tls and self.tls_server_name is None:
            raise GatewayConfigError(
                "with TLS the server name comes from the token's prefix, and this token has none: "
                f"use a token like 'insecure_<token>' or set {ENV_SERVER_NAME}; for a self-hosted gateway "
                f"without TLS set {ENV_TLS_OFF}=true"
            )
        if self.tls and self.ca_cert is not None and "-----BEGIN CERTIFICATE-----" not in self.ca_cert:
            raise GatewayConfigError(f"{ENV_CA} must be a PEM certificate (-----BEGIN CERTIFICATE-----)")

    @property
    def tls_server_name(self) -> str | None:
        return self.server_name or server_name_of(self.token)

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_cert or WECHATY_ROOT_CA)
        context.set_alpn_protocols(["h2"])
        return context


def host_port(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise GatewayConfigError(f"the gateway endpoint must be host:port, not {endpoint!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class MessagePayload:
    id: str
    type: int  # wechaty-puppet's MessageType as the gateway sends it (7 Text, 10 GroupNote, ...)
    text: str
    talker_id: str
    room_id: str
    listener_id: str
    mention_ids: tuple[str, ...]
    timestamp: int


def require_client() -> None:
    """Fail early, with the fix, where the optional gRPC packages are missing."""
    try:
        import grpclib  # noqa: F401
        import wechaty_grpc  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the wechaty transport needs the optional 'wechat' extra: pip install 'tuanbot[wechat]'"
        ) from exc


class PuppetClient:
    """One connection to one gateway. Not reused: a reconnect makes a new client."""

    def __init__(self, options: GatewayOptions) -> None:
        from grpclib.client import Channel
        from grpclib.config import Configuration
        from wechaty_grpc.wechaty import PuppetStub

        self.options = options
        host, port = host_port(options.endpoint)
        if options.tls:
            config = Configuration(ssl_target_name_override=options.tls_server_name)
            self._channel = Channel(host, port, ssl=options.ssl_context(), config=config)
        else:
            self._channel = Channel(host, port)
        # Gateways older than the authorization metadata read the token from :authority (the
        # official clients send both). grpclib has no public setter: pinned to its minor version.
        self._channel._authority = options.token
        self._stub = PuppetStub(self._channel, metadata={"authorization": f"Wechaty {options.token}"})

    def close(self) -> None:
        self._channel.close()

    async def events(self) -> AsyncIterator[tuple[int, str]]:
        """The event stream: (EventType, JSON payload), until the gateway ends it."""
        async for response in self._stub.event():
            yield int(response.type), response.payload

    async def _call(self, awaitable: Any, timeout: float | None = None) -> Any:
        async with asyncio.timeout(timeout or self.options.call_timeout):
            return await awaitable

    async def start(self) -> None:
        await self._call(self._stub.start())

    async def ding(self, timeout: float) -> None:
        await self._call(self._stub.ding(data="tuanbot"), timeout)

    async def message(self, message_id: str) -> MessagePayload:
        r = await self._call(self._stub.message_payload(id=message_id))
        return MessagePayload(
            id=r.id or message_id,
            type=int(r.type),
            text=r.text or "",
            talker_id=r.from_id,
            room_id=r.room_id,
            listener_id=r.to_id,
            mention_ids=tuple(r.mention_ids or ()),
            timestamp=int(r.timestamp or 0),
        )

    async def contact_name(self, contact_id: str) -> str:
        return str((await self._call(self._stub.contact_payload(id=contact_id))).name or "")

    async def room_member_name(self, room_id: str, contact_id: str) -> str:
        """The member's name in the room: the room alias, else the contact name."""
        member = await self._call(self._stub.room_member_payload(id=room_id, member_id=contact_id))
        return str(member.room_alias or member.name or "")

    async def room_topic(self, room_id: str) -> str:
        return str((await self._call(self._stub.room_payload(id=room_id))).topic or "")

    async def send_text(self, conversation_id: str, text: str, mentions: list[str]) -> str | None:
        """Send; the id of the message made (None if the gateway does not say)."""
        call = self._stub.message_send_text(conversation_id=conversation_id, text=text, mentonal_ids=mentions)
        return (await self._call(call, self.options.send_timeout)).id or None

    async def send_file(self, conversation_id: str, file_box_json: str) -> str | None:
        call = self._stub.message_send_file(conversation_id=conversation_id, filebox=file_box_json)
        return (await self._call(call, self.options.file_timeout)).id or None


def file_box_json(path: str) -> str:
    """A file as the gateway's FileBox JSON (read from disk: call it off the event loop)."""
    from wechaty_puppet import FileBox

    return str(FileBox.from_file(path).to_json_str())


def event_payload(raw: str) -> dict[str, Any]:
    payload = json.loads(raw) if raw else {}
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    return payload
