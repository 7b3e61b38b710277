from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stagetui.compose.model import (
    BuildSpec,
    ComposeProject,
    Dependency,
    EndpointSpec,
    Healthcheck,
    PortMapping,
    ServiceSpec,
    StagetuiExtension,
    VolumeMount,
)
from stagetui.compose.parse import ComposeError, load_compose

# Line numbers below are those of this file as written (line 1 is `name: shop`).
BASE = """\
name: shop
services:
  web:
    image: shop/web:1
{web}
  db:
    image: postgres:16
    ports: ["5432"]
    healthcheck: {{test: pg_isready}}
volumes:
  data: {{}}
networks:
  backend:
x-stagetui:
  endpoint: {{service: db, port: 5432}}
{top}"""
WEB_LINE = 5
"""The first line of a snippet inserted into `web`."""
TOP_LINE = 16
"""The first line of a snippet appended at the top level."""


def _write(tmp_path: Path, text: str, name: str = "shop.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _base(web: str = "", top: str = "") -> str:
    return BASE.format(web=textwrap.indent(textwrap.dedent(web), "    "), top=textwrap.dedent(top))


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ComposeProject:
    return load_compose(_write(tmp_path, text), environ or {})


def _error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ComposeError:
    with pytest.raises(ComposeError) as caught:
        _load(tmp_path, text, environ)
    return caught.value


def _assert_error(
    error: ComposeError, tmp_path: Path, line: int | None, location: str, fragment: str
) -> None:
    where = f"{tmp_path / 'shop.yaml'}:{line}" if line is not None else str(tmp_path / "shop.yaml")
    prefix = f"{where}: {location}: " if location else f"{where}: "
    assert error.line == line, str(error)
    assert ".".join(str(part) for part in error.location) == location, str(error)
    assert str(error).startswith(prefix), str(error)
    assert fragment in error.message, str(error)


# --- the whole model -------------------------------------------------------------------------------------

FULL = """\
version: "3.9"
name: shop
x-defaults: &defaults
  labels: [team=shop, tier=web]
x-unused: ${NEVER_SET}
services:
  web:
    <<: *defaults
    x-notes: ${ALSO_NEVER_SET}
    build:
      context: ./app
      dockerfile: Dockerfile.dev
      args: [PYTHON=3.11, TOKEN, ABSENT]
      target: runtime
    command: python -m shop --port "8080"
    entrypoint: [/entry.sh, --verbose]
    env_file: [common.env, web.env]
    environment:
      - MODE=${MODE:-staging}
      - SHELL_VAR
      - NOT_IN_SHELL
      - PRICE=$$5
    ports:
      - "8080"
      - 127.0.0.1::9000/udp
      - 9100:9100
      - "0.0.0.0:9200:9201"
      - 22:22
      - target: 7000
        published: "7001"
        host_ip: 127.0.0.2
        protocol: udp
    volumes:
      - data:/srv/data
      - ./config:/srv/config:ro
      - /var/log/shop:/srv/log:rw
      - /tmp/scratch
      - type: bind
        source: ../shared
        target: /srv/shared
        read_only: true
      - type: volume
        target: /srv/anon
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
      cache:
    healthcheck:
      test: [CMD, curl, -f, "http://localhost:8080/health"]
      interval: 1m30s
      timeout: 500ms
      retries: 5
      start_period: 1.5s
    networks:
      backend:
      frontend: {}
    working_dir: /srv
    user: 1000
    stop_grace_period: 20s
  db:
    image: postgres:${PG_VERSION}
    environment:
      POSTGRES_PASSWORD: secret
      DEBUG: true
      WORKERS: 4
      RATIO: 1.5
      EMPTY: ""
      FROM_SHELL:
      NOT_IN_SHELL:
    healthcheck:
      test: pg_isready -U postgres
    labels: {backup: "yes"}
    networks: [backend]
    volumes: [data:/var/lib/postgresql/data]
  migrate:
    build: ./app
    command: [alembic, upgrade, head]
    depends_on: [db]
  cache:
    image: redis:7
    healthcheck: {disable: true}
    command: ""
volumes:
  data:
  config:
    driver: local
    labels: {purpose: config}
networks:
  backend: {}
  frontend:
    driver: bridge
x-stagetui:
  endpoint:
    service: web
    port: 8080
    health_path: /healthz
  data_volume: data
  config_volume: config
  config_service: db
"""


def _full_project(tmp_path: Path) -> ComposeProject:
    (tmp_path / "app").mkdir()
    (tmp_path / "common.env").write_text(
        "# shared\nexport MODE=dev\nCOLOR='blue'\nSIZE=10  # inline comment\n\n"
    )
    (tmp_path / "web.env").write_text('COLOR="green"\nSHELL_VAR=from-file\n')
    environ = {"PG_VERSION": "16", "TOKEN": "t0k", "SHELL_VAR": "from-shell", "FROM_SHELL": "shell"}
    return load_compose(_write(tmp_path, FULL), environ)


def test_full_file_builds_every_field_of_the_model(tmp_path: Path) -> None:
    project = _full_project(tmp_path)
    web = ServiceSpec(
        name="web",
        image="shop-web:latest",
        build=BuildSpec(
            context=tmp_path / "app",
            dockerfile="Dockerfile.dev",
            args={"PYTHON": "3.11", "TOKEN": "t0k"},
            target="runtime",
        ),
        command=("python", "-m", "shop", "--port", "8080"),
        entrypoint=("/entry.sh", "--verbose"),
        environment={
            "MODE": "staging",
            "COLOR": "green",
            "SIZE": "10",
            "SHELL_VAR": "from-shell",
            "PRICE": "$5",
        },
        ports=(
            PortMapping(8080),
            PortMapping(9000, "udp", "127.0.0.1", None),
            PortMapping(9100, "tcp", "127.0.0.1", 9100),
            PortMapping(9201, "tcp", "0.0.0.0", 9200),
            PortMapping(22, "tcp", "127.0.0.1", 22),
            PortMapping(7000, "udp", "127.0.0.2", 7001),
        ),
        volumes=(
            VolumeMount("/srv/data", "data", "volume", False),
            VolumeMount("/srv/config", str(tmp_path / "config"), "bind", True),
            VolumeMount("/srv/log", "/var/log/shop", "bind", False),
            VolumeMount("/tmp/scratch", None, "volume", False),
            VolumeMount("/srv/shared", str(tmp_path.parent / "shared"), "bind", True),
            VolumeMount("/srv/anon", None, "volume", False),
        ),
        depends_on=(
            Dependency("db", "service_healthy"),
            Dependency("migrate", "service_completed_successfully"),
            Dependency("cache", "service_started"),
        ),
        healthcheck=Healthcheck(
            test=("CMD", "curl", "-f", "http://localhost:8080/health"),
            interval=90.0,
            timeout=0.5,
            retries=5,
            start_period=1.5,
        ),
        labels={"team": "shop", "tier": "web"},
        networks=("backend", "frontend"),
        working_dir="/srv",
        user="1000",
        stop_grace_period=20.0,
    )
    db = ServiceSpec(
        name="db",
        image="postgres:16",
        environment={
            "POSTGRES_PASSWORD": "secret",
            "DEBUG": "true",
            "WORKERS": "4",
            "RATIO": "1.5",
            "EMPTY": "",
            "FROM_SHELL": "shell",
        },
        healthcheck=Healthcheck(test=("CMD-SHELL", "pg_isready -U postgres")),
        labels={"backup": "yes"},
        networks=("backend",),
        volumes=(VolumeMount("/var/lib/postgresql/data", "data"),),
    )
    migrate = ServiceSpec(
        name="migrate",
        image="shop-migrate:latest",
        build=BuildSpec(context=tmp_path / "app"),
        command=("alembic", "upgrade", "head"),
        depends_on=(Dependency("db"),),
    )
    cache = ServiceSpec(name="cache", image="redis:7", command=())
    assert project == ComposeProject(
        path=tmp_path / "shop.yaml",
        name="shop",
        services={"web": web, "db": db, "migrate": migrate, "cache": cache},
        volumes=("data", "config"),
        networks=("backend", "frontend"),
        stagetui=StagetuiExtension(
            endpoint=EndpointSpec("web", 8080, "/healthz"),
            data_volume="data",
            config_volume="config",
            config_service="db",
        ),
        start_levels=(("db", "cache"), ("migrate",), ("web",)),
    )
    assert list(project.services) == ["web", "db", "migrate", "cache"]
    assert project.config_service == "db"


def test_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    path = _write(
        tmp_path,
        """\
        services:
          api:
            build: app
            ports: ["8000"]
        x-stagetui:
          endpoint: {service: api, port: 8000}
        """,
        name="review-42.yml",
    )
    project = load_compose(path, {})
    assert project == ComposeProject(
        path=path,
        name="review-42",
        services={
            "api": ServiceSpec(
                name="api",
                image="review-42-api:latest",
                build=BuildSpec(context=tmp_path / "app"),
                ports=(PortMapping(8000),),
            )
        },
        volumes=(),
        networks=(),
        stagetui=StagetuiExtension(endpoint=EndpointSpec("api", 8000, "/health")),
        start_levels=(("api",),),
    )
    assert project.config_service == "api"
    assert project.services["api"].ports[0].host_ip == "127.0.0.1"


# --- environment -----------------------------------------------------------------------------------------


def test_env_files_apply_in_order_and_environment_overrides_them(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "base.env").write_text(
        "\n".join(
            [
                "# comment line",
                "",
                "A=base",
                "B=base",
                "export C = spaced ",
                "D='single # not a comment'",
                'E="double"  # comment after quotes',
                "F=unquoted # trailing comment",
                "G=a=b",
                "PASSED",
                "UNSET_IN_SHELL",
                "H=",
            ]
        )
    )
    (tmp_path / "env" / "override.env").write_text("B=override\nA=override\n")
    web = """\
    env_file: [env/base.env, env/override.env]
    environment: {A: explicit}
    """
    project = _load(tmp_path, _base(web=web), {"PASSED": "from-shell"})
    assert project.services["web"].environment == {
        "A": "explicit",
        "B": "override",
        "C": "spaced",
        "D": "single # not a comment",
        "E": "double",
        "F": "unquoted",
        "G": "a=b",
        "PASSED": "from-shell",
        "H": "",
    }


def test_env_file_as_a_single_string(tmp_path: Path) -> None:
    (tmp_path / ".env.web").write_text("ONE=1\n")
    project = _load(tmp_path, _base(web="env_file: .env.web"))
    assert project.services["web"].environment == {"ONE": "1"}


def test_bare_environment_name_keeps_the_env_file_value_when_unset(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("KEPT=file\n")
    web = """\
    env_file: web.env
    environment: [KEPT]
    """
    assert _load(tmp_path, _base(web=web)).services["web"].environment == {"KEPT": "file"}
    assert _load(tmp_path, _base(web=web), {"KEPT": "shell"}).services["web"].environment == {"KEPT": "shell"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", "true"),
        ("False", "false"),
        ("42", "42"),
        ("-7", "-7"),
        ("1.5", "1.5"),
        ("2.0", "2"),
        ("1e3", "1000"),
        ('"quoted"', "quoted"),
        # YAML 1.2, as compose reads it: none of these are booleans, numbers or dates.
        ("yes", "yes"),
        ("off", "off"),
        ("0755", "0755"),
        ("12:30", "12:30"),
        ("2024-01-01", "2024-01-01"),
    ],
)
def test_environment_values_become_strings_like_compose(tmp_path: Path, value: str, expected: str) -> None:
    project = _load(tmp_path, _base(web=f"environment: {{V: {value}}}"))
    assert project.services["web"].environment == {"V": expected}


# --- interpolation ---------------------------------------------------------------------------------------


def test_interpolation_uses_the_given_environ_only(tmp_path: Path) -> None:
    text = """\
    name: ${PROJECT:-shop}
    services:
      web:
        image: registry/web:${TAG}
        ports: ["${PORT:-8080}"]
        environment: ["GREETING=$${NOT_INTERPOLATED}", "EMPTY_DEFAULT=${EMPTY:-fallback}"]
    x-stagetui:
      endpoint: {service: web, port: "${PORT:-8080}"}
    """
    project = _load(tmp_path, text, {"TAG": "1.2.3", "PORT": "9090", "EMPTY": ""})
    web = project.services["web"]
    assert project.name == "shop"
    assert web.image == "registry/web:1.2.3"
    assert web.ports == (PortMapping(9090),)
    assert web.environment == {"GREETING": "${NOT_INTERPOLATED}", "EMPTY_DEFAULT": "fallback"}
    assert project.stagetui.endpoint.port == 9090


@pytest.mark.parametrize(
    ("web", "environ", "line", "location", "fragment"),
    [
        ("command: run ${MISSING}", {}, WEB_LINE, "services.web.command", "MISSING is not set"),
        ("labels: ['a=${BROKEN']", {}, WEB_LINE, "services.web.labels.0", "malformed reference"),
    ],
)
def test_interpolation_errors_name_the_key(
    tmp_path: Path, web: str, environ: dict[str, str], line: int, location: str, fragment: str
) -> None:
    _assert_error(_error(tmp_path, _base(web=web), environ), tmp_path, line, location, fragment)


# --- ports -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('"8080"', PortMapping(8080)),
        ("8080", PortMapping(8080)),
        ('"8080/udp"', PortMapping(8080, "udp")),
        ('"8080/tcp"', PortMapping(8080, "tcp")),
        ('"9000:8080"', PortMapping(8080, host_port=9000)),
        ("9000:53", PortMapping(53, host_port=9000)),
        ('"127.0.0.1:9000:8080"', PortMapping(8080, host_ip="127.0.0.1", host_port=9000)),
        ('"127.0.0.1::8080"', PortMapping(8080, host_ip="127.0.0.1")),
        ('"10.0.0.5::8080/udp"', PortMapping(8080, "udp", "10.0.0.5")),
        ('"[::1]:9000:8080"', PortMapping(8080, host_ip="::1", host_port=9000)),
        ('"[::1]::8080"', PortMapping(8080, host_ip="::1")),
        ("{target: 8080}", PortMapping(8080)),
        ("{target: 8080, published: 9000}", PortMapping(8080, host_port=9000)),
        ('{target: "8080", published: ""}', PortMapping(8080)),
        ("{target: 8080, host_ip: 0.0.0.0, protocol: udp}", PortMapping(8080, "udp", "0.0.0.0")),
    ],
)
def test_port_syntaxes(tmp_path: Path, entry: str, expected: PortMapping) -> None:
    web = f"""\
    ports:
      - "8080"
      - {entry}
    """
    assert _load(tmp_path, _base(web=web)).services["web"].ports == (PortMapping(8080), expected)


