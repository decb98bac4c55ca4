"""The catalogue of well-known event types and the properties each one requires.

Every event carries a ``type``: one of the names below, or ``custom.<name>`` for a tenant's own
types (no required properties). A type name is dot-separated words of ``[a-z0-9_-]`` — the same
words a Sink's ``eventTypes`` topic patterns are made of, because the type becomes the second half
of the AMQP routing key ``<tenant>.<type>``.

Required properties are checked by kind: ``string`` (non-empty), ``number`` (int or float, not
bool), ``integer`` (a whole number, also ``3.0`` since protobuf ``Struct`` numbers are doubles),
``boolean``, ``object``, ``array`` or ``any`` (present and not null). Other properties are free-form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

PropertyKind = Literal["string", "number", "integer", "boolean", "object", "array", "any"]

CUSTOM_PREFIX = "custom."
#: Dot-separated words of [a-z0-9_-]: what a Sink's event-type patterns can match word by word.
TYPE_PATTERN = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+\Z")
MAX_TYPE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    category: str
    description: str
    required: Mapping[str, PropertyKind] = field(default_factory=dict)


def _t(name: str, category: str, description: str, **required: PropertyKind) -> EventType:
    return EventType(name, category, description, dict(required))


_TYPES: tuple[EventType, ...] = (
    # app lifecycle
    _t("app.installed", "app", "The app was installed (first open after install).", app_version="string"),
    _t("app.opened", "app", "The app came to the foreground."),
    _t("app.backgrounded", "app", "The app went to the background."),
    _t("app.updated", "app", "The app was updated.", previous_version="string", app_version="string"),
    _t("app.crashed", "app", "The app crashed.", error_type="string"),
    _t("app.uninstalled", "app", "The app was uninstalled (reported server-side)."),
    # navigation
    _t("page.viewed", "navigation", "A web page was viewed.", path="string"),
    _t("screen.viewed", "navigation", "An app screen was viewed.", screen_name="string"),
    _t("element.clicked", "navigation", "A tracked UI element was clicked.", element_id="string"),
    _t("form.submitted", "navigation", "A form was submitted.", form_id="string"),
    _t("deeplink.opened", "navigation", "The app was opened through a deep link.", url="string"),
    # search
    _t("search.performed", "search", "A search was run.", query="string"),
    _t("search.result_clicked", "search", "A search result was opened.", query="string", result_id="string"),
    _t("filter.applied", "search", "A list filter was applied.", filter_name="string"),
    # catalogue
    _t("product.viewed", "commerce", "A product detail page was viewed.", product_id="string"),
    _t("product.list_viewed", "commerce", "A product list or category was viewed.", list_id="string"),
    _t("product.reviewed", "commerce", "A product was rated or reviewed.", product_id="string", rating="number"),
    _t("wishlist.item_added", "commerce", "A product was added to a wishlist.", product_id="string"),
    _t("wishlist.item_removed", "commerce", "A product was removed from a wishlist.", product_id="string"),
    # cart
    _t("cart.viewed", "commerce", "The cart was viewed.", cart_id="string"),
    _t("cart.item_added", "commerce", "A product was added to the cart.", product_id="string", quantity="integer"),
    _t("cart.item_removed", "commerce", "A product was removed from the cart.", product_id="string"),
    _t("cart.abandoned", "commerce", "A cart was left without checking out.", cart_id="string"),
    _t("coupon.applied", "commerce", "A coupon was applied.", coupon_code="string"),
    _t("coupon.rejected", "commerce", "A coupon was refused.", coupon_code="string", reason="string"),
    # checkout
    _t("checkout.started", "commerce", "Checkout began.", checkout_id="string"),
    _t("checkout.step_completed", "commerce", "A checkout step was completed.", checkout_id="string", step="integer"),
    _t("checkout.payment_info_entered", "commerce", "Payment details were entered.", checkout_id="string"),
    _t("checkout.abandoned", "commerce", "Checkout was left before ordering.", checkout_id="string"),
    # orders and payments
    _t("order.created", "commerce", "An order was placed.", order_id="string", total="number", currency="string"),
    _t("order.completed", "commerce", "An order was paid.", order_id="string", total="number", currency="string"),
    _t("order.cancelled", "commerce", "An order was cancelled.", order_id="string"),
    _t("order.shipped", "commerce", "An order was shipped.", order_id="string"),
    _t("order.delivered", "commerce", "An order was delivered.", order_id="string"),
    _t("order.returned", "commerce", "An order was returned.", order_id="string"),
    _t("refund.requested", "commerce", "A refund was requested.", order_id="string", amount="number"),
    _t("refund.completed", "commerce", "A refund was paid out.", order_id="string", amount="number", currency="string"),
    _t(
        "payment.succeeded", "commerce", "A payment succeeded.", payment_id="string", amount="number", currency="string"
    ),
    _t("payment.failed", "commerce", "A payment failed.", payment_id="string", reason="string"),
    # subscriptions
    _t("subscription.trial_started", "subscription", "A free trial began.", subscription_id="string", plan="string"),
    _t("subscription.trial_ended", "subscription", "A free trial ended.", subscription_id="string"),
    _t("subscription.started", "subscription", "A paid subscription began.", subscription_id="string", plan="string"),
    _t("subscription.renewed", "subscription", "A subscription renewed.", subscription_id="string"),
    _t(
        "subscription.upgraded",
        "subscription",
        "A subscription moved up a plan.",
        subscription_id="string",
        plan="string",
    ),
    _t(
        "subscription.downgraded", "subscription", "A subscription moved down.", subscription_id="string", plan="string"
    ),
    _t("subscription.cancelled", "subscription", "A subscription was cancelled.", subscription_id="string"),
    # social and content engagement
    _t("content.shared", "social", "Content was shared.", content_id="string", channel="string"),
    _t("creator.followed", "social", "A creator was followed.", creator_id="string"),
    _t("creator.unfollowed", "social", "A creator was unfollowed.", creator_id="string"),
    _t("post.liked", "social", "A post was liked.", post_id="string"),
    _t("post.commented", "social", "A post was commented on.", post_id="string"),
    _t("post.saved", "social", "A post was saved.", post_id="string"),
    _t("video.started", "social", "Video playback started.", video_id="string"),
    _t("video.progressed", "social", "Video playback passed a milestone.", video_id="string", position_s="number"),
    _t("video.completed", "social", "Video playback reached the end.", video_id="string"),
    _t("live.joined", "social", "A viewer joined a live stream.", stream_id="string"),
    _t("referral.sent", "social", "An invitation was sent.", referral_code="string"),
    _t("referral.accepted", "social", "An invitation was accepted.", referral_code="string"),
    # accounts
    _t("user.signed_up", "account", "An account was created.", method="string"),
    _t("user.logged_in", "account", "A user logged in.", method="string"),
    _t("user.logged_out", "account", "A user logged out."),
    _t("user.password_reset", "account", "A password reset was completed."),
    _t("user.profile_updated", "account", "Profile details were changed."),
    # messaging engagement
    _t("push.sent", "messaging", "A push notification was sent.", campaign_id="string"),
    _t("push.delivered", "messaging", "A push notification reached the device.", campaign_id="string"),
    _t("push.opened", "messaging", "A push notification was opened.", campaign_id="string"),
    _t("push.dismissed", "messaging", "A push notification was dismissed.", campaign_id="string"),
    _t("email.sent", "messaging", "An email was sent.", campaign_id="string"),
    _t("email.delivered", "messaging", "An email was delivered.", campaign_id="string"),
    _t("email.opened", "messaging", "An email was opened.", campaign_id="string"),
    _t("email.clicked", "messaging", "A link in an email was clicked.", campaign_id="string", url="string"),
    _t("email.bounced", "messaging", "An email bounced.", campaign_id="string"),
    _t("email.unsubscribed", "messaging", "A recipient unsubscribed.", campaign_id="string"),
    _t("notification.viewed", "messaging", "An in-app notification was seen.", notification_id="string"),
    _t("notification.clicked", "messaging", "An in-app notification was opened.", notification_id="string"),
    # experiments and diagnostics
    _t(
        "experiment.viewed", "product", "A user was exposed to an experiment.", experiment_id="string", variant="string"
    ),
    _t("feature.used", "product", "A feature was used.", feature="string"),
    _t("error.occurred", "product", "A handled error was shown to the user.", message="string"),
    # scrape snapshots (produced by ScrapeFlow workers)
    _t("profile.snapshot", "snapshot", "A creator profile as scraped.", platform="string", handle="string"),
    _t("post.snapshot", "snapshot", "A post as scraped.", platform="string", post_id="string"),
    _t("product.snapshot", "snapshot", "A store product as scraped.", platform="string", product_id="string"),
    _t(
        "follower.snapshot",
        "snapshot",
        "One follower of a profile as scraped.",
        platform="string",
        handle="string",
        follower_handle="string",
    ),
    _t("channel.snapshot", "snapshot", "A video channel as scraped.", platform="string", channel_id="string"),
    _t("video.snapshot", "snapshot", "A video as scraped.", platform="string", video_id="string"),
)

CATALOGUE: Mapping[str, EventType] = {t.name: t for t in _TYPES}


def lookup(name: str) -> EventType | None:
    """The catalogue entry for ``name``; None for ``custom.*`` and unknown types."""
    return CATALOGUE.get(name)


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)


def categories() -> dict[str, list[str]]:
    """Type names per category, in catalogue order (for docs and ``barista send``)."""
    out: dict[str, list[str]] = {}
    for event_type in _TYPES:
        out.setdefault(event_type.category, []).append(event_type.name)
    return out


def _check_catalogue() -> None:
    for event_type in _TYPES:
        if not TYPE_PATTERN.match(event_type.name) or is_custom(event_type.name):
            raise ValueError(f"bad catalogue type name {event_type.name!r}")
    if len(CATALOGUE) != len(_TYPES):
        raise ValueError("duplicate catalogue type names")


_check_catalogue()
