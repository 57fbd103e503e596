"""Webhooks over HTTP (admin only): subscribe, list, delete, and each webhook's delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from modelport.api.deps import Principal, ServicesDep, require
from modelport.api.schemas import StrictBody, UtcDatetime
from modelport.webhooks.service import DeliveryInfo, WebhookInfo

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
AdminDep = Annotated[Principal, require("admin")]


class WebhookRequest(StrictBody):
    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(min_length=1, max_length=16)
    secret: str | None = Field(default=None, min_length=16, max_length=256,
                               description="HMAC key of X-Modelport-Signature; generated when omitted")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_by: str | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, info: WebhookInfo) -> WebhookOut:
        return cls(id=info.id, url=info.url, events=info.events, created_by=info.created_by,
                   created_at=info.created_at)


class WebhookCreated(WebhookOut):
    signing_secret: str = Field(description="the HMAC key of X-Modelport-Signature, shown once")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: UtcDatetime
    next_attempt_at: UtcDatetime
    delivered_at: UtcDatetime | None

    @classmethod
    def of(cls, d: DeliveryInfo) -> DeliveryOut:
        return cls(id=d.id, event_id=d.event_id, event_type=d.event_type, status=d.status,
                   attempts=d.attempts,
                   last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
                   next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at)


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED,
             summary="Subscribe a URL to events (its target is checked against SSRF)")
async def create_webhook(body: WebhookRequest, services: ServicesDep, principal: AdminDep) -> WebhookCreated:
    info, secret = await services.webhooks.create(body.url, body.events, body.secret, actor=principal.id)
    return WebhookCreated(**WebhookOut.of(info).model_dump(), signing_secret=secret)


@router.get("", response_model=list[WebhookOut], summary="List webhooks")
async def list_webhooks(services: ServicesDep, _p: AdminDep) -> list[WebhookOut]:
    return [WebhookOut.of(w) for w in await services.webhooks.all()]


@router.delete("/{webhook_id}", status_code=204, response_class=Response, summary="Delete a webhook")
async def delete_webhook(webhook_id: str, services: ServicesDep, _p: AdminDep) -> Response:
    await services.webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut],
            summary="A webhook's deliveries, newest first")
async def list_deliveries(webhook_id: str, services: ServicesDep, _p: AdminDep,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeliveryOut]:
    return [DeliveryOut.of(d) for d in await services.webhooks.deliveries(webhook_id, limit)]
