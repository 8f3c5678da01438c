"""The account page (`/account`, from the top bar): change the password (the old one is
needed; other log-ins end), download your data, and delete the account for good."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import axe, flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e


def log_in(page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("tab-login").click()
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_change_the_password_download_the_data_and_delete_the_account(person):
    email = flows.email_for("Robin", flows.new_suffix())
    robin = person("Robin", width=1000)
    robin.page.goto("/")
    flows.sign_up(robin.page, "Robin", email)
    expect(robin.page.get_by_test_id("greeting")).to_contain_text("Robin")
    # The same account on another device: its log-in ends when the password changes.
    other_device = person("Robin's other device", width=1000)
    log_in(other_device.page, email, flows.PASSWORD)
    expect(other_device.page.get_by_test_id("greeting")).to_contain_text("Robin")

    page = robin.page
    page.get_by_test_id("account-link").click()
    expect(page.get_by_test_id("account-page")).to_be_visible()
    axe.scan(page, "account page")

    # A wrong current password changes nothing and says so.
    page.get_by_test_id("current-password").fill("not my password")
    page.get_by_test_id("new-password").fill("a brand new passphrase")
    page.get_by_test_id("new-password-again").fill("a brand new passphrase")
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-card").get_by_role("alert")).to_be_visible()
    page.get_by_test_id("current-password").fill(flows.PASSWORD)
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-saved")).to_be_visible()

    # The other device's log-in has ended: its next page load asks it to log in.
    other_device.page.reload()
    expect(other_device.page.get_by_test_id("tab-login")).to_be_visible()

    # Download my data: a JSON file with the account (and no password hash).
    with page.expect_download() as download_info:
        page.get_by_test_id("export-data").click()
    exported = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert email in json.dumps(exported)
    assert "password_hash" not in json.dumps(exported)
    expect(page.get_by_test_id("export-done")).to_be_visible()

    # Delete: the box must be ticked; then the account is gone and its log-in with it.
    page.get_by_test_id("delete-disclosure").locator("summary").click()
    page.get_by_test_id("delete-password").fill("a brand new passphrase")
    page.get_by_test_id("delete-submit").click()
    expect(page.get_by_test_id("delete-card").get_by_role("alert")).to_contain_text("Tick the box")
    page.get_by_test_id("delete-sure").check()
    axe.scan(page, "account page, deleting")
    page.get_by_test_id("delete-submit").click()
    expect(page.get_by_test_id("tab-signup")).to_be_visible()
    expect(page.get_by_text("Your account has been deleted")).to_be_visible()
    log_in(page, email, "a brand new passphrase")
    expect(page.get_by_test_id("login-error")).to_be_visible()
    for someone in (robin, other_device):
        assert someone.exceptions == [], someone.exceptions
