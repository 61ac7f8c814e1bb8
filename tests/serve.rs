//! `dcgan serve` over real HTTP on loopback: the fixed routes, every bad request answered
//! with a JSON error before any work, a load of 8 concurrent clients with flat memory, and
//! a clean stop that leaves the run directory as it was.

mod util;

use util::serve::{Server, get, listing, png_size, post, post_announcing, train};
use util::{dcgan, inception_weights_or_skip, ok};

/// Held by the test that measures the server's memory and by the one that runs Inception
/// beside it, so that the measurement never shares the machine with that work.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn fixed_routes_answer_and_samples_repeat_by_seed() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", &[]);
    let server = Server::start(home, &["--run", "run"]);

    let (status, kind, body) = get(&server.url("/healthz"));
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["generator"]["noise_dim"], 100);

    let sample = |query: &str| get(&server.url(&format!("/api/sample?{query}")));
    let (status, kind, first) = sample("seed=5&n=16");
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    // 4 × 4 images of 28 × 2 pixels, 2 pixels between and around them.
    assert_eq!(png_size(&first), (4 * 58 + 2, 4 * 58 + 2));
    assert_eq!(
        sample("seed=5&n=16").2,
        first,
        "the same seed, the same bytes"
    );
    assert!(sample("seed=6&n=16").2 != first);

    // The noise behind a sample, drawn again through /api/render, gives the same images.
    let (_, _, noise) = get(&server.url("/api/noise?seed=5&n=16"));
    let noise: serde_json::Value = serde_json::from_slice(&noise).unwrap();
    let vectors = &noise["vectors"];
    assert_eq!(vectors.as_array().unwrap().len(), 16);
    let body = serde_json::json!({ "vectors": vectors, "columns": 4 }).to_string();
    let (status, _, rendered) = post(&server.url("/api/render"), &body);
    assert_eq!(status, 200);
    assert_eq!(rendered, first);

    let body = serde_json::json!({
        "vectors": [vectors[0], vectors[1], vectors[2]], "steps": 5, "path": "slerp"
    })
    .to_string();
    let (status, _, strip) = post(&server.url("/api/interpolate"), &body);
    assert_eq!(status, 200);
    assert_eq!(
        png_size(&strip),
        (5 * 58 + 2, 2 * 58 + 2),
        "a row per segment"
    );

    // Principal directions: unit noise vectors, strongest first.
    let (status, _, body) = get(&server.url("/api/directions?k=3"));
    assert_eq!(status, 200);
    let found: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let explained: Vec<f64> = serde_json::from_value(found["explained"].clone()).unwrap();
    assert!(explained.len() == 3 && explained[0] >= explained[1] && explained[1] >= explained[2]);
    for direction in found["directions"].as_array().unwrap() {
        let u: Vec<f64> = serde_json::from_value(direction.clone()).unwrap();
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(u.len() == 100 && (norm - 1.0).abs() < 1e-4, "{norm}");
    }

    // D's opinion of the images of given vectors: a run has D.
    let body = serde_json::json!({ "vectors": [vectors[0], vectors[1]] }).to_string();
    let (status, _, answer) = post(&server.url("/api/judge"), &body);
    assert_eq!(status, 200);
    let opinion: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let real: Vec<f64> = serde_json::from_value(opinion["real"].clone()).unwrap();
    assert!(real.len() == 2 && real.iter().all(|p| (0.0..=1.0).contains(p)));

    // The memorisation check: training images nearest first, each one servable.
    let body = serde_json::json!({ "vector": vectors[0], "k": 3 }).to_string();
    let (status, _, answer) = post(&server.url("/api/neighbours"), &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let found: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(found["space"], "classifier-features");
    let near = found["neighbours"].as_array().unwrap();
    let distances: Vec<f64> = near
        .iter()
        .map(|n| n["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.len() == 3 && distances[0] <= distances[1] && distances[1] <= distances[2]);
    let index = near[0]["index"].as_u64().unwrap();
    let (status, kind, image) = get(&server.url(&format!("/api/training-image?index={index}")));
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(png_size(&image), (60, 60));

    // The page and its files load from the binary.
    let (status, kind, page) = get(&server.url("/"));
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(String::from_utf8(page).unwrap().contains("/assets/app.js"));
    assert_eq!(get(&server.url("/assets/app.js")).0, 200);
    server.stop();
}

#[test]
fn colour_runs_find_neighbours_in_inception_features_else_in_pixels() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let test = "colour_runs_find_neighbours_in_inception_features_else_in_pixels";
    let Some(weights) = inception_weights_or_skip(test) else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let folder = home.join("pictures");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..6u8 {
        let image = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([i * 40, x as u8 * 15, 255 - y as u8 * 15])
        });
        image.save(folder.join(format!("{i}.png"))).unwrap();
    }
    ok(dcgan(home).args([
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        "pictures",
        "--g-width",
        "4",
        "--d-width",
        "4",
        "--batch-size",
        "3",
        "--epochs",
        "1",
        "--seed",
        "1",
        "--out",
        "run",
    ]));
    let neighbours = |server: &Server| {
        let (_, _, noise) = get(&server.url("/api/noise?seed=3&n=1"));
        let noise: serde_json::Value = serde_json::from_slice(&noise).unwrap();
        let body = serde_json::json!({ "vector": noise["vectors"][0], "k": 6 }).to_string();
        let (status, _, answer) = post(&server.url("/api/neighbours"), &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        serde_json::from_slice::<serde_json::Value>(&answer).unwrap()
    };

    // No weights in the cache: pixels, and why.
    let server = Server::start(home, &["--run", "run"]);
    let found = neighbours(&server);
    server.stop();
    assert_eq!(found["space"], "pixels");
    let why = found["why_pixels"].as_str().unwrap();
    assert!(why.contains("Inception weights"), "{why}");

    // With the weights where dcgan's cache keeps them: Inception's features.
    let cache = home.join("cache/dcgan/inception");
    std::fs::create_dir_all(&cache).unwrap();
    std::os::unix::fs::symlink(&weights, cache.join(weights.file_name().unwrap())).unwrap();
    let server = Server::start(home, &["--run", "run"]);
    let found = neighbours(&server);
    server.stop();
    assert_eq!(found["space"], "inception-features", "{found}");
    assert!(found["why_pixels"].is_null());
    assert_eq!(found["training_images"], 6);
    let near = found["neighbours"].as_array().unwrap();
    let mut indices: Vec<u64> = near.iter().map(|n| n["index"].as_u64().unwrap()).collect();
    let distances: Vec<f64> = near
        .iter()
        .map(|n| n["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|d| d[0] <= d[1]), "{distances:?}");
    assert!(distances[0] > 0.0);
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2, 3, 4, 5], "every training image, once");
}

