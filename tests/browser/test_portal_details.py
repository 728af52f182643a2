"""The portal's smaller promises, in a real browser on the example production (examples/demo):
a favicon; one spelling of defaults; a folder picker that never blanks a setting; icons the
installed fonts draw; Stop asks first; a live tail that keeps a bounded number of rows; a
purge review that says how many sessions and messages will go.

One server and one browser page for the module; the tests run in order.
"""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

from portal_support import Portal

DEMO = "Demo.Production"
CONFIG = f"/ns/USER/config?production={DEMO}"


def _flash(portal: Portal) -> str:
    return str(portal.page.inner_text("main .flash"))


def _status(portal: Portal) -> str:
    portal.page.goto(portal.url + "/ns/USER/productions")
    return str(portal.page.locator(f"tr[data-production='{DEMO}'] .status").inner_text())


def test_the_portal_has_a_favicon_served_as_svg(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url + "/login")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/favicon.svg"
    for path in ("/static/favicon.svg", "/favicon.ico"):  # the second redirects to the first
        answer = page.request.get(portal.url + path)
        assert answer.status == 200, path
        assert answer.headers["content-type"].startswith("image/svg+xml"), path
        assert answer.text().startswith("<svg") and "<script" not in answer.text()
    portal.login()


def test_defaults_are_spelled_one_way(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url + CONFIG + "#production-settings")
    production = page.locator("#production-settings-form .default").all_inner_texts()
    page.goto(portal.url + CONFIG + "&item=AuditOperation")
    item = page.locator("form .default").all_inner_texts()
    notes = production + item
    assert production and item
    assert all(re.fullmatch(r"Default: \S.*", n) for n in notes), notes
    # A checkbox's default is on or off, never 1, 0, True or False.
    bools = page.locator(".row:has(input[type=checkbox]) .default").all_inner_texts()
    page.goto(portal.url + CONFIG + "#production-settings")
    bools += page.locator("#production-settings-form .row:has(input[type=checkbox]) .default"
                          ).all_inner_texts()
    assert bools and set(bools) <= {"Default: on", "Default: off"}, bools
    assert "Default: off" in bools
    for path in (CONFIG, CONFIG + "&item=AuditOperation", CONFIG + "&item=PricingOperation"):
        page.goto(portal.url + path)
        text = page.inner_text("main")
        other = re.findall(r"\((?i:default)[^)]*\)|(?i:defaults?) (?:is|to)\b|\bdefault:|"
                           r"DEFAULT|Default \d|Default=", text)
        assert not other, (path, other)  # no second spelling anywhere on the page
        assert text.count("Default:") == page.locator("main .default").count()


def test_the_folder_picker_never_blanks_a_setting(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url + CONFIG + "&item=AuditOperation")
    field = "#f-host-ArchiveDirectory"
    page.fill(field, "/etc")  # a folder outside the roots this server lets the portal browse
    page.click(f"button[data-for='{field[1:]}']")
    page.wait_for_selector("#picker-note:not([hidden])")
    assert "/etc" in page.inner_text("#picker-note")
    assert page.inner_text("#picker-current") == "Current value: /etc"
    page.wait_for_selector("#picker-list a")
    roots = page.locator("#picker-list a").all_inner_texts()
    assert roots == [str(portal.engine.home / "USER"), str(portal.archive.parent)]
    assert page.is_disabled("#picker-choose")  # nothing to choose yet
    portal.shot("picker-outside-roots")
    page.click("#picker button[value=cancel]")
    assert page.input_value(field) == "/etc"  # kept

    page.click(f"button[data-for='{field[1:]}']")
    page.wait_for_selector("#picker-note:not([hidden])")
    page.keyboard.press("Escape")
    assert page.input_value(field) == "/etc"  # kept
    page.click(f"button[data-for='{field[1:]}']")
    page.wait_for_selector("#picker-note:not([hidden])")
    page.click(f"#picker-list a[data-path='{portal.archive.parent}']")
    page.wait_for_selector(f"#picker-path:has-text('{portal.archive.parent}')")
    page.click("#picker-choose")
    page.wait_for_function("([sel, value]) => document.querySelector(sel).value === value",
                           arg=[field, str(portal.archive.parent)])

    # A value inside the roots opens there, with no note.
    page.click(f"button[data-for='{field[1:]}']")
    page.wait_for_selector(f"#picker-path:has-text('{portal.archive.parent}')")
    assert page.is_hidden("#picker-note")
    page.click("#picker button[value=cancel]")


def _glyphs_missing(chars: set[str]) -> list[str]:
    """The characters no installed font can draw (fontconfig, as chromium uses it)."""
    missing = []
    for ch in sorted(chars):
        found = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"],
                               capture_output=True, text=True, timeout=30)
        assert found.returncode == 0, found.stderr
        if not found.stdout.strip():
            missing.append(f"{ch} U+{ord(ch):04X}")
    return missing


