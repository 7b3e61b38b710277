"""The sample images on a real Docker Engine: they build, run what the sample services need, are not rebuilt
while current, and are rebuilt (once, even when asked twice at the same time) when the service changes."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from stagetui.runtimes.docker import images
from stagetui.runtimes.docker.images import (
    BUSYBOX_IMAGE,
    CONTENT_LABEL,
    SAMPLE_APP_IMAGE,
    SAMPLE_IMAGES,
    ensure_sample_image,
)

pytestmark = pytest.mark.integration

TEST_LABEL = "stagetui.test"  # on every container made here, to check none outlives its test


@pytest.fixture(autouse=True)
def _no_leftover_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    yield
    left = docker_client.containers.list(all=True, filters={"label": TEST_LABEL})
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


def run_once(client: docker.DockerClient, image: str, command: list[str]) -> str:
    """Run a command to its end in a new container; its output. The container is always removed."""
    container = client.containers.create(image, command, labels={TEST_LABEL: "images"})
    try:
        container.start()
        status = container.wait(timeout=60)
        output = container.logs().decode()
        assert status["StatusCode"] == 0, output
        return str(output)
    finally:
        container.remove(force=True)


def test_both_sample_images_are_built_and_labelled(
    docker_client: docker.DockerClient, sample_images: None
) -> None:
    for name in SAMPLE_IMAGES:
        labels = docker_client.images.get(name).labels
        assert len(labels[CONTENT_LABEL]) == 64, labels


def test_busybox_runs_a_shell_and_httpd_serves_www(
    docker_client: docker.DockerClient, sample_images: None
) -> None:
    assert run_once(docker_client, BUSYBOX_IMAGE, ["sh", "-c", "echo ok"]) == "ok\n"
    server = docker_client.containers.run(
        BUSYBOX_IMAGE,
        ["httpd", "-f", "-p", "8080", "-h", "/www"],
        detach=True,
        init=True,
        ports={"8080/tcp": ("127.0.0.1", None)},
        labels={TEST_LABEL: "images"},
    )
    try:
        server.reload()
        port = int(server.ports["8080/tcp"][0]["HostPort"])
        page = ""
        deadline = time.monotonic() + 15
        while not page and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.1)  # httpd not listening yet
        assert "stagetui busybox httpd" in page
    finally:
        server.remove(force=True)


def test_python_image_has_what_the_sample_service_needs(
    docker_client: docker.DockerClient, sample_images: None
) -> None:
    script = "import os, sqlite3, http.server; import stagetui.sample.service; print(os.getcwd(), 'ok')"
    assert run_once(docker_client, SAMPLE_APP_IMAGE, ["python3", "-c", script]) == "/app ok\n"


def test_a_current_image_is_not_rebuilt(docker_client: docker.DockerClient, sample_images: None) -> None:
    for name in sorted(SAMPLE_IMAGES):
        before = docker_client.images.get(name).id
        started = time.monotonic()
        assert ensure_sample_image(docker_client, name) is False
        assert time.monotonic() - started < 2, "a warm check is one inspect and some hashing"
        assert docker_client.images.get(name).id == before


def copy_sources(destination: Path) -> Path:
    """A copy of the installed sample service's files, laid out as images.APP_SOURCE_ROOT holds them."""
    root = destination / "stagetui"
    for relative in images.APP_SOURCE_FILES:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with images.APP_SOURCE_ROOT.joinpath(*relative.split("/")).open("rb") as source:
            target.write_bytes(source.read())
    return root


def test_a_changed_sample_service_rebuilds_the_app_image_once(
    docker_client: docker.DockerClient, sample_images: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = docker_client.images.get(SAMPLE_APP_IMAGE).id
    changed = copy_sources(tmp_path)
    marker = f"changed-{time.time_ns()}"  # never built before, so the build cannot be a cache hit
    with (changed / "sample" / "service.py").open("a") as service:
        service.write(f"\nBUILD_MARKER = {marker!r}\n")
    monkeypatch.setattr(images, "APP_SOURCE_ROOT", changed)
    try:
        # Two callers at once: one builds, the other waits for the lock and finds the image current.
        results: list[bool] = []
        reports: list[list[float]] = [[], []]

        def ensure(index: int) -> None:
            fractions = reports[index]
            results.append(
                ensure_sample_image(docker_client, SAMPLE_APP_IMAGE, lambda f, _m: fractions.append(f))
            )

        threads = [threading.Thread(target=ensure, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert sorted(results) == [False, True]
        for fractions in reports:
            assert fractions == sorted(fractions) and fractions[-1] == 1.0, fractions

        script = "import stagetui.sample.service as service; print(service.BUILD_MARKER)"
        assert run_once(docker_client, SAMPLE_APP_IMAGE, ["python3", "-c", script]) == f"{marker}\n"
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(original)  # the superseded image is removed, not left dangling
    finally:
        monkeypatch.undo()  # the session's image is the installed service again, for the other tests
        shutil.rmtree(changed)
        assert ensure_sample_image(docker_client, SAMPLE_APP_IMAGE) is True
    names = "import stagetui.sample.service as service; print(dir(service))"
    assert "BUILD_MARKER" not in run_once(docker_client, SAMPLE_APP_IMAGE, ["python3", "-c", names])