@pytest.mark.parametrize(
    ("entry", "location", "fragment"),
    [
        ('"9000-9001:8000-8001"', "services.web.ports.1", "port ranges are not supported"),
        (
            "{target: 8000, published: 9000-9001}",
            "services.web.ports.1.published",
            "port ranges are not supported",
        ),
        ('"1:2:3:4"', "services.web.ports.1", "is not a port mapping"),
        ('"[::1:8080"', "services.web.ports.1", "write an IPv6 address as [::1]:9000:8080"),
        ('"localhost:9000:8080"', "services.web.ports.1", "'localhost' is not an IP address"),
        ('"8080/sctp"', "services.web.ports.1", "protocol 'sctp' is not supported; use tcp or udp"),
        ('"70000"', "services.web.ports.1", "'70000' is not a port number (1-65535)"),
        ("0", "services.web.ports.1", "'0' is not a port number"),
        ('"http"', "services.web.ports.1", "'http' is not a port number"),
        ("{target: 0}", "services.web.ports.1.target", "must be between 1 and 65535 (got 0)"),
        ("{published: 9000}", "services.web.ports.1", "missing required key 'target'"),
        ("{target: 80, mode: host}", "services.web.ports.1.mode", "'mode' is not supported (yet)"),
        ("{target: 80, hostip: 1.2.3.4}", "services.web.ports.1.hostip", "(did you mean 'host_ip'?)"),
        ("true", "services.web.ports.1", "must be a string (got True)"),
    ],
)
def test_port_refusals(tmp_path: Path, entry: str, location: str, fragment: str) -> None:
    web = f"""\
    ports:
      - "8080"
      - {entry}
    """
    _assert_error(_error(tmp_path, _base(web=web)), tmp_path, WEB_LINE + 2, location, fragment)


