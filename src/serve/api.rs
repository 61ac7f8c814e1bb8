//! The explorer's handlers: the page and its files, `/healthz`, and the JSON and PNG API
//! under `/api/` (`routes.rs` lists them).
//!
//! Every request is checked against [`Limits`] before any work: a bad one gets 400 with a
//! JSON `{"error": …}` naming the field; an unknown path 404. Drawing runs on two threads
//! of its own, at most two requests at a time, so the server stays responsive and its memory
//! bounded whatever arrives.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Json, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{Semaphore, watch};

use super::drawers::Drawers;
use super::explorer::{Explorer, MAX_DIRECTIONS, Path, between};
use super::neighbours::MAX_NEIGHBOURS;
use super::timeline::Timeline;
use crate::picture::Noise;
use crate::picture::images_from_tensor;

/// The most a request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Images in one picture.
    pub images: usize,
    /// Frames between two pinned vectors.
    pub steps: usize,
    /// Pinned vectors in one path.
    pub pinned: usize,
    /// Pixel magnification.
    pub scale: u32,
    /// Largest magnitude of a noise value.
    pub magnitude: f32,
    /// Bytes of a request body.
    pub body: usize,
}

/// The server's limits.
pub const LIMITS: Limits = Limits {
    images: 256,
    steps: 64,
    pinned: 16,
    scale: 8,
    magnitude: 100.0,
    body: 1 << 20,
};

/// Requests drawn at the same time; the rest wait their turn.
const DRAWING_AT_ONCE: usize = 2;

/// What every route can reach.
pub(super) struct AppState {
    pub(super) explorer: Arc<Explorer>,
    /// The served run's timeline and logs; `None` for a generator file.
    pub(super) timeline: Option<Arc<Timeline>>,
    drawing: Arc<Semaphore>,
    /// The threads that draw, as many as may draw at once.
    drawers: Drawers,
    /// Live-update streams: at most `run_api::MAX_STREAMS` open.
    pub(super) streams: Arc<Semaphore>,
    /// Turns true when the server stops, which ends the live-update streams.
    pub(super) shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// The state of a server over `explorer` and, for a run directory, its `timeline`, with
    /// at most `streams` live-update streams; they end when `shutdown` turns true.
    pub(super) fn new(
        explorer: Arc<Explorer>,
        timeline: Option<Arc<Timeline>>,
        streams: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AppState {
            explorer,
            timeline,
            drawing: Arc::new(Semaphore::new(DRAWING_AT_ONCE)),
            drawers: Drawers::new(DRAWING_AT_ONCE),
            streams: Arc::new(Semaphore::new(streams)),
            shutdown,
        }
    }
}

pub(super) type Shared = State<Arc<AppState>>;

/// Answers 413 at once to a request whose `Content-Length` is over the limit, before its
/// body is read (the body limit alone would wait for the bytes to arrive). Bodies sent
/// without a length are cut at the limit as they are read.
pub(super) async fn refuse_announced_oversize(
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > LIMITS.body as u64) {
        let message = format!("the request body is larger than {} bytes", LIMITS.body);
        return error(StatusCode::PAYLOAD_TOO_LARGE, &message);
    }
    next.run(request).await
}

/// A refused request: its status and what to tell the client.
#[derive(Debug)]
pub struct ApiError(pub(super) StatusCode, pub(super) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

pub(super) fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message });
    (status, Json(body)).into_response()
}

