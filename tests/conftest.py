"""Shared fixtures: an isolated state directory and a small config, so tests never touch the user's state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import kill_leftovers

SMALL_CONFIG = """\
sample:
  customers: {customers}
anonymization:
  tables:
    customers:
      full_name: fake_name
      email: fake_email
      phone: fake_phone
      address: fake_address
      birth_date: date_shift
      id: keep
      city: keep
      country: keep
      created_at: keep
      updated_at: keep
    orders:
      shipping_address: fake_address
      id: keep
      customer_id: keep
      account_id: keep
      status: keep
      total_cents: keep
      created_at: keep
      updated_at: keep
    payments:
      payer_email: fake_email
      card_last4: "null"
      id: keep
      order_id: keep
      account_id: keep
      amount_cents: keep
      method: keep
      paid_at: keep
      updated_at: keep
runtimes:
  local:
    health_timeout: 20s
    stop_timeout: 2s
drift:
  severity:
    - pattern: "app.security.*"
      severity: critical
    - pattern: "feature_flags.*"
      severity: major
  approved:
    - pattern: "env.DATABASE_URL"
      reason: every environment has its own database
      approver: platform-team
    - pattern: "app.service.instance"
      reason: instances are named after the environment
      approver: platform-team
"""


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("STAGETUI_STATE_DIR", str(state))
    monkeypatch.delenv("STAGETUI_CONFIG", raising=False)
    monkeypatch.delenv("STAGETUI_FAILPOINTS", raising=False)
    monkeypatch.delenv("STAGETUI_MASK_KEY", raising=False)
    yield state


@pytest.fixture
def small_config(tmp_path: Path, state_dir: Path) -> Path:
    path = tmp_path / "stagetui.yaml"
    path.write_text(SMALL_CONFIG.format(customers=400))
    return path


@pytest.fixture(autouse=True)
def _no_leftover_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    yield
    kill_leftovers(tmp_path / "state")
