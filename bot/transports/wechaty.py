"""Real WeChat through a Wechaty puppet-service gateway (``bot.transports.puppet_client``).

- **Own account or a second one.** Whatever the logged-in account types counts as that account
  speaking: when the bot runs on the leader's own WeChat, her 开团 and 截团 typed on the phone are
  the leader's commands. The bot's own sends come back as events too; they are recognised
  exactly (the id each send returned, else the chat and text of a send made in the last
  minutes) and dropped. What she types in a private chat with someone else is hers, not the
  bot's; her private chat with the bot is WeChat's 文件传输助手 (``filehelper``), where private
  replies to her go.
- **接龙** in every form a puppet delivers it: a GroupNote whose text is the list, an app
  message (or a message of unknown type) carrying WeChat's XML with ``<type>53</type>``. Such a
  message is marked ``InboundMessage.jielong`` (the raw payload); a text message never is.
- **Login**: the scan QR code, login, logout and logging in again are kept in ``login`` (for the
  terminal and the local page) and logged at INFO, one line each.
- **Watchdog**: the gateway is pinged every ``Watchdog.interval`` seconds; no answer within
  ``Watchdog.timeout`` and it is taken for frozen (logged once), the connection is dropped and
  made again. Every call has a timeout, and a message is handed to the app in its own task, so a
  hung send never stops the reading of new messages.
- A failure to connect gives one log line naming the cause and the fix (unreachable, wrong
  token, TLS on one side only, an untrusted certificate, a frozen gateway) and is retried with
  backoff; the same failure again is not logged again. The token never appears in a log line.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from bot.core.clock import Clock
from bot.core.messages import InboundKind, InboundMessage, OutboundMessage
from bot.core.normalize import normalize_text
from bot.core.transport import Sink, TransportUnavailable
from bot.transports.puppet_client import (
    ENV_CA,
    ENV_SERVER_NAME,
    ENV_TLS_OFF,
    GatewayOptions,
    MessagePayload,
    PuppetClient,
    event_payload,
    file_box_json,
    host_port,
    require_client,
)

log = logging.getLogger(__name__)

# EventType wire values (wechaty-grpc puppet/event.proto, stable across versions).
EVENT_HEARTBEAT = 1
EVENT_MESSAGE = 2
EVENT_DONG = 3
EVENT_ERROR = 16
EVENT_ROOM_JOIN = 19
EVENT_ROOM_LEAVE = 20
EVENT_ROOM_TOPIC = 21
EVENT_SCAN = 22
EVENT_LOGIN = 25
EVENT_LOGOUT = 26
EVENT_DIRTY = 27

# wechaty-puppet's MessageType, which gateways put on the wire as it is.
TYPE_TEXT = 7
TYPE_GROUP_NOTE = 10

# ScanStatus of a scan event.
SCAN_WAITING, SCAN_SCANNED, SCAN_CONFIRMED = 2, 3, 4

FILEHELPER = "filehelper"  # WeChat's 文件传输助手: the account's chat with itself
SEEN_LIMIT = 4096  # message ids remembered for dropping duplicates
ECHO_WINDOW = 600.0  # seconds a send's echo is expected by its chat and text
FIRST_EVENT_WAIT = 5.0  # gateways greet a new event stream with a heartbeat; some do not


@dataclass(frozen=True)
class Watchdog:
    """How a gateway that stopped answering is found: detected within interval + timeout."""

    interval: float = 15.0  # ping the gateway this often
    timeout: float = 10.0  # no answer within this: it is frozen
    connect_timeout: float = 30.0  # opening the stream and starting the remote puppet


LoginStatus = Literal["connecting", "scan", "scanned", "logged_in", "logged_out"]


@dataclass(frozen=True)
class LoginState:
    """What the leader needs to see to get the account logged in."""

    status: LoginStatus = "connecting"
    qrcode: str | None = None  # the text to show as a QR code while status is "scan"
    user_id: str | None = None
    user_name: str | None = None
    problem: str | None = None  # the last reason the gateway could not be reached


class WechatySendRejected(RuntimeError):
    """The gateway is up but refused this one message (not a connectivity problem)."""


class GatewaySilent(TimeoutError):
    """The gateway stopped answering pings."""


class _SessionBroken(Exception):
    """A call inside event handling failed for connectivity: make the connection again."""


@dataclass
class _Sent:
    conversation: str
    text: str
    at: float
    id: str | None = None


class _Echoes:
    """The account's own sends, to recognise them when the gateway sends them back."""

    def __init__(self, limit: int = 2048) -> None:
        self._recent: deque[_Sent] = deque(maxlen=limit)

    def expect(self, conversation: str, text: str) -> _Sent:
        sent = _Sent(conversation, text, time.monotonic())
        self._recent.append(sent)
        return sent

    def is_echo(self, payload: MessagePayload) -> bool:
        # By id where the gateway answered the send with one; by chat and text while the send is
        # still under way (its echo may come first) or where a puppet gives no id.
        horizon = time.monotonic() - ECHO_WINDOW
        conversation = payload.room_id or payload.listener_id
        for sent in self._recent:
            if sent.id == payload.id or (
                sent.at > horizon and sent.conversation == conversation and sent.text == payload.text
            ):
                self._recent.remove(sent)
                return True
        return False


