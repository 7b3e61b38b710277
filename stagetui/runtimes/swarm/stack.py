"""The Swarm objects of one environment, made from its compose file and its workspace: the overlay
networks, the configs carrying its data and config, and the spec of each service."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import docker

from stagetui.compose.model import ComposeProject, ServiceSpec
from stagetui.config.swarm import SwarmRuntimeConfig
from stagetui.domain.models import Environment
from stagetui.runtimes.base import RuntimeOperationError, Workspace, config_variables, environment_labels
from stagetui.runtimes.docker.engine import engine_errors
from stagetui.runtimes.swarm import naming
from stagetui.runtimes.swarm.endpoint import choose_endpoint_mode
from stagetui.runtimes.swarm.payloads import Payload, PayloadError, payload
from stagetui.runtimes.swarm.specs import ImageDefaults, ServiceRequest, service_request


class Stack:
    """One environment's stack on the manager `client` talks to."""

    def __init__(
        self,
        client: docker.DockerClient,
        project: ComposeProject,
        settings: SwarmRuntimeConfig,
        engine_address: str,
        env: Environment,
        workspace: Workspace,
    ) -> None:
        self.client = client
        self.project = project
        self.settings = settings
        self.engine_address = engine_address
        self.env = env
        self.workspace = workspace
        self.labels = environment_labels(env)

    @property
    def networks(self) -> dict[str, str]:
        """Compose network name ("" for the default) -> the overlay's name."""
        return {n: naming.network_name(self.env.id, n or None) for n in ("", *self.project.networks)}

    def create_networks(self) -> None:
        tagged = {**self.labels, naming.ROLE_LABEL: "network"}
        with engine_errors(f"networks of {self.env.id}"):
            for name in self.networks.values():
                self.client.api.create_network(name, driver="overlay", attachable=True, labels=tagged)

    @cached_property
    def payloads(self) -> dict[tuple[str, str], Payload]:
        """(volume, mount target) -> its files as configs, for every service mounting the data or config
        volume (a target of its own per service, the same configs)."""
        shipped = (
            (self.project.stagetui.data_volume, "data", self.workspace.data_dir),
            (self.project.stagetui.config_volume, "config", self.workspace.config_dir),
        )
        found: dict[tuple[str, str], Payload] = {}
        for volume, kind, directory in shipped:
            for spec in self.project.services.values():
                target = spec.mount_target(volume) if volume else None
                if volume is None or target is None or (volume, target) in found:
                    continue
                try:
                    found[(volume, target)] = payload(
                        self.env.id, kind, directory, target, max_bytes=self.settings.max_data_size
                    )
                except PayloadError as error:
                    raise RuntimeOperationError(f"{self.env.id}: {error}") from None
        return found

    def create_configs(self) -> dict[str, str]:
        """Config name -> id, for every payload part; parts that exist already (same content) are reused."""
        with engine_errors(f"configs of {self.env.id}"):
            listed = self.client.api.configs(filters=naming.environment_filter(self.env.id))
            existing = {(c.get("Spec") or {}).get("Name"): c["ID"] for c in listed}
            ids: dict[str, str] = {}
            for shipped in self.payloads.values():
                for part in shipped.parts:
                    if part.name in ids or part.name in existing:
                        ids[part.name] = ids.get(part.name) or existing[part.name]
                        continue
                    tagged = {**self.labels, naming.ROLE_LABEL: shipped.kind}
                    ids[part.name] = self.client.api.create_config(part.name, part.content, labels=tagged)[
                        "ID"
                    ]
        return ids

    def reads_config(self, spec: ServiceSpec) -> bool:
        """The service gets the config's variables or mounts its file: a config change updates it."""
        volume = self.project.stagetui.config_volume
        return spec.name == self.project.config_service or (
            volume is not None and spec.mount_target(volume) is not None
        )

    def request(
        self, spec: ServiceSpec, config_ids: Mapping[str, str], replicas: int | None = None
    ) -> ServiceRequest:
        mine = {
            m.source or "": self.payloads[(m.source or "", m.target)]
            for m in spec.volumes
            if (m.source or "", m.target) in self.payloads
        }
        extra: dict[str, str] = {}
        if spec.name == self.project.config_service:
            extra = {**config_variables(self.workspace.config_file), "STAGETUI_ENV_ID": self.env.id}
        image = self._image_defaults(spec) if any(p.joined for p in mine.values()) else None
        try:
            return service_request(
                self.project,
                spec,
                self.env.id,
                self.labels,
                self.networks,
                endpoint_mode=choose_endpoint_mode(self.settings.endpoint_mode, self.engine_address),
                extra_environment=extra,
                stop_timeout=self.settings.stop_timeout.total_seconds(),
                payloads=mine,
                config_ids=config_ids,
                image=image,
                replicas=replicas,
            )
        except ValueError as error:
            raise RuntimeOperationError(f"{self.env.id}: {error}") from None

    def _image_defaults(self, spec: ServiceSpec) -> ImageDefaults:
        """The image's ENTRYPOINT and CMD, read on the manager: a service whose data is joined at start
        runs its own command after the join, so that command must be known."""
        if spec.entrypoint is not None and spec.command is not None:
            return ImageDefaults()
        try:
            with engine_errors(f"image {spec.image} of service {spec.name}"):
                config = self.client.api.inspect_image(spec.image).get("Config") or {}
        except RuntimeOperationError as error:
            raise RuntimeOperationError(
                f"{error}: the manager needs the image to learn its command, as {spec.name}'s data is "
                "joined when its tasks start; or give both entrypoint: and command: in the compose file"
            ) from None
        return ImageDefaults(tuple(config.get("Entrypoint") or ()), tuple(config.get("Cmd") or ()))
