//! The page's files, embedded in the binary so that `dcgan serve` needs nothing else and
//! loads with no network: plain HTML, CSS and JavaScript, no build step.

/// `/`: the page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// `/assets/app.js`: the page's script.
pub const APP_JS: &str = include_str!("assets/app.js");
/// `/assets/run.js`: the run's part of the page (timeline, curves, live updates).
pub const RUN_JS: &str = include_str!("assets/run.js");
/// `/assets/style.css`: the page's style.
pub const STYLE_CSS: &str = include_str!("assets/style.css");
