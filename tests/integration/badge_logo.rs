//! Logos, the `social` and `pixel` styles and error badges over real HTTP
//! against the real binary: a simple-icons logo drawn as shields places it
//! (and the badge wider for it), a custom `data:` logo embedded and hostile
//! ones refused, `--logo-dir`, `social` and `pixel` parsed as XML, `pixel`
//! counting exactly like a badge (its errors invisible but with their
//! status), and every error badge naming its parameter without echoing it.

use base64::Engine;

use crate::support;

use support::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const BUNDLED: &str = include_str!("../../assets/simple-icons.tsv");

/// The one `<image>` of a badge: (x, y, width, height, href).
fn image(svg: &str) -> Option<(String, String, String, String, String)> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML ({e}): {svg}"));
    let mut images = doc.descendants().filter(|n| n.has_tag_name("image"));
    let img = images.next()?;
    assert!(images.next().is_none(), "one image: {svg}");
    let a = |name: &str| img.attribute(name).unwrap_or_default().to_string();
    Some((a("x"), a("y"), a("width"), a("height"), a("href")))
}

/// The SVG inside a `data:image/svg+xml;base64,` href.
fn decoded_svg(href: &str) -> String {
    let b64 = href.strip_prefix("data:image/svg+xml;base64,").unwrap_or_else(|| panic!("not an SVG data URI: {href}"));
    String::from_utf8(B64.decode(b64).expect("base64")).expect("UTF-8")
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", B64.encode(bytes))
}