#[test]
fn bad_requests_get_a_json_error_before_any_work() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", &["--conditional", "cgan"]);
    let server = Server::start(home, &["--checkpoint", "run/generator.safetensors"]);
    let v = |n: usize| serde_json::json!(vec![0.5f32; n]);
    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("/api/sample?n=0", None, 400, "n must be"),
        ("/api/sample?n=257", None, 400, "n must be"),
        ("/api/sample?n=1e9", None, 400, "n must be"),
        ("/api/sample?seed=-1", None, 400, "seed must be"),
        ("/api/sample?scale=99", None, 400, "scale must be"),
        (
            "/api/sample?class=12",
            None,
            400,
            "not one of the generator's 10 classes",
        ),
        ("/api/sample?class=%00", None, 400, "not one of"),
        ("/api/noise?n=100000", None, 400, "n must be"),
        ("/api/directions?k=0", None, 400, "k must be"),
        (
            "/api/judge",
            Some(serde_json::json!({"vectors": [v(100)]}).to_string()),
            400,
            "no discriminator",
        ),
        (
            "/api/neighbours",
            Some(serde_json::json!({"vector": v(100)}).to_string()),
            400,
            "does not say what it was trained on",
        ),
        (
            "/api/neighbours",
            Some(serde_json::json!({"vector": v(100), "k": 99}).to_string()),
            400,
            "k must be from 1 to 16",
        ),
        ("/api/training-image?index=0", None, 400, "does not say"),
        ("/api/directions?k=21", None, 400, "k must be"),
        ("/api/nothing", None, 404, "no such"),
        ("/../../etc/passwd", None, 404, "no such"),
        ("/assets/../Cargo.toml", None, 404, "no such"),
        ("/assets/%2e%2e/%2e%2e/Cargo.toml", None, 404, "no such"),
        (
            "/api/render",
            Some(r#"{"vectors": [[1, 2]]}"#.into()),
            400,
            "has 2 numbers",
        ),
        (
            "/api/render",
            Some(r#"{"vectors": []}"#.into()),
            400,
            "1 to 256 vectors",
        ),
        (
            "/api/render",
            Some(r#"{"vectors": [[NaN]]}"#.into()),
            400,
            "bad JSON",
        ),
        (
            "/api/render",
            Some(serde_json::json!({"vectors": [vec![1e9f32; 100]]}).to_string()),
            400,
            "finite and at most 100",
        ),
        (
            "/api/render",
            Some(serde_json::json!({"vectors": vec![v(100); 257]}).to_string()),
            400,
            "1 to 256 vectors",
        ),
        (
            "/api/render",
            Some(serde_json::json!({"vectors": [v(100)], "classes": ["7", "8"]}).to_string()),
            400,
            "classes has 2 entries",
        ),
        (
            "/api/render",
            Some(serde_json::json!({"vectors": [v(100)], "colour": 1}).to_string()),
            400,
            "unknown field",
        ),
        ("/api/render", Some("not json".into()), 400, "bad JSON"),
        (
            "/api/interpolate",
            Some(serde_json::json!({"vectors": [v(100)], "steps": 5}).to_string()),
            400,
            "at least 2",
        ),
        (
            "/api/interpolate",
            Some(serde_json::json!({"vectors": [v(100), v(100)], "steps": 1000}).to_string()),
            400,
            "steps must be",
        ),
        (
            "/api/interpolate",
            Some(
                serde_json::json!({"vectors": [v(100), v(100)], "steps": 4, "path": "zigzag"})
                    .to_string(),
            ),
            400,
            "bad JSON",
        ),
        (
            "/api/interpolate",
            Some(serde_json::json!({"vectors": vec![v(100); 17], "steps": 4}).to_string()),
            400,
            "1 to 16 vectors",
        ),
    ];
    for (path, body, want, says) in &cases {
        let (status, kind, answer) = match body {
            Some(body) => post(&server.url(path), body),
            None => get(&server.url(path)),
        };
        let answer = String::from_utf8_lossy(&answer).to_string();
        assert_eq!(status, *want, "{path}: {answer}");
        assert_eq!(kind, "application/json", "{path}");
        let error: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
    }
    // A body announced past the limit is refused from its header, before it is read.
    let (status, answer) = post_announcing(&server.base, "/api/render", 50 << 20);
    assert_eq!(status, 413, "{answer}");
    // A morph from class 3 to class 8: a strip of 6 frames; a bad class is named.
    let body = serde_json::json!({"vector": v(100), "from": "3", "to": "8", "steps": 6});
    let (status, kind, strip) = post(&server.url("/api/morph"), &body.to_string());
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(png_size(&strip), (6 * 58 + 2, 58 + 2));
    let body = serde_json::json!({"vector": v(100), "from": "3", "to": "11", "steps": 6});
    let (status, _, answer) = post(&server.url("/api/morph"), &body.to_string());
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("to \"11\" is not one of"), "{message}");
    // A class by name, and still alive after all that.
    assert_eq!(get(&server.url("/api/sample?class=7&n=4")).0, 200);
    assert_eq!(get(&server.url("/healthz")).0, 200);
    server.stop();
}