# --- volumes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("data:/srv", VolumeMount("/srv", "data", "volume", False)),
        ("data:/srv:ro", VolumeMount("/srv", "data", "volume", True)),
        ("data:/srv:rw", VolumeMount("/srv", "data", "volume", False)),
        ("./conf:/etc/app", VolumeMount("/etc/app", "{dir}/conf", "bind", False)),
        ("../up:/up:ro", VolumeMount("/up", "{parent}/up", "bind", True)),
        ("/abs/path:/in", VolumeMount("/in", "/abs/path", "bind", False)),
        ("/anon", VolumeMount("/anon", None, "volume", False)),
        ("{type: volume, source: data, target: /t}", VolumeMount("/t", "data", "volume", False)),
        ("{type: volume, target: /t, read_only: true}", VolumeMount("/t", None, "volume", True)),
        ('{type: bind, source: ., target: /t, read_only: "true"}', VolumeMount("/t", "{dir}", "bind", True)),
    ],
)
def test_volume_syntaxes(tmp_path: Path, entry: str, expected: VolumeMount) -> None:
    if expected.source is not None:
        source = expected.source.format(dir=tmp_path, parent=tmp_path.parent)
        expected = VolumeMount(expected.target, source, expected.kind, expected.read_only)
    project = _load(tmp_path, _base(web=f"volumes: [{entry}]"))
    assert project.services["web"].volumes == (expected,)


