"""The scoring HTTP API (FastAPI): a thin adapter over :class:`barista_scoring.scorer.Scorer`.

* ``POST /v1/score`` — ``{"profiles": [...]}`` (1-1,000 profiles) → a score, a label and the
  per-feature contributions of each; 422 with one line per bad field; 413 for oversized bodies;
* ``GET /healthz`` (alive), ``GET /readyz`` (names DB and model loaded), ``GET /metrics``.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from barista_core.health import Health
from barista_core.logging import get_logger
from barista_core.metrics import render_metrics
from barista_scoring import metrics
from barista_scoring.output import score_to_dict
from barista_scoring.profile import ProfileIn
from barista_scoring.scorer import Scorer
from barista_scoring.settings import MAX_PROFILES_PER_REQUEST

log = get_logger(__name__)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: list[ProfileIn] = Field(min_length=1, max_length=MAX_PROFILES_PER_REQUEST)
    explain: bool = Field(default=True, description="Include every feature's contribution and reason.")


class Contribution(BaseModel):
    feature: str
    value: float | None
    contribution: float = Field(description="Effect on the log-odds of fake (+ towards fake, - towards real).")
    reason: str


class ScoreOut(BaseModel):
    id: str | None
    handle: str
    probability: float = Field(description="Probability that the profile is fake (0-1).")
    label: str = Field(description="real (p < 0.35), suspicious, fake (p >= 0.65); low confidence caps at suspicious.")
    confidence: float = Field(description="Share of the model's evidence this profile's known fields carry (0-1).")
    script: str
    top_reason: str
    contributions: list[Contribution] | None = None


class ScoreResponse(BaseModel):
    model: dict[str, Any]
    scores: list[ScoreOut]


class _State:
    def __init__(self, scorer: Scorer | None) -> None:
        self.scorer = scorer
        self.ready = asyncio.Event()


def create_app(scorer: Scorer | None = None, *, max_body_bytes: int = 16 * 1024 * 1024) -> FastAPI:
    """Build the app. Without ``scorer`` the default one (packaged names DB and weights) loads at start-up."""
    state = _State(scorer)
    health = Health()

    async def loaded() -> None:
        if not state.ready.is_set():
            raise RuntimeError("names DB and model still loading")

    health.add_check("scorer", loaded)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.scorer is None:
            from barista_scoring.scorer import default_scorer

            started = time.monotonic()
            state.scorer = await asyncio.to_thread(default_scorer)
            await asyncio.to_thread(lambda: state.scorer.model if state.scorer else None)
            log.info("scorer loaded", names=len(state.scorer.db), seconds=round(time.monotonic() - started, 2))
        state.ready.set()
        yield

    app = FastAPI(
        title="Barista scoring",
        version="1",
        summary="Explainable fake-follower scores across 10 Indic scripts and Latin.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.REQUESTS.labels(outcome="invalid").inc()
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]} for e in exc.errors()
        ]
        shown = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        return JSONResponse(status_code=422, content={"error": f"invalid request: {shown}{more}", "problems": problems})

    async def body_size(request: Request) -> None:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            metrics.REQUESTS.labels(outcome="too_large").inc()
            raise _TooLarge(int(length))

    @app.exception_handler(_TooLarge)
    async def too_large(_: Request, exc: _TooLarge) -> JSONResponse:
        return JSONResponse(
            status_code=413, content={"error": f"request body of {exc.size} bytes exceeds {max_body_bytes} bytes"}
        )

    def scorer_dep() -> Scorer:
        if state.scorer is None:
            raise RuntimeError("scorer not loaded")
        return state.scorer

    @app.post("/v1/score", response_model=ScoreResponse, response_model_exclude_none=True)
    def score(
        request: ScoreRequest, scorer: Annotated[Scorer, Depends(scorer_dep)], _: Annotated[None, Depends(body_size)]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        scores = scorer.score_many([p.to_profile() for p in request.profiles])
        metrics.REQUEST_SECONDS.observe(time.perf_counter() - started)
        metrics.REQUEST_PROFILES.observe(len(scores))
        metrics.REQUESTS.labels(outcome="ok").inc()
        metrics.count_labels([s.label.value for s in scores], "api")
        return {
            "model": {
                "thresholds": scorer.model.to_json()["thresholds"],
                "features": list(scorer.model.to_json()["importance"]),
            },
            "scores": [score_to_dict(s, explain=request.explain) for s in scores],
        }

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(health.liveness().body(), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> Response:
        report = await health.readiness()
        return Response(report.body(), status_code=200 if report.ok else 503, media_type="application/json")

    @app.get("/metrics")
    async def prometheus() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    return app


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size