pub(super) fn bad(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

pub(super) fn html(body: &'static str) -> Response {
    text("text/html; charset=utf-8", body)
}

pub(super) fn text(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

pub(super) fn png(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// The query string's fields, or a 400 naming what is wrong.
pub(super) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Fields, ApiError> {
    let Query(fields) = q.map_err(|e| bad(format!("bad query string: {e}")))?;
    Ok(Fields(fields))
}

/// A query string's fields by name.
pub(super) struct Fields(pub(super) HashMap<String, String>);

impl Fields {
    /// Field `name` as a number in `range`, or `default` when absent.
    pub(super) fn number<T>(
        &self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ApiError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.0.get(name) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => Ok(v),
            _ => Err(bad(format!(
                "{name} must be a whole number from {} to {}, got {raw:?}",
                range.start(),
                range.end()
            ))),
        }
    }
}

/// The class of field `what` (a number or a name), checked against the generator's.
fn class_of(explorer: &Explorer, raw: &str, what: &str) -> Result<usize, ApiError> {
    let classes = explorer.classes();
    if classes.is_empty() {
        return Err(bad(format!(
            "{what}: this generator is unconditional and draws no chosen class"
        )));
    }
    if let Some(index) = classes.iter().position(|c| c.eq_ignore_ascii_case(raw)) {
        return Ok(index);
    }
    match raw.parse::<usize>() {
        Ok(index) if index < classes.len() => Ok(index),
        _ => Err(bad(format!(
            "{what} {raw:?} is not one of the generator's {} classes (0 to {} or a name)",
            classes.len(),
            classes.len() - 1
        ))),
    }
}

/// A body's `scale`: 2 when absent, else 1 to [`Limits::scale`].
fn scale_of(scale: Option<u32>) -> Result<u32, ApiError> {
    let scale = scale.unwrap_or(2);
    if !(1..=LIMITS.scale).contains(&scale) {
        return Err(bad(format!("scale must be from 1 to {}", LIMITS.scale)));
    }
    Ok(scale)
}

/// A body's `steps`: 2 to [`Limits::steps`] frames.
fn check_steps(steps: usize) -> Result<(), ApiError> {
    if !(2..=LIMITS.steps).contains(&steps) {
        return Err(bad(format!("steps must be from 2 to {}", LIMITS.steps)));
    }
    Ok(())
}

/// One label per image: `class` for all, or the classes in turn; `None` when the generator
/// is unconditional.
fn labels(explorer: &Explorer, class: Option<usize>, n: usize) -> Option<Vec<usize>> {
    let k = explorer.classes().len();
    (k > 0).then(|| (0..n).map(|i| class.unwrap_or(i % k)).collect())
}

/// Runs `work` on the blocking pool, a few requests at a time: drawing, and reading a run's
/// files.
pub(super) async fn drawing<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Explorer) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = Arc::clone(&state.drawing)
        .acquire_owned()
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping".into(),
            )
        })?;
    let explorer = Arc::clone(&state.explorer);
    // The permit goes with the work: a client that leaves does not free a place while its
    // drawing still runs.
    state
        .drawers
        .run(move || {
            let _permit = permit;
            work(&explorer)
        })
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("drawing failed: {e}"),
            )
        })?
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))
}

pub(super) async fn healthz(State(state): Shared) -> Response {
    let body = serde_json::json!({ "status": "ok", "generator": state.explorer.info() });
    Json(body).into_response()
}

pub(super) async fn info(State(state): Shared) -> Response {
    let body = serde_json::json!({
        "generator": state.explorer.info(),
        "run": state.timeline.is_some(),
        "limits": {
            "images": LIMITS.images,
            "steps": LIMITS.steps,
            "pinned": LIMITS.pinned,
            "scale": LIMITS.scale,
            "magnitude": LIMITS.magnitude,
            "body_bytes": LIMITS.body,
        },
    });
    Json(body).into_response()
}

/// The common fields of a grid request: seed, n, columns, scale, class.
struct GridQuery {
    seed: u64,
    n: usize,
    columns: usize,
    scale: u32,
    class: Option<usize>,
}

fn grid_query(explorer: &Explorer, fields: &Fields) -> Result<GridQuery, ApiError> {
    let n = fields.number("n", 64usize, 1..=LIMITS.images)?;
    let default_columns = (n as f64).sqrt().ceil() as usize;
    Ok(GridQuery {
        seed: fields.number("seed", 0u64, 0..=u64::MAX)?,
        n,
        columns: fields.number("columns", default_columns, 1..=LIMITS.images)?,
        scale: fields.number("scale", 2u32, 1..=LIMITS.scale)?,
        class: match fields.0.get("class") {
            Some(raw) => Some(class_of(explorer, raw, "class")?),
            None => None,
        },
    })
}

