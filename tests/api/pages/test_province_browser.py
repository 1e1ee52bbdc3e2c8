"""The first-run province form in headless Chromium (admin.js sends it to the API)."""

from __future__ import annotations


def test_first_run_form_chooses_the_province(admin_page, live_server: str) -> None:
    page = admin_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # given: no province chosen yet
    page.goto(f"{live_server}/quan-tri")
    prompt = page.locator("section.first-run")
    assert "Chọn tỉnh/thành phố của Sở" in prompt.inner_text()
    # when: the admin picks one and sends the form
    prompt.locator("select[name=name]").select_option("Tỉnh Quảng Ngãi")
    with page.expect_navigation():
        prompt.locator("button[type=submit]").click()
    # then: the page reloads with the profile instead of the prompt
    assert page.locator("section.first-run").count() == 0
    shown = page.locator("section.province").inner_text()
    assert "Tỉnh Quảng Ngãi" in shown and "96 xã, phường, đặc khu" in shown
    assert "Tỉnh Kon Tum" in shown and "Thành phố Đà Nẵng, Tỉnh Gia Lai" in shown
    assert dialogs == []