@pytest.mark.parametrize(
    ("entry", "location", "fragment"),
    [
        (
            "logs:/logs",
            "services.web.volumes.0",
            "volume 'logs' is not declared under the top-level `volumes`",
        ),
        ("data:relative", "services.web.volumes.0", "must be absolute (got 'relative')"),
        ("relative", "services.web.volumes.0", "must be absolute (got 'relative')"),
        ("data:/srv:z", "services.web.volumes.0", "volume option 'z' is not supported; use ro or rw"),
        ("a:b:c:d", "services.web.volumes.0", "is not a volume mount"),
        ("~/cache:/cache", "services.web.volumes.0", "home-relative paths are not supported"),
        ("{type: tmpfs, target: /t}", "services.web.volumes.0.type", "'tmpfs' is not supported (yet)"),
        ("{type: disk, target: /t}", "services.web.volumes.0.type", "unknown volume type 'disk'"),
        ("{target: /t}", "services.web.volumes.0", "missing required key 'type'"),
        ("{type: bind, target: /t}", "services.web.volumes.0", "missing required key 'source'"),
        ("{type: volume, source: data}", "services.web.volumes.0", "missing required key 'target'"),
        (
            "{type: volume, source: nope, target: /t}",
            "services.web.volumes.0.source",
            "'nope' is not declared",
        ),
        ("{type: volume, target: /t, readonly: true}", "services.web.volumes.0.readonly", "'read_only'?"),
        ("{type: volume, target: /t, read_only: maybe}", "services.web.volumes.0.read_only", "true or false"),
        (
            "{type: bind, source: ., target: /t, bind: {}}",
            "services.web.volumes.0.bind",
            "not supported (yet)",
        ),
    ],
)
def test_volume_refusals(tmp_path: Path, entry: str, location: str, fragment: str) -> None:
    _assert_error(_error(tmp_path, _base(web=f"volumes: [{entry}]")), tmp_path, WEB_LINE, location, fragment)


# --- healthcheck and durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("healthcheck", "expected"),
    [
        ("{test: curl -f localhost}", Healthcheck(("CMD-SHELL", "curl -f localhost"))),
        ("{test: [CMD-SHELL, exit 0]}", Healthcheck(("CMD-SHELL", "exit 0"))),
        ("{test: [CMD, true]}", Healthcheck(("CMD", "true"))),
        ("{test: [NONE]}", None),
        ("{disable: true}", None),
        ("{disable: true, test: [NONE], interval: 5s}", None),
        ("{test: [CMD, x], disable: false, retries: 1}", Healthcheck(("CMD", "x"), retries=1)),
        (
            "{test: x, interval: 2h, timeout: 250ms, start_period: 0s}",
            Healthcheck(("CMD-SHELL", "x"), interval=7200.0, timeout=0.25, start_period=0.0),
        ),
        ("{test: x, interval: 1m30.5s, timeout: 1500us}", Healthcheck(("CMD-SHELL", "x"), 90.5, 0.0015)),
        ("{test: x, interval: 1h1m1s}", Healthcheck(("CMD-SHELL", "x"), interval=3661.0)),
    ],
)
def test_healthcheck_forms(tmp_path: Path, healthcheck: str, expected: Healthcheck | None) -> None:
    project = _load(tmp_path, _base(web=f"healthcheck: {healthcheck}"))
    assert project.services["web"].healthcheck == expected