def is_structured_jielong(payload: MessagePayload) -> bool:
    """A 接龙 as WeChat itself delivers it (never a text message, which anyone can type)."""
    if payload.type == TYPE_TEXT or not payload.text.strip():
        return False
    return payload.type == TYPE_GROUP_NOTE or (
        "<appmsg" in payload.text and "<type>53</type>" in payload.text
    )


def _timestamp(value: int, clock: Clock) -> datetime:
    if not value:
        return clock.now()
    # Gateways send milliseconds; some older puppets send seconds.
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


def _is_connectivity_error(exc: BaseException) -> bool:
    from grpclib.const import Status
    from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

    if isinstance(exc, GRPCError):
        if exc.status in (
            Status.UNAVAILABLE,
            Status.UNAUTHENTICATED,
            Status.DEADLINE_EXCEEDED,
            Status.CANCELLED,
        ):
            return True
        # PuppetMock and real puppets answer a logged-out account with a plain error.
        return "login" in (exc.message or "").lower() or "logged in" in (exc.message or "")
    return isinstance(exc, OSError | TimeoutError | StreamTerminatedError | ProtocolError | ConnectionError)


class WechatyTransport:
    """A Transport on a Wechaty puppet-service gateway (real WeChat or the test gateway)."""

    name = "wechaty"

    def __init__(
        self,
        options: GatewayOptions,
        *,
        bot_names: tuple[str, ...] = (),
        clock: Clock,
        reconnect_backoff: Sequence[float] = (0.5, 1, 2, 5, 10),
        watchdog: Watchdog | None = None,
    ) -> None:
        require_client()
        self.options = options
        self.endpoint = options.endpoint
        self.bot_names = bot_names
        self.clock = clock
        self.reconnect_backoff = tuple(reconnect_backoff) or (1.0,)
        self.watchdog = watchdog or Watchdog()
        # Set while the event stream is up and the account is logged in: sends can go out.
        self.connected = asyncio.Event()
        self.self_id: str | None = None
        self.login = LoginState()
        self.connect_attempts = 0
        self._self_name: str | None = None
        self._sink: Sink | None = None
        self._client: PuppetClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._streaming = asyncio.Event()  # this connection's stream gave its first event
        self._logged_in_before = False
        self._reported_down = False  # a failure was logged: say when the gateway is back
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._unread: list[str] = []  # message ids whose payload could not be read: read again
        self._topics: dict[str, str] = {}
        self._echoes = _Echoes()
        self._captioned: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._deliveries: set[asyncio.Task[None]] = set()
        self._listeners: list[Callable[[bool], None]] = []
        self._login_listeners: list[Callable[[LoginState], None]] = []

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
        for task in list(self._deliveries):
            task.cancel()
        self._set_connected(False)

    @property
    def streaming(self) -> bool:
        """Whether the current connection's event stream is open (logged in or not)."""
        return self._client is not None and self._streaming.is_set()

    def on_connection_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(up)`` whenever sending becomes possible or impossible (e.g. to pump an outbox)."""
        self._listeners.append(listener)

    def on_login_change(self, listener: Callable[[LoginState], None]) -> None:
        """Call ``listener(state)`` on every change of ``login`` (a new QR code, login, logout)."""
        self._login_listeners.append(listener)

    async def _run(self) -> None:
        failures = 0
        last_kind: str | None = None
        while True:
            self.connect_attempts += 1
            self._streaming.clear()
            client = PuppetClient(self.options)
            self._client = client
            exc: BaseException
            try:
                await self._session(client)
                exc = EOFError("the gateway closed the event stream")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                exc = _root_cause(e)
            finally:
                self._set_connected(False)
                self._client = None
                client.close()
            if self._stopping:
                # A library may swallow our cancellation while failing; stop anyway.
                raise asyncio.CancelledError
            streamed = self._streaming.is_set()
            if streamed:
                failures, last_kind = 0, None  # it was working: this failure is news
            kind, why = await self._diagnose(exc, streamed)
            delay = self.reconnect_backoff[min(failures, len(self.reconnect_backoff) - 1)]
            if kind != last_kind:
                log.warning("WeChat gateway %s: %s", self.endpoint, self._redact(why))
                self._reported_down = True
                self._set_login(replace(self.login, problem=self._redact(why)))
            else:
                log.debug("WeChat gateway %s still failing (%s); retry in %.1fs", self.endpoint, kind, delay)
            last_kind = kind
            failures += 1
            await asyncio.sleep(delay)

    async def _session(self, client: PuppetClient) -> None:
        """One connection: read events, start the remote puppet, watch that it answers."""
        async with asyncio.TaskGroup() as tasks:
            reader = tasks.create_task(self._read(client))
            try:
                async with asyncio.timeout(FIRST_EVENT_WAIT):
                    await self._streaming.wait()
            except TimeoutError:
                pass  # a gateway that does not greet: start it anyway, as the official client does
            async with asyncio.timeout(self.watchdog.connect_timeout):
                await client.start()
            tasks.create_task(self._watch(client))
            await reader

    async def _read(self, client: PuppetClient) -> None:
        async for event_type, raw in client.events():
            self._streaming.set()
            await self._on_event(event_type, raw)
        raise EOFError("the gateway closed the event stream")

    async def _watch(self, client: PuppetClient) -> None:
        from grpclib.exceptions import GRPCError

        while True:
            await asyncio.sleep(self.watchdog.interval)
            try:
                await client.ding(self.watchdog.timeout)
            except TimeoutError as exc:
                raise GatewaySilent(f"no answer to a ping within {self.watchdog.timeout:g}s") from exc
            except GRPCError as exc:
                log.debug("gateway ping refused (%s); it answered, so it is alive", exc.status)

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

    def _set_login(self, state: LoginState) -> None:
        if state == self.login:
            return
        self.login = state
        for listener in self._login_listeners:
            try:
                listener(state)
            except Exception:
                log.exception("login listener failed")

    # -- what went wrong -------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return text.replace(self.options.token, "***") if self.options.token else text

    async def _diagnose(self, exc: BaseException, streamed: bool) -> tuple[str, str]:
        """(kind, one line naming the cause and the fix) for a failed or ended connection."""
        from grpclib.const import Status
        from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

        options = self.options
        cause = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, GatewaySilent):
            return "silent", f"stopped answering ({exc}); reconnecting"
        if isinstance(exc, GRPCError) and exc.status in (Status.UNAUTHENTICATED, Status.PERMISSION_DENIED):
            return "token", (
                "the gateway rejected the token: set WECHATY_PUPPET_SERVICE_TOKEN (wechaty.token) to "
                "exactly the gateway's token"
            )
        if streamed:
            return "dropped", f"the event stream dropped ({cause}); reconnecting"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return "tls-cert", (
                f"the gateway's TLS certificate is not accepted for the name {options.tls_server_name!r} "
                f"({exc.verify_message}): set {ENV_CA} (wechaty.tls_ca_cert) to the CA that signed it and "
                f"{ENV_SERVER_NAME} (wechaty.tls_server_name) to the name on it"
            )
        if options.tls and isinstance(exc, ssl.SSLError | ConnectionResetError):
            return "tls-off-there", (
                f"the gateway does not speak TLS ({cause}): for a self-hosted gateway started without TLS "
                f"set {ENV_TLS_OFF}=true (wechaty.tls: false)"
            )
        if (
            not options.tls
            and isinstance(exc, StreamTerminatedError | ProtocolError | ConnectionError)
            and await _speaks_tls(options.endpoint)
        ):
            return "tls-on-there", (
                f"the gateway speaks TLS but this bot connects without it: remove {ENV_TLS_OFF} "
                "(set wechaty.tls: true)"
            )
        if isinstance(exc, TimeoutError):
            return "silent", (
                f"no answer within {self.watchdog.connect_timeout:g}s (frozen or overloaded?); retrying"
            )
        if isinstance(exc, OSError):
            return "unreachable", (
                f"the gateway is unreachable ({cause}): is it running, and is "
                "WECHATY_PUPPET_SERVICE_ENDPOINT (wechaty.endpoint) its host:port?"
            )
        return "error", f"the gateway failed ({cause}); retrying"

    # -- inbound ---------------------------------------------------------------------------

    async def _on_event(self, event_type: int, raw: str) -> None:
        """Handle one gateway event. Nothing raised here ends the event stream except a call
        that failed for connectivity (the connection is then made again)."""
        log.debug("gateway event %s: %.200s", event_type, self._redact(raw))
        try:
            payload = event_payload(raw)
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
            elif event_type == EVENT_SCAN:
                self._on_scan(payload)
            elif event_type == EVENT_LOGIN:
                await self._on_login(str(payload["contactId"]))
            elif event_type == EVENT_LOGOUT:
                self._on_logout(payload)
            elif event_type == EVENT_ERROR:
                detail = payload.get("gerror") or payload.get("data") or raw
                log.warning(
                    "WeChat gateway reported an error (stream stays up): %.300s", self._redact(str(detail))
                )
        except asyncio.CancelledError:
            raise
        except _SessionBroken:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "malformed gateway event (type %s) skipped: %s: %.200s", event_type, exc, self._redact(raw)
            )
        except Exception:
            log.exception("gateway event (type %s) could not be handled; skipped", event_type)

    def _on_scan(self, payload: dict[str, Any]) -> None:
        status = int(payload.get("status") or 0)
        if status == SCAN_WAITING and payload.get("qrcode"):
            self._set_login(LoginState("scan", qrcode=str(payload["qrcode"])))
        elif status in (SCAN_SCANNED, SCAN_CONFIRMED):
            self._set_login(LoginState("scanned"))

    async def _on_login(self, contact_id: str) -> None:
        client = self._client
        name = None
        if client is not None:
            try:
                name = await client.contact_name(contact_id) or None
            except Exception as exc:
                log.debug("could not read the account's own name: %s", exc)
        still = self.login.status == "logged_in" and self.login.user_id == contact_id
        if not still:
            log.info(
                "WeChat: %s as %s (%s) on gateway %s",
                "logged in again" if self._logged_in_before else "logged in",
                name or contact_id,
                contact_id,
                self.endpoint,
            )
        elif self._reported_down:
            log.info(
                "WeChat gateway %s answers again; %s (%s) is still logged in", self.endpoint, name, contact_id
            )
        self.self_id, self._self_name = contact_id, name
        self._logged_in_before, self._reported_down = True, False
        self._set_login(LoginState("logged_in", user_id=contact_id, user_name=name))
        self._set_connected(True)
        unread, self._unread = self._unread, []
        for message_id in unread:
            await self._on_message(message_id)

    def _on_logout(self, payload: dict[str, Any]) -> None:
        who = self._self_name or payload.get("contactId") or self.self_id
        reason = payload.get("data") or "no reason given"
        log.info("WeChat: %s logged out (%s); replies wait until the account logs in again", who, reason)
        self._set_login(LoginState("logged_out", user_id=self.self_id, user_name=self._self_name))
        self._set_connected(False)

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
        try:
            payload = await client.message(message_id)
        except Exception as exc:
            if _is_connectivity_error(exc):
                self._unread.append(message_id)  # read again once connected
                raise _SessionBroken(f"reading message {message_id}: {type(exc).__name__}") from exc
            raise
        self._first_time(message_id)  # remembered only once the payload was read
        message = await self._inbound(payload)
        if message is not None:
            self._deliver(message)

    async def _inbound(self, payload: MessagePayload) -> InboundMessage | None:
        """The app's view of a message, or None for what is not for the bot."""
        talker, room_id = payload.talker_id, payload.room_id
        if not talker:
            return None
        own = talker == self.self_id
        if own and self._echoes.is_echo(payload):
            return None  # the bot's own send coming back
        if own and not room_id and payload.listener_id not in (FILEHELPER, talker):
            return None  # the account owner's private chat with someone else
        jielong = payload.text if is_structured_jielong(payload) else None
        if payload.type != TYPE_TEXT and jielong is None:
            log.debug("message %s of type %s ignored", payload.id, payload.type)
            return None
        names = self.bot_names + ((self._self_name,) if self._self_name else ())
        text, named = normalize_text(payload.text, names)
        mentions_bot = named or (self.self_id is not None and self.self_id in payload.mention_ids)
        return InboundMessage(
            id=payload.id,
            chat_id=room_id or talker,
            sender_id=talker,
            sender_name=await self._display_name(room_id, talker),
            text=text,
            is_group=bool(room_id),
            chat_name=await self._topic(room_id) if room_id else None,
            mentions_bot=mentions_bot,
            mentions=tuple(m for m in payload.mention_ids if m != self.self_id),
            timestamp=_timestamp(payload.timestamp, self.clock),
            jielong=jielong,
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
            self._deliver(
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
                if name := await client.room_member_name(room_id, contact_id):
                    return name
            except Exception as exc:
                log.debug("room member %s/%s unreadable: %s", room_id, contact_id, exc)
        try:
            return await client.contact_name(contact_id) or contact_id
        except Exception as exc:
            log.debug("contact %s unreadable: %s", contact_id, exc)
            return contact_id

    async def _topic(self, room_id: str) -> str | None:
        if room_id not in self._topics and self._client is not None:
            try:
                self._topics[room_id] = await self._client.room_topic(room_id)
            except Exception as exc:
                log.debug("room %s unreadable: %s", room_id, exc)
                return None
        return self._topics.get(room_id) or None

    def _deliver(self, message: InboundMessage) -> None:
        """Hand a message to the app in its own task: reading goes on while it is handled and
        its replies are sent. Tasks start in order and the app queues a chat's messages as it
        receives them, so a chat's order is kept."""
        if self._sink is None:
            return
        task = asyncio.create_task(self._sink(message), name=f"wechaty-deliver:{message.id}")
        self._deliveries.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("the app failed on a message", exc_info=task.exception())

    # -- outbound --------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> None:
        client = self._client
        if client is None or not self.connected.is_set():
            raise TransportUnavailable(f"WeChat gateway {self.endpoint} is not connected")
        # Private replies to the account's own user (own-account mode) go to her 文件传输助手.
        conversation = FILEHELPER if message.chat_id == self.self_id else message.chat_id
        try:
            if message.kind in ("image", "file") and message.path:
                await self._send_file(client, conversation, message)
            else:
                await self._send_text(client, conversation, message.text, list(message.mentions))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            why = self._redact(f"{type(exc).__name__}: {exc}")
            if _is_connectivity_error(exc):
                raise TransportUnavailable(f"send to {message.chat_id} failed: {why}") from exc
            raise WechatySendRejected(f"gateway refused a message to {message.chat_id}: {why}") from exc

    async def _send_text(self, client: PuppetClient, to: str, text: str, mentions: list[str]) -> None:
        sent = self._echoes.expect(to, text)
        sent.id = await client.send_text(to, text, mentions)

    async def _send_file(self, client: PuppetClient, conversation: str, message: OutboundMessage) -> None:
        """The caption (the message's text) first, then the file. A caption already sent for a
        file whose upload failed is not sent again when the outbox retries."""
        assert message.path is not None
        key = (conversation, message.path, message.text)
        if message.text and key not in self._captioned:
            await self._send_text(client, conversation, message.text, list(message.mentions))
            self._captioned[key] = None
            if len(self._captioned) > 256:
                self._captioned.popitem(last=False)
        try:
            box = await asyncio.to_thread(file_box_json, message.path)
        except OSError as exc:
            log.error(
                "cannot read %s for %s: %s; only its caption went out", message.path, message.chat_id, exc
            )
        else:
            try:
                await client.send_file(conversation, box)
            except Exception as exc:
                if _is_connectivity_error(exc):
                    raise
                log.warning("gateway cannot send %s (%s); only its caption went out", message.kind, exc)
        self._captioned.pop(key, None)


def _root_cause(exc: BaseException) -> BaseException:
    """The failure behind a task group's exception group or a broken session."""
    while True:
        if isinstance(exc, BaseExceptionGroup):
            exc = next(
                (e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)), exc.exceptions[0]
            )
        elif isinstance(exc, _SessionBroken) and exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            return exc


async def _speaks_tls(endpoint: str) -> bool:
    """Whether the gateway answers a TLS handshake (to tell a plain client why it failed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    host, port = host_port(endpoint)
    try:
        async with asyncio.timeout(3):
            _, writer = await asyncio.open_connection(host, port, ssl=context)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
