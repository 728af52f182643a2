"""QueueLimit on the FTP inbound adapter: while its target has that many messages queued,
files stay on the server; once the target drains, the rest follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftp_support import PRODUCTION, FtpServer, files_in


def test_files_stay_on_the_server_while_the_target_queue_is_full(
        tmp_path: Path, make_project: Any, wait_for: Any, store: Any) -> None:
    root, outbox, flag = tmp_path / "ftproot", tmp_path / "out", tmp_path / "open"
    (root / "in").mkdir(parents=True)
    outbox.mkdir()
    sent = {f"f{n:02}.txt": f"file {n}".encode() for n in range(12)}
    for name, data in sent.items():
        (root / "in" / name).write_bytes(data)
    server = FtpServer(root)
    server.start()
    try:
        project = make_project(f'''
            class Gate(BusinessOperation):
                """Holds every message until the flag file exists, then writes it out."""

                def on_message(self, request):
                    while not os.path.exists({str(flag)!r}):
                        time.sleep(0.05)
                    name = os.path.basename(request.OriginalFilename)
                    with open(os.path.join({str(outbox)!r}, name), "w") as fh:
                        fh.write(request.Stream)
            ''', f'''
prod = Production("{PRODUCTION}")
prod.service("FtpIn", class_name="EnsLib.FTP.PassthroughService") \\
    .adapter_setting("FTPServer", "127.0.0.1").adapter_setting("FTPPort", "{server.port}") \\
    .adapter_setting("FilePath", "in").adapter_setting("CallInterval", "0.2") \\
    .adapter_setting("ConfirmComplete", "0").adapter_setting("QueueLimit", "3") \\
    .host_setting("TargetConfigNames", "Gate")
prod.operation("Gate", Gate)
PRODUCTIONS = [prod]
''')
        project.migrate()
        project.start(PRODUCTION)
        wait_for(lambda: store.queue_counts().get("Gate", 0) >= 3, timeout=30,
                 what="three messages queued for Gate")
        taken = len(sent) - len(files_in(root / "in"))
        # The queue counts the message Gate holds too: the limit is the number taken (one
        # more allowed for a poll that read the count just before the last commit).
        assert taken <= 3 + 1, f"{taken} files taken, queues {store.queue_counts()}"
        flag.touch()
        wait_for(lambda: {n: d.encode("latin-1") for n, d in
                          ((p.name, p.read_text("latin-1")) for p in outbox.iterdir())} == sent,
                 timeout=60, what="every file through Gate")
        assert files_in(root / "in") == {}
    finally:
        server.stop()