@pytest.mark.parametrize(
    ("healthcheck", "location", "fragment"),
    [
        ("{interval: 5s}", "services.web.healthcheck", "missing required key 'test'"),
        ("{test: [CMD]}", "services.web.healthcheck.test", 'must be ["CMD", "program", "arg"]'),
        ("{test: [CMD-SHELL, a, b]}", "services.web.healthcheck.test", "must be"),
        ("{test: [RUN, x]}", "services.web.healthcheck.test", "must be"),
        ("{test: []}", "services.web.healthcheck.test", "must be"),
        ("{test: x, disable: true}", "services.web.healthcheck.test", "remove `test` or `disable`"),
        ("{test: x, interval: 30}", "services.web.healthcheck.interval", "must be a duration with a unit"),
        ("{test: x, interval: 5 s}", "services.web.healthcheck.interval", "must be a duration"),
        ("{test: x, interval: 1d}", "services.web.healthcheck.interval", "must be a duration"),
        ("{test: x, timeout: 0s}", "services.web.healthcheck.timeout", "must be longer than 0s"),
        ("{test: x, retries: 0}", "services.web.healthcheck.retries", "must be at least 1 (got 0)"),
        ("{test: x, retries: many}", "services.web.healthcheck.retries", "must be an integer (got 'many')"),
        ("{test: x, start_interval: 1s}", "services.web.healthcheck.start_interval", "not supported (yet)"),
        ("{test: x, intervl: 1s}", "services.web.healthcheck.intervl", "(did you mean 'interval'?)"),
        ("[CMD, x]", "services.web.healthcheck", "must be a mapping (got a list)"),
    ],
)
def test_healthcheck_refusals(tmp_path: Path, healthcheck: str, location: str, fragment: str) -> None:
    error = _error(tmp_path, _base(web=f"healthcheck: {healthcheck}"))
    _assert_error(error, tmp_path, WEB_LINE, location, fragment)


def test_stop_grace_period_is_a_duration(tmp_path: Path) -> None:
    assert _load(tmp_path, _base(web="stop_grace_period: 1m")).services["web"].stop_grace_period == 60.0
    error = _error(tmp_path, _base(web="stop_grace_period: soon"))
    _assert_error(error, tmp_path, WEB_LINE, "services.web.stop_grace_period", "must be a duration")


# --- command, build, labels, networks, simple fields -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sh -c 'echo \"hi there\"'", ("sh", "-c", 'echo "hi there"')),
        ("[sleep, 10]", ("sleep", "10")),
        ("[]", ()),
        ('""', ()),
        ("null", None),
    ],
)
def test_command_forms(tmp_path: Path, value: str, expected: tuple[str, ...] | None) -> None:
    web = _load(tmp_path, _base(web=f"command: {value}\nentrypoint: {value}")).services["web"]
    assert web.command == expected
    assert web.entrypoint == expected


def test_build_with_image_keeps_the_image_as_tag(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    web = """\
    build: {args: {VERSION: 2, FLAG: true, FROM_SHELL: null}}
    """
    project = _load(tmp_path, _base(web=web), {"FROM_SHELL": "x"})
    assert project.services["web"].image == "shop/web:1"
    assert project.services["web"].build == BuildSpec(
        context=tmp_path, args={"VERSION": "2", "FLAG": "true", "FROM_SHELL": "x"}
    )


@pytest.mark.parametrize(
    ("web", "location", "fragment"),
    [
        ("build: ./missing", "services.web.build", f"build context {{dir}}{'/'}missing is not a directory"),
        (
            "build: https://github.com/x/y.git",
            "services.web.build",
            "remote build contexts are not supported",
        ),
        ("build: {context: ., dockerfil: X}", "services.web.build.dockerfil", "(did you mean 'dockerfile'?)"),
        ("build: {context: ., args: [=1]}", "services.web.build.args.0", "'=1' has no name before '='"),
        ("build: {context: ., target: 3}", "services.web.build.target", "must be a string (got 3)"),
        ("labels: [stagetui.env=x]", "services.web.labels.0", "are reserved for stagetui"),
        ("labels: {Stagetui.Owner: me}", "services.web.labels.Stagetui.Owner", "are reserved"),
        ("labels: {a: {b: c}}", "services.web.labels.a", "must be a string, a number or a boolean"),
        ("networks: [frontend]", "services.web.networks.0", "network 'frontend' is not declared"),
        (
            "networks: {backend: {aliases: [x]}}",
            "services.web.networks.backend.aliases",
            "not supported (yet)",
        ),
        (
            "networks: {backend: {ipv4_address: 10.0.0.2}}",
            "services.web.networks.backend.ipv4_address",
            "refused",
        ),
        ("working_dir: srv", "services.web.working_dir", "must be an absolute path (got 'srv')"),
        ("build: {target: ''}", "services.web.build.target", "must not be empty"),
        ("command: echo 'unclosed", "services.web.command", "cannot split"),
        ("command: {a: b}", "services.web.command", "must be a string (got a mapping)"),
        ("environment: [=x]", "services.web.environment.0", "has no name before '='"),
        ("environment: yes", "services.web.environment", "must be a mapping (got 'yes')"),
        ("env_file: nowhere.env", "services.web.env_file", "env file {dir}/nowhere.env not found"),
        ("env_file: [{path: a.env}]", "services.web.env_file.0", "must be a string (got a mapping)"),
    ],
)
def test_service_field_refusals(tmp_path: Path, web: str, location: str, fragment: str) -> None:
    error = _error(tmp_path, _base(web=web))
    _assert_error(error, tmp_path, WEB_LINE, location, fragment.format(dir=tmp_path))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("GOOD=1\nnot a line\n", "env file {dir}/bad.env, line 2: 'not a line' is not a variable name"),
        ("A='unclosed\n", "env file {dir}/bad.env, line 1: the quoted value of A is not closed"),
        ('A="x" trailing\n', "line 1: the quoted value of A is not closed, or text follows it"),
    ],
)
def test_malformed_env_file_names_the_file_and_its_line(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "bad.env").write_text(content)
    error = _error(tmp_path, _base(web="env_file: [bad.env]"))
    _assert_error(error, tmp_path, WEB_LINE, "services.web.env_file.0", fragment.format(dir=tmp_path))