#[test]
fn eight_clients_500_requests_flat_memory_and_nothing_written() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", &[]);
    let before = listing(&home.join("run"));
    let server = Server::start(home, &["--run", "run"]);
    let vector = serde_json::json!(vec![0.25f32; 100]);
    let render = serde_json::json!({ "vectors": vec![vector.clone(); 8] }).to_string();
    let path = serde_json::json!({ "vectors": [vector.clone(), vec![-0.25f32; 100]], "steps": 8 })
        .to_string();
    let timeline = serde_json::json!({ "epoch": 0, "vectors": vec![vector; 8] }).to_string();
    let round = |client: usize, i: usize| -> u16 {
        let seed = client * 1000 + i;
        let (status, kind, body) = match i % 7 {
            0 => get(&server.url(&format!("/api/sample?seed={seed}&n=64"))),
            1 => get(&server.url(&format!("/api/noise?seed={seed}&n=8"))),
            2 => post(&server.url("/api/render"), &render),
            3 => post(&server.url("/api/interpolate"), &path),
            4 => post(&server.url("/api/timeline"), &timeline),
            5 => get(&server.url("/api/metrics")),
            _ => get(&server.url("/healthz")),
        };
        match i % 7 {
            1 | 5 | 6 => assert!(kind.starts_with("application/json") && !body.is_empty()),
            _ => {
                assert_eq!(kind, "image/png");
                png_size(&body);
            }
        }
        status
    };
    // 8 clients, 63 mixed requests each; all answered correctly.
    let load = |offset: usize| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|client| {
                    let round = &round;
                    scope.spawn(move || {
                        (0..63)
                            .filter(|&i| round(offset + client, i) != 200)
                            .count()
                    })
                })
                .collect();
            let failed: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
            assert_eq!(failed, 0, "every request answered correctly");
        });
    };
    // The first loads bring the server to its working size (threads, the allocator's
    // pages, which it keeps: a few rounds pass before their mix of sizes settles); another
    // must not grow it further.
    load(0);
    load(8);
    let warm = server.rss_kb();
    load(16);
    let after = server.rss_kb();
    eprintln!("resident memory after the warm-up loads {warm} kB, after a third {after} kB");
    assert!(
        after < warm + 16 * 1024,
        "memory grew from {warm} kB to {after} kB over a third 504 requests"
    );
    server.stop();
    assert_eq!(
        listing(&home.join("run")),
        before,
        "the run directory is untouched"
    );
}