/// `GET /api/noise?seed=S&n=N`: the noise vectors `/api/sample` draws for that seed.
pub(super) async fn noise(
    State(state): Shared,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let fields = query(q)?;
    let g = grid_query(&state.explorer, &fields)?;
    let noise = state.explorer.noise(g.seed, g.n);
    let vectors: Vec<&[f32]> = noise.values.chunks(noise.dim).collect();
    Ok(Json(serde_json::json!({ "seed": g.seed, "vectors": vectors })).into_response())
}

/// `GET /api/sample?seed=S&n=N[&class=K][&columns=C][&scale=X]`: a PNG grid of `n` samples,
/// the same bytes for the same query.
pub(super) async fn sample(
    State(state): Shared,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let fields = query(q)?;
    let g = grid_query(&state.explorer, &fields)?;
    let bytes = drawing(&state, move |explorer| {
        let noise = explorer.noise(g.seed, g.n);
        let labels = labels(explorer, g.class, g.n);
        let grid = explorer.draw(&noise, labels.as_deref(), g.columns);
        Ok(grid.png(g.scale)?.0)
    })
    .await?;
    Ok(png(bytes))
}

/// `GET /api/directions?k=K`: the `k` (default 10, at most 20) principal directions of G's
/// response in noise space, unit vectors, strongest first, with the share of the images'
/// variance each explains. Computed once, on first use, from 1,024 samples.
pub(super) async fn directions(
    State(state): Shared,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let fields = query(q)?;
    let k = fields.number("k", 10usize, 1..=MAX_DIRECTIONS)?;
    let found = drawing(&state, |explorer| Ok(explorer.directions().clone())).await?;
    let k = k.min(found.directions.len());
    let body = serde_json::json!({
        "directions": &found.directions[..k],
        "explained": &found.explained[..k],
    });
    Ok(Json(body).into_response())
}

/// Noise vectors sent by the page, checked.
fn vectors(
    explorer: &Explorer,
    field: &str,
    given: Vec<Vec<f32>>,
    most: usize,
) -> Result<Noise, ApiError> {
    let dim = explorer.noise_dim();
    if given.is_empty() || given.len() > most {
        return Err(bad(format!(
            "{field} must hold 1 to {most} vectors, got {}",
            given.len()
        )));
    }
    let mut values = Vec::with_capacity(given.len() * dim);
    for (i, v) in given.iter().enumerate() {
        if v.len() != dim {
            return Err(bad(format!(
                "{field}[{i}] has {} numbers, the generator takes {dim}",
                v.len()
            )));
        }
        if let Some(x) = v
            .iter()
            .find(|x| !x.is_finite() || x.abs() > LIMITS.magnitude)
        {
            return Err(bad(format!(
                "{field}[{i}] holds {x}; noise values must be finite and at most {} in size",
                LIMITS.magnitude
            )));
        }
        values.extend(v);
    }
    Ok(Noise {
        count: given.len(),
        dim,
        values,
    })
}

/// A JSON body, or a 400 saying why it is not one.
pub(super) fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::BytesRejection(_) => ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} bytes", LIMITS.body),
        ),
        other => bad(format!("bad JSON body: {}", other.body_text())),
    })
}

/// `POST /api/render`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RenderRequest {
    pub(super) vectors: Vec<Vec<f32>>,
    #[serde(default)]
    pub(super) classes: Option<Vec<String>>,
    #[serde(default)]
    pub(super) columns: Option<usize>,
    #[serde(default)]
    pub(super) scale: Option<u32>,
}

/// `POST /api/render {"vectors": [[…]], "classes"?: […], "columns"?: C, "scale"?: X}`: a PNG
/// of the images of the given vectors (for a conditional generator, of the given classes,
/// one per vector, or the classes in turn).
pub(super) async fn render(
    State(state): Shared,
    json: Result<Json<RenderRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let RenderInputs {
        noise,
        labels,
        columns,
        scale,
    } = render_inputs(&state.explorer, request)?;
    let bytes = drawing(&state, move |explorer| {
        let grid = explorer.draw(&noise, labels.as_deref(), columns);
        Ok(grid.png(scale)?.0)
    })
    .await?;
    Ok(png(bytes))
}