def test_user_and_working_dir(tmp_path: Path) -> None:
    web = _load(tmp_path, _base(web='user: "1000:1000"\nworking_dir: /app')).services["web"]
    assert (web.user, web.working_dir) == ("1000:1000", "/app")


# --- keys refused or unknown, at every level -------------------------------------------------------------


@pytest.mark.parametrize(
    ("web", "location", "fragment"),
    [
        ("container_name: shop-web", "services.web.container_name", "breaks the isolation of parallel"),
        ("network_mode: host", "services.web.network_mode", "breaks the isolation"),
        ("pid: host", "services.web.pid", "process namespace"),
        ("ipc: host", "services.web.ipc", "IPC namespace"),
        ("privileged: true", "services.web.privileged", "full access to the host"),
        ("cap_add: [NET_ADMIN]", "services.web.cap_add", "power over the host"),
        ("devices: [/dev/kvm]", "services.web.devices", "host devices"),
        ("secrets: [token]", "services.web.secrets", "'secrets' is not supported (yet)"),
        ("configs: [c]", "services.web.configs", "'configs' is not supported (yet)"),
        ("extends: {service: base}", "services.web.extends", "'extends' is not supported (yet)"),
        ("profiles: [debug]", "services.web.profiles", "'profiles' is not supported (yet)"),
        ("restart: always", "services.web.restart", "'restart' is not supported (yet)"),
        ("links: [db]", "services.web.links", "reach each other by service name"),
        ("imgae: x", "services.web.imgae", "unknown key 'imgae' (did you mean 'image'?)"),
        (
            "frobnicate: 1",
            "services.web.frobnicate",
            "unknown key 'frobnicate'; supported here: build, command",
        ),
    ],
)
def test_service_key_refusals_list_the_supported_keys(
    tmp_path: Path, web: str, location: str, fragment: str
) -> None:
    error = _error(tmp_path, _base(web=web))
    _assert_error(error, tmp_path, WEB_LINE, location, fragment)
    assert error.message.endswith(
        "supported here: build, command, depends_on, deploy, entrypoint, env_file, environment, healthcheck, "
        "image, labels, networks, ports, stop_grace_period, user, volumes, working_dir"
    )


@pytest.mark.parametrize(
    ("top", "location", "fragment"),
    [
        ("secrets: {token: {file: t}}", "secrets", "'secrets' is not supported (yet)"),
        ("configs: {}", "configs", "'configs' is not supported (yet)"),
        ("include: [other.yaml]", "include", "'include' is not supported (yet)"),
        (
            "servics: {}",
            "servics",
            "unknown key 'servics' (did you mean 'services'?); supported here: name, ",
        ),
    ],
)
def test_top_level_key_refusals(tmp_path: Path, top: str, location: str, fragment: str) -> None:
    error = _error(tmp_path, _base(top=top))
    _assert_error(error, tmp_path, TOP_LINE, location, fragment)
    assert error.message.endswith("supported here: name, networks, services, version, volumes, x-stagetui")


def test_extension_keys_and_version_are_ignored_without_interpolation(tmp_path: Path) -> None:
    web = """\
    x-note: ${UNSET_IN_SERVICE}
    """
    top = """\
    version: ${UNSET_VERSION}
    x-anything: {deep: ["${UNSET_EXTENSION}"]}
    """
    project = _load(tmp_path, _base(web=web, top=top))
    assert project.services["web"] == ServiceSpec(name="web", image="shop/web:1")


@pytest.mark.parametrize(
    ("declarations", "line", "location", "fragment"),
    [
        ("volumes: {data: {external: true}}", 2, "volumes.data.external", "an external volume is shared"),
        ("volumes: {data: {name: fixed}}", 2, "volumes.data.name", "a fixed volume name collides"),
        (
            "volumes: {data: {driver: nfs}}",
            2,
            "volumes.data.driver",
            "driver 'nfs' is not supported; use local",
        ),
        ("volumes: {data: {labels: [stagetui.x=1]}}", 2, "volumes.data.labels.0", "reserved for stagetui"),
        ("volumes: {data: {driver_opts: {}}}", 2, "volumes.data.driver_opts", "not supported (yet)"),
        ("volumes: {data: {lables: {}}}", 2, "volumes.data.lables", "(did you mean 'labels'?)"),
        ("volumes: {'bad name': }", 2, "volumes.bad name", "name 'bad name' is invalid"),
        ("volumes: [data]", 2, "volumes", "must be a mapping (got a list)"),
        ("networks: {net: {external: true}}", 2, "networks.net.external", "an external network is shared"),
        (
            "networks: {net: {driver: host}}",
            2,
            "networks.net.driver",
            "driver 'host' is not supported; use bridge",
        ),
        ("networks: {net: {internal: true}}", 2, "networks.net.internal", "not supported (yet)"),
        ("networks: {default: {}}", 2, "networks.default", "'default' is the environment's own network"),
    ],
)
def test_top_level_declaration_refusals(
    tmp_path: Path, declarations: str, line: int, location: str, fragment: str
) -> None:
    text = f"""\
    services: {{web: {{image: x, ports: ["80"]}}}}
    {declarations}
    x-stagetui: {{endpoint: {{service: web, port: 80}}}}
    """
    _assert_error(_error(tmp_path, text), tmp_path, line, location, fragment)


