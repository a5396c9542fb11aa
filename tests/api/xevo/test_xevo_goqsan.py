"""QSAN's own Go SDK (github.com/QsanJohnson/goqsan) against a live `opensan serve`.

goqsan/main.go is OpenSAN's program calling the SDK's public API the way goqsan's tests and
QSAN's CSI driver do. It is built here in GOPATH mode, offline, from the goqsan copy that
$OPENSAN_GOQSAN names (a checkout, or a bare git dir whose HEAD is taken) and the Debian
package golang-glog-dev (goqsan's only dependency). QSAN's code has no open-source licence, so
none of it is in this repository: without $OPENSAN_GOQSAN these tests are deselected (the
summary says so), never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import PASSWORD, Api, LiveServer

pytestmark = pytest.mark.goqsan

HERE = Path(__file__).parent
DEBIAN_GOPATH = Path("/usr/share/gocode")  # golang-glog-dev installs glog here


def _goqsan_source(into: Path) -> None:
    source = Path(os.environ["OPENSAN_GOQSAN"])
    into.mkdir(parents=True)
    if (source / "go.mod").is_file():
        shutil.copytree(source, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        return
    archive = subprocess.run(["git", "--git-dir", str(source), "archive", "HEAD"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


@pytest.fixture(scope="module")
def goqsan_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program, built against the SDK offline."""
    go = shutil.which("go")
    assert go, "Go is not installed: apt-get install golang-go golang-glog-dev"
    assert (DEBIAN_GOPATH / "src/github.com/golang/glog").is_dir(), \
        "goqsan needs glog: apt-get install golang-glog-dev"
    gopath = tmp_path_factory.mktemp("gopath")
    _goqsan_source(gopath / "src/github.com/QsanJohnson/goqsan")
    program = gopath / "src/goqsan-check"
    program.mkdir()
    shutil.copy(HERE / "goqsan" / "main.go", program)
    binary = gopath / "goqsan-check"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": f"{gopath}:{DEBIAN_GOPATH}",
           "GOPROXY": "off", "GOFLAGS": "", "GOCACHE": str(gopath / "cache")}
    built = subprocess.run([go, "build", "-o", str(binary), "."], cwd=program, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return binary


def test_goqsan_manages_opensan(goqsan_check: Path, live_server: LiveServer) -> None:
    run = subprocess.run([str(goqsan_check), "127.0.0.1", str(live_server.port), "admin",
                          PASSWORD], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.rstrip().endswith("PASS"), run.stdout + run.stderr
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        admin = Api(http).login("admin")
        assert "goqsan-vol" not in {v["name"] for v in admin.ok("GET", "/rest/storage/volumeinfo")}
        log = [e["message"] for e in admin.ok("GET", "/rest/log/list/1")["events"]]
        log += [e["message"] for e in admin.ok("GET", "/rest/log/list/2")["events"]]
        for text in ("Volume goqsan-vol created", "Volume goqsan-vol modified",
                     "as a clone of volume goqsan-renamed", "Volume goqsan-clone is cloned",
                     "Volume goqsan-renamed deleted.", "QoS on, rule MAX_IOPS_THROUGHPUT.",
                     "Snapshot kyle_snap3 of volume goqsan-renamed moved to the trash.",
                     "Volume goqsan-renamed rolled back to snapshot kyle_snap2",
                     "is now LUN 5", "Volume goqsan-renamed unmapped from target",
                     "mapped to FC target"):
            assert any(text in message for message in log), (text, log)
