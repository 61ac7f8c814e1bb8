//! The routes of a served run directory: its timeline, its curves, and their live updates.
//! A server given a generator file alone answers them with 400, saying to serve the run.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Json, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::api::{
    ApiError, AppState, LIMITS, RenderRequest, Shared, bad, body, drawing, png, query,
    render_inputs,
};
use super::live::{self, Offsets};
use super::timeline::Timeline;

/// Live-update streams open at once; more get 503 until one closes.
pub const MAX_STREAMS: usize = 16;

/// The largest epoch number a request may name (a run's files are named by epoch).
const MAX_EPOCH: usize = 1_000_000;

/// The served run's timeline, or a 400 saying that the server has no run.
fn timeline(state: &AppState) -> Result<Arc<Timeline>, ApiError> {
    state.timeline.clone().ok_or_else(|| {
        bad(
            "this server has no run directory: serve one with --run DIR to see its \
             timeline and curves",
        )
    })
}

/// `GET /api/timeline`: the epochs the run has saved, in order, each with whether its
/// generator (`generator`, drawable with any noise) and its picture of the run's fixed
/// noise (`picture`) are there: `{"epochs": [{"epoch", "generator", "picture"}]}`.
pub async fn epochs(State(state): Shared) -> Result<Response, ApiError> {
    let timeline = timeline(&state)?;
    let epochs = drawing(&state, move |_| Ok(timeline.run.epochs())).await?;
    Ok(Json(serde_json::json!({ "epochs": epochs })).into_response())
}

/// `POST /api/timeline`'s body: the epoch, and the fields of `/api/render`'s, spelled out
/// because serde cannot refuse unknown fields of a struct that flattens another.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineRequest {
    epoch: usize,
    vectors: Vec<Vec<f32>>,
    #[serde(default)]
    classes: Option<Vec<String>>,
    #[serde(default)]
    columns: Option<usize>,
    #[serde(default)]
    scale: Option<u32>,
}

/// `POST /api/timeline {"epoch": E, "vectors": [[…]], "classes"?, "columns"?, "scale"?}`:
/// a PNG of the given vectors' images drawn by the generator saved after epoch `E`, at most
/// [`super::api::Limits::pinned`] vectors.
pub async fn draw(
    State(state): Shared,
    json: Result<Json<TimelineRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let timeline = timeline(&state)?;
    let request = body(json)?;
    if request.vectors.len() > LIMITS.pinned {
        return Err(bad(format!(
            "vectors must hold 1 to {} vectors for the timeline, got {}",
            LIMITS.pinned,
            request.vectors.len()
        )));
    }
    let epoch = request.epoch;
    if epoch > MAX_EPOCH {
        return Err(bad(format!("epoch must be from 0 to {MAX_EPOCH}")));
    }
    let render = RenderRequest {
        vectors: request.vectors,
        classes: request.classes,
        columns: request.columns,
        scale: request.scale,
    };
    let inputs = render_inputs(&state.explorer, render)?;
    let drawn = drawing(&state, move |_| {
        let grid = timeline.draw(
            epoch,
            &inputs.noise,
            inputs.labels.as_deref(),
            inputs.columns,
        );
        Ok(match grid {
            Ok(grid) => Ok(grid.png(inputs.scale)?.0),
            Err(why) => Err(why),
        })
    })
    .await?;
    drawn.map(png).map_err(bad)
}

/// `GET /api/timeline/picture?epoch=E`: the run's own PNG of its fixed noise after epoch
/// `E` (`samples/epoch_EEE.png`); 404 when the run has none.
pub async fn picture(
    State(state): Shared,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let timeline = timeline(&state)?;
    let fields = query(q)?;
    if !fields.0.contains_key("epoch") {
        return Err(bad("epoch is required: /api/timeline/picture?epoch=E"));
    }
    let epoch = fields.number("epoch", 0usize, 0..=MAX_EPOCH)?;
    let bytes = drawing(&state, move |_| Ok(timeline.run.epoch_picture(epoch))).await?;
    bytes.map(png).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("the run has no picture of epoch {epoch}"),
        )
    })
}

/// `GET /api/metrics`: the run's curves so far: `{"metrics": [{"step", "loss_D", "loss_G",
/// "D_x", "D_G_z"}], "logged_steps", "eval": [{"step", "epoch", "fid", "kid",
/// "inception_score", "precision", "recall", "class_accuracy"?}], "metrics_offset",
/// "eval_offset"}`. A long log is averaged down to at most 4,000 points.
pub async fn metrics(State(state): Shared) -> Result<Response, ApiError> {
    let timeline = timeline(&state)?;
    let curves = drawing(&state, move |_| Ok(timeline.run.curves())).await?;
    Ok(Json(curves).into_response())
}

/// `GET /api/events?from=M:E`: Server-Sent Events of the run as it trains, from byte `M` of
/// `metrics.jsonl` and `E` of `eval.jsonl` (the offsets `/api/metrics` gave; a
/// reconnecting browser's `Last-Event-ID` wins): `metrics` and `eval` events carry
/// `{"records": […]}` of new lines, `epochs` the whole list when it changes, and `reset`
/// says the logs were rewritten (reload the curves), after which the stream ends.
pub async fn events(
    State(state): Shared,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let timeline = timeline(&state)?;
    let fields = query(q)?;
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(Offsets::parse);
    let from = match (resumed, fields.0.get("from")) {
        (Some(at), _) => at,
        (None, Some(raw)) => Offsets::parse(raw).ok_or_else(|| {
            bad(format!(
                "from must be two byte offsets, METRICS:EVAL (as /api/metrics gives them), \
                 got {raw:?}"
            ))
        })?,
        (None, None) => Offsets::default(),
    };
    let permit = Arc::clone(&state.streams)
        .try_acquire_owned()
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{MAX_STREAMS} live-update streams are open already; close one"),
            )
        })?;
    let stream = live::events(timeline.run.clone(), from, permit, state.shutdown.clone());
    // A comment every 5 s: a client that left is noticed then, and its place freed.
    let keep_alive = KeepAlive::new().interval(std::time::Duration::from_secs(5));
    Ok(Sse::new(stream).keep_alive(keep_alive).into_response())
}