/// A render request, checked.
pub(super) struct RenderInputs {
    pub(super) noise: Noise,
    /// For a conditional generator, one class per vector.
    pub(super) labels: Option<Vec<usize>>,
    pub(super) columns: usize,
    pub(super) scale: u32,
}

/// A render request's noise, labels (for a conditional generator), columns and scale,
/// checked.
pub(super) fn render_inputs(
    explorer: &Explorer,
    request: RenderRequest,
) -> Result<RenderInputs, ApiError> {
    let noise = vectors(explorer, "vectors", request.vectors, LIMITS.images)?;
    let labels = match request.classes {
        Some(classes) if classes.len() != noise.count => {
            return Err(bad(format!(
                "classes has {} entries for {} vectors",
                classes.len(),
                noise.count
            )));
        }
        Some(classes) => Some(
            classes
                .iter()
                .map(|c| class_of(explorer, c, "classes"))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => labels(explorer, None, noise.count),
    };
    let columns = request.columns.unwrap_or(noise.count);
    if !(1..=LIMITS.images).contains(&columns) {
        return Err(bad(format!("columns must be from 1 to {}", LIMITS.images)));
    }
    let scale = scale_of(request.scale)?;
    Ok(RenderInputs {
        noise,
        labels,
        columns,
        scale,
    })
}

/// `POST /api/judge {"vectors": [[…]], "classes"?: […]}`: D's opinion of the images of the
/// given vectors, `{"logits": […], "real": […]}` (`real` is σ(logit), D's probability that
/// the image is real). Only when the server was given a run or checkpoint, which has D.
pub(super) async fn judge(
    State(state): Shared,
    json: Result<Json<RenderRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let explorer = &state.explorer;
    if !explorer.has_judge() {
        return Err(bad(
            "this server has no discriminator: serve a run directory or a checkpoint, not a \
             generator file, to see D's opinion",
        ));
    }
    let RenderInputs { noise, labels, .. } = render_inputs(explorer, request)?;
    let logits = drawing(&state, move |explorer| {
        Ok(explorer
            .judge(&noise, labels.as_deref())
            .unwrap_or_default())
    })
    .await?;
    let real: Vec<f32> = logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect();
    Ok(Json(serde_json::json!({ "logits": logits, "real": real })).into_response())
}

/// `POST /api/neighbours`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NeighboursRequest {
    vector: Vec<f32>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    k: Option<usize>,
}

/// `POST /api/neighbours {"vector": […], "class"?: K, "k"?: N}`: the memorisation check, the
/// `k` (default 8, at most 16) training images nearest to the vector's image, in the
/// evaluation classifier's features when there is one for the data set, else in
/// Inception-v3's where its weights are installed, else in pixels: `{"space",
/// "why_pixels", "training_images", "neighbours": [{"index", "distance", "label"}]}`
/// (`why_pixels` null unless pixels stand in for a network). The training set is indexed
/// on first use.
pub(super) async fn neighbours(
    State(state): Shared,
    json: Result<Json<NeighboursRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let explorer = &state.explorer;
    let noise = vectors(explorer, "vector", vec![request.vector], 1)?;
    let k = request.k.unwrap_or(8);
    if !(1..=MAX_NEIGHBOURS).contains(&k) {
        return Err(bad(format!("k must be from 1 to {MAX_NEIGHBOURS}")));
    }
    let conditional = !explorer.classes().is_empty();
    let class = match (&request.class, conditional) {
        (Some(raw), _) => Some(class_of(explorer, raw, "class")?),
        (None, true) => Some(0),
        (None, false) => None,
    };
    let answer = drawing(&state, move |explorer| {
        let index = match explorer.neighbours() {
            Ok(index) => index,
            Err(why) => return Ok(Err(why)),
        };
        let nearest = index.nearest(explorer.image(&noise, class), k);
        Ok(Ok(serde_json::json!({
            "space": index.space(),
            "why_pixels": index.why_pixels(),
            "training_images": index.train.len,
            "neighbours": nearest,
        })))
    })
    .await?;
    answer.map(|body| Json(body).into_response()).map_err(bad)
}

