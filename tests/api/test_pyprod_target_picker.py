"""Seed 002's `target = IRISProperty(settings="Target")`: the portal's configuration page offers
the item picker for it (a <select> of the production's processes and operations), not a plain
text box. Plain HTTP on the directory's one `iop --serve`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
from remote_server import ADMIN, PYTHON, ServedEngine

DATA = Path(__file__).resolve().parents[1] / "data" / "pyprod"

SETTINGS = '''
from iop import Production

hello = Production("HelloWorld")
service = hello.service("MyService", "helloworld.MyService")
process = hello.process("MyProcess", "helloworld.MyProcess")
operation = hello.operation("MyOperation", "helloworld.MyOperation")
service.connect("target", process)
PRODUCTIONS = [hello]
'''


def test_a_target_property_gets_the_item_picker(served: ServedEngine, tmp_path: Path) -> None:
    ns = served.new_namespace("PICK")
    script = tmp_path / "HelloWorld.py"
    shutil.copy(DATA / "HelloWorld.py", script)
    loaded = subprocess.run([PYTHON, "-m", "intersystems_pyprod", "-n", ns, str(script)],
                            env=served.server_env, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    settings = tmp_path / "settings.py"
    settings.write_text(SETTINGS, encoding="utf-8")
    migrated = served.iop_local("-m", str(settings), "-n", ns)
    assert migrated.returncode == 0, migrated.stderr

    with httpx.Client(base_url=served.url, timeout=60) as http:
        token = re.search(r'name="login_token" value="([^"]+)"', http.get("/login").text)
        assert token
        assert http.post("/login", data={"login_token": token.group(1), "username": ADMIN[0],
                                         "password": ADMIN[1]}).status_code == 303
        page = http.get(f"/ns/{ns}/config", params={"production": "HelloWorld",
                                                    "item": "MyService"})
        assert page.status_code == 200, page.text
        picker = re.search(r'<select id="f-host-target" name="host:target" '
                           r'data-widget="item">(.*?)</select>', page.text, re.S)
        assert picker, "no item picker for MyService's target"
        options = re.findall(r"<option[^>]*>([^<]*)</option>", picker.group(1))
        assert options == ["(none)", "MyProcess", "MyOperation"]  # no service, not itself
        assert re.search(r"<option selected>MyProcess</option>", picker.group(1))

        process = http.get(f"/ns/{ns}/config", params={"production": "HelloWorld",
                                                       "item": "MyProcess"})
        assert 'name="host:target" data-widget="item"' in process.text
