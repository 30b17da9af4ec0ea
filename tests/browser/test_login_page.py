"""The local login page in a real Chromium, in front of the real gateway: the QR code a phone can
scan, then who is logged in."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, expect

from tests.gateway_fixture import Gateway, Inbox, ensure_node_modules, eventually, make_transport

pytest.importorskip("wechaty_grpc")
from bot.transports.wechaty_login import LoginPage

QRCODE = "https://login.weixin.qq.com/l/gKq0Ha9xVw=="

pytestmark = pytest.mark.gateway


async def test_scan_then_logged_in(browser: Browser) -> None:
    ensure_node_modules()
    gw = Gateway(wait_for_scan=True)
    gw.start()
    transport = make_transport(gw)
    page_server = LoginPage(transport, port=0)
    await page_server.start()
    await transport.start(Inbox())
    page = await browser.new_page()
    try:
        await page.goto(page_server.url)
        status = page.locator("#status")
        await expect(status).to_have_attribute("data-status", "connecting")
        await eventually(lambda: transport.streaming)
        gw.scan(QRCODE)
        await expect(status).to_contain_text("请用团长的微信扫描二维码登录")
        qr = page.locator("#qr")
        await expect(qr).to_be_visible()
        shot = Image.open(io.BytesIO(await qr.screenshot()))
        assert [r.text for r in zxingcpp.read_barcodes(shot)] == [QRCODE]  # as a phone reads it
        gw.scan(QRCODE, status=3)
        await expect(status).to_contain_text("已扫码，请在手机上点「登录」确认")
        await expect(qr).to_be_hidden()
        gw.login()
        await expect(status).to_have_text("已登录：团长助手")
    finally:
        await page.close()
        await transport.stop()
        await page_server.stop()
        gw.kill()