_PAGE_CHARACTERS = """() => {
  const seen = new Set();
  const add = (text) => { for (const ch of text || '') if (ch.codePointAt(0) > 127) seen.add(ch); };
  add(document.body.innerText);
  document.querySelectorAll('svg text, title, [title]').forEach(e => { add(e.textContent); add(e.getAttribute('title')); });
  document.querySelectorAll('*').forEach(e => {
    for (const pseudo of ['::before', '::after']) {
      const content = getComputedStyle(e, pseudo).content;
      if (content && content !== 'none' && content !== 'normal') add(content);
    }
  });
  return [...seen];
}"""


def test_icons_and_symbols_render_with_the_installed_fonts(portal: Portal) -> None:
    page = portal.page
    chars: set[str] = set()
    for path in ("/ns/USER/productions", "/ns/USER/monitor", CONFIG, "/ns/USER/messages",
                 "/ns/USER/log", "/ns/USER/queues", "/ns/USER/suspended", "/ns/USER/purge",
                 "/ns/USER/jobs", "/ns/USER/bindings"):
        page.goto(portal.url + path)
        chars.update(page.evaluate(_PAGE_CHARACTERS))
        assert page.evaluate("document.fonts.size") == 0  # no web font, no icon font
        outside = page.evaluate("""() => [...document.querySelectorAll('link[href], script[src], img[src]')]
            .map(e => e.href || e.src).filter(u => !u.startsWith(location.origin))""")
        assert outside == [], (path, outside)  # no CDN
    page.goto(portal.url + CONFIG + "&item=AuditOperation")
    page.click("button[data-for='f-host-ArchiveDirectory']")
    page.wait_for_selector("#picker-list a.dir")
    chars.update(page.evaluate(_PAGE_CHARACTERS))
    icon = page.evaluate("getComputedStyle(document.querySelector('#picker-list a.dir'), "
                         "'::before').backgroundImage")
    assert icon.startswith('url("data:image/svg+xml'), icon  # the folder icon is an SVG
    assert page.locator("#picker-list a.dir").first.evaluate(
        "a => a.getBoundingClientRect().width") > 16
    page.click("#picker button[value=cancel]")
    assert chars  # the pages do use a few symbols (—, ·, →)
    assert _glyphs_missing(chars) == []


def test_stop_asks_for_confirmation(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/productions")
    page.click(f"tr[data-production='{DEMO}'] button[value=start]")
    assert "started" in _flash(portal)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click(f"tr[data-production='{DEMO}'] button[value=stop]")
    assert asked and asked[0].startswith(f"Stop {DEMO}?")
    assert _status(portal) == "running"  # refused: nothing was posted
    # The configuration page's Stop asks too.
    page.goto(portal.url + CONFIG)
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button[name=action][value=stop]")
    assert len(asked) == 2 and asked[1].startswith(f"Stop {DEMO}?")
    assert _status(portal) == "running"


def test_the_live_tail_keeps_a_bounded_number_of_rows(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/log?keep=10")
    assert page.locator("#log-table").get_attribute("data-max-rows") == "10"
    first = int(page.locator("#log-table").get_attribute("data-after") or 0)
    # The running demo logs a line or two a second: wait for more new rows than kept.
    wait_for(lambda: int(page.locator("#log-table tbody tr").first.get_attribute("data-id")
                         or 0) > first + 15, timeout=90, interval=0.5,
             what="more than 15 new log lines in the live tail")
    ids = [int(i) for i in page.locator("#log-table tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.id)")]
    assert len(ids) == 10  # the newest ten, newest first
    assert ids == sorted(ids, reverse=True) and ids[0] > first + 15
    store_newest = portal.store().newest_log_id()
    assert ids[0] <= store_newest
    portal.shot("log-tail-bounded")
    page.goto(portal.url + "/ns/USER/log?keep=99999")  # bounded by the server
    assert page.locator("#log-table").get_attribute("data-max-rows") == "500"


def test_the_purge_review_says_how_many_sessions_and_messages_go(portal: Portal,
                                                                 wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/productions")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-production='{DEMO}'] button[value=stop]")
    assert "stopped" in _flash(portal)
    page.goto(portal.url + "/ns/USER/purge?review=1&keep_days=0")
    store = portal.store()
    expected = store.purge_preview(time.time())
    sessions = int(page.inner_text("#purge-sessions"))
    messages = int(page.inner_text("#purge-messages"))
    assert (sessions, messages) == (expected["sessions"], expected["headers"])
    assert sessions > 1 and messages > sessions  # the demo ran: sessions of several messages
    assert int(page.inner_text("#purge-log")) > 0
    assert store.query_headers(limit=1)  # the review deleted nothing
    portal.shot("purge-review-counts")
    page.click("#purge-now")
    done = _flash(portal)
    assert f"{sessions} session(s), {messages} message(s)" in done, done