def test_top_level_declarations_accept_null_empty_driver_and_labels(tmp_path: Path) -> None:
    text = """\
    services: {web: {image: x, ports: ["80"]}}
    volumes: {a: , b: {}, c: {driver: local, labels: {k: v}, x-note: 1}}
    networks: {n1: , n2: {driver: bridge, labels: [k=v]}}
    x-stagetui: {endpoint: {service: web, port: 80}}
    """
    project = _load(tmp_path, text)
    assert (project.volumes, project.networks) == (("a", "b", "c"), ("n1", "n2"))


# --- depends_on, cycles and start levels -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("web", "location", "fragment"),
    [
        ("depends_on: [dbb]", "services.web.depends_on.0", "unknown service 'dbb'; did you mean 'db'?"),
        ("depends_on: [queue]", "services.web.depends_on.0", "unknown service 'queue'; services: web, db"),
        ("depends_on: [web]", "services.web.depends_on.0", "service 'web' depends on itself"),
        ("depends_on: [db, db]", "services.web.depends_on.1", "'db' is listed twice"),
        ("depends_on: {db: {condition: ready}}", "services.web.depends_on.db.condition", "unknown condition"),
        ("depends_on: {db: {restart: true}}", "services.web.depends_on.db.restart", "not supported (yet)"),
        (
            "depends_on: {db: {conditon: x}}",
            "services.web.depends_on.db.conditon",
            "did you mean 'condition'?",
        ),
        ("depends_on: db", "services.web.depends_on", "must be a mapping (got 'db')"),
    ],
)
def test_depends_on_refusals(tmp_path: Path, web: str, location: str, fragment: str) -> None:
    _assert_error(_error(tmp_path, _base(web=web)), tmp_path, WEB_LINE, location, fragment)


def test_service_healthy_needs_a_healthcheck_on_the_dependency(tmp_path: Path) -> None:
    text = """\
    services:
      web:
        image: web
        ports: ["80"]
        depends_on:
          cache: {condition: service_healthy}
      cache: {image: redis}
    x-stagetui: {endpoint: {service: web, port: 80}}
    """
    error = _error(tmp_path, text)
    _assert_error(
        error, tmp_path, 6, "services.web.depends_on.cache", "service_healthy needs a healthcheck on 'cache'"
    )


@pytest.mark.parametrize(
    ("graph", "line", "location", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, 3, "services.a.depends_on.0", "a -> b -> a"),
        ({"a": [], "b": ["c"], "c": ["d"], "d": ["b"]}, 6, "services.b.depends_on.0", "b -> c -> d -> b"),
        ({"a": ["b"], "b": ["c"], "c": ["a", "b"]}, 3, "services.a.depends_on.0", "a -> b -> c -> a"),
    ],
)
def test_dependency_cycles_are_named(
    tmp_path: Path, graph: dict[str, list[str]], line: int, location: str, cycle: str
) -> None:
    lines = ["services:"]
    for name, dependencies in graph.items():
        lines += [f"  {name}:", f"    depends_on: [{', '.join(dependencies)}]", "    image: x"]
    lines += ["    ports: ['80']", "x-stagetui: {endpoint: {service: a, port: 80}}"]
    error = _error(tmp_path, "\n".join(lines) + "\n")
    _assert_error(error, tmp_path, line, location, f"dependency cycle: {cycle}")


@pytest.mark.parametrize(
    ("graph", "levels"),
    [
        ({"a": [], "b": [], "c": []}, (("a", "b", "c"),)),
        (
            {"app": ["db", "cache"], "db": [], "cache": [], "proxy": ["app"]},
            (("db", "cache"), ("app",), ("proxy",)),
        ),
        ({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}, (("a",), ("b", "c"), ("d",))),
        ({"late": ["x", "y"], "x": [], "y": ["x"], "solo": []}, (("x", "solo"), ("y",), ("late",))),
    ],
)
def test_start_levels_group_by_dependency_depth_in_file_order(
    tmp_path: Path, graph: dict[str, list[str]], levels: tuple[tuple[str, ...], ...]
) -> None:
    lines = ["services:"]
    for name, dependencies in graph.items():
        lines += [
            f"  {name}:",
            "    image: x",
            "    ports: ['80']",
            f"    depends_on: [{', '.join(dependencies)}]",
        ]
    first = next(iter(graph))
    lines.append(f"x-stagetui: {{endpoint: {{service: {first}, port: 80}}}}")
    assert _load(tmp_path, "\n".join(lines) + "\n").start_levels == levels


