"""Real WeChat through a Wechaty puppet gateway (the puppet-service gRPC protocol).

The gRPC client comes from the optional ``wechat`` extra (``wechaty-puppet-service``) and is
imported only when a transport is constructed, so the rest of the bot runs without it.

What the client gets wrong and how this module works around it:
- its event listener turns an error event (``{"gerror": ...}`` without ``data``) into an
  exception that silently ends the event stream; we replace the listener with one that
  handles every event on its own and never lets one bad event end the stream;
- it logs the token and may look the endpoint up online; we build the channel ourselves;
- its ``stop()`` does not end the task running ``start()``; we cancel and await that task.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.core.clock import Clock
from bot.core.messages import InboundKind, InboundMessage, OutboundMessage
from bot.core.normalize import normalize_text
from bot.core.transport import Sink, TransportUnavailable

log = logging.getLogger(__name__)

# EventType wire values from wechaty-grpc's puppet/event.proto (stable across versions).
EVENT_MESSAGE = 2
EVENT_ERROR = 16
EVENT_ROOM_JOIN = 19
EVENT_ROOM_LEAVE = 20
EVENT_ROOM_TOPIC = 21
EVENT_LOGIN = 25
EVENT_LOGOUT = 26
EVENT_DIRTY = 27

SEEN_LIMIT = 4096  # message ids remembered for dropping duplicates
CONNECT_TIMEOUT = 30.0  # seconds for the gateway to stop and start its puppet

EventHandler = Callable[[int, str], Awaitable[None]]


class WechatySendRejected(RuntimeError):
    """The gateway is up but refused this one message (not a connectivity problem)."""


def _load_client() -> tuple[type, Any]:
    """Import the optional gRPC client and build our guarded subclass of it."""
    try:
        from grpclib.client import Channel
        from wechaty_grpc.wechaty import PuppetStub
        from wechaty_puppet import FileBox, Puppet, PuppetOptions
        from wechaty_puppet_service import PuppetService
        from wechaty_puppet_service.utils import extract_host_and_port
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the wechaty transport needs the optional 'wechat' extra: pip install 'tuanbot[wechat]'"
        ) from exc

    class GuardedPuppetService(PuppetService):  # type: ignore[misc,valid-type]
        """PuppetService with a per-event guarded listener and no token in its logs."""

        def __init__(self, endpoint: str, token: str, on_event: EventHandler) -> None:
            # Skip PuppetService.__init__: it reads env vars and logs the token.
            Puppet.__init__(self, PuppetOptions(end_point=endpoint, token=token), "puppet_service")
            self.channel = None
            self._puppet_stub = None
            self.login_user_id = None
            self._on_event = on_event
            self.streaming = False  # True once the event stream is open

        def _init_puppet(self) -> None:
            # No online endpoint lookup and no blocking telnet ping: connect directly.
            host, port = extract_host_and_port(self.options.end_point)
            self.channel = Channel(host=host, port=port)
            # The puppet-service gateway reads the token from the HTTP/2 :authority.
            self.channel._authority = self.options.token
            self._puppet_stub = PuppetStub(self.channel)

        async def start(self) -> None:
            self._init_puppet()
            async with asyncio.timeout(CONNECT_TIMEOUT):
                # The client's handshake (restart the remote puppet), but without its
                # try/finally: an RPC awaited in a finally swallows a cancellation.
                await self.puppet_stub.stop()
                await self.puppet_stub.start()
            await self._listen_for_event()

        async def _listen_for_event(self) -> None:
            async for response in self.puppet_stub.event():
                self.streaming = True
                if response is not None:
                    await self._on_event(int(response.type), response.payload)

        def close(self) -> None:
            if self.channel is not None:
                self.channel.close()
                self.channel = None
            self._puppet_stub = None

    return GuardedPuppetService, FileBox


def _failure_kind(exc: BaseException, streaming: bool) -> tuple[str, str]:
    """Classify a connection failure: (kind, explanation) for one clear log line."""
    from grpclib.const import Status
    from grpclib.exceptions import GRPCError

    if streaming:
        return "dropped", f"the event stream dropped ({type(exc).__name__}: {exc})"
    if isinstance(exc, GRPCError) and exc.status in (Status.UNAUTHENTICATED, Status.PERMISSION_DENIED):
        return "token", "the gateway rejected the token (check WECHATY_PUPPET_SERVICE_TOKEN)"
    if isinstance(exc, OSError | TimeoutError):
        return "unreachable", f"the gateway is unreachable ({type(exc).__name__}: {exc})"
    return "error", f"the gateway failed ({type(exc).__name__}: {exc})"


def _is_connectivity_error(exc: BaseException) -> bool:
    from grpclib.const import Status
    from grpclib.exceptions import GRPCError, StreamTerminatedError

    if isinstance(exc, GRPCError):
        if exc.status in (Status.UNAVAILABLE, Status.UNAUTHENTICATED, Status.DEADLINE_EXCEEDED):
            return True
        # PuppetMock and real puppets answer a logged-out account with a plain error.
        return "logged in" in (exc.message or "") or "login" in (exc.message or "").lower()
    return isinstance(exc, OSError | TimeoutError | StreamTerminatedError | ConnectionError)


def _timestamp(value: int, clock: Clock) -> datetime:
    if not value:
        return clock.now()
    # Gateways send milliseconds; some older puppets send seconds.
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


class WechatyTransport:
    """A Transport on a Wechaty puppet-service gateway (real WeChat or the mock gateway)."""

    name = "wechaty"

    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        bot_names: tuple[str, ...] = (),
        clock: Clock,
        reconnect_backoff: Sequence[float] = (0.5, 1, 2, 5, 10),
    ) -> None:
        if not endpoint:
            raise ValueError(
                "a gateway endpoint (host:port) is required: set WECHATY_PUPPET_SERVICE_ENDPOINT"
            )
        if not token:
            raise ValueError("a gateway token is required: set WECHATY_PUPPET_SERVICE_TOKEN")
        self._client_cls, self._file_box = _load_client()
        self.endpoint = endpoint
        self._token = token
        self.bot_names = bot_names
        self.clock = clock
        self.reconnect_backoff = tuple(reconnect_backoff) or (1.0,)
        # Set while the event stream is up and the account is logged in: sends can go out.
        self.connected = asyncio.Event()
        self.self_id: str | None = None
        self.connect_attempts = 0
        self._self_name: str | None = None
        self._sink: Sink | None = None
        self._client: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._topics: dict[str, str] = {}
        self._listeners: list[Callable[[bool], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, sink: Sink) -> None:
        """Begin connecting in the background; returns at once. Await ``connected`` to wait."""
        if self._runner is not None:
            raise RuntimeError("transport already started")
        self._sink = sink
        self._stopping = False
        self._runner = asyncio.create_task(self._run(), name="wechaty-transport")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self._stopping = True
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we are being cancelled ourselves: do not swallow it
        self._set_connected(False)

    def on_connection_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(up)`` whenever sending becomes possible or impossible (e.g. to pump an outbox)."""
        self._listeners.append(listener)

    async def _run(self) -> None:
        failures = 0
        last_kind: str | None = None
        while True:
            self.connect_attempts += 1
            client = self._client_cls(self.endpoint, self._token, self._on_event)
            self._client = client
            exc: BaseException | None = None
            try:
                await client.start()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                exc = e
            finally:
                self._set_connected(False)
                self._client = None
                client.close()
            if self._stopping:
                # A library may swallow our cancellation while failing; stop anyway.
                raise asyncio.CancelledError
            if client.streaming:
                failures, last_kind = 0, None  # it was working: start the backoff over
            kind, why = _failure_kind(exc or EOFError("closed by the gateway"), client.streaming)
            delay = self.reconnect_backoff[min(failures, len(self.reconnect_backoff) - 1)]
            if kind != last_kind:
                log.warning("WeChat gateway %s: %s; retrying with backoff", self.endpoint, why)
            else:
                log.debug("WeChat gateway %s still failing (%s); retry in %.1fs", self.endpoint, kind, delay)
            last_kind = kind
            failures += 1
            await asyncio.sleep(delay)

    def _set_connected(self, up: bool) -> None:
        if up == self.connected.is_set():
            return
        if up:
            self.connected.set()
        else:
            self.connected.clear()
        for listener in self._listeners:
            try:
                listener(up)
            except Exception:
                log.exception("connection listener failed")

    # -- inbound ---------------------------------------------------------------------------

    async def _on_event(self, event_type: int, raw: str) -> None:
        """Handle one gateway event. Nothing raised here may end the event stream."""
        log.debug("gateway event %s: %.200s", event_type, raw)
        try:
            payload = json.loads(raw) if raw else {}
            if not isinstance(payload, dict):
                raise ValueError("payload is not an object")
            if event_type == EVENT_MESSAGE:
                await self._on_message(str(payload["messageId"]))
            elif event_type == EVENT_ROOM_JOIN:
                await self._on_member_change(payload, "join", "inviteeIdList")
            elif event_type == EVENT_ROOM_LEAVE:
                await self._on_member_change(payload, "leave", "removeeIdList")
            elif event_type == EVENT_ROOM_TOPIC:
                self._topics[str(payload["roomId"])] = str(payload.get("newTopic") or "")
            elif event_type == EVENT_DIRTY:
                self._topics.pop(str(payload.get("payloadId")), None)  # re-read a changed room's topic
            elif event_type == EVENT_LOGIN:
                await self._on_login(str(payload["contactId"]))
            elif event_type == EVENT_LOGOUT:
                log.warning(
                    "WeChat account %s logged out of the gateway; sends wait", payload.get("contactId")
                )
                self._set_connected(False)
            elif event_type == EVENT_ERROR:
                detail = payload.get("gerror") or payload.get("data") or raw
                log.warning("WeChat gateway reported an error (stream stays up): %.300s", detail)
        except asyncio.CancelledError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("malformed gateway event (type %s) skipped: %s: %.200s", event_type, exc, raw)
        except Exception:
            log.exception("gateway event (type %s) could not be handled; skipped", event_type)

    async def _on_login(self, contact_id: str) -> None:
        self.self_id = contact_id
        client = self._client
        if client is not None:
            try:
                self._self_name = (await client.contact_payload(contact_id)).name or None
            except Exception as exc:
                log.debug("could not read the bot's own name: %s", exc)
        log.info("connected to WeChat gateway %s as %s", self.endpoint, contact_id)
        self._set_connected(True)

    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    async def _on_message(self, message_id: str) -> None:
        if message_id in self._seen:
            log.debug("duplicate message %s dropped", message_id)
            self._seen.move_to_end(message_id)
            return
        client = self._client
        if client is None:
            return
        payload = await client.message_payload(message_id)
        self._first_time(message_id)  # remembered only once the payload was read
        talker = payload.from_id
        if not talker or talker == self.self_id:
            return  # the bot's own message echoed back
        if payload.type.name != "MESSAGE_TYPE_TEXT" and not _is_jielong_app(payload.text or ""):
            log.debug("message %s of type %s ignored", message_id, payload.type.name)
            return
        room_id = payload.room_id or ""
        names = self.bot_names + ((self._self_name,) if self._self_name else ())
        text, named = normalize_text(payload.text or "", names)
        mention_ids = tuple(payload.mention_ids or ())
        mentions_bot = named or (self.self_id is not None and self.self_id in mention_ids)
        await self._deliver(
            InboundMessage(
                id=message_id,
                chat_id=room_id or talker,
                sender_id=talker,
                sender_name=await self._display_name(room_id, talker),
                text=text,
                is_group=bool(room_id),
                chat_name=await self._topic(room_id) if room_id else None,
                mentions_bot=mentions_bot,
                mentions=tuple(m for m in mention_ids if m != self.self_id),
                timestamp=_timestamp(payload.timestamp, self.clock),
                # WeChat delivered it as its 接龙 app message: the only trusted source of authors.
                jielong=(payload.text or "") if payload.type.name != "MESSAGE_TYPE_TEXT" else None,
            )
        )

    async def _on_member_change(self, payload: dict[str, Any], kind: InboundKind, ids_key: str) -> None:
        room_id = str(payload["roomId"])
        stamp = payload.get("timestamp") or 0
        inviter = payload.get("inviterId") if kind == "join" else None
        for contact_id in payload.get(ids_key) or []:
            if contact_id == self.self_id:
                continue
            event_id = f"{kind}:{room_id}:{contact_id}:{stamp}"
            if not self._first_time(event_id):
                continue
            await self._deliver(
                InboundMessage(
                    id=event_id,
                    chat_id=room_id,
                    sender_id=str(contact_id),
                    sender_name=await self._display_name(room_id if kind == "join" else "", str(contact_id)),
                    is_group=True,
                    chat_name=await self._topic(room_id),
                    kind=kind,
                    timestamp=_timestamp(int(stamp), self.clock),
                    # The member who added them; none when they came by QR code or it is unknown.
                    inviter_id=str(inviter) if inviter and inviter != self.self_id else None,
                )
            )

    async def _display_name(self, room_id: str, contact_id: str) -> str:
        """Room alias, else contact name, else the id; read fresh so renames show up."""
        client = self._client
        if client is None:
            return contact_id
        if room_id:
            try:
                member = await client.room_member_payload(room_id, contact_id)
                if member.room_alias or member.name:
                    return str(member.room_alias or member.name)
            except Exception as exc:
                log.debug("room member %s/%s unreadable: %s", room_id, contact_id, exc)
        try:
            return str((await client.contact_payload(contact_id)).name or contact_id)
        except Exception as exc:
            log.debug("contact %s unreadable: %s", contact_id, exc)
            return contact_id

    async def _topic(self, room_id: str) -> str | None:
        if room_id not in self._topics and self._client is not None:
            try:
                self._topics[room_id] = (await self._client.room_payload(room_id)).topic
            except Exception as exc:
                log.debug("room %s unreadable: %s", room_id, exc)
                return None
        return self._topics.get(room_id) or None

    async def _deliver(self, message: InboundMessage) -> None:
        if self._sink is None:
            return
        try:
            await self._sink(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sink failed on message %s", message.id)

    # -- outbound --------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> None:
        client = self._client
        if client is None or not self.connected.is_set():
            raise TransportUnavailable(f"WeChat gateway {self.endpoint} is not connected")
        try:
            if message.kind in ("image", "file") and message.path and await self._send_file(client, message):
                return
            await client.message_send_text(message.chat_id, message.text, list(message.mentions))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _is_connectivity_error(exc):
                raise TransportUnavailable(f"send to {message.chat_id} failed: {exc}") from exc
            raise WechatySendRejected(f"gateway refused a message to {message.chat_id}: {exc}") from exc

    async def _send_file(self, client: Any, message: OutboundMessage) -> bool:
        """Send an image or file; False (after logging) means: fall back to the text."""
        try:
            box = await asyncio.to_thread(self._file_box.from_file, message.path)
        except OSError as exc:
            log.error(
                "cannot read %s for %s: %s; sending the text instead", message.path, message.chat_id, exc
            )
            return False
        try:
            await client.message_send_file(message.chat_id, box)
            return True
        except Exception as exc:
            if _is_connectivity_error(exc):
                raise
            log.warning("gateway cannot send %s (%s); sending the text instead", message.kind, exc)
            return False


def _is_jielong_app(text: str) -> bool:
    """WeChat's 接龙 app message (type 53): the client maps it to an unknown type; its text
    is the XML the 接龙 reader understands (title, entries and author ids)."""
    return "<appmsg" in text and "<type>53</type>" in text
