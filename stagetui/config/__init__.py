"""The validated configuration model and its loader."""

from stagetui.config.errors import ConfigError
from stagetui.config.loader import load_config, resolve_config_path
from stagetui.config.model import StagetuiConfig

__all__ = ["ConfigError", "StagetuiConfig", "load_config", "resolve_config_path"]
