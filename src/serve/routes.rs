//! The server's routes: the explorer's ([`super::api`]) and a run's ([`super::run_api`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use tokio::sync::watch;

use super::api::{self, AppState, LIMITS};
use super::assets;
use super::explorer::Explorer;
use super::run_api::{self, MAX_STREAMS};
use super::timeline::Timeline;

/// The server's routes over `explorer` and, for a run directory, its `timeline`; the
/// live-update streams end when `shutdown` turns true.
pub fn router(
    explorer: Arc<Explorer>,
    timeline: Option<Arc<Timeline>>,
    shutdown: watch::Receiver<bool>,
) -> Router {
    let state = Arc::new(AppState::new(explorer, timeline, MAX_STREAMS, shutdown));
    Router::new()
        .route("/", get(|| async { api::html(assets::INDEX_HTML) }))
        .route(
            "/index.html",
            get(|| async { api::html(assets::INDEX_HTML) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { api::text("text/javascript; charset=utf-8", assets::APP_JS) }),
        )
        .route(
            "/assets/run.js",
            get(|| async { api::text("text/javascript; charset=utf-8", assets::RUN_JS) }),
        )
        .route(
            "/assets/style.css",
            get(|| async { api::text("text/css; charset=utf-8", assets::STYLE_CSS) }),
        )
        .route("/healthz", get(api::healthz))
        .route("/api/info", get(api::info))
        .route("/api/noise", get(api::noise))
        .route("/api/sample", get(api::sample))
        .route("/api/directions", get(api::directions))
        .route("/api/judge", post(api::judge))
        .route("/api/morph", post(api::morph))
        .route("/api/neighbours", post(api::neighbours))
        .route("/api/training-image", get(api::training_image))
        .route("/api/render", post(api::render))
        .route("/api/interpolate", post(api::interpolate))
        .route("/api/timeline", get(run_api::epochs).post(run_api::draw))
        .route("/api/timeline/picture", get(run_api::picture))
        .route("/api/metrics", get(run_api::metrics))
        .route("/api/events", get(run_api::events))
        .fallback(|| async { api::error(StatusCode::NOT_FOUND, "no such page or API route") })
        .layer(DefaultBodyLimit::max(LIMITS.body))
        .layer(middleware::from_fn(api::refuse_announced_oversize))
        .with_state(state)
}