#[test]
fn github_logo_is_drawn_as_shields_places_it_and_widens_the_badge() {
    let s = seeded_server();
    let plain = get_badge(s, &svg_path(&seeded(123), ""));
    let logo = s.get(&svg_path(&seeded(123), "&logo=github"));
    let with_logo = assert_svg(&logo, "logo=github");
    assert_eq!(plain.width, 62.0);
    // shields: the label part grows by the logo (14) and 3 px of padding.
    assert_eq!(with_logo.width, 62.0 + 14.0 + 3.0, "{}", with_logo.raw);
    let (x, y, w, h, href) = image(&with_logo.raw).expect("an <image>");
    assert_eq!((x.as_str(), y.as_str(), w.as_str(), h.as_str()), ("5", "3", "14", "14"));
    let icon = decoded_svg(&href);
    let github_path = BUNDLED.lines().find_map(|l| l.strip_prefix("github\t")).unwrap().split('\t').nth(1).unwrap();
    assert!(icon.contains(github_path), "the simple-icons path: {icon}");
    // GitHub's brand is near black: shields draws it whitesmoke on grey.
    assert!(icon.contains(r#"fill="whitesmoke""#), "{icon}");
    roxmltree::Document::parse(&icon).expect("the icon is XML");

    let coloured = s.get(&svg_path(&seeded(123), "&logo=GitHub&logoColor=white&logoWidth=30")).text();
    let (_, _, w, _, href) = image(&coloured).unwrap();
    assert_eq!(w, "30");
    assert!(decoded_svg(&href).contains(r##"fill="#fff""##));
    assert_eq!(parse_svg(&coloured).width, 62.0 + 30.0 + 3.0, "logoWidth widens the label part");
    for style in ["flat-square", "plastic", "for-the-badge", "social"] {
        let b = get_badge(s, &svg_path(&seeded(123), &format!("&logo=rust&style={style}")));
        assert!(image(&b.raw).is_some(), "{style}: {}", b.raw);
    }
}

#[test]
fn a_data_logo_is_embedded_and_hostile_ones_are_refused() {
    let s = seeded_server();
    let svg =
        br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><path fill="#f80" d="M0 0h2v2H0z"/></svg>"##;
    let uri = data_uri("image/svg+xml", svg);
    let b = get_badge(s, &svg_path(&seeded(42), &format!("&logo={}", enc(&uri))));
    assert_eq!(image(&b.raw).expect("an <image>").4, uri, "embedded as given");
    let png = data_uri("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let b = get_badge(s, &svg_path(&seeded(42), &format!("&logo={}", enc(&png))));
    assert_eq!(image(&b.raw).unwrap().4, png);

    let big = format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><!--{}--></svg>", "x".repeat(4200));
    let hostile = [
        (
            data_uri("image/svg+xml", br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#),
            "unsafe logo",
        ),
        (data_uri("image/svg+xml", br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#), "unsafe logo"),
        (
            data_uri(
                "image/svg+xml",
                br#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/t.png"/></svg>"#,
            ),
            "unsafe logo",
        ),
        (
            data_uri(
                "image/svg+xml",
                br#"<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><b>x</b></foreignObject></svg>"#,
            ),
            "unsafe logo",
        ),
        (data_uri("text/html", b"<script>alert(1)</script>"), "bad logo"),
        (data_uri("image/svg+xml", big.as_bytes()), "logo too big"),
    ];
    for (uri, reason) in hostile {
        let r = s.get(&svg_path(&seeded(42), &format!("&logo={}", enc(&uri))));
        assert_eq!(r.status, 400, "{reason}: {}", r.text());
        let body = r.text();
        let b = parse_svg(&body);
        assert_eq!(b.title.as_deref(), Some(format!("hits: {reason}").as_str()));
        assert!(image(&body).is_none() && !body.contains("base64") && !body.contains("evil.example"), "{body}");
    }
}

#[test]
fn logo_dir_adds_logos_and_a_bad_file_stops_the_start() {
    let dir = tempdir();
    let logos = dir.path().join("logos");
    std::fs::create_dir(&logos).unwrap();
    let icon = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="#123456"><path d="M0 0h24v24H0z"/></svg>"##;
    std::fs::write(logos.join("ourbrand.svg"), icon).unwrap();
    let logo_dir = logos.to_str().unwrap();
    let s = Server::start_args(&["--logo-dir", logo_dir]);
    let b = get_badge(&s, "/nocount/tag.svg?url=logo.test/&logo=ourbrand&style=social");
    assert!(decoded_svg(&image(&b.raw).unwrap().4).contains("M0 0h24v24H0z"));
    assert!(image(&get_badge(&s, "/nocount/tag.svg?url=logo.test/&logo=github").raw).is_some(), "bundled too");
    drop(s);

    std::fs::write(logos.join("bad.svg"), r#"<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>"#).unwrap();
    let failed = Server::try_start(Opts { args: vec!["--logo-dir", logo_dir], ..Opts::default() });
    let (log, status) = failed.err().expect("a bad logo file stops the start");
    assert!(status.is_some_and(|s| !s.success()), "{log:?}");
    assert!(log.iter().any(|l| l.contains("bad.svg") && l.contains("unsafe logo")), "{log:?}");
}

#[test]
fn social_and_pixel_parse_as_xml() {
    let s = seeded_server();
    let social = s.get(&svg_path(&seeded(123), "&style=social")).text();
    let doc = roxmltree::Document::parse(&social).unwrap_or_else(|e| panic!("{e}: {social}"));
    let root = doc.root_element();
    // shields: "Hits" in Helvetica bold 21 + 10, + 1, then a 6 px gutter and the 19 + 8 bubble.
    assert_eq!((root.attribute("width"), root.attribute("height")), (Some("65"), Some("20")), "{social}");
    assert!(doc.descendants().any(|n| n.has_tag_name("text") && n.text() == Some("Hits")));
    assert!(doc.descendants().any(|n| n.has_tag_name("text") && n.text() == Some("123")));

    let pixel = s.get(&svg_path(&seeded(123), "&style=pixel"));
    let body = pixel.text();
    let doc = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let root = doc.root_element();
    assert_eq!((root.attribute("width"), root.attribute("height")), (Some("1"), Some("1")), "{body}");
    assert_eq!(root.children().count(), 0, "nothing drawn: {body}");
    assert!(pixel.header("content-type").unwrap_or("").starts_with("image/svg+xml"));
}

#[test]
fn pixel_counts_exactly_like_a_badge() {
    let s = seeded_server();
    let u = uniq_url("pixel");
    let badge = s.get(&format!("/count/tag.svg?url={}", enc(&u)));
    let pixel = s.get(&format!("/count/tag.svg?url={}&style=pixel", enc(&u)));
    assert_eq!(pixel.status, 200);
    assert_eq!(peek(s, &u), 2, "the pixel counted");
    for h in ["content-type", "cache-control", "expires", "pragma", "x-content-type-options"] {
        assert_eq!(pixel.header(h), badge.header(h), "{h}");
    }
    // Errors stay invisible and keep their status.
    for (path, status) in [
        ("/count/tag.svg?style=pixel".to_string(), 400),
        (format!("/count/tag.svg?url={}&style=pixel&color=nope", enc(&u)), 400),
        (format!("/count/tag.svg?url={}&style=pixel&logo=nosuchbrand", enc(&u)), 400),
    ] {
        let r = s.get(&path);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.text(), r#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#, "{path}");
    }
    assert_eq!(peek(s, &u), 2, "refused requests never count");
}

#[test]
fn each_error_badge_names_its_parameter() {
    let s = seeded_server();
    let u = uniq_url("named-errors");
    let hostile = enc("<b>x</b>");
    let cases = [
        (format!("style={hostile}"), "bad style"),
        (format!("color={hostile}"), "bad color"),
        (format!("labelColor={hostile}"), "bad labelColor"),
        (format!("view={hostile}"), "bad view"),
        (format!("abbreviate={hostile}"), "bad abbreviate"),
        (format!("logo={hostile}"), "unknown logo"),
        (format!("logo=github&logoColor={hostile}"), "bad logoColor"),
        ("logo=github&logoWidth=0".to_string(), "bad logoWidth"),
        (format!("label={}", "x".repeat(65)), "label too long"),
    ];
    for (query, reason) in cases {
        let r = s.get(&format!("/count/tag.svg?url={}&{query}", enc(&u)));
        assert_eq!(r.status, 400, "{query}");
        let body = r.text();
        let b = parse_svg(&body);
        assert_eq!(b.title.as_deref(), Some(format!("hits: {reason}").as_str()), "{query}");
        assert!(!body.contains("<b>") && !body.contains("&lt;b&gt;"), "the value is not echoed: {body}");
        let json = s.get(&format!("/count/tag.json?url={}&{query}", enc(&u)));
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!((json.status, v["message"].as_str()), (400, Some(reason)), "{query}");
    }
    assert_eq!(peek(s, &u), 0, "no refused request counted");
}
