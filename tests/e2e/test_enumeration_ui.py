"""Sign-up in the browser now that the server answers alike for a taken address: a new
address lands on the home page as before; a taken one with another password ends on the
log-in tab with the server's neutral sentence (no "already exists"); a taken one with its
own password simply logs its owner in."""

from __future__ import annotations

import pytest

from tests.e2e import axe, flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e


def sign_up(page, name: str, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-name").fill(name)
    page.get_by_test_id("signup-password").fill(password)
    page.get_by_test_id("signup-submit").click()


def test_signing_up_with_a_taken_address_says_nothing_about_it(person):
    email = flows.email_for("Robin", flows.new_suffix())
    robin = person("Robin", width=1000)
    sign_up(robin.page, "Robin", email, flows.PASSWORD)
    expect(robin.page.get_by_test_id("greeting")).to_contain_text("Robin")

    # Someone else tries the same address with their own password.
    other = person("Kit", width=1000)
    sign_up(other.page, "Kit", email, "somebody else's password")
    notice = other.page.get_by_test_id("login-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("If this e-mail address is new to Mend")
    expect(other.page.get_by_test_id("tab-login")).to_have_attribute("aria-selected", "true")
    expect(other.page.get_by_test_id("login-email")).to_have_value(email)
    expect(other.page.get_by_test_id("login-password")).to_be_focused()
    assert "already exists" not in other.page.inner_text("body")
    axe.scan(other.page, "sign-up with a taken address")

    # The owner, having forgotten they signed up, signs up again with their password: in.
    again = person("Robin again", width=1000)
    sign_up(again.page, "Robin", email, flows.PASSWORD)
    expect(again.page.get_by_test_id("greeting")).to_contain_text("Robin")
    for someone in (robin, other, again):
        assert someone.exceptions == [], someone.exceptions