/// `GET /api/training-image?index=I[&scale=X]`: training image `I` as a PNG (after the
/// memorisation check named it).
pub(super) async fn training_image(
    State(state): Shared,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let fields = query(q)?;
    let scale = fields.number("scale", 2u32, 1..=LIMITS.scale)?;
    let raw = fields.0.get("index").cloned();
    let bytes = drawing(&state, move |explorer| {
        let index = match explorer.neighbours() {
            Ok(index) => index,
            Err(why) => return Ok(Err(why)),
        };
        let train = &index.train;
        let Some(i) = raw
            .and_then(|r| r.parse::<usize>().ok())
            .filter(|&i| i < train.len)
        else {
            return Ok(Err(format!(
                "index must be a training image's number, 0 to {}",
                train.len - 1
            )));
        };
        let device = burn::tensor::Device::flex();
        let image = train.images(&[i], &device);
        Ok(Ok(images_from_tensor(image, 1).png(scale)?.0))
    })
    .await?;
    bytes.map(png).map_err(bad)
}

/// `POST /api/morph`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MorphRequest {
    vector: Vec<f32>,
    from: String,
    to: String,
    steps: usize,
    #[serde(default)]
    scale: Option<u32>,
}

/// `POST /api/morph {"vector": […], "from": A, "to": B, "steps": S}`: a conditional
/// generator's PNG strip of one noise vector going from class A to class B, the class code
/// blended over `steps` frames (2 to 64).
pub(super) async fn morph(
    State(state): Shared,
    json: Result<Json<MorphRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let explorer = &state.explorer;
    let from = class_of(explorer, &request.from, "from")?;
    let to = class_of(explorer, &request.to, "to")?;
    let noise = vectors(explorer, "vector", vec![request.vector], 1)?;
    check_steps(request.steps)?;
    let scale = scale_of(request.scale)?;
    let steps = request.steps;
    let bytes = drawing(&state, move |explorer| {
        Ok(explorer
            .morph(&noise.values, (from, to), steps)
            .png(scale)?
            .0)
    })
    .await?;
    Ok(png(bytes))
}

/// `POST /api/interpolate`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InterpolateRequest {
    vectors: Vec<Vec<f32>>,
    steps: usize,
    #[serde(default = "linear")]
    path: Path,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    scale: Option<u32>,
}

fn linear() -> Path {
    Path::Linear
}

/// `POST /api/interpolate {"vectors": [a, b, …], "steps": S, "path"?: "linear"|"slerp",
/// "class"?: K}`: a PNG strip, one row of `steps` frames from each pinned vector to the
/// next.
pub(super) async fn interpolate(
    State(state): Shared,
    json: Result<Json<InterpolateRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let explorer = &state.explorer;
    if request.vectors.len() < 2 {
        return Err(bad(
            "vectors must hold at least 2 pinned vectors to go between",
        ));
    }
    let pinned = vectors(explorer, "vectors", request.vectors, LIMITS.pinned)?;
    check_steps(request.steps)?;
    let class = match &request.class {
        Some(raw) => Some(class_of(explorer, raw, "class")?),
        None => None,
    };
    let scale = scale_of(request.scale)?;
    let dim = pinned.dim;
    let ends: Vec<&[f32]> = pinned.values.chunks(dim).collect();
    let mut values = Vec::new();
    for pair in ends.windows(2) {
        for point in between(pair[0], pair[1], request.steps, request.path) {
            values.extend(point);
        }
    }
    let count = values.len() / dim;
    let noise = Noise { count, dim, values };
    let steps = request.steps;
    // Without a class, a conditional generator draws the whole path as the first class.
    let labels = labels(explorer, Some(class.unwrap_or(0)), count);
    let bytes = drawing(&state, move |explorer| {
        let grid = explorer.draw(&noise, labels.as_deref(), steps);
        Ok(grid.png(scale)?.0)
    })
    .await?;
    Ok(png(bytes))
}