# --- x-stagetui ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "line", "location", "fragment"),
    [
        ("{}", 6, "x-stagetui", "missing required key 'endpoint'"),
        ("{endpoint: {port: 80}}", 6, "x-stagetui.endpoint", "missing required key 'service'"),
        ("{endpoint: {service: web}}", 6, "x-stagetui.endpoint", "missing required key 'port'"),
        ("{endpoint: {service: wbe, port: 80}}", 6, "x-stagetui.endpoint.service", "did you mean 'web'?"),
        (
            "{endpoint: {service: db, port: 5432}}",
            6,
            "x-stagetui.endpoint.port",
            "add it under services.db.ports",
        ),
        ("{endpoint: {service: web, port: 81}}", 6, "x-stagetui.endpoint.port", "it publishes 80, 9090"),
        (
            "{endpoint: {service: web, port: 80, health_path: health}}",
            6,
            "x-stagetui.endpoint.health_path",
            "'/'",
        ),
        (
            "{endpoint: {service: web, port: 80, path: /}}",
            6,
            "x-stagetui.endpoint.path",
            "supported here: health",
        ),
        (
            "{endpoint: {service: web, port: 80}, data_volume: dta}",
            6,
            "x-stagetui.data_volume",
            "did you mean 'data'?",
        ),
        (
            "{endpoint: {service: web, port: 80}, config_volume: x}",
            6,
            "x-stagetui.config_volume",
            "declared: data",
        ),
        (
            "{endpoint: {service: web, port: 80}, config_service: api}",
            6,
            "x-stagetui.config_service",
            "'api'",
        ),
        (
            "{endpoint: {service: web, port: 80}, ttl: 1h}",
            6,
            "x-stagetui.ttl",
            "supported here: config_service",
        ),
        ("[web]", 6, "x-stagetui", "must be a mapping (got a list)"),
    ],
)
def test_stagetui_extension_refusals(
    tmp_path: Path, extension: str, line: int, location: str, fragment: str
) -> None:
    text = f"""\
    services:
      web: {{image: x, ports: ["80", "9090"]}}
      db: {{image: postgres}}
    volumes:
      data:
    x-stagetui: {extension}
    """
    _assert_error(_error(tmp_path, text), tmp_path, line, location, fragment)


def test_missing_stagetui_extension_explains_what_it_is(tmp_path: Path) -> None:
    error = _error(tmp_path, "services: {web: {image: x}}\n")
    _assert_error(error, tmp_path, 1, "", "missing required key 'x-stagetui' (stagetui's endpoint, e.g. ")


# --- names, services, the file itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "location", "fragment"),
    [
        ("name: Shop\nservices: {}\n", 1, "name", "project name 'Shop' is invalid"),
        ("name: shop\n", 1, "", "missing required key 'services'"),
        ("services: {}\n", 1, "services", "must define at least one service"),
        ("services:\n", 1, "services", "must be a mapping (got null)"),
        ("services: [web]\n", 1, "services", "must be a mapping (got a list)"),
        ("services:\n  Web: {image: x}\n", 2, "services.Web", "service name 'Web' is invalid"),
        ("services:\n  _web: {image: x}\n", 2, "services._web", "service name '_web' is invalid"),
        ("services:\n  web: {ports: ['80']}\n", 2, "services.web", "needs `image` or `build`"),
        ("services:\n  web: image-only\n", 2, "services.web", "must be a mapping (got 'image-only')"),
        ("- just\n- a list\n", 1, "", "the top level must be a mapping"),
        (
            "services:\n  web: {image: x}\n  web: {image: y}\n",
            3,
            "services.web",
            "duplicate key (first defined",
        ),
        ("services:\n  web: [unclosed\n", 3, "", "YAML syntax error"),
        ("", 1, "", "missing required key 'services'"),
    ],
)
def test_file_level_refusals(tmp_path: Path, text: str, line: int, location: str, fragment: str) -> None:
    _assert_error(_error(tmp_path, text), tmp_path, line, location, fragment)


def test_project_name_falls_back_to_a_valid_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "Shop.Staging.yaml"
    path.write_text("services: {web: {image: x}}\n")
    with pytest.raises(ComposeError) as caught:
        load_compose(path, {})
    assert str(caught.value) == (
        f"{path}:1: the file name 'Shop.Staging' is not a valid project name (use lowercase letters, digits, "
        "'_' and '-', starting with a letter or digit); set `name:`"
    )


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ComposeError) as caught:
        load_compose(tmp_path / "absent.yaml", {})
    assert str(caught.value) == f"{tmp_path / 'absent.yaml'}: compose file not found"
    assert (caught.value.line, caught.value.location) == (None, ())
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ComposeError, match="cannot read compose file"):
        load_compose(tmp_path / "binary.yaml", {})


def test_compose_error_renders_file_line_and_key() -> None:
    error = ComposeError(Path("envs/shop.yaml"), 12, ("services", "web", "ports", 0), "bad port")
    assert str(error) == "envs/shop.yaml:12: services.web.ports.0: bad port"
    assert str(ComposeError(Path("a.yaml"), None, ("name",), "bad")) == "a.yaml: name: bad"
    assert str(ComposeError(Path("a.yaml"), 3, (), "bad")) == "a.yaml:3: bad"
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.location, error.message) == (
        Path("envs/shop.yaml"),
        12,
        ("services", "web", "ports", 0),
        "bad port",
    )
