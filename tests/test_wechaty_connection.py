"""Connecting to a real puppet-service gateway (Node): TLS as the official clients do it and plain,
every mismatch said in one line with its fix, the login QR code, logout and login again, a frozen
gateway found by the watchdog, a hung send that does not stop the reading, and no token in logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_fixture import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_NAME,
    ROOM,
    TOKEN,
    Gateway,
    Inbox,
    ensure_node_modules,
    eventually,
    make_transport,
)

from bot.core.messages import OutboundMessage
from bot.core.transport import TransportUnavailable

pytest.importorskip("wechaty_grpc")
from bot.transports.puppet_client import GatewayConfigError, GatewayOptions, server_name_of
from bot.transports.wechaty import Watchdog, WechatyTransport

pytestmark = pytest.mark.gateway

LOGGER = "bot.transports.wechaty"


@pytest.fixture(scope="session")
def node_ready() -> None:
    ensure_node_modules()


@pytest.fixture
def started() -> Iterator[list[Gateway]]:
    """Gateways a test starts; all are killed at its end."""
    gateways: list[Gateway] = []
    yield gateways
    for gw in gateways:
        gw.kill()


def start(started: list[Gateway], **kwargs: object) -> Gateway:
    gw = Gateway(**kwargs)  # type: ignore[arg-type]
    gw.start()
    started.append(gw)
    return gw


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


async def failing(transport: WechatyTransport, attempts: int = 3) -> None:
    """Run the transport until it has tried a few times, then stop it (which must not hang)."""
    await transport.start(Inbox())
    try:
        await eventually(lambda: transport.connect_attempts >= attempts, deadline=30)
        assert not transport.connected.is_set()
    finally:
        async with asyncio.timeout(10):
            await transport.stop()  # must end the retry loop even mid-handshake
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "wechaty-transport" and not t.done()]


# ------------------------------------------------------------------------------------- TLS


def test_tls_settings_follow_the_official_clients() -> None:
    assert server_name_of("insecure_0b3e1c") == "insecure"
    assert server_name_of("puppet_padlocal_0b3e1c") == "puppet_padlocal"
    assert server_name_of("Puppet_Workpro_x") == "puppet_workpro"
    assert server_name_of("0b3e1c") is None
    with pytest.raises(GatewayConfigError, match="insecure_"):
        GatewayOptions(endpoint="gw:8788", token="0b3e1c")  # TLS needs a server name
    assert GatewayOptions(endpoint="gw:8788", token="0b3e1c", tls=False).tls is False
    assert GatewayOptions(endpoint="gw:8788", token="0b3e1c", server_name="gw.example").tls_server_name
    with pytest.raises(GatewayConfigError, match="host:port"):
        GatewayOptions(endpoint="gw", token=TOKEN)
    assert "0b3e1c" not in repr(GatewayOptions(endpoint="gw:1", token="insecure_0b3e1c"))


async def test_tls_with_the_gateways_own_ca_and_server_name(
    node_ready: None, started: list[Gateway], tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("gateway.tuanbot.test")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    gw = start(started, tls=True, cert=tmp_path / "cert.pem", key=tmp_path / "key.pem")
    transport = make_transport(gw, ca_cert=ca.cert_pem.bytes().decode(), server_name="gateway.tuanbot.test")
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(transport.connected.is_set, deadline=20)
        mid = gw.say(ALICE, "苹果x1")
        await eventually(lambda: bool(inbox.by_id(mid)))
        await transport.send(OutboundMessage(chat_id=ROOM, text="收到", template="t"))
        await eventually(lambda: [s["text"] for s in gw.sent()] == ["收到"])
    finally:
        await transport.stop()


@pytest.mark.parametrize(
    ("gateway_tls", "client", "expected"),
    [
        (False, {"tls": True}, "does not speak TLS"),
        (True, {"tls": False}, "speaks TLS but this bot connects without it"),
        (True, {"server_name": "gateway.example"}, "not accepted for the name 'gateway.example'"),
        (True, {"token": "insecure_not-the-token"}, "rejected the token"),
        (False, {"token": "insecure_not-the-token"}, "rejected the token"),
    ],
    ids=["tls-to-plain", "plain-to-tls", "wrong-server-name", "wrong-token-tls", "wrong-token-plain"],
)
async def test_each_mismatch_gives_one_line_with_its_fix(
    node_ready: None,
    started: list[Gateway],
    caplog: pytest.LogCaptureFixture,
    gateway_tls: bool,
    client: dict[str, object],
    expected: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    gw = start(started, tls=gateway_tls)
    await failing(make_transport(gw, **client))
    lines = warnings(caplog)
    assert len(lines) == 1, lines
    assert expected in lines[0] and gw.endpoint in lines[0]
    assert "not-the-token" not in caplog.text and TOKEN not in caplog.text


async def test_wrong_ca_names_the_setting_to_fix(
    node_ready: None, started: list[Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    trustme = pytest.importorskip("trustme")
    gw = start(started, tls=True)  # the built-in certificate, signed by the Wechaty root CA
    await failing(make_transport(gw, ca_cert=trustme.CA().cert_pem.bytes().decode()))
    (line,) = warnings(caplog)
    assert "WECHATY_PUPPET_SERVICE_TLS_CA_CERT" in line and "unable to get local issuer certificate" in line


async def test_unreachable_gateway_waits_with_one_clear_line(
    node_ready: None, started: list[Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    gw = Gateway()  # not started yet
    started.append(gw)
    transport = make_transport(gw)
    await transport.start(Inbox())
    try:
        await eventually(lambda: transport.connect_attempts >= 3)
        lines = warnings(caplog)
        assert len(lines) == 1 and "unreachable" in lines[0] and gw.endpoint in lines[0], lines
        assert transport.login.problem is not None and "unreachable" in transport.login.problem
        with pytest.raises(TransportUnavailable):
            await transport.send(OutboundMessage(chat_id=ROOM, text="x", template="t"))
        gw.start()  # the gateway comes up late: the transport connects by itself
        await eventually(transport.connected.is_set, deadline=20)
    finally:
        await transport.stop()


# ----------------------------------------------------------------------------------- login


async def test_login_qr_logout_and_login_again_one_info_line_each(
    node_ready: None, started: list[Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    gw = start(started, wait_for_scan=True)
    transport = make_transport(gw)
    states: list[str] = []
    transport.on_login_change(lambda state: states.append(state.status))
    await transport.start(Inbox())
    try:
        qrcode = "https://login.weixin.qq.com/l/4ZxYk1cB0g=="
        await eventually(lambda: transport.streaming)
        gw.scan(qrcode)
        await eventually(lambda: transport.login.status == "scan")
        assert transport.login.qrcode == qrcode and not transport.connected.is_set()
        gw.scan(qrcode, status=3)  # scanned, waiting for the phone to confirm
        await eventually(lambda: transport.login.status == "scanned")
        gw.login()
        await eventually(transport.connected.is_set)
        assert (transport.login.status, transport.login.user_id, transport.login.user_name) == (
            "logged_in",
            BOT_ID,
            BOT_NAME,
        )
        gw.logout()
        await eventually(lambda: transport.login.status == "logged_out")
        assert not transport.connected.is_set()
        with pytest.raises(TransportUnavailable):
            await transport.send(OutboundMessage(chat_id=ROOM, text="x", template="t"))
        gw.login()
        await eventually(transport.connected.is_set)
    finally:
        await transport.stop()
    info = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]
    assert [r.getMessage().split(" as ")[0].split(" (")[0] for r in info] == [
        "WeChat: logged in",
        f"WeChat: {BOT_NAME} logged out",
        "WeChat: logged in again",
    ]
    assert all(BOT_ID in r.getMessage() or BOT_NAME in r.getMessage() for r in info)
    assert states == ["scan", "scanned", "logged_in", "logged_out", "logged_in"]


# -------------------------------------------------------------------------------- watchdog


async def test_a_frozen_gateway_is_found_logged_once_and_reconnected(
    node_ready: None, started: list[Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    gw = start(started)
    watchdog = Watchdog(interval=0.5, timeout=2.0, connect_timeout=2.0)
    transport = make_transport(gw, watchdog=watchdog)
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(transport.connected.is_set)
        gw.freeze()  # SIGSTOP: the TCP connection stays open, nothing answers
        frozen_at = asyncio.get_running_loop().time()
        await eventually(lambda: not transport.connected.is_set(), deadline=60)
        detected_after = asyncio.get_running_loop().time() - frozen_at
        assert detected_after < watchdog.interval + watchdog.timeout + 5  # slack for a loaded machine
        attempts = transport.connect_attempts
        await eventually(lambda: transport.connect_attempts >= attempts + 2, deadline=30)  # still frozen
        gw.resume()
        await eventually(transport.connected.is_set, deadline=30)
        mid = gw.say(BOB, "还在吗")
        await eventually(lambda: bool(inbox.by_id(mid)), deadline=20)
        gw.freeze()  # a second freeze, later: news again, said once again
        await eventually(lambda: not transport.connected.is_set(), deadline=60)
        gw.resume()
        await eventually(transport.connected.is_set, deadline=30)
    finally:
        await transport.stop()
    lines = warnings(caplog)
    assert len(lines) == 2 and all("stopped answering" in line for line in lines), lines
    assert any("answers again" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert Watchdog().interval + Watchdog().timeout <= 60  # the production settings find it within 60 s


async def test_a_hung_send_times_out_and_never_stops_the_reading(
    node_ready: None, started: list[Gateway]
) -> None:
    gw = start(started)
    transport = make_transport(gw, send_timeout=2.0)
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(transport.connected.is_set)
        gw.sends(hang=True)
        send = asyncio.create_task(transport.send(OutboundMessage(chat_id=ROOM, text="卡住", template="t")))
        mid = gw.say(ALICE, "苹果x2")  # arrives while the send hangs
        await eventually(lambda: bool(inbox.by_id(mid)))
        assert not send.done()
        with pytest.raises(TransportUnavailable):  # the outbox keeps the row and tries again
            await asyncio.wait_for(send, 10)
        gw.sends(hang=False)
        await transport.send(OutboundMessage(chat_id=ROOM, text="再试一次", template="t"))
        assert [s["text"] for s in gw.sent()] == ["再试一次"]
    finally:
        await transport.stop()


# ---------------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_no_token_in_any_log_at_any_level(
    node_ready: None, started: list[Gateway], caplog: pytest.LogCaptureFixture, tls: bool
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, grpclib, h2, asyncio
    gw = start(started, tls=tls)
    transport = make_transport(gw)
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(transport.connected.is_set)
        mid = gw.say(ALICE, "苹果x2")
        await eventually(lambda: bool(inbox.by_id(mid)))
        await transport.send(OutboundMessage(chat_id=ROOM, text="好的", template="t"))
        gw.error(f"gateway trouble while using {gw.token}")
        gw.kill()
        await eventually(lambda: not transport.connected.is_set())
    finally:
        await transport.stop()
    await failing(make_transport(start(started, tls=tls), token="insecure_not-the-token"))
    secret = gw.token.split("_", 1)[1]
    assert caplog.records and not [r for r in caplog.records if secret in r.getMessage()]
    assert secret not in caplog.text and "not-the-token" not in caplog.text
