"""The pages in headless Chromium: admin forms work through the JSON API, nothing injected runs."""

from __future__ import annotations

from tests.api.pages.conftest import HOSTILE_TITLE


def test_admin_form_creates_rule_and_shows_api_errors(admin_page, live_server: str) -> None:
    page = admin_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server}/quan-tri/quy-tac")
    page.click("details.create summary")
    form = page.locator("details.create form")
    # a query the search syntax refuses: the API's message is shown under the form
    form.locator("input[name=name]").fill("Thử lỗi")
    form.locator("input[name=query]").fill("a OR -b")
    form.locator("button[type=submit]").click()
    error = form.locator(".form-error")
    error.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('details.create .form-error').textContent")
    assert "HOẶC/OR" in error.text_content()
    # a good rule is saved and listed after the reload
    form.locator("input[name=query]").fill('"lạm thu" VÀ hai chau')
    form.locator("select[name='filters.risks']").select_option(["nong"])
    form.locator("select[name=severity]").select_option("critical")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    row = page.locator("table.admin tbody tr").first
    assert "Thử lỗi" in row.text_content()
    assert '"lạm thu" VÀ hai chau' in row.text_content()
    assert "risks: nong" in row.text_content() and "Khẩn cấp" in row.text_content()
    assert dialogs == []


def test_hostile_content_never_runs_in_the_browser(admin_page, live_server: str) -> None:
    page = admin_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ["/?q=", "/?q=tra+loi", "/tong-quan?days=366", "/bao-cao?ky=2025-10",
                 "/quan-tri/nguon-tin", "/quan-tri/don-vi"]:  # fmt: skip
        page.goto(live_server + path)
        page.wait_for_load_state("load")
    page.goto(f"{live_server}/?q=")
    assert HOSTILE_TITLE in page.locator("section.results").inner_text()
    page.goto(f"{live_server}/bao-cao?ky=2025-10")
    assert HOSTILE_TITLE in page.locator("main").inner_text()
    assert dialogs == []


def test_admin_forms_send_ids_lists_and_nulls(admin_page, live_server: str, seeded) -> None:
    page = admin_page
    # a focal-point user tied to a unit (select cast to an int id)
    page.goto(f"{live_server}/quan-tri/nguoi-dung")
    page.click("details.create summary")
    form = page.locator("details.create form")
    form.locator("input[name=username]").fill("dau.moi.1")
    form.locator("input[name=full_name]").fill("Lê Thị Hoa")
    form.locator("select[name=role]").select_option("unit_focal")
    form.locator("select[name=unit_id]").select_option(str(seeded.units["s1"]))
    form.locator("input[name=password]").fill("mat-khau-dai-1")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    row = page.locator("table.admin tbody tr", has_text="dau.moi.1")
    assert "Trường THCS Nguyễn Huệ" in row.text_content()
    # editing a unit: aliases typed with ";" arrive as a list, an empty district as null
    page.goto(f"{live_server}/quan-tri/don-vi")
    row = page.locator("table.admin tbody tr", has_text="Trường THCS Nguyễn Huệ")
    row.locator("summary").click()
    edit = row.locator("form")
    edit.locator("input[name=aliases]").fill("THCS Nguyễn Huệ; NH Hải Châu")
    edit.locator("input[name=district]").fill("")
    with page.expect_navigation():
        edit.locator("button[type=submit]").click()
    row = page.locator("table.admin tbody tr", has_text="Trường THCS Nguyễn Huệ")
    assert "THCS Nguyễn Huệ; NH Hải Châu" in row.text_content()
