"""Subset planning: which foreign keys to follow, in which order, and cycle detection (pure)."""

from __future__ import annotations

import pytest

from stagetui.domain.integrity import ForeignKey
from stagetui.domain.subset import CycleError, SubsetPlan, plan_subset

SHOP_TABLES = ("accounts", "customers", "order_items", "orders", "payments", "products")
SHOP = (
    ForeignKey("accounts", "customer_id", "customers", "id"),
    ForeignKey("orders", "customer_id", "customers", "id"),
    ForeignKey("order_items", "order_id", "orders", "id"),
    ForeignKey("order_items", "product_id", "products", "id"),
    ForeignKey("payments", "order_id", "orders", "id"),
    ForeignKey("payments", "account_id", "accounts", "id"),
)


def fk(child: str, parent: str) -> ForeignKey:
    return ForeignKey(child, f"{parent}_id", parent, "id")


def assert_parents_first(plan: SubsetPlan, keys: tuple[ForeignKey, ...]) -> None:
    order = plan.copy_order
    for key in keys:
        if key.table != key.parent_table:
            assert order.index(key.parent_table) < order.index(key.table), key


def assert_downward_complete_before_use(plan: SubsetPlan) -> None:
    """Every edge into a table comes before any edge out of it: its selection is final when used."""
    for i, edge in enumerate(plan.downward):
        later_into_parent = [e for e in plan.downward[i:] if e.table == edge.parent_table]
        assert later_into_parent == [], f"{edge} is followed before {later_into_parent}"


def test_shop_plan() -> None:
    plan = plan_subset(SHOP, "customers", SHOP_TABLES)
    assert set(plan.selected) == {"customers", "accounts", "orders", "order_items", "payments"}
    assert plan.parents == ("products",)
    assert plan.passthrough == ()
    assert set(plan.downward) == set(SHOP) - {ForeignKey("order_items", "product_id", "products", "id")}
    assert plan.downward[0].parent_table == "customers"
    assert set(plan.upward) == set(SHOP)
    assert sorted(plan.copy_order) == sorted(SHOP_TABLES)
    assert_parents_first(plan, SHOP)
    assert_downward_complete_before_use(plan)


def test_upward_edges_run_children_first() -> None:
    plan = plan_subset(SHOP, "customers", SHOP_TABLES)
    # Edges adding rows to a table come before edges reading that table's rows (one pass usually suffices):
    # payments -> orders before orders -> customers, or a pulled-in order would miss its customer.
    for i, key in enumerate(plan.upward):
        assert all(earlier.table != key.parent_table for earlier in plan.upward[:i]), key


def test_a_table_reached_late_is_complete_before_its_children() -> None:
    # root -> a -> x -> b and root -> b -> y: a breadth-first walk would derive y from b before x adds to b.
    keys = (fk("a", "root"), fk("b", "root"), fk("x", "a"), fk("b", "x"), fk("y", "b"))
    plan = plan_subset(keys, "root", ("root", "a", "b", "x", "y"))
    assert_downward_complete_before_use(plan)
    assert plan.downward.index(fk("b", "x")) < plan.downward.index(fk("y", "b"))


def test_plan_does_not_depend_on_input_order() -> None:
    forward = plan_subset(SHOP, "customers", SHOP_TABLES)
    assert plan_subset(tuple(reversed(SHOP)), "customers", SHOP_TABLES) == forward


def test_cycles_are_reported_with_their_path() -> None:
    keys = (fk("b", "a"), fk("c", "b"), fk("a", "c"), fk("d", "a"))
    with pytest.raises(CycleError, match=r"cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)$"):
        plan_subset(keys, "a", ("a", "b", "c", "d"))


def test_a_cycle_away_from_the_root_is_still_an_error() -> None:
    keys = (fk("orders", "customers"), fk("x", "y"), fk("y", "x"))
    with pytest.raises(CycleError, match=r"x -> y -> x|y -> x -> y"):
        plan_subset(keys, "customers", ("customers", "orders", "x", "y"))


def test_self_reference_is_not_a_cycle() -> None:
    referral = ForeignKey("customers", "referred_by", "customers", "id")
    plan = plan_subset((*SHOP, referral), "customers", SHOP_TABLES)
    assert referral not in plan.downward  # would select every referral chain of every customer
    assert referral in plan.upward  # but a referrer of a copied customer is copied too
    assert_parents_first(plan, SHOP)


def test_tables_off_the_root_are_parents_or_passthrough() -> None:
    keys = (
        *SHOP,
        fk("promotions", "products"),
        fk("products", "categories"),
        fk("settings", "settings_groups"),
    )
    tables = (*SHOP_TABLES, "promotions", "categories", "settings", "settings_groups")
    plan = plan_subset(keys, "customers", tables)
    assert set(plan.parents) == {"products", "categories"}
    assert set(plan.passthrough) == {"promotions", "settings", "settings_groups"}
    assert plan.is_subsetted("categories") and not plan.is_subsetted("promotions")
    assert_parents_first(plan, keys)


def test_unknown_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="root table 'clients'"):
        plan_subset(SHOP, "clients", SHOP_TABLES)
    with pytest.raises(ValueError, match=r"accounts\.customer_id -> customers\.id"):
        plan_subset(SHOP, "orders", ("orders", "order_items", "payments", "accounts", "products"))
